from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casefile.db import Base, UUIDPrimaryKey, enum_type, utcnow

if TYPE_CHECKING:
    from casefile.cases.models import Case

    # An item's links belong to casefile/links (which owns where evidence meets incidents, actors and charges).
    from casefile.links.models import EvidenceLink


class EvidenceKind(enum.StrEnum):
    TESTIMONY = "testimony"
    PHOTO = "photo"
    VIDEO = "video"
    AUDIO = "audio"
    DOCUMENT = "document"
    REPORT = "report"
    OPEN_SOURCE = "open_source_capture"
    FORENSIC_REPORT = "forensic_report"
    PHYSICAL_ITEM = "physical_item_record"
    OTHER = "other"


class Classification(enum.StrEnum):
    """ICC Registry practice, in increasing order of restriction."""

    PUBLIC = "public"
    CONFIDENTIAL = "confidential"
    UNDER_SEAL = "under_seal"
    SECRET = "secret"  # noqa: S105 - a classification level, not a credential


class Derivation(enum.StrEnum):
    TRANSCRIPT = "transcript"
    TRANSLATION = "translation"
    REDACTED = "redacted_copy"
    WORKING_COPY = "working_copy"
    # A web capture's artefacts beside its WACZ (casefile/capture): made by the capture, never uploaded by hand.
    SCREENSHOT = "screenshot"
    PAGE_PRINT = "page_print"
    PAGE_MEDIA = "page_media"
    # A ProofMode bundle's other files beside its media (casefile/provenance): proof, signatures, key, timestamps.
    PROOF_FILE = "proof_file"


class OnDuplicate(enum.StrEnum):
    """What to do with an upload whose SHA-256 is already in the case."""

    ASK = "ask"  # refuse, naming the existing item (409), so that the uploader chooses
    ACQUISITION = "acquisition"  # no new item: a custody entry on the existing one names the new source
    COPY = "copy"  # a separate item, marked as a copy of the existing one


class DerivedStatus(enum.StrEnum):
    """Where the data derived from the file stands (its embedded metadata, its text for search, its preview).
    Small files get it during the upload; a PDF's text and a large file's metadata and preview are made by a
    background job after the upload has been answered (casefile/evidence/jobs.py). Derived, never evidence."""

    PENDING = "pending"  # to be made by a job (shown as "processing")
    DONE = "done"  # made (possibly nothing: a scan without a text layer, a damaged file)
    FAILED = "failed"  # its job failed for good; the file itself, the evidence, is unaffected


# Admiralty grading: reliability of the source (A–F) and credibility of the information (1–6).
SOURCE_RELIABILITY = ("A", "B", "C", "D", "E", "F")
INFO_CREDIBILITY = (1, 2, 3, 4, 5, 6)


class EvidenceItem(UUIDPrimaryKey, Base):
    __tablename__ = "evidence_items"
    __table_args__ = (
        # (case_id, number) also serves the case's evidence list: its order, and its seek pages (casefile/paging).
        UniqueConstraint("case_id", "number"),
        Index("ix_evidence_items_case_sha256", "case_id", "sha256"),
        # Each filter of that list, then its order: a filtered page and its bounded count read only matching
        # index entries, however rare the value (revision 0032).
        Index("ix_evidence_items_case_kind_number", "case_id", "kind", "number"),
        Index("ix_evidence_items_case_classification_number", "case_id", "classification", "number"),
        Index("ix_evidence_items_case_reliability_number", "case_id", "source_reliability", "number"),
        Index("ix_evidence_items_case_credibility_number", "case_id", "info_credibility", "number"),
        Index("ix_evidence_items_case_collected_at", "case_id", "collected_at"),
        # An item's derivatives (its page lists them): few items have a parent, so only those are indexed (0036).
        Index(
            "ix_evidence_items_parent",
            "parent_id",
            postgresql_where=text("parent_id IS NOT NULL"),
            sqlite_where=text("parent_id IS NOT NULL"),
        ),
        CheckConstraint("size >= 0", name="size_positive"),
        CheckConstraint(
            "source_reliability IS NULL OR source_reliability IN ('A','B','C','D','E','F')",
            name="source_reliability_grade",
        ),
        CheckConstraint(
            "info_credibility IS NULL OR (info_credibility BETWEEN 1 AND 6)", name="info_credibility_grade"
        ),
    )

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="RESTRICT"))
    # Evidence reference number, e.g. TRH-00042: assigned at ingest, immutable, never reused.
    ern: Mapped[str] = mapped_column(String(32), unique=True)
    number: Mapped[int]
    kind: Mapped[EvidenceKind] = mapped_column(enum_type(EvidenceKind, "evidence_kind"))
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(500), default="")
    source_reliability: Mapped[str | None] = mapped_column(String(1))
    info_credibility: Mapped[int | None]
    collected_at: Mapped[datetime | None]
    # How much of collected_at is known (day, month, year): a spreadsheet's "June 2020" is not 1 June 2020.
    # None: as precise as it is written (a form's date and time).
    collected_precision: Mapped[str | None] = mapped_column(String(16))
    collected_by: Mapped[str] = mapped_column(String(200), default="")
    collection_place: Mapped[str] = mapped_column(String(300), default="")
    # The uploader's file name, kept only as metadata (control and bidi characters made visible);
    # it never reaches the filesystem.
    original_filename: Mapped[str] = mapped_column(String(600), default="")
    media_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    # Content address of the blob, and the custody hash: the content never changes after ingest.
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    extracted: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Plain text of the file where it has one (text files, PDFs with a text layer; evidence/text.py), bounded,
    # for search: a text file's at ingest, a PDF's by a job after it (derived_status). Derived, never evidence.
    # Deferred: only the search index reads it.
    text_content: Mapped[str] = mapped_column(Text, default="", deferred=True)
    # Whether `extracted`, `text_content` and `preview_sha256` are made yet (DerivedStatus).
    derived_status: Mapped[DerivedStatus] = mapped_column(enum_type(DerivedStatus, "evidence_derived_status"))
    metadata_status: Mapped[str] = mapped_column(String(20), default="none")
    # Derived, never evidence: a metadata-free preview image.
    preview_sha256: Mapped[str | None] = mapped_column(String(64))
    classification: Mapped[Classification] = mapped_column(
        enum_type(Classification, "evidence_classification"), default=Classification.CONFIDENTIAL
    )
    graphic: Mapped[bool] = mapped_column(default=False)
    # Where its verification stands (casefile/verification: new, in_verification, verified, disputed,
    # unverifiable); each change is a custody entry.
    verification_status: Mapped[str] = mapped_column(String(20), default="new", server_default="new", index=True)
    parent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("evidence_items.id", ondelete="RESTRICT"))
    derivation: Mapped[Derivation | None] = mapped_column(enum_type(Derivation, "evidence_derivation"))
    # The same file was already in the case and the uploader kept this one as a separate item (OnDuplicate.COPY).
    copy_of_id: Mapped[uuid.UUID | None]
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    case: Mapped[Case] = relationship()
    parent: Mapped[EvidenceItem | None] = relationship(remote_side="EvidenceItem.id", back_populates="derivatives")
    derivatives: Mapped[list[EvidenceItem]] = relationship(back_populates="parent")
    # No delete cascade: links are never deleted (removal is a state change, casefile.links.models).
    links: Mapped[list[EvidenceLink]] = relationship(back_populates="evidence", cascade="save-update, merge")


class ImageHash(Base):
    """An image's perceptual hashes (evidence/similar.py), made from its preview with its other derived data: PDQ
    (256 bits, with the 8 hashes of its rotations and mirrorings, which a lookup compares against) and pHash (64
    bits). Derived, never evidence."""

    __tablename__ = "image_hashes"

    evidence_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("evidence_items.id", ondelete="RESTRICT"), primary_key=True
    )
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="RESTRICT"))
    pdq: Mapped[str] = mapped_column(String(64))
    pdq_dihedral: Mapped[str] = mapped_column(String(512))  # 8 hashes of 64 hexadecimal digits, concatenated
    pdq_quality: Mapped[int]
    phash: Mapped[str] = mapped_column(String(16))
    phash_mirror: Mapped[str] = mapped_column(String(16))  # of the mirrored image: pHash alone does not see mirroring


class ImageHashKey(Base):
    """The lookup index of perceptual hashes: each hash cut into 16-bit chunks, keyed by (chunk position, value), so
    that finding the images near a new one reads a few index entries per chunk instead of every hash in the case."""

    __tablename__ = "image_hash_keys"
    __table_args__ = (Index("ix_image_hash_keys_lookup", "case_id", "scheme", "key"),)

    evidence_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("evidence_items.id", ondelete="RESTRICT"), primary_key=True
    )
    scheme: Mapped[int] = mapped_column(primary_key=True)  # 0: PDQ, 1: pHash
    key: Mapped[int] = mapped_column(primary_key=True)  # position * 65536 + the chunk's value
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="RESTRICT"))


class SimilarityDecision(UUIDPrimaryKey, Base):
    """A person's decision on two near-duplicate images: the same image, or different ones. A new decision on the
    same pair supersedes the earlier (both stay, and both are in the custody ledger)."""

    __tablename__ = "similarity_decisions"
    __table_args__ = (Index("ix_similarity_decisions_pair", "first_id", "second_id", "decided_at"),)

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="RESTRICT"))
    # The pair, in a fixed order (the smaller id first), so each pair has one history.
    first_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("evidence_items.id", ondelete="RESTRICT"))
    second_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("evidence_items.id", ondelete="RESTRICT"))
    same: Mapped[bool]
    decided_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)
