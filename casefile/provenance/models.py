"""Provenance checks beside an evidence item (casefile/provenance): a ProofMode bundle's signatures, proof and
OpenTimestamps proof checked at import, and any later check of whether an item's provenance still verifies.

A C2PA manifest read at ingest lives with the item's other derived metadata (`EvidenceItem.extracted["c2pa"]`,
made from the file alone and made again with it); these rows hold what needs more than the file (the bundle's other
files, kept as the item's `proof_file` derivatives) and when each check was made. A check made again adds a row:
rows are never updated, so an item's provenance history stays readable.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casefile.db import Base, UUIDPrimaryKey, enum_type, utcnow

if TYPE_CHECKING:
    from casefile.evidence.models import EvidenceItem


class ProvenanceKind(enum.StrEnum):
    C2PA = "c2pa"
    PROOFMODE = "proofmode"


class ProvenanceStatus(enum.StrEnum):
    VERIFIED = "verified"  # every signature and hash holds
    UNTRUSTED = "untrusted"  # they hold, but the signer is on no trust list configured here (C2PA)
    FAILED = "failed"  # a signature or a hash does not hold, or what it needs is missing: stated, never hidden
    UNREADABLE = "unreadable"  # the proof could not be read at all


class ProvenanceRecord(UUIDPrimaryKey, Base):
    __tablename__ = "provenance_records"
    __table_args__ = (Index("ix_provenance_records_evidence_checked", "evidence_id", "checked_at"),)

    evidence_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("evidence_items.id", ondelete="RESTRICT"))
    kind: Mapped[ProvenanceKind] = mapped_column(enum_type(ProvenanceKind, "provenance_kind"))
    status: Mapped[ProvenanceStatus] = mapped_column(enum_type(ProvenanceStatus, "provenance_status"))
    # Who signed, in words: the OpenPGP key's user ids, or the certificate's subject and issuer.
    signer: Mapped[str] = mapped_column(String(500), default="")
    # The OpenPGP key's fingerprint (40 hex digits), or the certificate's serial number.
    key_fingerprint: Mapped[str] = mapped_column(String(100), default="")
    signed_at: Mapped[datetime | None]  # when the signature says it was made (the signer's clock)
    # Every check with its outcome, the proof's capture metadata, the files: casefile/provenance/proofmode.py.
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The ProofMode bundle (ZIP) as it was received, kept in the blob store beside the files taken out of it.
    bundle_sha256: Mapped[str | None] = mapped_column(String(64))
    checked_at: Mapped[datetime] = mapped_column(default=utcnow)

    evidence: Mapped[EvidenceItem] = relationship()
