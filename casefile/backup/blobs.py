"""The blob half of a backup: which blobs a snapshot references, and copying them out of and back into a store
(the object versions of an S3 bucket: casefile/backup/s3.py).

Blobs are content-addressed and never rewritten, so copying them after the database snapshot is consistent:
every blob the snapshot names was stored before its row was committed, and is still there, unchanged."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sqlalchemy.orm import Session

from casefile.backup import BackupError
from casefile.custody.fsck import row_references
from casefile.storage import CHUNK_SIZE, BlobStore, HashMismatch, StorageError


@dataclass(frozen=True)
class BlobRef:
    sha256: str
    owner: str  # the ERN or dossier that references it (the first one found), for messages
    role: str  # original / preview / dossier


def referenced_blobs(session: Session) -> list[BlobRef]:
    """Every blob a row of the snapshot references (fsck's definition: casefile.custody.fsck.row_references)."""
    seen: dict[str, BlobRef] = {}
    for owner, role, sha256 in row_references(session):
        seen.setdefault(sha256, BlobRef(sha256, owner, role))
    return sorted(seen.values(), key=lambda ref: ref.sha256)


def copy_stream_to_file(stream: BinaryIO, path: Path) -> tuple[str, int]:
    """Stream into a new file (O_EXCL), fsynced; returns its SHA-256 and size."""
    digest, size = hashlib.sha256(), 0
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        while chunk := stream.read(CHUNK_SIZE):
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    return digest.hexdigest(), size


def copy_blob_out(open_blob: Callable[[], BinaryIO], ref: BlobRef, path: Path) -> int:
    """Copy one blob into the bag, checking it against its name on the way (fixity at backup time)."""
    try:
        with open_blob() as stream:
            found, size = copy_stream_to_file(stream, path)
    except (StorageError, OSError) as error:
        raise BackupError(f"{ref.owner} {ref.role} blob {ref.sha256}: cannot be read: {error}") from None
    if found != ref.sha256:
        raise BackupError(
            f"{ref.owner} {ref.role} blob {ref.sha256}: the stored bytes hash to {found}; run `custody verify`"
        )
    return size


def put_checked(store: BlobStore, stream: BinaryIO, sha256: str) -> None:
    """Store `stream` as blob `sha256`; StorageError naming both hashes if the bytes are not that blob."""
    try:
        store.put(stream, expected_sha256=sha256)
    except HashMismatch as error:
        raise StorageError(f"blob {sha256}: the bytes hash to something else ({error})") from None
