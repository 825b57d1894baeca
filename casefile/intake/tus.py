"""Resumable uploads: the tus 1.0 protocol (https://tus.io/protocols/resumable-upload), with its creation, checksum,
termination and expiration extensions, for the API (Bearer token) and the upload page (session and CSRF header).

An upload is created with its length and its evidence fields (tus metadata, validated at once, so a refusal costs
no bytes). Its bytes are appended to a spool file in the instance folder by PATCH requests, each starting at the
offset the server confirms (HEAD), so a dropped connection loses only what was in flight. The SHA-256 is computed
as the bytes arrive, in one pass over the whole stream across resumptions: the hash state is kept between requests
by the process that received them. A request reaching another process of the same machine (or one restarted)
first re-reads what the spool holds (a pass over the received prefix, never over anything twice afterwards).
When the last byte is in, a job records the file as evidence with that hash declared, so the store's own hashing
confirms it; a resumed upload thus gives the same item and hash as an uninterrupted one. Uploads untouched for
CASEFILE_RESUMABLE_UPLOAD_HOURS expire and their bytes are swept by a scheduled job.

The spool is per machine: several web servers need uploads of one file to reach the same one (or a shared
instance folder).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fcntl
import hashlib
import os
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

from flask_babel import gettext as _
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
from casefile.intake.models import ResumableUpload, UploadState
from casefile.parsing import parse_choice
from casefile.storage import CHUNK_SIZE
from casefile.witnesses.services import validate_statement, witness_in_case

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


class UploadBusy(CasefileError):
    status = 423
    code = "locked"


class TooLarge(CasefileError):
    status = 413
    code = "too_large"


def spool_dir() -> Path:
    path = components.settings().instance_path / "uploads"
    path.mkdir(mode=0o700, exist_ok=True)
    return path


def spool_path(upload_id: uuid.UUID) -> Path:
    return spool_dir() / f"{upload_id}.part"


# --- the running hashes, kept between requests ---------------------------------------------------------------

_HASHES: OrderedDict[uuid.UUID, tuple[int, Any]] = OrderedDict()
_HASHES_LOCK = threading.Lock()
_HASHES_KEPT = 512  # uploads in progress at once per process; an evicted one is re-read if it resumes


def _running_hash(upload_id: uuid.UUID, offset: int, spool: IO[bytes]) -> Any:
    """The SHA-256 state over the first `offset` bytes: the one this process kept, or re-read from the spool."""
    with _HASHES_LOCK:
        kept = _HASHES.pop(upload_id, None)
    if kept is not None and kept[0] == offset:
        return kept[1]
    digest = hashlib.sha256()
    spool.seek(0)
    remaining = offset
    while remaining:
        chunk = spool.read(min(CHUNK_SIZE, remaining))
        if not chunk:
            raise Conflict(_("The bytes received so far are missing: start the upload again."))
        digest.update(chunk)
        remaining -= len(chunk)
    return digest


def _keep_hash(upload_id: uuid.UUID, offset: int, digest: Any) -> None:
    with _HASHES_LOCK:
        _HASHES[upload_id] = (offset, digest)
        while len(_HASHES) > _HASHES_KEPT:
            _HASHES.popitem(last=False)


def _forget_hash(upload_id: uuid.UUID) -> None:
    with _HASHES_LOCK:
        _HASHES.pop(upload_id, None)


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
    spool_path(upload.id).touch(mode=0o600)
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


@contextlib.contextmanager
def spool_lock(upload_id: uuid.UUID) -> Iterator[IO[bytes]]:
    """The upload's spool file, locked for this request (423 when another request holds it). The caller re-reads
    the upload, appends and records the new offset while holding it, so two requests never interleave."""
    try:
        spool = spool_path(upload_id).open("r+b")
    except FileNotFoundError:
        raise UploadGone(_("This upload's bytes are gone: start it again.")) from None
    with spool:
        try:
            fcntl.flock(spool.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UploadBusy(_("Another request is sending bytes of this upload.")) from None
        yield spool


def append(upload: ResumableUpload, headers: Headers | Mapping[str, str], body: IO[bytes], spool: IO[bytes]) -> int:
    """Append a PATCH request's bytes to the locked spool at the offset the client names (which must be the
    server's); the new offset. Bytes of a request cut off midway are kept (unless a checksum was sent: then the whole
    request counts or none of it), so the client resumes from what arrived. Touches no database: the caller records
    the offset, still holding the lock."""
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
    # Bytes beyond the recorded offset are from a request whose end was never recorded: not confirmed, dropped.
    spool.truncate(offset)
    digest = _running_hash(upload.id, offset, spool)
    spool.seek(offset)
    start = digest.copy()
    received = _receive(spool, body, digest, checksum, upload.length - offset)
    if checksum is not None and checksum[1].digest() != checksum[2]:
        spool.truncate(offset)
        _keep_hash(upload.id, offset, start)
        raise ChecksumMismatch(_("The bytes sent do not match Upload-Checksum: send them again."))
    spool.flush()
    with contextlib.suppress(OSError):
        os.fsync(spool.fileno())  # confirmed bytes survive a crash of the machine
    _keep_hash(upload.id, offset + received, digest)
    return offset + received


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


def _receive(spool: IO[bytes], body: IO[bytes], digest: Any, checksum: Any, room: int) -> int:
    received = 0
    try:
        while chunk := body.read(CHUNK_SIZE):
            if received + len(chunk) > room:
                raise TooLarge(_("More bytes than Upload-Length."))
            spool.write(chunk)
            digest.update(chunk)
            if checksum is not None:
                checksum[1].update(chunk)
            received += len(chunk)
    except ClientDisconnected:
        if checksum is not None:
            checksum[1].update(b"\x00")  # a cut-off request with a checksum never matches: nothing kept
    return received


def record_offset(session: Session, upload: ResumableUpload, offset: int) -> bool:
    """Record the new offset; True when the last byte is in (the caller submits the job that records it)."""
    now = utcnow()
    upload.received = offset
    upload.updated_at = now
    upload.expires_at = now + _lifetime()
    if offset == upload.length:
        upload.state = UploadState.RECEIVED
        with _HASHES_LOCK:
            kept = _HASHES.pop(upload.id, None)
        if kept is None or kept[0] != offset:
            with spool_path(upload.id).open("rb") as spool:
                kept = (offset, _running_hash(upload.id, offset, spool))
        upload.sha256 = kept[1].hexdigest()
    session.flush()
    return upload.state is UploadState.RECEIVED


def terminate(session: Session, upload: ResumableUpload) -> None:
    if upload.state in (UploadState.RECEIVED, UploadState.DONE):
        raise Conflict(_("This upload is complete: it can no longer be terminated."))
    upload.state = UploadState.TERMINATED
    upload.updated_at = utcnow()
    session.flush()
    discard_spool(upload.id)


def discard_spool(upload_id: uuid.UUID) -> None:
    _forget_hash(upload_id)
    spool_path(upload_id).unlink(missing_ok=True)


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
