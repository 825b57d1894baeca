"""Imports: an archive and a manifest brought into a case, previewed, then run, row by row. Like every service:
flush, never commit (the job handlers in intake/jobs.py own the transactions).

The preview reads everything (the manifest, every file's bytes for its SHA-256) and writes only the import's rows:
what each will become and why. The run then creates the rows planned `create`, each in its own transaction with
its row's new status, so a run interrupted anywhere resumes where it stopped, and a second import of the same
material finds every file already in the case (a duplicate), every incident and actor already there: nothing is
created twice.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import IO, Any

from flask import Response, stream_with_context
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from casefile.actors.models import Actor
from casefile.actors.services import (
    DUPLICATE_THRESHOLD,
    LikelyDuplicates,
    active_actors,
    check_actor,
    create_actor,
    likely_duplicates,
    resemblance,
)
from casefile.auth.gate import Access, require_case
from casefile.auth.models import User
from casefile.cases.models import Case, Incident
from casefile.cases.services import check_incident, create_incident
from casefile.db import utcnow
from casefile.errors import Conflict, DuplicateFile, ValidationFailed
from casefile.evidence.services import same_file_in_case, validate_fields
from casefile.intake.dates import DATE_ORDERS, parse_human_date
from casefile.intake.manifest import ManifestError, read_rows
from casefile.intake.models import REASON_LENGTH, Import, ImportKind, ImportRow, ImportState, RowStatus
from casefile.intake.sources import MANIFEST_NAMES, Source, SourceError, UnsafeName, chunks, safe_name
from casefile.parsing import parse_choice
from casefile.storage import BlobStore, BlobWriter
from casefile.witnesses.models import Witness
from casefile.witnesses.services import ingest_evidence, validate_statement

# Separators between several incidents, violation types or aliases in one cell.
_LIST = re.compile(r"\s*[;|\n]\s*")

MAX_MANIFEST_BYTES = 50 << 20

Progress = Callable[[int, int | None, str], None]


def split_list(value: Any) -> list[str]:
    return [part for part in _LIST.split(str(value or "").strip()) if part]


def _no_progress(_done: int, _total: int | None, _message: str) -> None:
    return None


@dataclass
class Planned:
    number: int
    status: RowStatus
    reason: str = ""
    file_name: str = ""
    label: str = ""
    sha256: str | None = None
    values: dict[str, Any] = field(default_factory=dict)
    target_id: uuid.UUID | None = None
    target_ref: str = ""


def refusal(error: ValidationFailed) -> str:
    """A row's reason from a field's error: the field, then what is wrong with it."""
    field_name = next(iter(error.errors), None)
    return f"{field_name}: {error.message}" if field_name else error.message


# --- creating an import ---------------------------------------------------------------------------------------


def create_import(
    session: Session,
    case: Case,
    user: User,
    kind: Any,
    *,
    archive: tuple[BlobWriter, str] | None,
    manifest: tuple[BlobWriter, str] | None,
    date_order: Any = None,
    folder: str | None = None,
) -> Import:
    """Keep the uploaded archive and manifest (committed to the blob store: any worker can read them) and record
    the import, previewing. The caller submits the preview job. `folder`: the command line's folder on the server,
    read by that process (no archive is kept)."""
    require_case(session, user, case.id, Access.WRITE)
    kind = parse_choice(kind or ImportKind.EVIDENCE, ImportKind, "kind")
    order = date_order or "dmy"
    if order not in DATE_ORDERS:
        raise ValidationFailed(_("Choose one of: %(allowed)s.", allowed=", ".join(DATE_ORDERS)), field="date_order")
    if archive is not None and archive[0].size == 0:
        archive = None
    if manifest is not None and manifest[0].size == 0:
        manifest = None
    if kind is ImportKind.EVIDENCE and archive is None and folder is None:
        raise ValidationFailed(_("Send the files as a ZIP archive."), field="archive")
    if kind is not ImportKind.EVIDENCE and manifest is None:
        raise ValidationFailed(_("Send the spreadsheet (CSV or XLSX)."), field="manifest")
    imp = Import(case_id=case.id, kind=kind, date_order=order, created_by_id=user.id, state=ImportState.PREVIEWING)
    if archive is not None:
        imp.archive_sha256, imp.archive_name = archive[0].commit(), _name(archive[1])
    elif folder is not None:
        imp.archive_name = _name(folder)
    if manifest is not None:
        imp.manifest_sha256, imp.manifest_name = manifest[0].commit(), _name(manifest[1])
    session.add(imp)
    session.flush()
    return imp


def _name(name: str | None) -> str:
    return "".join(ch for ch in (name or "") if ch.isprintable())[:300]


# --- preview ----------------------------------------------------------------------------------------------------


@dataclass
class CaseIndex:
    """What rows refer to, read once per preview: incidents by id and title, witnesses by pseudonym."""

    incidents_by_id: dict[str, uuid.UUID]
    incidents_by_title: dict[str, list[uuid.UUID]]
    witnesses: dict[str, uuid.UUID]

    @classmethod
    def of(cls, session: Session, case: Case) -> CaseIndex:
        by_id: dict[str, uuid.UUID] = {}
        by_title: dict[str, list[uuid.UUID]] = {}
        for incident_id, title in session.execute(
            select(Incident.id, Incident.title).where(Incident.case_id == case.id)
        ):
            by_id[str(incident_id)] = incident_id
            by_title.setdefault(title.casefold().strip(), []).append(incident_id)
        witnesses = {
            code.casefold(): witness_id
            for witness_id, code in session.execute(select(Witness.id, Witness.code).where(Witness.case_id == case.id))
        }
        return cls(by_id, by_title, witnesses)

    def incident(self, reference: str) -> uuid.UUID:
        found = self.incidents_by_id.get(reference.strip().lower())
        if found is not None:
            return found
        matches = self.incidents_by_title.get(reference.casefold().strip(), [])
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise ValidationFailed(
                _("%(n)d incidents are titled %(ref)s: give the incident's id.", n=len(matches), ref=reference),
                field="incidents",
            )
        raise ValidationFailed(_("No incident “%(ref)s” in this case.", ref=reference), field="incidents")


def hash_member(source: Source, name: str) -> tuple[str, int]:
    """The member's SHA-256 and size, read in chunks."""
    digest, size = hashlib.sha256(), 0
    for chunk in chunks(source, name):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def _evidence_values(raw: Mapping[str, Any], index: CaseIndex, order: str) -> dict[str, Any]:
    """The row's fields, validated, as the JSON the run will pass to the ingest service."""
    data = {k: v for k, v in raw.items() if k not in ("file", "incidents", "witness", "sha256") and v != ""}
    moment, precision = parse_human_date(raw.get("collected_at"), "collected_at", order)
    if moment is not None:
        data["collected_at"] = moment.isoformat()
        data["collected_precision"] = raw.get("collected_precision") or precision
    for name in ("interview_date",):
        if raw.get(name):
            day, _precision = parse_human_date(raw[name], name, order)
            data[name] = day.date().isoformat() if day else ""
    data = {k: (v.isoformat() if isinstance(v, date | datetime) else str(v)) for k, v in data.items()}
    validate_fields(data)
    values: dict[str, Any] = {"data": data}
    values["incident_ids"] = [str(index.incident(ref)) for ref in split_list(raw.get("incidents"))]
    pseudonym = str(raw.get("witness") or "").strip()
    if pseudonym:
        witness_id = index.witnesses.get(pseudonym.casefold())
        if witness_id is None:
            raise ValidationFailed(_("No witness “%(code)s” in this case.", code=pseudonym), field="witness")
        validate_statement(data)
        values["witness_id"] = str(witness_id)
    return values


def plan_evidence(
    session: Session,
    case: Case,
    imp: Import,
    source: Source,
    rows: Iterator[tuple[int, dict[str, Any]]],
    progress: Progress,
) -> Iterator[Planned]:
    index = CaseIndex.of(session, case)
    seen: dict[str, int] = {}
    names = set(source.names())
    unsafe: set[str] = getattr(source, "unsafe", set())
    total = len(names)
    for done, (number, raw) in enumerate(rows):
        progress(done, total, _("Reading row %(n)d", n=number))
        yield _plan_one_evidence(session, case, imp, source, names, unsafe, index, seen, number, raw)


def _plan_one_evidence(
    session: Session,
    case: Case,
    imp: Import,
    source: Source,
    names: set[str],
    unsafe: set[str],
    index: CaseIndex,
    seen: dict[str, int],
    number: int,
    raw: dict[str, Any],
) -> Planned:
    row = Planned(
        number, RowStatus.REFUSED, file_name=_name(str(raw.get("file") or "")), label=_name(str(raw.get("title") or ""))
    )
    if "__error__" in raw:
        row.reason = raw["__error__"]
        return row
    try:
        name = safe_name(str(raw.get("file") or ""))
    except UnsafeName as error:
        row.reason = str(error) if raw.get("file") else _("The row names no file.")
        return row
    if name not in names:
        row.reason = (
            _("The file name is not a plain path inside the archive.")
            if any(name in u for u in unsafe)
            else _("There is no file %(name)s in the archive.", name=name)
        )
        return row
    row.label = row.label or name.rsplit("/", 1)[-1]
    try:
        row.values = _evidence_values(raw, index, imp.date_order)
        declared = str(raw.get("sha256") or "").strip().lower() or None
        if declared is not None and not re.fullmatch(r"[0-9a-f]{64}", declared):
            raise ValidationFailed(_("The declared sha256 must be 64 hexadecimal digits."), field="sha256")
        row.sha256, size = hash_member(source, name)
    except ValidationFailed as error:
        row.reason = refusal(error)
        return row
    except SourceError as error:
        row.reason = str(error)
        return row
    row.values["file"] = name
    if size == 0:
        row.reason = _("The file is empty: there is nothing to record.")
    elif declared is not None and declared != row.sha256:
        row.reason = _(
            "The file's SHA-256 is %(actual)s, not the declared %(expected)s.", actual=row.sha256, expected=declared
        )
    elif (existing := same_file_in_case(session, case, row.sha256)) is not None:
        row.status, row.reason = RowStatus.DUPLICATE, _("Already in the case as %(ern)s.", ern=existing.ern)
        row.target_id, row.target_ref = existing.id, existing.ern
    elif row.sha256 in seen:
        row.status, row.reason = RowStatus.DUPLICATE, _("The same file as row %(n)d.", n=seen[row.sha256])
    else:
        seen[row.sha256] = number
        row.status = RowStatus.CREATE
    return row


def plan_incidents(
    session: Session, case: Case, imp: Import, rows: Iterator[tuple[int, dict[str, Any]]], progress: Progress
) -> Iterator[Planned]:
    existing = {
        title.casefold().strip(): (incident_id, title)
        for incident_id, title in session.execute(
            select(Incident.id, Incident.title).where(Incident.case_id == case.id)
        )
    }
    seen: dict[str, int] = {}
    for done, (number, raw) in enumerate(rows):
        progress(done, None, _("Reading row %(n)d", n=number))
        row = Planned(number, RowStatus.REFUSED, label=_name(str(raw.get("title") or "")))
        if "__error__" in raw:
            row.reason = raw["__error__"]
            yield row
            continue
        try:
            data = {k: v for k, v in raw.items() if v != ""}
            precision = None
            for name in ("start_date", "end_date"):
                moment, found = parse_human_date(raw.get(name), name, imp.date_order)
                data[name] = moment.date().isoformat() if moment else None
                precision = precision or found
            data["date_precision"] = raw.get("date_precision") or (precision if data.get("start_date") else None)
            data["violation_types"] = split_list(raw.get("violation_types"))
            data = {k: (v if isinstance(v, list | type(None)) else str(v)) for k, v in data.items()}
            check_incident(data)
        except ValidationFailed as error:
            row.reason = refusal(error)
            yield row
            continue
        key = str(data["title"]).casefold().strip()
        if key in existing:
            row.status, row.reason = RowStatus.DUPLICATE, _("An incident with this title is already in the case.")
            row.target_id = existing[key][0]
        elif key in seen:
            row.status, row.reason = RowStatus.DUPLICATE, _("The same title as row %(n)d.", n=seen[key])
        else:
            seen[key] = number
            row.status, row.values = RowStatus.CREATE, data
        yield row


def plan_actors(
    session: Session, case: Case, imp: Import, rows: Iterator[tuple[int, dict[str, Any]]], progress: Progress
) -> Iterator[Planned]:
    earlier: list[tuple[int, Actor]] = []
    known = active_actors(session, case)
    for done, (number, raw) in enumerate(rows):
        progress(done, None, _("Reading row %(n)d", n=number))
        row = Planned(number, RowStatus.REFUSED, label=_name(str(raw.get("name") or "")))
        if "__error__" in raw:
            row.reason = raw["__error__"]
            yield row
            continue
        try:
            data: dict[str, Any] = {k: str(v) for k, v in raw.items() if v != ""}
            data["aliases"] = split_list(raw.get("aliases"))
            if raw.get("identifiers"):
                data["identifiers"] = "\n".join(split_list(raw["identifiers"]))
            actor = check_actor(data)
        except ValidationFailed as error:
            row.reason = refusal(error)
            yield row
            continue
        aliases = list(actor.aliases)
        candidates = likely_duplicates(session, case, actor.name, aliases, actor.kind, among=known)
        same_as = next(
            (
                n
                for n, other in earlier
                if resemblance(actor.name, aliases, actor.kind, other)[0] >= DUPLICATE_THRESHOLD
            ),
            None,
        )
        if candidates:
            best = candidates[0].actor
            row.status, row.reason = RowStatus.DUPLICATE, _("Reads like %(name)s, already in the case.", name=best.name)
            row.target_id = best.id
        elif same_as is not None:
            row.status, row.reason = RowStatus.DUPLICATE, _("Reads like the actor of row %(n)d.", n=same_as)
        else:
            earlier.append((number, actor))
            row.status, row.values = RowStatus.CREATE, data
        yield row


def find_manifest(source: Source | None) -> str | None:
    if source is None:
        return None
    names = {name.casefold(): name for name in source.names()}
    return next((names[m] for m in MANIFEST_NAMES if m in names), None)


def rows_without_manifest(source: Source) -> Iterator[tuple[int, dict[str, Any]]]:
    """An archive or folder without a manifest: each file is a row with its name as title."""
    for number, name in enumerate(source.names(), start=2):
        yield number, {"file": name}


def plan(
    session: Session,
    case: Case,
    imp: Import,
    source: Source | None,
    manifest: tuple[IO[bytes], str] | None,
    progress: Progress = _no_progress,
) -> list[Planned]:
    """What every row would become, reading only (the caller may hold a read session): ManifestError or
    SourceError when the manifest or archive as a whole cannot be read. Planned in full before anything is stored,
    so a manifest that breaks at row 900 leaves no partial preview."""
    in_source = find_manifest(source) if manifest is None else None
    if manifest is not None:
        rows = read_rows(imp.kind, manifest[0], manifest[1])
    elif in_source is not None and source is not None:
        stream = io.BytesIO()  # bounded: a manifest, not evidence
        for chunk in chunks(source, in_source):
            stream.write(chunk)
            if stream.tell() > MAX_MANIFEST_BYTES:
                raise ManifestError(_("The manifest is larger than 50 MiB: split it."))
        stream.seek(0)
        rows = read_rows(imp.kind, stream, in_source)
    elif source is not None:
        rows = rows_without_manifest(source)
    else:
        raise ManifestError(_("Send the spreadsheet (CSV or XLSX)."))
    if imp.kind is ImportKind.EVIDENCE:
        if source is None:
            raise ManifestError(_("Send the files as a ZIP archive."))
        return list(plan_evidence(session, case, imp, source, _skip_manifest(rows, in_source), progress))
    if imp.kind is ImportKind.INCIDENTS:
        return list(plan_incidents(session, case, imp, rows, progress))
    return list(plan_actors(session, case, imp, rows, progress))


def store_plan(session: Session, imp: Import, planned: list[Planned] | Exception) -> dict[str, int]:
    """Store the preview (the import becomes `previewed`), or why there is none (`failed`)."""
    if isinstance(planned, Exception):
        fail(imp, str(planned))
        return {}
    if not planned:
        fail(imp, _("The manifest has no rows."))
        return {}
    for row in planned:
        session.add(
            ImportRow(
                import_id=imp.id,
                number=row.number,
                status=row.status,
                reason=row.reason[:REASON_LENGTH],
                file_name=row.file_name[:500],
                label=row.label[:300],
                sha256=row.sha256,
                values=row.values,
                target_id=row.target_id,
                target_ref=row.target_ref,
            )
        )
    imp.state = ImportState.PREVIEWED
    session.flush()
    return dict(Counter(row.status.value for row in planned))


def _skip_manifest(
    rows: Iterator[tuple[int, dict[str, Any]]], manifest: str | None
) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, raw in rows:
        if manifest is None or str(raw.get("file") or "") != manifest:
            yield number, raw


def fail(imp: Import, message: str) -> None:
    imp.state = ImportState.FAILED
    imp.error = message[:2000]
    imp.finished_at = utcnow()


# --- run ---------------------------------------------------------------------------------------------------------


def start(session: Session, imp: Import, user: User) -> None:
    """The user read the preview and starts the import (or continues one that stopped): 409 otherwise."""
    require_case(session, user, imp.case_id, Access.WRITE)
    if imp.state is not ImportState.PREVIEWED:
        raise Conflict(_("This import cannot be started: it is %(state)s.", state=imp.state.value))
    imp.state = ImportState.IMPORTING
    imp.error = None
    session.flush()


def discard(session: Session, imp: Import, user: User) -> None:
    require_case(session, user, imp.case_id, Access.WRITE)
    if imp.state is not ImportState.PREVIEWED:
        raise Conflict(_("Only a previewed import can be discarded: it is %(state)s.", state=imp.state.value))
    imp.state = ImportState.DISCARDED
    imp.finished_at = utcnow()
    session.flush()


def run_row(
    session: Session, store: BlobStore, case: Case, user: User, imp: Import, row: ImportRow, source: Source | None
) -> None:
    """Create what one planned row describes and record the outcome on the row, in the caller's transaction. A row
    refused now (an incident deleted since the preview) leaves nothing behind: its writes are in a savepoint."""
    try:
        with session.begin_nested():
            _create(session, store, case, user, imp, row, source)
    except (LikelyDuplicates, DuplicateFile) as error:
        row.status, row.reason = RowStatus.DUPLICATE, error.message[:REASON_LENGTH]
    except ValidationFailed as error:
        row.status, row.reason = RowStatus.REFUSED, refusal(error)[:REASON_LENGTH]
    except Conflict as error:
        row.status, row.reason = RowStatus.REFUSED, error.message[:REASON_LENGTH]
    except SourceError as error:
        row.status, row.reason = RowStatus.REFUSED, str(error)[:REASON_LENGTH]
    session.flush()


def _create(
    session: Session, store: BlobStore, case: Case, user: User, imp: Import, row: ImportRow, source: Source | None
) -> None:
    if imp.kind is ImportKind.INCIDENTS:
        row.target_id = create_incident(session, case, row.values).id
    elif imp.kind is ImportKind.ACTORS:
        row.target_id = create_actor(session, case, user, row.values).id
    else:
        if source is None or row.sha256 is None:
            raise SourceError(_("The archive is gone: run the import again from the start."))
        existing = same_file_in_case(session, case, row.sha256)
        if existing is not None:  # arrived another way since the preview
            row.status, row.reason = RowStatus.DUPLICATE, _("Already in the case as %(ern)s.", ern=existing.ern)
            row.target_id, row.target_ref = existing.id, existing.ern
            return
        values = row.values
        with store.writer() as writer:
            for chunk in chunks(source, values["file"]):
                writer.write(chunk)
            item = ingest_evidence(
                session,
                store,
                case,
                user,
                writer,
                filename=values["file"].rsplit("/", 1)[-1],
                data=values["data"],
                witness_id=values.get("witness_id"),
                # The preview's hash: the archive is content-addressed, so a difference is a fault, refused.
                declared_sha256=row.sha256,
                incident_ids=values.get("incident_ids", []),
                provenance={"import": str(imp.id), "import_row": row.number},
            )
        row.target_id, row.target_ref = item.id, item.ern
    row.status, row.reason = RowStatus.CREATED, ""


def finish(session: Session, imp: Import) -> dict[str, int]:
    imp.state = ImportState.DONE
    imp.finished_at = utcnow()
    session.flush()
    return counts_of(session, imp)


def imports_json(session: Session, imports: Sequence[Import]) -> list[dict[str, Any]]:
    counts = counts_for(session, [imp.id for imp in imports])
    return [import_json(imp, counts[imp.id]) for imp in imports]


def import_json(imp: Import, counts: dict[str, int]) -> dict[str, Any]:
    return {
        "id": str(imp.id),
        "case_id": str(imp.case_id),
        "kind": imp.kind.value,
        "state": imp.state.value,
        "archive_name": imp.archive_name or None,
        "archive_sha256": imp.archive_sha256,
        "manifest_name": imp.manifest_name or None,
        "manifest_sha256": imp.manifest_sha256,
        "date_order": imp.date_order,
        "error": imp.error,
        "counts": counts,
        "job_id": str(imp.job_id) if imp.job_id else None,
        "created_by": imp.created_by.email if imp.created_by else None,
        "created_at": imp.created_at.isoformat(),
        "finished_at": imp.finished_at.isoformat() if imp.finished_at else None,
    }


# --- reading ---------------------------------------------------------------------------------------------------


def counts_of(session: Session, imp: Import) -> dict[str, int]:
    return counts_for(session, [imp.id])[imp.id]


def counts_for(session: Session, import_ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, int]]:
    """Rows per status of each import, in one query (a list of imports never counts import by import)."""
    counts = {i: dict.fromkeys((status.value for status in RowStatus), 0) for i in import_ids}
    grouped = (
        select(ImportRow.import_id, ImportRow.status, func.count())
        .where(ImportRow.import_id.in_(import_ids))
        .group_by(ImportRow.import_id, ImportRow.status)
    )
    for import_id, status, n in session.execute(grouped) if import_ids else ():
        counts[import_id][RowStatus(status).value] = int(n)
    return counts


def rows_query(imp: Import, status: str | None = None) -> Any:
    stmt = select(ImportRow).where(ImportRow.import_id == imp.id).order_by(ImportRow.number)
    if status:
        stmt = stmt.where(ImportRow.status == parse_choice(status, RowStatus, "status"))
    return stmt


def row_json(row: ImportRow) -> dict[str, Any]:
    return {
        "number": row.number,
        "status": row.status.value,
        "reason": row.reason,
        "file": row.file_name,
        "label": row.label,
        "sha256": row.sha256,
        "target_id": str(row.target_id) if row.target_id else None,
        "ern": row.target_ref or None,
    }


def report_response(session: Session, imp: Import) -> Response:
    """The report as a CSV download, streamed a row at a time."""
    name = f"import-{imp.case.reference}-{imp.created_at:%Y%m%d-%H%M%S}.csv"
    return Response(
        stream_with_context(report_lines(session, imp)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


REPORT_COLUMNS = ("row", "status", "reason", "file", "title_or_name", "sha256", "ern", "id")


def report_lines(session: Session, imp: Import) -> Iterator[str]:
    """The report as CSV text, a row at a time (UTF-8 with a byte-order mark, which Excel needs for Arabic)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(REPORT_COLUMNS)
    yield "\ufeff" + out.getvalue()
    for row in session.scalars(rows_query(imp)).yield_per(500):
        out.seek(0)
        out.truncate()
        cells = [
            row.number,
            row.status.value,
            row.reason,
            row.file_name,
            row.label,
            row.sha256,
            row.target_ref,
            row.target_id,
        ]
        writer.writerow([spreadsheet_safe(cell) for cell in cells])
        yield out.getvalue()


def spreadsheet_safe(value: Any) -> Any:
    """A cell a spreadsheet shows as text: a value from a file name or a manifest that begins like a formula
    (=, +, -, @) would otherwise run when the report is opened (CSV injection). Numbers stay numbers."""
    if value is None:
        return ""
    if isinstance(value, int | float):
        return value
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
