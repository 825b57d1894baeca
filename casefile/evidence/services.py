"""Evidence: ingest, metadata changes, derivatives, listing. Every touch writes a custody entry.
(Linking an item to what it is evidence of is casefile/links.)

Ingest order matters: the blob is stored before the row is written, so a crash leaves at most an
unreferenced blob (fsck reports it), never a row without its file; the ledger entry is appended last
because its lock is held until the request commits.
"""

from __future__ import annotations

import unicodedata
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from io import BytesIO
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, selectinload

from casefile import models as _every_model  # noqa: F401 - link targets must be mapped before LINK_LOADS
from casefile.auth.gate import member_case_ids
from casefile.auth.models import User
from casefile.cases.models import Case, Incident
from casefile.custody.actions import Action
from casefile.custody.ledger import record_custody, record_item_event
from casefile.custody.models import CustodyEntry
from casefile.errors import DuplicateFile, NotFound, ValidationFailed
from casefile.evidence.derived import PENDING, derive, derive_later
from casefile.evidence.jobs import DERIVE
from casefile.evidence.models import (
    INFO_CREDIBILITY,
    SOURCE_RELIABILITY,
    Classification,
    Derivation,
    DerivedStatus,
    EvidenceItem,
    EvidenceKind,
    OnDuplicate,
)
from casefile.evidence.similar import record_hashes
from casefile.evidence.sniff import kind_hint, sniff_media_type
from casefile.jobs.services import submit
from casefile.links.models import EvidenceLink, touching_actor
from casefile.paging import Keyset
from casefile.parsing import clean_text, parse_choice
from casefile.storage import BlobStore, BlobWriter, HashMismatch, InvalidBlobId

EDITABLE_FIELDS = (
    "title",
    "description",
    "source",
    "source_reliability",
    "info_credibility",
    "collected_at",
    "collected_by",
    "collection_place",
    "classification",
    "graphic",
    "kind",
)


COLLECTED_PRECISIONS = ("day", "month", "year")


def display_filename(name: str | None) -> str:
    """Keep the uploader's file name as evidence of what was received, but inert: control, format and
    bidi-override characters become visible \\uXXXX escapes, and the length is bounded."""
    name = name or ""
    out = "".join(
        f"\\u{ord(ch):04x}" if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn") else ch for ch in name
    )
    return out if len(out) <= 500 else out[:499] + "…"


def parse_datetime(value: Any, field: str) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            raise ValidationFailed(_("Use a date and time like 2020-06-05T14:30 (UTC)."), field=field) from None
    # Times without a zone are taken as UTC, as the form says.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def parse_grading(data: Mapping[str, Any]) -> tuple[str | None, int | None]:
    reliability = data.get("source_reliability") or None
    if reliability is not None and reliability not in SOURCE_RELIABILITY:
        raise ValidationFailed(_("Source reliability is graded A to F."), field="source_reliability")
    credibility_raw = data.get("info_credibility")
    credibility: int | None = None
    if credibility_raw not in (None, ""):
        try:
            credibility = int(credibility_raw)
        except (TypeError, ValueError):
            credibility = -1
        if credibility not in INFO_CREDIBILITY:
            raise ValidationFailed(_("Information credibility is graded 1 to 6."), field="info_credibility")
    return reliability, credibility


def parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "yes", "on", "y")


@dataclass(frozen=True)
class IngestFields:
    """Validated descriptive fields of an item (everything but the file)."""

    values: dict[str, Any]
    kind: EvidenceKind | None


def validate_fields(data: Mapping[str, Any], *, partial: bool = False) -> IngestFields:
    """Check every descriptive field before any byte is stored, so bad input loses nothing."""
    values: dict[str, Any] = {}

    def given(name: str) -> bool:
        return not partial or name in data

    if given("title"):
        values["title"] = clean_text(data.get("title"), "title", max_length=300)
    for name, limit in (("description", 50000), ("source", 500), ("collected_by", 200), ("collection_place", 300)):
        if given(name):
            values[name] = clean_text(data.get(name), name, max_length=limit)
    if given("collected_at"):
        values["collected_at"] = parse_datetime(data.get("collected_at"), "collected_at")
    if given("collected_precision"):
        precision = data.get("collected_precision") or None
        if precision is not None and precision not in COLLECTED_PRECISIONS:
            raise ValidationFailed(
                _("Choose one of: %(allowed)s.", allowed=", ".join(COLLECTED_PRECISIONS)), field="collected_precision"
            )
        values["collected_precision"] = precision
    if given("classification") and data.get("classification"):
        values["classification"] = parse_choice(data["classification"], Classification, "classification")
    if given("graphic"):
        values["graphic"] = parse_bool(data.get("graphic", False))
    if given("source_reliability") or given("info_credibility"):
        reliability, credibility = parse_grading(data)
        if given("source_reliability"):
            values["source_reliability"] = reliability
        if given("info_credibility"):
            values["info_credibility"] = credibility
    kind = parse_choice(data["kind"], EvidenceKind, "kind") if data.get("kind") else None
    if kind is not None:
        values["kind"] = kind
    return IngestFields(values, kind)


def incidents_in_case(session: Session, case: Case, ids: Iterable[Any]) -> list[Incident]:
    wanted = []
    for raw in ids:
        try:
            wanted.append(uuid.UUID(str(raw)))
        except ValueError:
            raise ValidationFailed(_("Unknown incident."), field="incident_ids") from None
    if not wanted:
        return []
    found = list(session.scalars(select(Incident).where(Incident.id.in_(wanted), Incident.case_id == case.id)))
    if len(found) != len(set(wanted)):
        # Another case's incident is indistinguishable from a missing one.
        raise ValidationFailed(_("Unknown incident."), field="incident_ids")
    return found


def allocate_ern(session: Session, case: Case) -> tuple[int, str]:
    """Next number under a row lock on the case: unique, never reused (a failed ingest burns its number)."""
    # populate_existing: the case is usually already in the session; the locked row must be re-read.
    locked = session.scalar(
        select(Case).where(Case.id == case.id).with_for_update().execution_options(populate_existing=True)
    )
    if locked is None:
        raise NotFound("Not found.")
    number = locked.next_ern
    locked.next_ern = number + 1
    session.flush()
    return number, f"{locked.reference}-{number:05d}"


def ingest(
    session: Session,
    store: BlobStore,
    case: Case,
    actor: User,
    writer: BlobWriter,
    *,
    filename: str | None,
    data: Mapping[str, Any],
    declared_sha256: str | None = None,
    incident_ids: Sequence[Any] = (),
    parent: EvidenceItem | None = None,
    derivation: Derivation | None = None,
    on_duplicate: OnDuplicate = OnDuplicate.ASK,
    provenance: Mapping[str, Any] | None = None,
) -> EvidenceItem:
    """Record one uploaded file as an evidence item. `writer` holds the bytes, already hashed while they
    streamed in; it is committed to the store here (or discarded on any refusal). A file already in the case is
    refused (DuplicateFile) unless the uploader chose to keep it as a copy; recording it on the existing item
    instead is `record_acquisition`, which the caller tries first. `provenance` is added to the `ingested` entry
    (the import and row a file came from)."""
    copy_of: EvidenceItem | None = None
    try:
        fields = validate_fields(data)
        incidents = incidents_in_case(session, case, incident_ids)
        if writer.size == 0:
            raise ValidationFailed(_("The file is empty: there is nothing to record."), field="file")
        existing = same_file_in_case(session, case, writer.sha256) if parent is None else None
        if existing is not None and on_duplicate is not OnDuplicate.COPY:
            raise DuplicateFile(
                _(
                    "This file is already in the case as %(ern)s (%(title)s). Record this as a new acquisition of "
                    "%(ern)s, or keep it as a separate copy.",
                    ern=existing.ern,
                    title=existing.title,
                ),
                existing={"id": str(existing.id), "ern": existing.ern, "title": existing.title},
            )
        copy_of = existing
        with writer.open_staged() as staged:
            media_type = sniff_media_type(staged)
            later = derive_later(media_type, writer.size)
            derived = PENDING if later else derive(staged, media_type)
        sha256 = writer.commit(declared_sha256 or None)
    except HashMismatch as error:
        raise ValidationFailed(
            _(
                "The file's SHA-256 is %(actual)s, not the declared %(expected)s: nothing was recorded.",
                actual=error.actual,
                expected=error.expected,
            ),
            field="sha256",
        ) from None
    except InvalidBlobId:
        raise ValidationFailed(_("The declared sha256 must be 64 hexadecimal digits."), field="sha256") from None
    finally:
        writer.abort()  # no-op after a successful commit
    preview = store.put(BytesIO(derived.thumbnail)) if derived.thumbnail else None
    number, ern = allocate_ern(session, case)
    values = fields.values
    item = EvidenceItem(
        case_id=case.id,
        ern=ern,
        number=number,
        kind=fields.kind or EvidenceKind(kind_hint(media_type)),
        title=values.get("title") or display_filename(filename)[:300] or ern,
        description=values.get("description", ""),
        source=values.get("source", ""),
        source_reliability=values.get("source_reliability"),
        info_credibility=values.get("info_credibility"),
        collected_at=values.get("collected_at"),
        collected_precision=values.get("collected_precision"),
        collected_by=values.get("collected_by", ""),
        collection_place=values.get("collection_place", ""),
        original_filename=display_filename(filename),
        media_type=media_type,
        size=writer.size,
        sha256=sha256,
        extracted=derived.metadata,
        metadata_status=derived.metadata.get("status", "none"),
        text_content=derived.text,
        derived_status=DerivedStatus.PENDING if later else DerivedStatus.DONE,
        preview_sha256=preview,
        # A derivative is never less restricted than its original unless someone says so.
        classification=values.get("classification", parent.classification if parent else Classification.CONFIDENTIAL),
        graphic=values.get("graphic", False),
        parent_id=parent.id if parent else None,
        derivation=derivation,
        copy_of_id=copy_of.id if copy_of else None,
        created_by_id=actor.id,
    )
    session.add(item)
    session.flush()
    record_hashes(session, item, derived.perceptual)
    for incident in incidents:
        session.add(EvidenceLink(evidence_id=item.id, case_id=case.id, incident_id=incident.id, created_by_id=actor.id))
    session.flush()
    if parent is not None:
        record_custody(
            session,
            actor=actor,
            action=Action.DERIVATIVE_CREATED,
            case_id=case.id,
            evidence_id=parent.id,
            sha256=parent.sha256,
            details={"derivative": ern, "derivation": str(derivation), "derivative_sha256": sha256},
        )
    record_custody(
        session,
        actor=actor,
        action=Action.INGESTED,
        case_id=case.id,
        evidence_id=item.id,
        sha256=sha256,
        details={
            "ern": ern,
            "size": item.size,
            "media_type": media_type,
            "original_filename": item.original_filename,
            "declared_sha256": declared_sha256 or None,
            "metadata_status": item.metadata_status,
            "incidents": sorted(str(i.id) for i in incidents),
            **({"parent": parent.ern, "derivation": str(derivation)} if parent else {}),
            **({"copy_of": copy_of.ern} if copy_of else {}),
            **(provenance or {}),
        },
    )
    if later:
        submit(session, DERIVE, case, actor, {"evidence_id": str(item.id)})
    return item


def same_file_in_case(session: Session, case: Case, sha256: str) -> EvidenceItem | None:
    """The case's first item with this content (not a derivative: an original or a copy), if any."""
    return session.scalar(
        select(EvidenceItem)
        .where(EvidenceItem.case_id == case.id, EvidenceItem.sha256 == sha256, EvidenceItem.parent_id.is_(None))
        .order_by(EvidenceItem.number)
        .limit(1)
    )


@dataclass(frozen=True)
class SameFile:
    id: uuid.UUID
    ern: str
    case_id: uuid.UUID
    case_reference: str


SAME_FILE_SHOWN = 20


def same_file_elsewhere(session: Session, item: EvidenceItem, user: User) -> list[SameFile]:
    """Other items with this item's content (copies in its case, the same file in other cases), only in cases the
    user is a member of: a duplicate must not reveal that a case they cannot see holds the same photo."""
    rows = session.execute(
        select(EvidenceItem.id, EvidenceItem.ern, EvidenceItem.case_id, Case.reference)
        .join(Case, Case.id == EvidenceItem.case_id)
        .where(
            EvidenceItem.sha256 == item.sha256,
            EvidenceItem.id != item.id,
            EvidenceItem.case_id.in_(member_case_ids(user)),
        )
        .order_by(Case.reference, EvidenceItem.number)
        .limit(SAME_FILE_SHOWN)
    )
    return [SameFile(*row) for row in rows]


ACQUISITION_FIELDS = ("source", "collected_at", "collected_by", "collection_place", "description")


def record_acquisition(
    session: Session, case: Case, actor: User, writer: BlobWriter, *, filename: str | None, data: Mapping[str, Any]
) -> EvidenceItem | None:
    """If the uploaded file is already an item of the case, record this arrival on that item (who gave it, when,
    where, under what name) as an `acquisition_recorded` custody entry, discard the upload and return the item;
    otherwise None (nothing written), and the caller ingests it as a new item."""
    existing = same_file_in_case(session, case, writer.sha256) if writer.size else None
    if existing is None:
        return None
    fields = validate_fields({k: v for k, v in data.items() if k in ACQUISITION_FIELDS}, partial=True).values
    writer.abort()
    record_item_event(
        session,
        existing,
        actor,
        Action.ACQUISITION_RECORDED,
        {
            **{name: _jsonable(fields[name]) for name in ACQUISITION_FIELDS if fields.get(name)},
            "original_filename": display_filename(filename),
            "size": writer.size,
        },
    )
    return existing


def update_metadata(session: Session, item: EvidenceItem, actor: User, data: Mapping[str, Any]) -> EvidenceItem:
    """Change descriptive fields (never the content). The ledger records each change, old and new."""
    fields = validate_fields({k: v for k, v in data.items() if k in EDITABLE_FIELDS}, partial=True)
    if "title" in fields.values and not fields.values["title"]:
        raise ValidationFailed(_("This field is required."), field="title")
    changes: dict[str, Any] = {}
    for name, value in fields.values.items():
        old = getattr(item, name)
        if old != value:
            changes[name] = {"from": _jsonable(old), "to": _jsonable(value)}
            setattr(item, name, value)
    if changes:
        session.flush()
        record_item_event(
            session,
            item,
            actor,
            Action.METADATA_CHANGED,
            {"changes": changes},
        )
    return item


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "value"):
        return value.value
    return value


def record_read(session: Session, item: EvidenceItem, actor: User, action: Action, via: str) -> CustodyEntry:
    """Every read of evidence content is a custody entry, written before the content is sent."""
    return record_item_event(
        session,
        item,
        actor,
        action,
        {"via": via},
    )


@dataclass(frozen=True)
class EvidenceFilter:
    kind: EvidenceKind | None = None
    classification: Classification | None = None
    incident_id: uuid.UUID | None = None
    source_reliability: str | None = None
    info_credibility: int | None = None
    actor_id: uuid.UUID | None = None
    collected_from: datetime | None = None
    collected_to: datetime | None = None


def parse_uuid_arg(args: Mapping[str, Any], name: str, message: str) -> uuid.UUID | None:
    if not args.get(name):
        return None
    try:
        return uuid.UUID(str(args[name]))
    except ValueError:
        raise ValidationFailed(message, field=name) from None


def parse_filter(args: Mapping[str, Any]) -> EvidenceFilter:
    def opt(name: str, cls: type) -> Any:
        return parse_choice(args[name], cls, name) if args.get(name) else None

    reliability, credibility = parse_grading(args)
    return EvidenceFilter(
        opt("kind", EvidenceKind),
        opt("classification", Classification),
        parse_uuid_arg(args, "incident", _("Unknown incident.")),
        reliability,
        credibility,
        parse_uuid_arg(args, "actor", _("Unknown actor.")),
        parse_datetime(args.get("collected_from"), "collected_from"),
        _end_of(args.get("collected_to"), "collected_to"),
    )


def _end_of(value: Any, field: str) -> datetime | None:
    """An upper bound that includes the whole day when only a date is given."""
    moment = parse_datetime(value, field)
    if moment is not None and len(str(value)) == 10:
        moment += timedelta(days=1) - timedelta(microseconds=1)
    return moment


LINK_LOADS = (
    selectinload(EvidenceItem.links).selectinload(EvidenceLink.incident),
    selectinload(EvidenceItem.links).selectinload(EvidenceLink.actor),
    selectinload(EvidenceItem.links).selectinload(EvidenceLink.relation),
    selectinload(EvidenceItem.links).selectinload(EvidenceLink.involvement),
    selectinload(EvidenceItem.links).selectinload(EvidenceLink.charge),
)


def with_links(session: Session, item: EvidenceItem) -> EvidenceItem:
    """Load every link target of an item in a fixed number of queries (pages must not query per link)."""
    session.scalars(select(EvidenceItem).where(EvidenceItem.id == item.id).options(*LINK_LOADS)).one()
    return item


def evidence_query(case: Case, flt: EvidenceFilter) -> Select[EvidenceItem]:
    """Items of a case, filtered, newest ERN last; links are loaded in one extra query per page."""
    stmt = select(EvidenceItem).where(EvidenceItem.case_id == case.id)
    if flt.kind:
        stmt = stmt.where(EvidenceItem.kind == flt.kind)
    if flt.classification:
        stmt = stmt.where(EvidenceItem.classification == flt.classification)
    if flt.source_reliability:
        stmt = stmt.where(EvidenceItem.source_reliability == flt.source_reliability)
    if flt.info_credibility:
        stmt = stmt.where(EvidenceItem.info_credibility == flt.info_credibility)
    if flt.incident_id:
        stmt = stmt.where(
            EvidenceItem.id.in_(select(EvidenceLink.evidence_id).where(EvidenceLink.incident_id == flt.incident_id))
        )
    if flt.actor_id:
        stmt = stmt.where(EvidenceItem.id.in_(select(EvidenceLink.evidence_id).where(touching_actor(flt.actor_id))))
    if flt.collected_from:
        stmt = stmt.where(EvidenceItem.collected_at >= flt.collected_from)
    if flt.collected_to:
        stmt = stmt.where(EvidenceItem.collected_at <= flt.collected_to)
    return stmt.order_by(EvidenceItem.number).options(*LINK_LOADS)


# evidence_query's order as a seek key: the number is unique within a case (the ERN), so it alone orders the
# rows totally, and the (case_id, number) unique index serves both the case filter and the order at any depth.
EVIDENCE_KEYSET = Keyset("evidence", (EvidenceItem.number,))


def count(session: Session, stmt: Select[Any]) -> int:
    """An exact count, for lists bounded by nature (an import's rows); the case's evidence uses bounded_count."""
    return session.scalar(select(func.count()).select_from(stmt.order_by(None).options().subquery())) or 0


def download_name(item: EvidenceItem) -> str:
    """A safe name for downloads, built from the ERN, never from the uploader's file name."""
    extension = {
        "image/jpeg": ".jpg",
        "image/png": ".png",
        "image/gif": ".gif",
        "image/webp": ".webp",
        "image/tiff": ".tif",
        "application/pdf": ".pdf",
        "text/plain": ".txt",
        "video/mp4": ".mp4",
        "audio/mpeg": ".mp3",
        "audio/x-wav": ".wav",
        "video/quicktime": ".mov",
    }.get(item.media_type, ".bin")
    return f"{item.ern}{extension}"
