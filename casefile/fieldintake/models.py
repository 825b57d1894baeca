"""Forms a case offers to phones, the device credentials phones log in with, and what the phones sent."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casefile.db import Base, UUIDPrimaryKey, enum_type, utcnow

if TYPE_CHECKING:
    from casefile.auth.models import User
    from casefile.cases.models import Case

REASON_LENGTH = 2000


class FieldForm(UUIDPrimaryKey, Base):
    """One version of an XForm offered to the case's phones. A new version of the same form id replaces the old in
    the form list, but the old stays: a phone that filled it offline may still send what it holds."""

    __tablename__ = "field_forms"
    __table_args__ = (UniqueConstraint("case_id", "form_id", "version"),)

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="RESTRICT"))
    form_id: Mapped[str] = mapped_column(String(100))  # the XForm's id, as phones and submissions name it
    version: Mapped[str] = mapped_column(String(50))
    title: Mapped[str] = mapped_column(String(300))
    xform: Mapped[str] = mapped_column(Text, deferred=True)  # what phones download, made by pyxform
    # The uploaded XLSForm (kept in the blob store), absent for the form Casefile ships.
    source_name: Mapped[str] = mapped_column(String(300), default="")
    source_sha256: Mapped[str | None] = mapped_column(String(64))
    standard: Mapped[bool] = mapped_column(default=False)
    # Submission encryption (OpenRosa `base64RsaPublicKey`): phones encrypt with the public key; the private key is
    # sealed with the instance's field keys and opened only by the worker that decrypts.
    public_key: Mapped[str | None] = mapped_column(Text)
    private_key: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(default=True)
    created_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    case: Mapped[Case] = relationship()

    @property
    def encrypted(self) -> bool:
        return self.public_key is not None


class DeviceCredential(UUIDPrimaryKey, Base):
    """A person's login for one phone on one case: never their password, shown once, revocable. HTTP Digest needs
    the secret itself on the server, so it is sealed with the field keys (like protected identities), not hashed."""

    __tablename__ = "device_credentials"
    __table_args__ = (Index("ix_device_credentials_user_case", "user_id", "case_id"),)

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="RESTRICT"))
    label: Mapped[str] = mapped_column(String(100))
    username: Mapped[str] = mapped_column(String(64), unique=True)
    secret: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()
    case: Mapped[Case] = relationship()


class DigestNonceUse(Base):
    """A Digest authorization already answered (nonce and request counter): the same header again is a replay."""

    __tablename__ = "digest_nonce_uses"

    nonce: Mapped[str] = mapped_column(String(120), primary_key=True)
    nc: Mapped[str] = mapped_column(String(16), primary_key=True)
    used_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class SubmissionState(enum.StrEnum):
    INCOMPLETE = "incomplete"  # a split submission: the phone said more parts follow (*isIncomplete*)
    DECRYPTING = "decrypting"  # complete and encrypted: a job decrypts it
    PENDING = "pending"  # awaiting review
    ACCEPTING = "accepting"  # accepted; a job records its files as evidence items
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    FAILED = "failed"  # could not be decrypted or read (`error` says why); nothing is lost: the files are kept


class FieldSubmission(UUIDPrimaryKey, Base):
    """One form instance sent by a phone: the intake record. Its files are in the blob store from the moment they
    arrive; they become evidence items only when an investigator accepts the submission."""

    __tablename__ = "field_submissions"
    __table_args__ = (
        UniqueConstraint("case_id", "instance_id"),
        Index("ix_field_submissions_case_state", "case_id", "state", "received_at"),
    )

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="RESTRICT"))
    form_pk: Mapped[uuid.UUID] = mapped_column(ForeignKey("field_forms.id", ondelete="RESTRICT"))
    instance_id: Mapped[str] = mapped_column(String(200))
    credential_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("device_credentials.id", ondelete="RESTRICT"))
    submitted_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    device_id: Mapped[str] = mapped_column(String(200), default="")
    state: Mapped[SubmissionState] = mapped_column(enum_type(SubmissionState, "field_submission_state"))
    encrypted: Mapped[bool] = mapped_column(default=False)
    xml_sha256: Mapped[str] = mapped_column(String(64))  # the submission XML as the phone sent it
    # The form's answers, flattened to paths (`location`, `photos[1]/photo`), once readable (decrypted).
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text, default="")  # why it was rejected
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None]
    reviewed_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    reviewed_at: Mapped[datetime | None]
    job_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))

    case: Mapped[Case] = relationship()
    form: Mapped[FieldForm] = relationship()
    credential: Mapped[DeviceCredential] = relationship()
    submitted_by: Mapped[User] = relationship(foreign_keys=[submitted_by_id])
    reviewed_by: Mapped[User | None] = relationship(foreign_keys=[reviewed_by_id])
    files: Mapped[list[SubmissionFile]] = relationship(
        back_populates="submission", order_by="SubmissionFile.position", cascade="save-update, merge"
    )


class SubmissionFile(UUIDPrimaryKey, Base):
    """A file of a submission, as received (`received_sha256`: the .enc file of an encrypted one) and as readable
    (`sha256`, once decrypted), with the evidence item it became on acceptance."""

    __tablename__ = "field_submission_files"
    __table_args__ = (UniqueConstraint("submission_id", "name"),)

    submission_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("field_submissions.id", ondelete="RESTRICT"))
    position: Mapped[int]  # the order of arrival (an encrypted submission's IVs depend on the manifest's order)
    # "attachment" (a photo, a recording: evidence once accepted) or "form" (an encrypted submission's own XML).
    role: Mapped[str] = mapped_column(String(16), default="attachment")
    name: Mapped[str] = mapped_column(String(300))  # as the phone named it (display only; never a path)
    received_sha256: Mapped[str] = mapped_column(String(64))
    received_size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))
    size: Mapped[int | None] = mapped_column(BigInteger)
    evidence_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("evidence_items.id", ondelete="RESTRICT"))

    submission: Mapped[FieldSubmission] = relationship(back_populates="files")
