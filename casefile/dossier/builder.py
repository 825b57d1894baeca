"""Building a referral dossier: a ZIP holding one signed BagIt bag.

A build is a background job (casefile/dossier/jobs.py): `prepare_build` checks the request and records the dossier
as `building` in the request's transaction; the job then runs `build_dossier`, in three steps, each its own
transaction, because a large dossier takes a while and SQLite has one writer:
1. record an `exported` custody entry for every included item and sign a checkpoint over the ledger
   (short write; once: a retried attempt reuses them);
2. stream the bag into the blob store from one read snapshot: evidence files, custody trails with Merkle
   inclusion proofs against that checkpoint, dossier.json, dossier.pdf, manifests (SHA-256 and SHA-512), the
   tag manifests and the Ed25519 signature over tagmanifest-sha256.txt (no write lock held); the PDF is laid
   out in a worker process while the evidence files stream, the two costs of a large dossier;
3. mark the dossier ready with its SHA-256, and a case-level `exported` entry naming it, in the transaction that
   marks the job succeeded (short write).
A build that ends without a dossier (failed for good, cancelled) is marked failed by the job's end hook, with a
ledger note naming it if step 1 had written its entries (`record_failed_build`).
Memory stays flat: files are streamed through the hashers into the ZIP, and the ZIP into the store.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import logging
import uuid
import zipfile
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, BinaryIO, Protocol, cast

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from casefile import components
from casefile.actors.models import Actor, ActorRelation, Involvement
from casefile.actors.pictures import command_chart_svg, timeline_svg
from casefile.actors.services import active_actors, involvements_of, relations_of
from casefile.auth.models import User
from casefile.capture.models import WebCapture
from casefile.cases.models import Case, Incident
from casefile.cases.services import format_incident_date, incidents_of
from casefile.cases.thesaurus import VIOLATION_TYPES
from casefile.collab.services import notify_release_pending
from casefile.custody.actions import Action
from casefile.custody.keys import InstanceKey
from casefile.custody.ledger import entry_fields, record_custody
from casefile.custody.merkle import proof_to_hex, verify_inclusion
from casefile.custody.models import Checkpoint, CustodyEntry
from casefile.custody.services import create_checkpoint
from casefile.custody.signing import SignedTreeHead, key_id, sign_bytes
from casefile.custody.subtrees import StoredTree
from casefile.custody.timestamps import TimestampSubject, checkpoint_message, stamp, tokens_for
from casefile.db import get_database, session_scope
from casefile.dossier.document import (
    SCHEMA,
    ActorRecord,
    AnalysisRecord,
    CaptureRecord,
    ChargeRecord,
    ConductRecord,
    DossierDocument,
    DossierRecord,
    ElementRecord,
    EvidenceRecord,
    PersonRecord,
    PositionRecord,
    ProfileRecord,
    ProvenanceEntry,
    TargetRecord,
    TimestampRecord,
    TrailEntry,
    TrailFile,
    TreeHeadRecord,
)
from casefile.dossier.models import Dossier, DossierStatus
from casefile.dossier.pdfsign import document_signer, sign_pdf
from casefile.dossier.planner import (
    Plan,
    Scope,
    exculpatory_links,
    plan_dossier,
    resolve_scope,
    scope_incident_ids,
    witnesses_by_item,
)
from casefile.dossier.profiles import Profile, load_profiles
from casefile.errors import Conflict, ValidationFailed
from casefile.evidence.models import EvidenceItem
from casefile.evidence.services import download_name
from casefile.legal import services as legal
from casefile.legal.catalogue import load_catalogue
from casefile.legal.models import Charge
from casefile.links.models import EvidenceLink, Stance
from casefile.parsing import clean_text
from casefile.provenance.services import provenance_of
from casefile.storage import CHUNK_SIZE, BlobStore, BlobWriter
from casefile.workers import worker_context

log = logging.getLogger(__name__)

DOSSIER_LANGUAGES = ("en", "ar")
MAX_MARKDOWN = 50_000  # characters of a cover letter or narrative: pages of text, not a book


def get_profile(code: Any) -> Profile:
    profile = load_profiles().get(str(code or ""))
    if profile is None:
        raise ValidationFailed(
            f"Unknown dossier profile; choose one of: {', '.join(load_profiles())}.", field="profile"
        )
    return profile


@dataclass
class BagWriter:
    """Writes files into the bag inside the ZIP, hashing payload files for the manifests as they stream."""

    zf: zipfile.ZipFile
    root: str
    payload_sha256: dict[str, str]
    payload_sha512: dict[str, str]
    octets: int = 0

    def payload(
        self, name: str, chunks: Iterable[bytes], size: int | None = None, compress: bool = False
    ) -> tuple[str, str]:
        info = zipfile.ZipInfo(f"{self.root}/data/{name}", date_time=datetime.now(UTC).timetuple()[:6])
        info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
        if size is not None:
            info.file_size = size
        sha256, sha512 = hashlib.sha256(), hashlib.sha512()
        with self.zf.open(info, "w", force_zip64=size is None or size > 2**31) as out:
            for chunk in chunks:
                sha256.update(chunk)
                sha512.update(chunk)
                out.write(chunk)
                self.octets += len(chunk)
        self.payload_sha256[f"data/{name}"] = sha256.hexdigest()
        self.payload_sha512[f"data/{name}"] = sha512.hexdigest()
        return sha256.hexdigest(), sha512.hexdigest()

    def tag(self, name: str, data: bytes) -> None:
        info = zipfile.ZipInfo(f"{self.root}/{name}", date_time=datetime.now(UTC).timetuple()[:6])
        info.compress_type = zipfile.ZIP_DEFLATED
        self.zf.writestr(info, data)


class _Stream:
    """Write-only view of a blob writer for zipfile: without `seek`, zipfile streams (data descriptors)
    instead of seeking back to patch headers, so the ZIP goes straight into the store as it is made."""

    def __init__(self, writer: BlobWriter) -> None:
        self._writer = writer

    def write(self, data: bytes) -> int:
        return self._writer.write(data)

    def tell(self) -> int:
        return self._writer.tell()

    def flush(self) -> None:
        self._writer.flush()


def _chunks(fp: BinaryIO) -> Iterable[bytes]:
    with fp:
        while chunk := fp.read(CHUNK_SIZE):
            yield chunk


def _manifest(hashes: dict[str, str]) -> bytes:
    return "".join(f"{digest}  {path}\n" for path, digest in sorted(hashes.items())).encode()


@dataclass(frozen=True)
class BuildSpec:
    """What the build job needs beyond the dossier's row (its parameters, JSON; the scope is on the row)."""

    dossier_id: str
    evidence_ids: list[str] | None
    language: str
    cover_letter: str = ""
    narrative: str = ""

    def to_params(self) -> dict[str, Any]:
        return {
            "dossier_id": self.dossier_id,
            "evidence_ids": self.evidence_ids,
            "language": self.language,
            "cover_letter": self.cover_letter,
            "narrative": self.narrative,
        }

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> BuildSpec:
        return cls(
            str(params["dossier_id"]),
            params.get("evidence_ids"),
            str(params.get("language") or "en"),
            str(params.get("cover_letter") or ""),
            str(params.get("narrative") or ""),
        )


@dataclass(frozen=True)
class DossierRequest:
    """What a user asks for: everything but the case and the user, as the form or the API gives it."""

    profile: Any
    title: Any = None
    evidence_ids: Sequence[Any] | None = None
    language: Any = None
    target_ids: Sequence[Any] | None = None
    charge_ids: Sequence[Any] | None = None
    analysis: bool = False
    cover_letter: Any = None
    narrative: Any = None


def stored_scope(session: Session, case: Case, profile: Profile, dossier: Dossier) -> Scope:
    """The scope recorded with a dossier (an empty record: the whole case, every charge of the profile)."""
    scope = dossier.scope or {}
    return resolve_scope(session, case, profile, scope.get("target_ids"), scope.get("charge_ids"))


class BuildHooks(Protocol):
    """What the build asks of whoever runs it (the job's context): progress, and ownership of the run."""

    def progress(self, done: int, total: int | None = None, message: str = "") -> None: ...

    def still_own(self, session: Session) -> None:
        """Raise unless this run still owns its job (checked inside the step-1 transaction)."""

    def succeed(self, session: Session, result: dict[str, Any] | None = None) -> None: ...


def plan_request(session: Session, case: Case, request: DossierRequest) -> Plan:
    """The plan of a request (the preview, and the check before a build): profile, scope and items resolved."""
    profile = get_profile(request.profile)
    scope = resolve_scope(session, case, profile, request.target_ids, request.charge_ids)
    return plan_dossier(session, case, profile, request.evidence_ids, scope)


def prepare_build(session: Session, case: Case, user: User, request: DossierRequest) -> tuple[Dossier, BuildSpec]:
    """Check a build request and record its dossier (status `building`, flushed): everything that can be known
    wrong before any work (unknown profile, targets or charges, a charge the recipient does not take, bad title,
    language or Markdown, unknown items, nothing includable) is refused here, with nothing written. The build itself
    is the job's (`build_dossier`)."""
    plan = plan_request(session, case, request)
    profile = plan.profile
    title_text = clean_text(request.title, "title", max_length=300) or profile.title
    letter = clean_text(request.cover_letter, "cover_letter", max_length=MAX_MARKDOWN)
    narrative = clean_text(request.narrative, "narrative", max_length=MAX_MARKDOWN)
    language = request.language or profile.language
    if language not in DOSSIER_LANGUAGES:
        raise ValidationFailed(f"Dossier language must be one of: {', '.join(DOSSIER_LANGUAGES)}.", field="language")
    if not plan.included:
        raise ValidationFailed("Nothing may be included in this dossier under this profile.", field="evidence_ids")
    dossier_id = uuid.uuid4()
    dossier = Dossier(
        id=dossier_id,
        case_id=case.id,
        status=DossierStatus.BUILDING,
        profile=profile.code,
        title=title_text,
        bag_name=f"{case.reference}-dossier-{str(dossier_id)[:8]}",
        created_by_id=user.id,
        included=[],
        excluded=[],
        scope={**plan.scope.to_json(), "analysis": bool(request.analysis)},
    )
    session.add(dossier)
    session.flush()
    # The items the request chose (as checked ids), or None for the selection at build time.
    considered = [*plan.included, *(item for item, _reasons in plan.excluded)]
    chosen = None if request.evidence_ids is None else [str(item.id) for item in considered]
    spec = BuildSpec(str(dossier_id), chosen, language, cover_letter=letter, narrative=narrative)
    return dossier, spec


def build_dossier(app: Flask, spec: BuildSpec, hooks: BuildHooks) -> uuid.UUID:
    """Build, sign and store a dossier recorded by `prepare_build`, in three steps (module docstring).

    Retry-safe: step 1 runs once (a retried attempt finds the dossier's checkpoint and reuses its `exported`
    entries); step 3 commits the dossier as ready together with the job's success. An attempt killed anywhere in
    between leaves the dossier `building` for the next attempt, or, with none left, for the job's end hook to
    mark failed and note in the ledger (`record_failed_build`)."""
    dossier_id = uuid.UUID(spec.dossier_id)
    store = components.blob_store(app)
    key = components.instance_key(app)
    settings = components.settings(app)

    # 1. Exported entries and the signed checkpoint that covers them: once.
    with session_scope(app) as s:
        dossier = s.get(Dossier, dossier_id, with_for_update=True)
        if dossier is None or dossier.status is not DossierStatus.BUILDING:
            raise Conflict("This dossier is not being built any more.")
        profile = get_profile(dossier.profile)
        if dossier.checkpoint_id is None:
            hooks.still_own(s)
            case = s.get_one(Case, dossier.case_id)
            user = s.get(User, dossier.created_by_id) if dossier.created_by_id is not None else None
            if user is None:
                raise ValidationFailed("The user who asked for this dossier no longer exists.")
            scope = stored_scope(s, case, profile, dossier)
            # Chosen items of a scoped dossier are additions to what the scope finds, which the plan finds again.
            plan = plan_dossier(s, case, profile, spec.evidence_ids, scope)
            if not plan.included:
                raise ValidationFailed("Nothing may be included in this dossier under this profile any more.")
            for item in plan.included:
                record_custody(
                    s,
                    actor=user,
                    action=Action.EXPORTED,
                    case_id=case.id,
                    evidence_id=item.id,
                    sha256=item.sha256,
                    details={"dossier": str(dossier_id), "profile": profile.code},
                )
            checkpoint = create_checkpoint(s, key, f"dossier {dossier_id}")
            dossier.checkpoint_id = checkpoint.id
            dossier.tree_size = checkpoint.tree_size
            dossier.included = [{"ern": i.ern, "sha256": i.sha256} for i in plan.included]
            dossier.excluded = [
                {"ern": i.ern, "title": i.title, "reasons": reasons, "withheld": i.id not in plan.unselected}
                for i, reasons in plan.excluded
            ]
        checkpoint_id = dossier.checkpoint_id
        title_text, bag_name = dossier.title, dossier.bag_name
        included_erns = [entry["ern"] for entry in dossier.included]
        # Kept out by the recipient's rules (not merely outside the default selection): counted in the dossier.
        withheld_count = sum(1 for entry in dossier.excluded if entry.get("withheld", True))
        user_email = dossier_creator_email(s, dossier)
        analysis = bool((dossier.scope or {}).get("analysis"))
    _stamp_checkpoint(app, checkpoint_id)

    # 2. The bag, from one read snapshot.
    with get_database(app).read_sessionmaker() as rs, store.writer() as writer:
        case = rs.get_one(Case, dossier.case_id)
        checkpoint = rs.get_one(Checkpoint, checkpoint_id)
        items = list(
            rs.scalars(select(EvidenceItem).where(EvidenceItem.ern.in_(included_erns)).order_by(EvidenceItem.number))
        )
        witness_codes = {item_id: w.code for item_id, w in witnesses_by_item(rs, items).items()}
        scope = stored_scope(rs, case, profile, rs.get_one(Dossier, dossier_id))
        total = len(items) + 2  # every file streamed, then the PDF, then the package
        hooks.progress(0, total, "Streaming the evidence files")
        sth = SignedTreeHead(
            checkpoint.tree_size,
            checkpoint.root_hash,
            checkpoint.timestamp,
            checkpoint.signature,
            checkpoint.key_id,
        )
        names = {item.id: f"evidence/{download_name(item)}" for item in items}
        trails = _trails(rs, items, checkpoint.tree_size)
        stamped = _timestamp_payload(rs, checkpoint, items)
        document = assemble_document(
            rs,
            case,
            items,
            witness_codes,
            profile,
            DossierRecord(
                id=str(dossier_id),
                title=title_text,
                generated_at=datetime.now(UTC).isoformat(),
                generated_by=user_email,
                organisation=settings.organisation,
                organisation_address=settings.organisation_address,
                organisation_contact=settings.organisation_contact,
                profile=cast("ProfileRecord", profile.to_dict()),
                language=spec.language,
                cover_letter=spec.cover_letter,
                narrative=spec.narrative,
                analysis=analysis,
            ),
            names,
            sth,
            key_id(key.private),
            trails,
            withheld_count,
            scope=scope,
            captures=stamped.captures,
            timestamps=stamped.timestamps,
        )
        html = _pdf_html(document, rs, case, [i.id for i in items], spec.language)
        # _Stream is file-like for writing only (no seek), which is what makes zipfile stream.
        with zipfile.ZipFile(cast("IO[bytes]", _Stream(writer)), "w", allowZip64=True) as zf:
            bag = BagWriter(zf, bag_name, {}, {})
            # The PDF is laid out in a worker process while this one streams the evidence files: the two costs
            # of a large dossier, one CPU-bound in Python (WeasyPrint), the other reading, hashing and writing.
            # A thread would not do: the layout holds the GIL, and the stream would wait for it on every chunk.
            # The PDF needs only what the database holds (each item's SHA-256 at ingest); the stream checks
            # every file against it, and a mismatch fails the whole build.
            from casefile.dossier.pdf import html_to_pdf  # WeasyPrint: imported when a dossier is built

            pool = ProcessPoolExecutor(max_workers=1, mp_context=worker_context())
            try:
                rendering = pool.submit(html_to_pdf, html)
                sha512 = _stream_evidence(bag, store, items, names, hooks, total)
                hooks.progress(len(items), total, "Laying out the PDF")
                pdf = rendering.result()
            finally:
                # After a failure the PDF is not waited for: the worker finishes on its own and exits.
                pool.shutdown(wait=False, cancel_futures=True)
            log.info(
                "dossier %s: PDF of %d pages, %d bytes, laid out in %.2f s, written in %.2f s; "
                "worker RSS %d KiB, peak %d KiB",
                dossier_id,
                pdf.pages,
                len(pdf.data),
                pdf.layout_seconds,
                pdf.seconds,
                pdf.rss_start_kib,
                pdf.peak_rss_kib,
            )
            hooks.progress(len(items) + 1, total, "Signing and storing the package")
            signed = sign_pdf(
                pdf.data,
                document_signer(settings),
                reason=f"{profile.title}: {title_text}"[:200],
                location=settings.organisation,
                tsa_urls=settings.tsa_urls,
            )
            document["pdf_signature"] = {
                "signer": signed.signer,
                "certificate_sha256": signed.certificate_sha256,
                "timestamped_by": signed.timestamped_by,
                "timestamp_errors": list(signed.timestamp_errors),
            }
            for entry, item in zip(document["evidence"], items, strict=True):
                entry["sha512"] = sha512[item.id]
            for item in items:
                body = TrailFile(ern=item.ern, sha256=item.sha256, entries=trails[item.ern])
                bag.payload(f"custody/{item.ern}.json", [_json(body)], compress=True)
            bag.payload("custody/tree-head.json", [_json(sth.to_dict())], compress=True)
            for name, data in stamped.files:
                bag.payload(name, [data], compress=True)
            bag.payload("dossier.json", [_json(document)], compress=True)
            bag.payload("dossier.pdf", [signed.data])
            _finish_bag(bag, key, profile, dossier_id, checkpoint.tree_size, settings.organisation)
        sha256 = writer.commit()
        size = writer.size

    # 3. The dossier is ready, with its case-level `exported` entry, in the transaction of the job's success.
    with session_scope(app) as s:
        dossier = s.get_one(Dossier, dossier_id, with_for_update=True)
        dossier.status = DossierStatus.READY
        dossier.sha256 = sha256
        dossier.size = size
        record_custody(
            s,
            actor=s.get(User, dossier.created_by_id) if dossier.created_by_id is not None else None,
            action=Action.EXPORTED,
            case_id=dossier.case_id,
            details={
                "dossier": str(dossier_id),
                "profile": profile.code,
                "dossier_sha256": sha256,
                "items": len(items),
            },
        )
        # A second legal member approves its release: the case's other legal members are told it waits.
        notify_release_pending(s, dossier.case, dossier_id, dossier.title, dossier.created_by_id)
        hooks.succeed(s, {"dossier_id": str(dossier_id), "sha256": sha256, "size": size, "items": len(items)})
    return dossier_id


def dossier_creator_email(session: Session, dossier: Dossier) -> str:
    user = session.get(User, dossier.created_by_id) if dossier.created_by_id is not None else None
    return user.email if user is not None else ""


def record_failed_build(session: Session, dossier: Dossier, reason: str) -> None:
    """A build that will not finish: the dossier is failed with its reason and, if its `exported` entries were
    written, a ledger note says that dossier was never made, so no entry claims an export that did not happen."""
    if dossier.status is not DossierStatus.BUILDING:
        return
    dossier.status = DossierStatus.FAILED
    dossier.error = reason
    if dossier.checkpoint_id is not None:
        record_custody(
            session,
            actor=session.get(User, dossier.created_by_id) if dossier.created_by_id is not None else None,
            action=Action.NOTE,
            case_id=dossier.case_id,
            details={"dossier": str(dossier.id), "profile": dossier.profile, "build_failed": reason},
        )


def _stream_evidence(
    bag: BagWriter,
    store: BlobStore,
    items: Sequence[EvidenceItem],
    names: dict[uuid.UUID, str],
    hooks: BuildHooks,
    total: int,
) -> dict[uuid.UUID, str]:
    """Every item's file into the bag, checked against its SHA-256 at ingest; returns the SHA-512s."""
    sha512s: dict[uuid.UUID, str] = {}
    for n, item in enumerate(items, start=1):
        sha256, sha512s[item.id] = bag.payload(names[item.id], _chunks(store.open(item.sha256)), item.size)
        if sha256 != item.sha256:
            raise Conflict(f"{item.ern}: the stored file no longer matches its SHA-256; run custody verify.")
        hooks.progress(n, total, "Streaming the evidence files")
    return sha512s


def _json(value: Any) -> bytes:
    import json

    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True).encode()


def _trails(session: Session, items: Sequence[EvidenceItem], tree_size: int) -> dict[str, list[TrailEntry]]:
    """Each item's entries up to the signed tree size, each with its Merkle inclusion proof."""
    tree = StoredTree(session, tree_size)
    root = tree.root()
    # Keyed by the type of CustodyEntry.evidence_id (nullable), which the query below only matches to these ids.
    by_item: dict[uuid.UUID | None, str] = {i.id: i.ern for i in items}
    trails: dict[str, list[TrailEntry]] = {ern: [] for ern in by_item.values()}
    entries = session.scalars(
        select(CustodyEntry)
        .where(CustodyEntry.evidence_id.in_(list(by_item)), CustodyEntry.seq <= tree_size)
        .order_by(CustodyEntry.seq)
    )
    for entry in entries:
        # The ledger owns the hashed form of an entry (entry_fields); the trail adds the proof fields to it.
        fields = entry_fields(entry)
        fields["leaf_index"] = entry.seq - 1
        proof = tree.inclusion_proof(entry.seq - 1, tree_size)
        # Proofs come from stored subtree roots: checked here against the root, so a dossier never carries one that
        # its recipient's verifier would refuse.
        if not verify_inclusion(bytes.fromhex(entry.entry_hash), entry.seq - 1, tree_size, proof, root):
            raise Conflict(f"entry {entry.seq}: its Merkle proof does not verify; run custody verify.")
        fields["inclusion_proof"] = proof_to_hex(proof)
        trails[by_item[entry.evidence_id]].append(cast("TrailEntry", fields))
    return trails


def _people(session: Session, trails: dict[str, list[TrailEntry]]) -> dict[str, PersonRecord]:
    """The people behind the trails' `user:<uuid>` actors: one query for all of them."""
    ids = {
        uuid.UUID(actor.removeprefix("user:"))
        for entries in trails.values()
        for entry in entries
        if (actor := str(entry["actor"])).startswith("user:")
    }
    if not ids:
        return {}
    return {
        f"user:{user.id}": {"name": user.name or user.email, "role": user.role.value}
        for user in session.scalars(select(User).where(User.id.in_(ids)))
    }


def assemble_document(
    session: Session,
    case: Case,
    items: Sequence[EvidenceItem],
    witness_codes: dict[uuid.UUID, str],
    profile: Profile,
    dossier: DossierRecord,
    names: dict[uuid.UUID, str],
    sth: SignedTreeHead,
    public_key_id: str,
    trails: dict[str, list[TrailEntry]],
    withheld: int,
    *,
    scope: Scope | None = None,
    captures: Sequence[CaptureRecord] = (),
    timestamps: Sequence[TimestampRecord] = (),
) -> DossierDocument:
    """dossier.json: the same content as the PDF, machine-readable. Only included evidence is named, witnesses
    only by pseudonym, and no protected identity is ever read. Each item's `sha512` is None here: the builder
    fills it in once the file has streamed (the PDF, rendered meanwhile, shows SHA-256 only).

    With targets, the dossier is about them: their identification, the incidents they are involved in or charged
    with, the actors they are related to, and the chosen charges; without, about the whole case."""
    scope = scope or Scope()
    ern = {i.id: i.ern for i in items}
    links = list(session.scalars(select(EvidenceLink).where(EvidenceLink.evidence_id.in_(list(ern)))))
    target_ids = {a.id for a in scope.targets}
    incidents = incidents_of(session, case)
    relations = relations_of(session, case)
    involvements = involvements_of(session, case)
    actors = active_actors(session, case)
    if target_ids:
        in_scope = scope_incident_ids(session, scope)
        incidents = [i for i in incidents if i.id in in_scope]
        relations = [r for r in relations if {r.source_actor_id, r.target_actor_id} & target_ids]
        involvements = [v for v in involvements if v.actor_id in target_ids]
        related = target_ids | {r.source_actor_id for r in relations} | {r.target_actor_id for r in relations}
        actors = [a for a in actors if a.id in related]
    charges = _charge_records(session, scope.charges, ern)
    # What each exculpatory item contradicts, in words: its links loaded with what they point at, in five queries.
    contradicting = list(
        session.scalars(
            exculpatory_links(scope, list(ern)).options(
                selectinload(EvidenceLink.relation).selectinload(ActorRelation.source),
                selectinload(EvidenceLink.relation).selectinload(ActorRelation.target),
                selectinload(EvidenceLink.involvement).selectinload(Involvement.actor),
                selectinload(EvidenceLink.involvement).selectinload(Involvement.incident),
                selectinload(EvidenceLink.charge).selectinload(Charge.suspect),
                selectinload(EvidenceLink.actor),
                selectinload(EvidenceLink.incident),
            )
        )
    )
    exculpatory_ids = {link.evidence_id for link in contradicting}

    def counts(column: str) -> dict[uuid.UUID, list[int]]:
        out: dict[uuid.UUID, list[int]] = {}
        for link in links:
            target = getattr(link, column)
            if target is not None:
                pair = out.setdefault(target, [0, 0])
                if link.stance is Stance.SUPPORTS:
                    pair[0] += 1
                elif link.stance is Stance.CONTRADICTS:
                    pair[1] += 1
        return out

    rel_counts, inv_counts = counts("relation_id"), counts("involvement_id")
    provenance = provenance_of(session, items)
    return DossierDocument(
        schema=SCHEMA,
        dossier=dossier,
        case={
            "reference": case.reference,
            "title": case.title,
            "summary": case.summary,
            "situation": case.situation,
        },
        targets=[
            cast("TargetRecord", {**_actor_record(a, profile), "positions": _positions(a, relations)})
            for a in scope.targets
        ],
        conduct=_conduct_records(incidents, involvements, links, ern) if target_ids else [],
        incidents=[
            {
                "id": str(i.id),
                "title": i.title,
                "description": i.description,
                "date_display": format_incident_date(i),
                "start_date": i.start_date.isoformat() if i.start_date else None,
                "end_date": i.end_date.isoformat() if i.end_date else None,
                "date_precision": i.date_precision.value,
                "place_name": i.place_name,
                "latitude": i.latitude,
                "longitude": i.longitude,
                "location_precision": i.location_precision.value,
                "violation_types": _violation_labels(i),
            }
            for i in incidents
        ],
        actors=[_actor_record(a, profile) for a in actors],
        relations=[
            {
                "source": r.source.name,
                "target": r.target.name,
                "relation": r.relation.value,
                "valid_from": r.valid_from.isoformat() if r.valid_from else None,
                "valid_to": r.valid_to.isoformat() if r.valid_to else None,
                "confidence": r.confidence.value,
                "supporting": rel_counts.get(r.id, [0, 0])[0],
                "contradicting": rel_counts.get(r.id, [0, 0])[1],
            }
            for r in relations
        ],
        involvements=[
            {
                "actor": v.actor.name,
                "incident": v.incident.title,
                "degree": v.degree.value,
                "mode_of_liability": v.mode_of_liability,
                "status": v.status.value,
                "supporting": inv_counts.get(v.id, [0, 0])[0],
                "contradicting": inv_counts.get(v.id, [0, 0])[1],
            }
            for v in involvements
        ],
        charges=charges,
        exculpatory=[
            {
                "ern": item.ern,
                "title": item.title,
                "contradicts": sorted({_link_subject(link) for link in contradicting if link.evidence_id == item.id}),
                "notes": [link.note for link in contradicting if link.evidence_id == item.id and link.note],
            }
            for item in items
            if item.id in exculpatory_ids
        ],
        analysis=_analysis(charges) if dossier["analysis"] else None,
        evidence=[
            _evidence_record(
                item, ern, witness_codes, names, exculpatory=item.id in exculpatory_ids, provenance=provenance[item.id]
            )
            for item in items
        ],
        # Withheld items are not named in the package: a refused witness must not even appear by pseudonym.
        excluded=[],
        withheld_count=withheld,
        custody={"tree_head": cast("TreeHeadRecord", sth.to_dict()), "public_key_id": public_key_id},
        trails=trails,
        captures=list(captures),
        timestamps=list(timestamps),
        pdf_signature=None,
        people=_people(session, trails),
    )


def _violation_labels(incident: Incident) -> list[str]:
    return [str(VIOLATION_TYPES.get(v, v)) for v in incident.violation_types]


def _link_subject(link: EvidenceLink) -> str:
    """What a link is evidence of, in words (names and titles, never ids)."""
    if link.relation is not None:
        return f"{link.relation.source.name} — {link.relation.relation.value} — {link.relation.target.name}"
    if link.involvement is not None:
        return f"{link.involvement.actor.name} — {link.involvement.incident.title}"
    if link.charge is not None:
        offence = load_catalogue().offence(link.charge.offence_code)
        element = f" ({link.element_code})" if link.element_code else ""
        return f"{link.charge.suspect.name} — {offence.title}{element}"
    if link.actor is not None:
        return link.actor.name
    return link.incident.title if link.incident is not None else ""


def _positions(actor: Actor, relations: Sequence[ActorRelation]) -> list[PositionRecord]:
    """A target's positions and affiliations: its relations to other actors (commands X, member of Y), dated."""
    return [
        {
            "relation": r.relation.value,
            "other": r.target.name,
            "valid_from": r.valid_from.isoformat() if r.valid_from else None,
            "valid_to": r.valid_to.isoformat() if r.valid_to else None,
            "confidence": r.confidence.value,
        }
        for r in relations
        if r.source_actor_id == actor.id
    ]


def _conduct_records(
    incidents: Sequence[Incident],
    involvements: Sequence[Involvement],
    links: Sequence[EvidenceLink],
    ern: dict[uuid.UUID, str],
) -> list[ConductRecord]:
    """Per incident of the scope: what happened, the targets' part, and the dossier's evidence of either."""
    records: list[ConductRecord] = []
    for incident in incidents:
        parts = [v for v in involvements if v.incident_id == incident.id]
        about = {incident.id, *(v.id for v in parts)}
        relevant = [link for link in links if link.incident_id in about or link.involvement_id in about]
        records.append(
            {
                "incident_id": str(incident.id),
                "title": incident.title,
                "description": incident.description,
                "date_display": format_incident_date(incident),
                "place_name": incident.place_name,
                "violation_types": _violation_labels(incident),
                "involvements": [
                    {
                        "actor": v.actor.name,
                        "degree": v.degree.value,
                        "mode_of_liability": v.mode_of_liability,
                        "status": v.status.value,
                        "note": v.note,
                    }
                    for v in parts
                ],
                "supporting": sorted({ern[k.evidence_id] for k in relevant if k.stance is not Stance.CONTRADICTS}),
                "contradicting": sorted({ern[k.evidence_id] for k in relevant if k.stance is Stance.CONTRADICTS}),
            }
        )
    return records


def _analysis(charges: Sequence[ChargeRecord]) -> list[AnalysisRecord]:
    """The analysis annex: per charge, the elements no item of the dossier supports, and those contradicted."""
    return [
        {
            "suspect": charge["suspect"],
            "offence": charge["offence"]["code"],
            "elements": len(charge["elements"]),
            "gaps": [e["code"] for e in charge["elements"] if not e["supporting"]],
            "contested": [e["code"] for e in charge["elements"] if e["supporting"] and e["contradicting"]],
        }
        for charge in charges
    ]


def _charge_records(session: Session, charges: Sequence[Charge], ern: dict[uuid.UUID, str]) -> list[ChargeRecord]:
    """Each chosen charge or criterion with its elements, counting only the evidence in this dossier (`ern`)."""
    catalogue = load_catalogue()
    records: list[ChargeRecord] = []
    for charge in charges:
        elements: list[ElementRecord] = []
        for row in legal.matrix(session, charge):
            elements.append(
                {
                    "code": row.element.code,
                    "group": row.group,
                    "text": row.element.text,
                    "reference": row.element.reference,
                    "supporting": [ern[link.evidence_id] for link in row.supporting if link.evidence_id in ern],
                    "contradicting": [ern[link.evidence_id] for link in row.contradicting if link.evidence_id in ern],
                }
            )
        offence = catalogue.offence(charge.offence_code)
        mode = catalogue.mode(charge.mode_code) if charge.mode_code else None
        framework = catalogue.framework_of(charge.offence_code)
        records.append(
            {
                "suspect": charge.suspect.name,
                "framework": framework.code,
                "sanctions": framework.is_sanctions,
                "offence": {"code": offence.code, "title": offence.title, "reference": offence.reference},
                "mode": {"code": mode.code, "title": mode.title, "reference": mode.reference} if mode else None,
                "incidents": [i.title for i in charge.incidents],
                "elements": elements,
            }
        )
    return records


def _evidence_record(
    item: EvidenceItem,
    ern: dict[uuid.UUID, str],
    witness_codes: dict[uuid.UUID, str],
    names: dict[uuid.UUID, str],
    *,
    exculpatory: bool = False,
    provenance: list[dict[str, Any]] | None = None,
) -> EvidenceRecord:
    return {
        "ern": item.ern,
        "title": item.title,
        "kind": item.kind.value,
        "classification": item.classification.value,
        "media_type": item.media_type,
        "size": item.size,
        "sha256": item.sha256,
        "sha512": None,
        "collected_at": item.collected_at.isoformat() if item.collected_at else None,
        "source": item.source,
        "source_reliability": item.source_reliability,
        "info_credibility": item.info_credibility,
        "witness": witness_codes.get(item.id),
        "parent_ern": ern.get(item.parent_id) if item.parent_id else None,
        "derivation": item.derivation.value if item.derivation else None,
        "file": names[item.id],
        "description": item.description,
        "exculpatory": exculpatory,
        "provenance": cast("list[ProvenanceEntry]", provenance or []),
    }


def _actor_record(actor: Actor, profile: Profile) -> ActorRecord:
    return {
        "id": str(actor.id),
        "name": actor.name,
        "kind": actor.kind.value,
        "aliases": list(actor.aliases),
        "description": actor.description,
        "date_of_birth": actor.date_of_birth if profile.include_actor_identifiers else "",
        "place_of_birth": actor.place_of_birth if profile.include_actor_identifiers else "",
        "nationality": actor.nationality,
        "identifiers": list(actor.identifiers) if profile.include_actor_identifiers else [],
    }


def _stamp_checkpoint(app: Flask, checkpoint_id: int) -> None:
    """Trusted timestamps of the dossier's checkpoint, after its commit, from each TSA that has not given one yet
    (a retried build asks only those). A TSA that fails leaves the dossier without its token, which dossier.json
    then shows: the build goes on."""
    settings = components.settings(app)
    if not settings.tsa_urls:
        return
    with session_scope(app) as s:
        message = checkpoint_message(s.get_one(Checkpoint, checkpoint_id))
        have = [t.tsa_url for t in tokens_for(s, TimestampSubject.CHECKPOINT, [str(checkpoint_id)])]
    result = stamp(
        settings, lambda: session_scope(app), TimestampSubject.CHECKPOINT, str(checkpoint_id), message, have=have
    )
    for error in result.errors:
        log.warning("dossier checkpoint %s: no trusted timestamp: %s", checkpoint_id, error)


@dataclass(frozen=True)
class _Stamped:
    files: list[tuple[str, bytes]]
    captures: list[CaptureRecord]
    timestamps: list[TimestampRecord]


def _timestamp_payload(session: Session, checkpoint: Checkpoint, items: Sequence[EvidenceItem]) -> _Stamped:
    """The tokens of the checkpoint the dossier relies on and of the web captures among its items, each beside the
    exact bytes it covers, so that `openssl ts -verify -in X.tsr -data X -CAfile <TSA root>` checks it."""
    files: list[tuple[str, bytes]] = []
    records: list[TimestampRecord] = []
    ern_of = {item.id: item.ern for item in items}
    captures = list(
        session.scalars(
            select(WebCapture)
            .where(WebCapture.wacz_item_id.in_(list(ern_of)), WebCapture.manifest.is_not(None))
            .order_by(WebCapture.created_at)
        )
    )
    # (subject, id) -> (the stem of its token files, the file holding the bytes its tokens cover)
    checkpoint_data = f"timestamps/checkpoint-{checkpoint.id}.data"
    subjects = {("checkpoint", str(checkpoint.id)): (f"timestamps/checkpoint-{checkpoint.id}", checkpoint_data)}
    capture_records: list[CaptureRecord] = []
    for capture in captures:
        ern = ern_of[capture.wacz_item_id]  # type: ignore[index]
        manifest_file = f"captures/{ern}-manifest.json"
        files.append((manifest_file, (capture.manifest or "").encode("utf-8")))
        subjects[("capture", str(capture.id))] = (f"timestamps/capture-{ern}", manifest_file)
        tls = (capture.details or {}).get("tls")
        capture_records.append(
            {
                "ern": ern,
                "url": capture.url,
                "final_url": capture.final_url,
                "http_status": capture.http_status,
                "captured_at": capture.captured_at.isoformat() if capture.captured_at else None,
                "tls_valid": tls.get("valid") if isinstance(tls, dict) else None,
                "manifest_sha256": capture.manifest_sha256,
                "manifest_file": f"data/{manifest_file}",
            }
        )
    tokens = [
        *tokens_for(session, TimestampSubject.CHECKPOINT, [str(checkpoint.id)]),
        *tokens_for(session, TimestampSubject.CAPTURE, [str(c.id) for c in captures]),
    ]
    if any(token.subject == TimestampSubject.CHECKPOINT.value for token in tokens):
        files.append((checkpoint_data, checkpoint_message(checkpoint)))
    for n, token in enumerate(tokens, start=1):
        stem, data_file = subjects[(token.subject, token.subject_id)]
        token_file = f"{stem}-{n}.tsr"
        files.append((token_file, token.reply))
        records.append(
            {
                "subject": token.subject,
                "tsa_url": token.tsa_url,
                "tsa_name": token.tsa_name,
                "gen_time": token.gen_time.isoformat(),
                "serial": token.serial,
                "message_sha256": token.message_sha256,
                "data_file": f"data/{data_file}",
                "token_file": f"data/{token_file}",
            }
        )
    return _Stamped(files, capture_records, records)


def _pdf_html(
    document: DossierDocument,
    session: Session,
    case: Case,
    evidence_ids: Sequence[uuid.UUID],
    language: str,
) -> str:
    """The PDF's HTML. Headings follow the dossier's language; user text keeps its own language and direction."""
    from babel.support import Translations

    from casefile.dossier.pdf import render_dossier_html  # WeasyPrint: imported when a dossier is built

    translations = Translations.load(str(Path(__file__).resolve().parent.parent / "translations"), [language])
    translate = translations.gettext
    return render_dossier_html(
        document,
        command_chart_svg=command_chart_svg(session, case, evidence_ids, translate=translate, language=language),
        timeline_svg=timeline_svg(session, case, translate=translate, language=language),
        translate=translations.gettext,
        language=language,
    )


README = """Casefile referral dossier: {title}

This package is a BagIt bag (RFC 8493) signed by the organisation's Casefile instance.
Verify it without installing Casefile:

1. Completeness and integrity of every file (SHA-256 and SHA-512 manifests):
       bagit.py --validate {bag}
2. The organisation's signature over the tag manifest (Ed25519, OpenSSL 3):
       openssl pkeyutl -verify -pubin -inkey casefile-public-key.pem -rawin \\
           -in tagmanifest-sha256.txt -sigfile tagmanifest-sha256.txt.sig
   Compare the key with the fingerprint the organisation gave you separately: key id {key_id}
   (SHA-256 of the public key in DER form: openssl pkey -pubin -in casefile-public-key.pem -outform DER | sha256sum).
3. Custody trails and Merkle inclusion proofs against the signed tree head (Python 3 standard library only):
       python3 verify_dossier.py

data/dossier.pdf      the dossier for reading, itself signed (PAdES): `pdfsig data/dossier.pdf` (poppler) checks it
data/dossier.json     the same content, machine-readable ({schema})
data/evidence/        the original files, named by evidence reference number (ERN)
data/custody/         each item's custody entries with inclusion proofs, and the signed tree head
data/timestamps/      RFC 3161 trusted timestamps (when the organisation uses a time-stamping authority) of the
                      signed tree head and of web captures; dossier.json lists each token with the file it covers:
       openssl ts -verify -in data/timestamps/<token>.tsr -data <data_file> -CAfile <the TSA's root certificate>
data/captures/        the manifest of each web capture in the dossier (what its timestamps cover)
"""


def _finish_bag(
    bag: BagWriter, key: InstanceKey, profile: Profile, dossier_id: uuid.UUID, tree_size: int, organisation: str
) -> None:
    bag.tag("manifest-sha256.txt", manifest256 := _manifest(bag.payload_sha256))
    bag.tag("manifest-sha512.txt", manifest512 := _manifest(bag.payload_sha512))
    pem = key.public_pem
    kid = key_id(key.private)
    bag_info = (
        f"Source-Organization: {organisation}\n"
        f"Bagging-Date: {datetime.now(UTC).date().isoformat()}\n"
        f"External-Identifier: {dossier_id}\n"
        f"Payload-Oxum: {bag.octets}.{len(bag.payload_sha256)}\n"
        f"Bag-Size: {bag.octets} bytes\n"
        f"Casefile-Profile: {profile.code}\n"
        f"Casefile-Tree-Size: {tree_size}\n"
        f"Casefile-Key-Id: {kid}\n"
    ).encode()
    bagit_txt = b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
    readme = README.format(title=profile.title, bag=bag.root, key_id=kid, schema=SCHEMA).encode()
    script = importlib.resources.files("casefile.dossier").joinpath("verify_dossier.py").read_bytes()
    tags = {
        "bagit.txt": bagit_txt,
        "bag-info.txt": bag_info,
        "manifest-sha256.txt": manifest256,
        "manifest-sha512.txt": manifest512,
        "README.txt": readme,
        "verify_dossier.py": script,
        "casefile-public-key.pem": pem,
    }
    for name in ("bagit.txt", "bag-info.txt", "README.txt", "verify_dossier.py", "casefile-public-key.pem"):
        bag.tag(name, tags[name])
    tag256 = _manifest({name: hashlib.sha256(data).hexdigest() for name, data in tags.items()})
    tag512 = _manifest({name: hashlib.sha512(data).hexdigest() for name, data in tags.items()})
    bag.tag("tagmanifest-sha256.txt", tag256)
    bag.tag("tagmanifest-sha512.txt", tag512)
    bag.tag("tagmanifest-sha256.txt.sig", sign_bytes(key.private, tag256))


def dossiers_of(session: Session, case: Case) -> list[Dossier]:
    return list(session.scalars(select(Dossier).where(Dossier.case_id == case.id).order_by(Dossier.created_at.desc())))
