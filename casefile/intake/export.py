"""Case data out, as a lawyer's or an analyst's spreadsheet: incidents, the evidence index (ERNs, SHA-256), actors
and their aliases, relations, involvements, links with their stance, witnesses (pseudonyms only), charges and the
element matrix. One XLSX workbook (a sheet per table) or a ZIP of CSV files.

An export respects classification: it holds only items at or below the level asked for (confidential by default),
and nothing that points at a withheld item. Protected identities never enter it: witnesses appear by pseudonym.
Spreadsheet cells that begin like a formula are written as text. Built by a job (a large case takes a while), kept
in the blob store, and written to the custody ledger when made and whenever downloaded.
"""

from __future__ import annotations

import csv
import io
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from casefile.actors.models import Actor
from casefile.actors.services import involvements_of, relations_of
from casefile.auth.models import User
from casefile.cases.models import Case, Incident
from casefile.cases.services import INCIDENT_FIELDS
from casefile.custody.actions import Action
from casefile.custody.ledger import record_custody
from casefile.db import utcnow
from casefile.downloads import Download, Started
from casefile.errors import Conflict, ValidationFailed
from casefile.evidence.models import Classification, EvidenceItem
from casefile.intake.models import CaseExport, ExportFormat, ExportState
from casefile.intake.services import spreadsheet_safe
from casefile.legal.services import charges_of, matrix
from casefile.links.models import EvidenceLink
from casefile.links.services import link_label
from casefile.parsing import parse_choice
from casefile.storage import BlobStore
from casefile.witnesses.models import Statement, Witness

# From the least to the most restricted: an export up to a level holds that level and those below.
LEVELS = [Classification.PUBLIC, Classification.CONFIDENTIAL, Classification.UNDER_SEAL, Classification.SECRET]
BATCH = 1000


@dataclass(frozen=True)
class Table:
    name: str
    header: tuple[str, ...]
    rows: Callable[[], Iterable[Iterable[Any]]]


def allowed_levels(max_classification: str) -> list[Classification]:
    return LEVELS[: LEVELS.index(Classification(max_classification)) + 1]


def request_export(session: Session, case: Case, user: User, fmt: Any, max_classification: Any) -> CaseExport:
    fmt = parse_choice(fmt or ExportFormat.XLSX, ExportFormat, "format")
    level = parse_choice(max_classification or Classification.CONFIDENTIAL, Classification, "max_classification")
    export = CaseExport(
        case_id=case.id, format=fmt, max_classification=level.value, state=ExportState.BUILDING, created_by_id=user.id
    )
    session.add(export)
    session.flush()
    return export


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "; ".join(str(v) for v in value)
    if hasattr(value, "value"):  # an enumeration
        return value.value
    if isinstance(value, str | int | float | bool):
        return value
    return str(value)  # identifiers (UUIDs)


def tables(session: Session, case: Case, levels: list[Classification]) -> list[Table]:
    """What an export holds, table by table; each table's rows are read when written, in batches."""
    allowed = select(EvidenceItem.id).where(EvidenceItem.case_id == case.id, EvidenceItem.classification.in_(levels))

    def incidents() -> Iterator[list[Any]]:
        stmt = select(Incident).where(Incident.case_id == case.id).order_by(Incident.start_date, Incident.title)
        for i in session.scalars(stmt).yield_per(BATCH):
            yield [i.id, *(getattr(i, name) for name in INCIDENT_FIELDS)]

    def evidence() -> Iterator[list[Any]]:
        stmt = (
            select(EvidenceItem, Witness.code)
            .outerjoin(Statement, Statement.evidence_id == EvidenceItem.id)
            .outerjoin(Witness, Witness.id == Statement.witness_id)
            .where(EvidenceItem.case_id == case.id, EvidenceItem.classification.in_(levels))
            .order_by(EvidenceItem.number)
        )
        for item, witness in session.execute(stmt).yield_per(BATCH):
            yield [
                item.ern,
                item.id,
                item.title,
                item.kind,
                item.classification,
                item.sha256,
                item.size,
                item.media_type,
                item.original_filename,
                item.collected_at,
                item.collected_precision,
                item.collected_by,
                item.collection_place,
                item.source,
                item.source_reliability,
                item.info_credibility,
                witness,
                item.parent_id,
                item.derivation,
                item.copy_of_id,
                item.created_at,
            ]

    def actors() -> Iterator[list[Any]]:
        stmt = select(Actor).where(Actor.case_id == case.id).order_by(Actor.name)
        for a in session.scalars(stmt).yield_per(BATCH):
            yield [a.id, a.kind, a.name, a.aliases, a.description, a.nationality, a.merged_into_id]

    def relations() -> Iterator[list[Any]]:
        for r in relations_of(session, case):
            yield [r.source.name, r.relation, r.target.name, r.valid_from, r.valid_to, r.confidence, r.note]

    def involvements() -> Iterator[list[Any]]:
        for v in involvements_of(session, case):
            yield [v.incident.title, v.actor.name, v.degree, v.mode_of_liability, v.status, v.note]

    def links() -> Iterator[list[Any]]:
        stmt = (
            select(EvidenceLink)
            .where(EvidenceLink.case_id == case.id, EvidenceLink.evidence_id.in_(allowed))
            .options(
                selectinload(EvidenceLink.evidence),
                selectinload(EvidenceLink.incident),
                selectinload(EvidenceLink.actor),
                selectinload(EvidenceLink.relation),
                selectinload(EvidenceLink.involvement),
                selectinload(EvidenceLink.charge),
            )
            .order_by(EvidenceLink.created_at)
        )
        for link in session.scalars(stmt).yield_per(BATCH):
            yield [link.evidence.ern, link.target_type, link_label(link), link.stance, link.note]

    def witnesses() -> Iterator[list[Any]]:
        stmt = select(Witness).where(Witness.case_id == case.id).order_by(Witness.number)
        for w in session.scalars(stmt).yield_per(BATCH):
            yield [w.code, w.risk_level]

    def element_matrix() -> Iterator[list[Any]]:
        permitted = set(session.scalars(allowed))
        for charge in charges_of(session, case):
            for row in matrix(session, charge, permitted):
                yield [
                    charge.id,
                    charge.suspect.name,
                    charge.offence_code,
                    charge.mode_code,
                    row.group,
                    row.element.code,
                    row.element.text,
                    row.status,
                    [link.evidence.ern for link in row.supporting],
                    [link.evidence.ern for link in row.contradicting],
                    [link.evidence.ern for link in row.context],
                ]

    return [
        Table("incidents", ("id", *INCIDENT_FIELDS), incidents),
        Table(
            "evidence",
            (
                "ern",
                "id",
                "title",
                "kind",
                "classification",
                "sha256",
                "size",
                "media_type",
                "original_filename",
                "collected_at",
                "collected_precision",
                "collected_by",
                "collection_place",
                "source",
                "source_reliability",
                "info_credibility",
                "witness",
                "parent_id",
                "derivation",
                "copy_of_id",
                "created_at",
            ),
            evidence,
        ),
        Table("actors", ("id", "kind", "name", "aliases", "description", "nationality", "merged_into_id"), actors),
        Table("relations", ("source", "relation", "target", "valid_from", "valid_to", "confidence", "note"), relations),
        Table("involvements", ("incident", "actor", "degree", "mode_of_liability", "status", "note"), involvements),
        Table("links", ("ern", "target_type", "target", "stance", "note"), links),
        Table("witnesses", ("pseudonym", "risk_level"), witnesses),
        Table(
            "element_matrix",
            (
                "charge_id",
                "suspect",
                "offence",
                "mode",
                "group",
                "element",
                "element_text",
                "status",
                "supporting",
                "contradicting",
                "context",
            ),
            element_matrix,
        ),
    ]


def write(fmt: ExportFormat, parts: list[Table], out: Path, progress: Callable[[int, str], None]) -> dict[str, int]:
    """Write the tables to `out` (XLSX or a ZIP of CSVs), a row at a time; rows per table."""
    counts: dict[str, int] = {}
    if fmt is ExportFormat.XLSX:
        book = Workbook(write_only=True)
        for done, table in enumerate(parts):
            progress(done, table.name)
            sheet = book.create_sheet(table.name)
            sheet.append(list(table.header))
            count = 0
            for row in table.rows():
                sheet.append([_text_cell(sheet, _cell(v)) for v in row])
                count += 1
            counts[table.name] = count
        book.save(out)
        return counts
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for done, table in enumerate(parts):
            progress(done, table.name)
            with archive.open(f"{table.name}.csv", "w") as raw, io.TextIOWrapper(raw, "utf-8-sig", newline="") as text:
                writer = csv.writer(text)
                writer.writerow(table.header)
                count = 0
                for row in table.rows():
                    writer.writerow([spreadsheet_safe(_cell(v)) for v in row])
                    count += 1
            counts[table.name] = count
    return counts


def _text_cell(sheet: Any, value: Any) -> Any:
    """Strings are stored as text, never as formulas (openpyxl takes a leading '=' for one)."""
    if not isinstance(value, str):
        return value
    cell = WriteOnlyCell(sheet, value=value)
    cell.data_type = "s"
    return cell


def build(
    session: Session, store: BlobStore, export: CaseExport, progress: Callable[[int, str], None]
) -> tuple[str, int, dict[str, int]]:
    """Write the export and put it in the store: (sha256, size, rows per table). Reads only."""
    parts = tables(session, export.case, allowed_levels(export.max_classification))
    suffix = ".xlsx" if export.format is ExportFormat.XLSX else ".zip"
    with tempfile.TemporaryDirectory(prefix="casefile-export-") as folder:
        out = Path(folder) / f"export{suffix}"
        counts = write(export.format, parts, out, progress)
        size = out.stat().st_size
        with out.open("rb") as stream:
            sha256 = store.put(stream)
    return sha256, size, counts


def record_ready(
    session: Session, export: CaseExport, user: User, sha256: str, size: int, counts: dict[str, int]
) -> None:
    export.state, export.sha256, export.size, export.counts = ExportState.READY, sha256, size, counts
    export.finished_at = utcnow()
    record_custody(
        session,
        actor=user,
        action=Action.EXPORTED,
        case_id=export.case_id,
        sha256=None,
        details={
            "export": str(export.id),
            "format": export.format.value,
            "max_classification": export.max_classification,
            "export_sha256": sha256,
            "rows": counts,
        },
    )
    session.flush()


def download(session: Session, export: CaseExport, user: User) -> Download:
    if export.state is not ExportState.READY or export.sha256 is None:
        if export.state is ExportState.FAILED:
            raise Conflict(_("This export could not be made."))
        raise Conflict(_("This export is still being made; download it once it is ready."))
    entry = record_custody(
        session,
        actor=user,
        action=Action.DOWNLOADED,
        case_id=export.case_id,
        details={"export": str(export.id), "export_sha256": export.sha256},
    )
    suffix = "xlsx" if export.format is ExportFormat.XLSX else "zip"
    name = f"{export.case.reference}-export-{export.created_at:%Y%m%d-%H%M%S}.{suffix}"
    if not name.isascii():
        raise ValidationFailed(_("The case reference cannot name a file."))
    return Download(export.sha256, name, "application/octet-stream", export.size, Started.of(entry, user.id))


def export_json(export: CaseExport) -> dict[str, Any]:
    return {
        "id": str(export.id),
        "case_id": str(export.case_id),
        "format": export.format.value,
        "max_classification": export.max_classification,
        "state": export.state.value,
        "sha256": export.sha256,
        "size": export.size,
        "rows": export.counts,
        "error": export.error,
        "job_id": str(export.job_id) if export.job_id else None,
        "created_at": export.created_at.isoformat(),
    }
