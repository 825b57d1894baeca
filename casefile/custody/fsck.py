"""Database ↔ blob store consistency: rows whose file is missing, files that no row references.

Ingest stores the blob before the row, so an interrupted ingest leaves an orphan blob (harmless, collectable here)
and never a row without its file; a missing file is therefore always a real problem.

Collection is cautious, because an "orphan" is only unreferenced by *this* database: after restoring an older
backup, every upload since then looks like one. So a blob is collected only when nothing names it (no row and no
ledger entry, which outlives any row) and it is older than a minimum age; and it is moved to quarantine, never
deleted, so an operator who finds it was needed moves it back.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from casefile.custody.models import CustodyEntry
from casefile.db import utcnow
from casefile.dossier.models import Dossier
from casefile.evidence.models import EvidenceItem
from casefile.fieldintake.models import FieldForm, FieldSubmission, SubmissionFile
from casefile.intake.models import CaseExport, Import
from casefile.provenance.models import ProvenanceRecord
from casefile.storage import BlobLocked, BlobNotFound, BlobStore

DEFAULT_MIN_AGE = timedelta(days=7)


@dataclass
class FsckReport:
    missing: list[tuple[str, str, str]] = field(default_factory=list)  # (ern, role, sha256)
    orphans: list[str] = field(default_factory=list)
    collected: dict[str, str] = field(default_factory=dict)  # sha256 -> where it was moved
    locked: list[str] = field(default_factory=list)
    young: list[str] = field(default_factory=list)  # unreferenced, but newer than the minimum age

    @property
    def ok(self) -> bool:
        return not self.missing


def row_references(session: Session) -> Iterator[tuple[str, str, str]]:
    """Every blob a row references, as (owner: ERN or dossier bag, role, sha256): what must exist, and what a backup
    copies. One definition, so a new kind of reference is checked and backed up alike."""
    for ern, sha256, preview in session.execute(
        select(EvidenceItem.ern, EvidenceItem.sha256, EvidenceItem.preview_sha256).order_by(EvidenceItem.ern)
    ):
        yield ern, "original", sha256
        if preview:
            yield ern, "preview", preview
    stored = select(Dossier.bag_name, Dossier.sha256).where(Dossier.sha256.is_not(None))  # not while building
    for bag_name, package in session.execute(stored):
        if package:
            yield bag_name, "dossier", package
    # What an import brought (the report names rows by the archive's members), kept with the import.
    for import_id, archive, manifest in session.execute(
        select(Import.id, Import.archive_sha256, Import.manifest_sha256).order_by(Import.created_at)
    ):
        if archive:
            yield f"import {import_id}", "import archive", archive
        if manifest:
            yield f"import {import_id}", "import manifest", manifest
    exports = select(CaseExport.id, CaseExport.sha256).where(CaseExport.sha256.is_not(None))
    for export_id, package in session.execute(exports.order_by(CaseExport.created_at)):
        if package:
            yield f"export {export_id}", "case export", package
    # What phones sent (casefile/fieldintake), accepted or not: kept with the intake record, as received and, for
    # an encrypted submission, as decrypted; and the XLSForms a case uploaded.
    sources = select(FieldForm.id, FieldForm.source_sha256).where(FieldForm.source_sha256.is_not(None))
    for form_id, source in session.execute(sources.order_by(FieldForm.created_at)):
        if source:
            yield f"field form {form_id}", "XLSForm", source
    for submission_id, xml in session.execute(
        select(FieldSubmission.id, FieldSubmission.xml_sha256).order_by(FieldSubmission.received_at)
    ):
        yield f"field submission {submission_id}", "submission XML", xml
    for submission_id, received, plain in session.execute(
        select(SubmissionFile.submission_id, SubmissionFile.received_sha256, SubmissionFile.sha256).order_by(
            SubmissionFile.submission_id, SubmissionFile.position
        )
    ):
        yield f"field submission {submission_id}", "file as received", received
        if plain and plain != received:
            yield f"field submission {submission_id}", "file decrypted", plain
    # ProofMode bundles as received (the files taken out of them are evidence items of their own).
    bundles = select(ProvenanceRecord.evidence_id, ProvenanceRecord.bundle_sha256).where(
        ProvenanceRecord.bundle_sha256.is_not(None)
    )
    for evidence_id, bundle in session.execute(bundles.order_by(ProvenanceRecord.checked_at)):
        if bundle:
            yield f"item {evidence_id}", "ProofMode bundle", bundle


def fsck(
    session: Session, store: BlobStore, *, collect: bool = False, min_age: timedelta = DEFAULT_MIN_AGE
) -> FsckReport:
    report = FsckReport()
    referenced: set[str] = set()
    for owner, role, sha256 in row_references(session):
        referenced.add(sha256)
        if not store.exists(sha256):
            report.missing.append((owner, role, sha256))
    # A blob the ledger ever named is never an orphan: its row may have been deleted behind the application's back
    # (verification names that), and the file is then the evidence of what was there.
    named = select(CustodyEntry.sha256).where(CustodyEntry.sha256.is_not(None)).distinct()
    referenced.update(sha256 for sha256 in session.scalars(named) if sha256)
    for sha256 in store.iter_hashes():
        if sha256 not in referenced:
            report.orphans.append(sha256)
    if collect:
        oldest_allowed = utcnow() - min_age
        for sha256 in report.orphans:
            try:
                if store.modified_at(sha256) > oldest_allowed:
                    report.young.append(sha256)
                    continue
                report.collected[sha256] = store.quarantine(sha256)
            except BlobLocked:
                report.locked.append(sha256)
            except BlobNotFound:
                continue  # gone meanwhile
    return report
