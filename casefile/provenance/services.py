"""Provenance: taking a ProofMode bundle in (checked when it arrives, imported by a job), recording each check, and
an item's provenance in one plain shape for its page, the API and dossiers (C2PA from the item's derived metadata,
ProofMode from the checks recorded here).

Like every service: flushes, never commits; business rules here, not in views or the API.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from casefile.auth.models import User
from casefile.cases.models import Case
from casefile.custody.actions import Action
from casefile.custody.ledger import record_item_event
from casefile.errors import ValidationFailed
from casefile.evidence.models import Derivation, EvidenceItem
from casefile.evidence.services import (
    display_filename,
    incidents_in_case,
    ingest,
    same_file_in_case,
    validate_fields,
)
from casefile.intake.sources import SourceError, ZipSource, chunks
from casefile.provenance import c2pa_check, proofmode
from casefile.provenance.models import ProvenanceKind, ProvenanceRecord, ProvenanceStatus
from casefile.storage import BlobStore, BlobWriter

# The form fields a bundle may come with (they describe the media item; its proof files inherit them).
BUNDLE_FIELDS = ("classification", "source", "description", "collected_by", "collection_place")

CHECK_WORDS = {
    "media_signature": _l("the media file"),
    "proof_json_signature": _l("the proof (JSON)"),
    "proof_csv_signature": _l("the proof (CSV)"),
}


def describe(problem: Mapping[str, Any]) -> str:
    """One problem of a check, in words (translated when shown)."""
    code = str(problem.get("code", ""))
    file = str(problem.get("file", ""))
    what = str(CHECK_WORDS.get(str(problem.get("check", "")), problem.get("check", "")))
    words: dict[str, Callable[[], str]] = {
        "public_key_missing": lambda: _("The bundle has no public key (pubkey.asc): its signatures cannot be checked."),
        "public_key_unreadable": lambda: _("The bundle's public key cannot be read."),
        "signature_missing": lambda: _("There is no signature of %(what)s in the bundle.", what=what),
        "signature_unreadable": lambda: _("The signature %(file)s cannot be read.", file=file),
        "signature_invalid": lambda: _(
            "The signature %(file)s does not verify over %(what)s: it changed after it was signed, or another key "
            "signed it.",
            file=file,
            what=what,
        ),
        "other_key": lambda: _("The signature %(file)s was made by a key other than the bundle's.", file=file),
        "key_unusable": lambda: _("The bundle's key cannot verify %(file)s (expired, revoked or too weak).", file=file),
        "unsupported": lambda: _("The signature %(file)s is of a kind not checked here.", file=file),
        "proof_missing": lambda: _("No proof in the bundle is about %(file)s.", file=file),
        "proof_unreadable": lambda: _("The proof %(file)s cannot be read.", file=file),
        "hash_mismatch": lambda: _(
            "The file's SHA-256 is %(actual)s, but its proof names %(declared)s: the file is not the one that was "
            "signed.",
            actual=problem.get("actual", ""),
            declared=problem.get("declared", "") or "—",
        ),
        "ots_unreadable": lambda: _("The OpenTimestamps proof %(file)s cannot be read.", file=file),
        "ots_mismatch": lambda: _("The OpenTimestamps proof %(file)s is about another file.", file=file),
    }
    if code in words:
        return words[code]()
    # A C2PA validation failure: the library's own code and explanation.
    explanation = str(problem.get("explanation", ""))
    return f"{code}: {explanation}" if explanation else code


def bundle_refusal(error: proofmode.BundleError) -> str:
    """Why an upload is not an importable bundle, in words."""
    if error.code == "unsafe_names":
        return _(
            "The bundle holds file names that are not plain paths inside it (such as %(names)s): refused, nothing "
            "was imported.",
            names=error.params.get("names", ""),
        )
    if error.code == "too_many":
        return _("The bundle holds more than %(n)d files: this is not a ProofMode bundle.", n=error.params["n"])
    if error.code == "no_proof":
        return _(
            "The ZIP holds no ProofMode proof (a <sha256>.proof.json or .proof.csv file): this is not a ProofMode "
            "bundle."
        )
    if error.code == "no_media":
        return _("The bundle holds no photo, video or audio file, only proof files: nothing to import.")
    return str(error)


# --- taking a bundle in -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AcceptedBundle:
    sha256: str
    name: str
    fields: dict[str, Any]
    media: list[str]


def accept_bundle(
    session: Session, case: Case, upload: tuple[BlobWriter, str] | None, data: Mapping[str, Any], max_bytes: int
) -> AcceptedBundle:
    """Check an uploaded bundle from its ZIP directory alone (nothing is read from its files yet) and keep it in the
    blob store for the import job: a file that is not a ZIP, unsafe file names, no proof or no media are refused
    here (422), with nothing recorded."""
    fields = {k: str(v) for k, v in data.items() if k in BUNDLE_FIELDS and v not in (None, "")}
    validate_fields(fields)
    incidents = [str(i) for i in data.get("incident_ids") or [] if str(i).strip()]
    if incidents:
        incidents_in_case(session, case, incidents)
    if upload is None or upload[0].size == 0:
        raise ValidationFailed(_("Send the ProofMode bundle (a ZIP file) as the file 'bundle'."), field="bundle")
    writer, filename = upload
    try:
        with writer.open_staged() as staged:
            source = ZipSource(staged, max_bytes)
            found = proofmode.layout(source.names())
            proofmode.check_layout(found, source.unsafe, len(source.names()) + len(source.unsafe))
    except SourceError:
        raise ValidationFailed(
            _("The file is not a readable ZIP archive: a ProofMode bundle is the ZIP file ProofMode shares."),
            field="bundle",
        ) from None
    except proofmode.BundleError as error:
        raise ValidationFailed(bundle_refusal(error), field="bundle") from None
    sha256 = writer.commit()
    return AcceptedBundle(sha256, display_filename(filename)[:300], {**fields, "incident_ids": incidents}, found.media)


# --- importing it (the job, casefile/provenance/jobs.py) ----------------------------------------------------------


def read_small(source: ZipSource) -> Callable[[str], bytes]:
    """A reader of the bundle's small files (proofs, signatures, key, timestamps), bounded, each read once."""
    cache: dict[str, bytes] = {}

    def read(name: str) -> bytes:
        if name not in cache:
            if source.size(name) > proofmode.MAX_SMALL_BYTES:
                raise SourceError(_("%(name)s is too large to be a proof file.", name=proofmode.base_name(name)))
            cache[name] = b"".join(chunks(source, name))
        return cache[name]

    return read


def store_member(stack: ExitStack, store: BlobStore, source: ZipSource, name: str) -> BlobWriter:
    """A member streamed into a blob writer (hashed as it goes; committed when ingested, discarded otherwise)."""
    writer = stack.enter_context(store.writer())
    for chunk in chunks(source, name):
        writer.write(chunk)
    return writer


def staged_chunks(writer: BlobWriter) -> Callable[[], Iterable[bytes]]:
    def generate() -> Iterable[bytes]:
        with writer.open_staged() as staged:
            yield from _read_chunks(staged)

    return generate


def _read_chunks(stream: IO[bytes]) -> Iterable[bytes]:
    while chunk := stream.read(1 << 20):
        yield chunk


def record_bundle_media(
    session: Session,
    store: BlobStore,
    case: Case,
    user: User,
    *,
    bundle: Mapping[str, Any],
    media: str,
    media_writer: BlobWriter,
    summary: dict[str, Any],
    side: Sequence[tuple[str, BlobWriter]],
) -> dict[str, Any]:
    """One media file of a bundle and its proof files, recorded in one transaction: the media as an item (or, when
    the case holds it already, an acquisition of that item), each proof file as its `proof_file` derivative, and the
    check, whose outcome (failed included) the custody entry states."""
    status = summary["status"]
    fingerprint = summary["key"]["fingerprint"]
    stated = {
        "proofmode_bundle": bundle["name"],
        "proofmode_bundle_sha256": bundle["sha256"],
        "key_fingerprint": fingerprint or None,
        "proofmode_verification": status,
        "proofmode_problems": [describe(p) for p in summary["problems"]][:20],
    }
    fields = dict(bundle.get("fields") or {})
    incident_ids = fields.pop("incident_ids", [])
    existing = same_file_in_case(session, case, media_writer.sha256)
    duplicate = existing is not None
    if existing is not None:
        media_writer.abort()
        record_item_event(
            session,
            existing,
            user,
            Action.ACQUISITION_RECORDED,
            {"original_filename": display_filename(proofmode.base_name(media)), "size": media_writer.size, **stated},
        )
        item = existing
    else:
        item = ingest(
            session,
            store,
            case,
            user,
            media_writer,
            filename=proofmode.base_name(media),
            data=fields,
            incident_ids=incident_ids,
            provenance=stated,
        )
    derivatives = []
    for name, writer in side:
        if writer.size == 0:
            writer.abort()
            continue
        derivative = ingest(
            session,
            store,
            case,
            user,
            writer,
            filename=proofmode.base_name(name),
            data={},
            parent=item,
            derivation=Derivation.PROOF_FILE,
            provenance={"proofmode_bundle": bundle["name"], "proofmode_bundle_sha256": bundle["sha256"]},
        )
        derivatives.append({"ern": derivative.ern, "file": proofmode.base_name(name), "sha256": derivative.sha256})
    summary = {**summary, "bundle": {"name": bundle["name"], "sha256": bundle["sha256"]}, "derivatives": derivatives}
    record_check(session, item, ProvenanceKind.PROOFMODE, summary)
    return {
        "evidence_id": str(item.id),
        "ern": item.ern,
        "media": proofmode.base_name(media),
        "status": status,
        "duplicate": duplicate,
        "problems": [describe(p) for p in summary["problems"]],
        "proof_files": len(derivatives),
    }


def record_check(
    session: Session, item: EvidenceItem, kind: ProvenanceKind, summary: dict[str, Any]
) -> ProvenanceRecord:
    key = summary.get("key") or {}
    record = ProvenanceRecord(
        evidence_id=item.id,
        kind=kind,
        status=ProvenanceStatus(summary["status"]),
        signer="; ".join(key.get("user_ids") or [])[:500],
        key_fingerprint=str(key.get("fingerprint") or "")[:100],
        signed_at=_moment(summary.get("signed_at")),
        summary=summary,
        bundle_sha256=(summary.get("bundle") or {}).get("sha256"),
        checked_at=_moment(summary.get("checked_at")) or datetime.now().astimezone(),
    )
    session.add(record)
    session.flush()
    return record


def _moment(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else None


# --- an item's provenance, in one shape ---------------------------------------------------------------------------


def latest_records(session: Session, item_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[ProvenanceRecord]]:
    """Each item's newest check of each kind, in one query."""
    found: dict[uuid.UUID, dict[ProvenanceKind, ProvenanceRecord]] = {}
    if not item_ids:
        return {}
    stmt = (
        select(ProvenanceRecord)
        .where(ProvenanceRecord.evidence_id.in_(list(item_ids)))
        .order_by(ProvenanceRecord.checked_at.desc(), ProvenanceRecord.id)
    )
    for record in session.scalars(stmt):
        found.setdefault(record.evidence_id, {}).setdefault(record.kind, record)
    return {item_id: list(kinds.values()) for item_id, kinds in found.items()}


def provenance_of(session: Session, items: Sequence[EvidenceItem]) -> dict[uuid.UUID, list[dict[str, Any]]]:
    """What each item's provenance says: what was signed, by which key or certificate, when, and whether it
    verifies (JSON-ready; the same for the item page, the API and dossiers)."""
    records = latest_records(session, [i.id for i in items])
    out: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for item in items:
        entries = []
        credentials = (item.extracted or {}).get("c2pa")
        if isinstance(credentials, dict):
            entries.append(c2pa_entry(item, credentials))
        for record in records.get(item.id, []):
            if record.kind is ProvenanceKind.PROOFMODE:
                entries.append(proofmode_entry(record))
        out[item.id] = entries
    return out


def c2pa_entry(item: EvidenceItem, summary: dict[str, Any]) -> dict[str, Any]:
    signer = summary.get("signer") or {}
    failures = list(summary.get("failures") or [])
    if summary.get("status") == c2pa_check.UNREADABLE:
        failures = [{"code": "c2pa.unreadable", "explanation": summary.get("error", "")}]
    tampered = any(f.get("code", "").startswith("assertion.dataHash") for f in failures)
    readable = summary.get("status") != c2pa_check.UNREADABLE
    return {
        "kind": "c2pa",
        "status": summary.get("status", c2pa_check.UNREADABLE),
        "intact": summary.get("status") in (c2pa_check.VERIFIED, c2pa_check.UNTRUSTED),
        "signer": ", ".join(p for p in (signer.get("common_name"), signer.get("issuer")) if p),
        "key": signer.get("serial") or "",
        "signed_at": summary.get("signed_at"),
        "checked_at": summary.get("checked_at"),
        "signed": [
            {
                "what": summary.get("title") or item.original_filename or item.ern,
                "sha256": item.sha256,
                "outcome": "mismatch" if tampered else ("ok" if readable else "unreadable"),
            }
        ],
        "problems": [describe(f) for f in failures if f.get("code") not in c2pa_check.TRUST_CODES],
        "details": {
            "claim_generator": summary.get("claim_generator", ""),
            "validation_state": summary.get("validation_state", ""),
            "actions": summary.get("actions") or [],
            "ingredients": summary.get("ingredients") or [],
            "failures": failures,
            "signature_algorithm": signer.get("algorithm", ""),
            "manifest": summary.get("manifest", ""),
            "library": summary.get("library", ""),
        },
    }


def proofmode_entry(record: ProvenanceRecord) -> dict[str, Any]:
    summary = record.summary or {}
    signed = [
        {"what": c.get("signed_file", ""), "sha256": c.get("sha256"), "outcome": c.get("outcome", "")}
        for c in summary.get("checks") or []
        if c.get("signed_file")
    ]
    return {
        "kind": "proofmode",
        "status": record.status.value,
        "intact": record.status is ProvenanceStatus.VERIFIED,
        "signer": record.signer,
        "key": record.key_fingerprint,
        "signed_at": record.signed_at.isoformat() if record.signed_at else None,
        "checked_at": record.checked_at.isoformat(),
        "signed": signed,
        "problems": [describe(p) for p in summary.get("problems") or []],
        "details": {
            "bundle": summary.get("bundle") or {},
            "capture": summary.get("capture"),
            "checks": summary.get("checks") or [],
            "derivatives": summary.get("derivatives") or [],
            "key": summary.get("key") or {},
        },
    }
