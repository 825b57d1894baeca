"""Database ↔ blob store consistency: rows whose file is missing, files that no row references.

Ingest stores the blob before the row, so an interrupted ingest leaves an orphan blob (harmless,
collectable here) and never a row without its file; a missing file is therefore always a real problem.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from casefile.dossier.models import Dossier
from casefile.evidence.models import EvidenceItem
from casefile.storage import BlobLocked, BlobStore


@dataclass
class FsckReport:
    missing: list[tuple[str, str, str]] = field(default_factory=list)  # (ern, role, sha256)
    orphans: list[str] = field(default_factory=list)
    collected: list[str] = field(default_factory=list)
    locked: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.missing


def fsck(session: Session, store: BlobStore, *, collect: bool = False) -> FsckReport:
    report = FsckReport()
    referenced: set[str] = set()
    for ern, sha256, preview in session.execute(
        select(EvidenceItem.ern, EvidenceItem.sha256, EvidenceItem.preview_sha256).order_by(EvidenceItem.ern)
    ):
        referenced.add(sha256)
        if not store.exists(sha256):
            report.missing.append((ern, "original", sha256))
        if preview:
            referenced.add(preview)
            if not store.exists(preview):
                report.missing.append((ern, "preview", preview))
    stored = select(Dossier.bag_name, Dossier.sha256).where(Dossier.sha256.is_not(None))  # not while building
    for bag_name, package in session.execute(stored):
        if package is None:
            continue
        referenced.add(package)
        if not store.exists(package):
            report.missing.append((bag_name, "dossier", package))
    for sha256 in store.iter_hashes():
        if sha256 not in referenced:
            report.orphans.append(sha256)
    if collect:
        for sha256 in report.orphans:
            try:
                store.delete(sha256)
            except BlobLocked:
                report.locked.append(sha256)
            else:
                report.collected.append(sha256)
    return report
