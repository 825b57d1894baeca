from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from casefile.db import Base, utcnow


class CustodyEntry(Base):
    """One link of the instance-wide, append-only, hash-chained custody ledger.

    The database refuses UPDATE and DELETE on this table (triggers, see the migration). `entry_hash` is
    SHA-256 over the canonical JSON of every other field (casefile.custody.chain.entry_hash).
    """

    __tablename__ = "custody_entries"
    __table_args__ = (
        Index("ix_custody_entries_evidence_seq", "evidence_id", "seq"),
        Index("ix_custody_entries_case_seq", "case_id", "seq"),
        # One action's entries in a case (a witness's identity reveals) without walking the whole case.
        Index("ix_custody_entries_case_action_seq", "case_id", "action", "seq"),
    )

    # Assigned by the ledger under the head lock, not by a sequence: it must be gapless.
    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(40))
    # No foreign keys: a ledger row must outlive anything it mentions and can never be cascaded away.
    case_id: Mapped[uuid.UUID | None]
    evidence_id: Mapped[uuid.UUID | None]
    sha256: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64), unique=True)


class LedgerHead(Base):
    """A single row naming the last entry. Appends lock it (SELECT … FOR UPDATE) so the chain never forks."""

    __tablename__ = "custody_head"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    seq: Mapped[int]
    entry_hash: Mapped[str] = mapped_column(String(64))


class Checkpoint(Base):
    """A signed RFC 6962 tree head over the first `tree_size` entry hashes."""

    __tablename__ = "custody_checkpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    tree_size: Mapped[int]
    root_hash: Mapped[str] = mapped_column(String(64))
    timestamp: Mapped[str] = mapped_column(String(40))
    signature: Mapped[str] = mapped_column(String(200))
    key_id: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TimestampToken(Base):
    """An RFC 3161 token (the whole DER TimeStampResp) from one time-stamping authority over one message: a signed
    checkpoint's tree-head message, or a web capture's manifest (casefile.custody.tsa). Append-only: the database
    refuses UPDATE and DELETE (revision 0022). No foreign key, as for ledger rows: a token outlives what it names."""

    __tablename__ = "timestamp_tokens"
    __table_args__ = (UniqueConstraint("subject", "subject_id", "tsa_url"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(20))  # TimestampSubject
    subject_id: Mapped[str] = mapped_column(String(64))  # a checkpoint's id, a capture's UUID
    message_sha256: Mapped[str] = mapped_column(String(64))
    tsa_url: Mapped[str] = mapped_column(String(500))
    reply: Mapped[bytes] = mapped_column(LargeBinary)
    gen_time: Mapped[datetime]  # the TSA's time, from the token
    serial: Mapped[str] = mapped_column(String(64))
    tsa_name: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
