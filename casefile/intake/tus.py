"""Resumable uploads: the tus 1.0 protocol (https://tus.io/protocols/resumable-upload), with its creation, checksum,
termination and expiration extensions, for the API (Bearer token) and the upload page (session and CSRF header).

An upload is created with its length and its evidence fields (tus metadata, validated at once, so a refusal costs
no bytes). Its bytes arrive in PATCH requests, each starting at the offset the server confirms (HEAD), so a dropped
connection loses only what was in flight. Nothing of an upload lives on the machine that received a request: each
request's bytes become one part in the blob store (`BlobStore.put_part`), recorded in `resumable_upload_parts` in
the transaction that moves the upload's offset (`UPDATE … WHERE received = <the request's offset>`: of two requests
at one offset one wins, the other gets 409). So the next request may reach any web server, and a server that dies
mid-request loses only that request's bytes.

The SHA-256 is computed once, when the last byte is in: the job that records the file joins the parts in order into
the blob store's writer, which hashes as it writes (one streamed pass, never the whole file in memory). Carrying
the hash state between machines instead is not possible with hashlib: OpenSSL 3 cannot serialise a hash state (the
`rehash` package does not support it), so it would need a pure-Python SHA-256, thousands of times slower
(bench/tus_hash.py measures both). A resumed upload thus gives the same item and hash as an uninterrupted one.
Uploads untouched for CASEFILE_RESUMABLE_UPLOAD_HOURS expire and their parts are swept by a scheduled job.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import os
import secrets
import tempfile
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import IO, TYPE_CHECKING, Any, cast

from flask_babel import gettext as _
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session
from werkzeug.datastructures import Headers
from werkzeug.exceptions import ClientDisconnected

from casefile import components
from casefile.auth.gate import Access, require_case, require_in_case
from casefile.auth.models import User
from casefile.cases.models import Case
from casefile.db import utcnow
from casefile.errors import CasefileError, Conflict, NotFound, ValidationFailed
from casefile.evidence.models import OnDuplicate
from casefile.evidence.services import incidents_in_case, same_file_in_case, validate_fields
from casefile.intake.models import ResumableUpload, ResumableUploadPart, UploadState
from casefile.parsing import parse_choice
from casefile.storage import CHUNK_SIZE, BlobStore
from casefile.storage.base import TEMP_PREFIX, TEMP_SUFFIX
from casefile.witnesses.services import validate_statement, witness_in_case

if TYPE_CHECKING:
    from sqlalchemy import CursorResult

VERSION = "1.0.0"
EXTENSIONS = "creation,checksum,termination,expiration"
# Checksums of a request's bytes against transmission errors (the checksum extension), not a security measure: the
# evidence's integrity rests on the SHA-256 of the whole file.
CHECKSUMS: dict[str, Callable[[], Any]] = {
    "sha1": lambda: hashlib.sha1(usedforsecurity=False),
    "sha256": hashlib.sha256,
    "md5": lambda: hashlib.md5(usedforsecurity=False),
}
# Metadata a tus client may send that is not an evidence field (the file's name and type): accepted, not stored.
CLIENT_METADATA = frozenset({"filename", "name", "filetype", "type", "relativePath"})
FIELDS = frozenset(
    {
        "title",
        "kind",
        "description",
        "collected_at",
        "collected_precision",
        "collected_by",
        "collection_place",
        "source",
        "source_reliability",
        "info_credibility",
        "classification",
        "graphic",
        "sha256",
        "witness_id",
        "incident_ids",
        "on_duplicate",
        "interview_date",
        "interview_place",
        "interviewer",
        "language",
        "interpreter",
    }
)
MAX_METADATA = 64 * 1024


class TusVersionMissing(CasefileError):
    status = 412
    code = "tus_version"


class UnsupportedMediaType(CasefileError):
    status = 415
    code = "unsupported_media_type"


class ChecksumMismatch(CasefileError):
    status = 460
    code = "checksum_mismatch"


class UploadGone(CasefileError):
    status = 410
    code = "gone"


class TooLarge(CasefileError):
    status = 413
    code = "too_large"


# --- protocol -------------------------------------------------------------------------------------------------


def require_version(headers: Headers | Mapping[str, str]) -> None:
    if headers.get("Tus-Resumable") != VERSION:
        raise TusVersionMissing(_("Send the header Tus-Resumable: %(v)s.", v=VERSION))


def parse_metadata(raw: str | None) -> dict[str, str]:
    """Upload-Metadata: comma-separated `key base64(value)` pairs."""
    if not raw:
        return {}
    if len(raw) > MAX_METADATA:
        raise ValidationFailed(_("Upload-Metadata is too long."), field="Upload-Metadata")
    out: dict[str, str] = {}
    for pair in raw.split(","):
        key, _sep, value = pair.strip().partition(" ")
        if not key or key in out:
            raise ValidationFailed(_("Upload-Metadata is malformed."), field="Upload-Metadata")
        try:
            out[key] = base64.b64decode(value.strip(), validate=True).decode("utf-8") if value.strip() else ""
        except (binascii.Error, UnicodeDecodeError):
            raise ValidationFailed(
                _("The metadata %(key)s is not base64-encoded UTF-8.", key=key[:40]), field="Upload-Metadata"
            ) from None
    return out


def parse_offset(raw: str | None, header: str) -> int:
    if raw is None or not raw.isdigit() or len(raw) > 19:
        raise ValidationFailed(_("Send %(header)s as a whole number of bytes.", header=header), field=header)
    return int(raw)


def create(session: Session, case: Case, user: User, headers: Headers | Mapping[str, str]) -> ResumableUpload:
    """A new upload (creation extension): everything about the file is checked now, before any byte is sent."""
    require_case(session, user, case.id, Access.WRITE)
    require_version(headers)
    if headers.get("Upload-Defer-Length"):
        raise ValidationFailed(_("Give Upload-Length: deferred lengths are not supported."), field="Upload-Length")
    length = parse_offset(headers.get("Upload-Length"), "Upload-Length")
    if length == 0:
        raise ValidationFailed(_("The file is empty: there is nothing to record."), field="Upload-Length")
    if length > components.settings().max_upload_bytes:
        raise TooLarge(_("The file is larger than this instance accepts."))
    metadata = parse_metadata(headers.get("Upload-Metadata"))
    unknown = sorted(set(metadata) - FIELDS - CLIENT_METADATA)
    if unknown:
        raise ValidationFailed(_("Unknown field(s): %(names)s.", names=", ".join(unknown)[:200]), field=unknown[0][:50])
    fields = {k: v for k, v in metadata.items() if k in FIELDS}
    _check_fields(session, case, fields)
    now = utcnow()
    upload = ResumableUpload(
        case_id=case.id,
        created_by_id=user.id,
        length=length,
        received=0,
        filename=metadata.get("filename") or metadata.get("name") or "",
        fields=fields,
        state=UploadState.RECEIVING,
        created_at=now,
        updated_at=now,
        expires_at=now + _lifetime(),
    )
    session.add(upload)
    session.flush()
    return upload


def _check_fields(session: Session, case: Case, fields: Mapping[str, Any]) -> None:
    validate_fields(fields)
    incidents_in_case(session, case, [i for i in str(fields.get("incident_ids") or "").split(",") if i.strip()])
    choice = parse_choice(fields.get("on_duplicate") or OnDuplicate.ASK, OnDuplicate, "on_duplicate")
    if fields.get("witness_id"):
        witness_in_case(session, case.id, fields["witness_id"])
        validate_statement(fields)
    declared = str(fields.get("sha256") or "").lower()
    existing = same_file_in_case(session, case, declared) if len(declared) == 64 else None
    if existing is not None and choice is OnDuplicate.ASK:
        # Known before a byte is sent: the client declared the hash of a file the case already holds.
        raise Conflict(
            _("This file is already in the case as %(ern)s (%(title)s).", ern=existing.ern, title=existing.title)
        )


def _lifetime() -> timedelta:
    return timedelta(hours=components.settings().resumable_upload_hours)


def load(session: Session, user: User, upload_id: Any, access: Access = Access.READ) -> ResumableUpload:
    """The upload if the user may reach its case; only its creator may send its bytes or end it (to anyone else it
    does not exist), and only while they may still change the case."""
    upload = require_in_case(session, user, ResumableUpload, upload_id)
    if access is Access.WRITE:
        if upload.created_by_id != user.id:
            raise NotFound("Not found.")
        require_case(session, user, upload.case_id, Access.WRITE)
    return upload


def check_receiving(upload: ResumableUpload) -> None:
    if upload.state is UploadState.RECEIVING and upload.expires_at < utcnow():
        raise UploadGone(_("This upload expired: start it again."))
    if upload.state in (UploadState.EXPIRED, UploadState.TERMINATED):
        raise UploadGone(_("This upload was %(state)s.", state=upload.state.value))
    if upload.state is not UploadState.RECEIVING:
        raise Conflict(_("Every byte of this upload has been received."))


@dataclass(frozen=True)
class Received:
    """What one PATCH request brought: the bytes from `start`, kept as the upload part `name` (None: no byte came)."""

    start: int
    size: int
    name: str | None

    @property
    def end(self) -> int:
        return self.start + self.size


def append(
    store: BlobStore, upload: ResumableUpload, headers: Headers | Mapping[str, str], body: IO[bytes]
) -> Received:
    """Receive a PATCH request's bytes at the offset the client names (which must be the server's) and keep them as
    an upload part. Bytes of a request cut off midway are kept (unless a checksum was sent: then the whole request
    counts or none of it), so the client resumes from what arrived. Touches no database: the caller records the
    part (`record_part`), which is what confirms it."""
    require_version(headers)
    if headers.get("Content-Type", "").split(";")[0].strip() != "application/offset+octet-stream":
        raise UnsupportedMediaType(_("Send the bytes as application/offset+octet-stream."))
    check_receiving(upload)
    offset = parse_offset(headers.get("Upload-Offset"), "Upload-Offset")
    if offset != upload.received:
        raise Conflict(
            _("The upload is at byte %(offset)d, not %(asked)d: ask with HEAD.", offset=upload.received, asked=offset)
        )
    checksum = _checksum(headers.get("Upload-Checksum"))
    # The request's bytes go to a temporary file first (a cache of this machine): the checksum extension needs the
    # whole request before any of it counts, and the store then receives one complete part. Named as the store's
    # writers name theirs, so what a killed server leaves is swept with them.
    fd, path = tempfile.mkstemp(dir=store.temp_dir, prefix=TEMP_PREFIX, suffix=TEMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as spool:
            received = _receive(spool, body, checksum, upload.length - offset)
        if checksum is not None and checksum[1].digest() != checksum[2]:
            raise ChecksumMismatch(_("The bytes sent do not match Upload-Checksum: send them again."))
        if not received:
            return Received(offset, 0, None)
        name = f"tus/{upload.id}/{offset:020d}-{secrets.token_hex(16)}"
        store.put_part(name, path)  # consumes the file
        return Received(offset, received, name)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def _checksum(raw: str | None) -> tuple[str, Any, bytes] | None:
    if not raw:
        return None
    algorithm, _sep, value = raw.strip().partition(" ")
    if algorithm not in CHECKSUMS:
        raise ValidationFailed(
            _("Upload-Checksum: use one of %(names)s.", names=", ".join(CHECKSUMS)), field="Upload-Checksum"
        )
    try:
        expected = base64.b64decode(value, validate=True)
    except binascii.Error:
        raise ValidationFailed(_("Upload-Checksum is not base64."), field="Upload-Checksum") from None
    return algorithm, CHECKSUMS[algorithm](), expected


def _receive(spool: IO[bytes], body: IO[bytes], checksum: Any, room: int) -> int:
    received = 0
    try:
        while chunk := body.read(CHUNK_SIZE):
            if received + len(chunk) > room:
                raise TooLarge(_("More bytes than Upload-Length."))
            spool.write(chunk)
            if checksum is not None:
                checksum[1].update(chunk)
            received += len(chunk)
    except ClientDisconnected:
        if checksum is not None:
            checksum[1].update(b"\x00")  # a cut-off request with a checksum never matches: nothing kept
    return received


def record_part(session: Session, upload: ResumableUpload, part: Received) -> bool:
    """Confirm a request's part: the upload's offset moves from the part's start to its end only if it is still at
    the start (of two requests at one offset, the second finds it moved: 409, and the caller deletes its part).
    True when the last byte is in (the caller submits the job that records the file)."""
    check_receiving(upload)
    now = utcnow()
    moved = session.execute(
        update(ResumableUpload)
        .where(
            ResumableUpload.id == upload.id,
            ResumableUpload.received == part.start,
            ResumableUpload.state == UploadState.RECEIVING,
        )
        .values(received=part.end, updated_at=now, expires_at=now + _lifetime())
        .execution_options(synchronize_session=False)
    )
    if cast("CursorResult[Any]", moved).rowcount != 1:
        raise Conflict(_("Another request moved this upload on meanwhile: ask with HEAD."))
    session.add(ResumableUploadPart(upload_id=upload.id, start=part.start, size=part.size, name=part.name))
    session.flush()
    session.refresh(upload)
    if upload.received == upload.length:
        upload.state = UploadState.RECEIVED
        session.flush()
    return upload.state is UploadState.RECEIVED


def terminate(session: Session, upload: ResumableUpload) -> list[str]:
    """End an upload (termination extension); the names of its parts, for the caller to delete once committed."""
    if upload.state in (UploadState.RECEIVED, UploadState.DONE):
        raise Conflict(_("This upload is complete: it can no longer be terminated."))
    upload.state = UploadState.TERMINATED
    upload.updated_at = utcnow()
    return forget_parts(session, upload.id)


def parts_of(session: Session, upload_id: uuid.UUID) -> list[ResumableUploadPart]:
    return list(
        session.scalars(
            select(ResumableUploadPart)
            .where(ResumableUploadPart.upload_id == upload_id)
            .order_by(ResumableUploadPart.start)
        )
    )


def forget_parts(session: Session, upload_id: uuid.UUID) -> list[str]:
    """Delete an upload's part rows; their names, whose objects the caller deletes after the commit (deleted
    before it, a rolled-back transaction would leave rows naming nothing; after it, a crash leaves only objects no
    row names, which the sweep removes)."""
    names = [part.name for part in parts_of(session, upload_id)]
    session.execute(delete(ResumableUploadPart).where(ResumableUploadPart.upload_id == upload_id))
    session.flush()
    return names


def delete_parts(store: BlobStore, names: list[str]) -> None:
    for name in names:
        store.delete_part(name)


def headers_of(upload: ResumableUpload) -> dict[str, str]:
    return {
        "Tus-Resumable": VERSION,
        "Upload-Offset": str(upload.received),
        "Upload-Length": str(upload.length),
        "Upload-Expires": upload.expires_at.strftime("%a, %d %b %Y %H:%M:%S GMT"),
        "Cache-Control": "no-store",
    }


def options_headers() -> dict[str, str]:
    return {
        "Tus-Resumable": VERSION,
        "Tus-Version": VERSION,
        "Tus-Extension": EXTENSIONS,
        "Tus-Max-Size": str(components.settings().max_upload_bytes),
        "Tus-Checksum-Algorithm": ",".join(CHECKSUMS),
    }


def upload_json(upload: ResumableUpload, evidence: Any = None) -> dict[str, Any]:
    return {
        "id": str(upload.id),
        "case_id": str(upload.case_id),
        "state": upload.state.value,
        "offset": upload.received,
        "length": upload.length,
        "filename": upload.filename,
        "sha256": upload.sha256,
        "evidence_id": str(upload.evidence_id) if upload.evidence_id else None,
        "ern": evidence.ern if evidence is not None else None,
        "error": upload.error,
        "expires_at": upload.expires_at.isoformat(),
    }
