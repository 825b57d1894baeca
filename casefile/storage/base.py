"""Interfaces and shared machinery for content-addressed, write-once blob storage.

A blob is identified by the lowercase hex SHA-256 of its bytes. Bytes reach a store through a
``BlobWriter``: it hashes while it spools to a private temporary file, and only ``commit()``
makes the blob visible, under the hash that was actually computed. Nothing here trusts a
client-supplied name or hash for placement.
"""

from __future__ import annotations

import abc
import contextlib
import hashlib
import io
import os
import re
import tempfile
import time
import weakref
from collections.abc import Iterable, Iterator
from datetime import datetime
from types import TracebackType
from typing import BinaryIO, Protocol, Self, runtime_checkable

from casefile.storage.errors import HashMismatch, InvalidBlobId, StorageError

__all__ = [
    "CHUNK_SIZE",
    "BlobStore",
    "BlobStoreBase",
    "BlobWriter",
    "TempFileBlobWriter",
    "copy_into",
    "is_blob_id",
    "is_part_name",
    "normalise_expected_sha256",
    "validate_blob_id",
    "validate_part_name",
]

# collections.abc.Buffer is 3.12+; these are the buffers the web layer actually hands us.
Buffer = bytes | bytearray | memoryview

# Every streaming loop uses this size so memory stays flat regardless of blob size.
CHUNK_SIZE = 1 << 20

# fullmatch (not "^...$" with re.match) so a trailing newline cannot slip through.
_BLOB_ID_RE = re.compile(r"[0-9a-f]{64}")


# Upload parts: temporary objects that are not blobs, the bytes of resumable uploads in progress, kept in the store
# itself so that any web server or worker reaches them ("tus/<upload id>/<20-digit offset>-<random token>").
# Only Casefile makes these names; nothing a client sends becomes one.
_PART_NAME_RE = re.compile(r"tus/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/[0-9]{20}-[0-9a-f]{32}")


def is_part_name(value: object) -> bool:
    return isinstance(value, str) and _PART_NAME_RE.fullmatch(value) is not None


def validate_part_name(value: object) -> str:
    if is_part_name(value):
        return str(value)
    raise InvalidBlobId(value)


def copy_into(writer: BlobWriter, stream: BinaryIO, chunk_size: int = CHUNK_SIZE) -> BlobWriter:
    """Stream ``stream`` into ``writer`` (which hashes as it goes), chunk by chunk; returns the writer."""
    while chunk := stream.read(chunk_size):
        writer.write(chunk)
    return writer


def is_blob_id(value: object) -> bool:
    """True if ``value`` is a lowercase hex SHA-256 string."""
    return isinstance(value, str) and _BLOB_ID_RE.fullmatch(value) is not None


def validate_blob_id(value: object) -> str:
    """Return ``value`` if it is a lowercase hex SHA-256, else raise ``InvalidBlobId``.

    Backends call this before building any path or object key from the id.
    """
    if isinstance(value, str) and _BLOB_ID_RE.fullmatch(value) is not None:
        return value
    raise InvalidBlobId(value)


def normalise_expected_sha256(value: object) -> str:
    """Accept a client-announced hash in either case and return it in canonical lowercase."""
    # isascii() first: str.lower() on exotic code points must not be able to produce hex digits.
    if not isinstance(value, str) or not value.isascii():
        raise InvalidBlobId(value)
    return validate_blob_id(value.lower())


@runtime_checkable
class BlobWriter(Protocol):
    """One-pass sink for a new blob; file-like enough for Werkzeug's ``stream_factory``."""

    def write(self, data: Buffer, /) -> int: ...

    def seek(self, pos: int, whence: int = 0, /) -> int: ...

    def tell(self) -> int: ...

    @property
    def sha256(self) -> str: ...

    @property
    def size(self) -> int: ...

    @property
    def closed(self) -> bool: ...

    def commit(self, expected_sha256: str | None = None) -> str: ...

    def open_staged(self) -> BinaryIO: ...

    def abort(self) -> None: ...

    def close(self) -> None: ...

    def flush(self) -> None: ...

    def writable(self) -> bool: ...

    def readable(self) -> bool: ...

    def seekable(self) -> bool: ...

    def read(self, size: int = -1, /) -> bytes: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


@runtime_checkable
class BlobStore(Protocol):
    """A content-addressed, write-once blob store."""

    def writer(self) -> BlobWriter: ...

    def put(self, stream: BinaryIO, expected_sha256: str | None = None, chunk_size: int = CHUNK_SIZE) -> str: ...

    def open(self, sha256: str) -> BinaryIO: ...

    def exists(self, sha256: str) -> bool: ...

    def size(self, sha256: str) -> int: ...

    def iter_hashes(self) -> Iterator[str]: ...

    def delete(self, sha256: str) -> None: ...

    def rehash(self, sha256: str) -> str: ...

    def describe(self) -> str: ...

    def sweep_partial(self, max_age_seconds: float) -> list[str]: ...

    def modified_at(self, sha256: str) -> datetime: ...

    def quarantine(self, sha256: str) -> str: ...

    def put_part(self, name: str, path: str) -> None: ...

    @property
    def temp_dir(self) -> str | None: ...

    def open_part(self, name: str) -> BinaryIO: ...

    def delete_part(self, name: str) -> None: ...

    def iter_parts(self) -> Iterator[tuple[str, datetime]]: ...


# The temporary files of writers (TempFileBlobWriter): a process killed while writing leaves one behind.
TEMP_PREFIX, TEMP_SUFFIX = "upload-", ".part"


class BlobStoreBase(abc.ABC):
    """Backend base class: ``put`` and ``rehash`` are written once here, on top of the primitives."""

    @abc.abstractmethod
    def writer(self) -> TempFileBlobWriter: ...

    @abc.abstractmethod
    def open(self, sha256: str) -> BinaryIO: ...

    @abc.abstractmethod
    def exists(self, sha256: str) -> bool: ...

    @abc.abstractmethod
    def size(self, sha256: str) -> int: ...

    @abc.abstractmethod
    def iter_hashes(self) -> Iterator[str]: ...

    @abc.abstractmethod
    def delete(self, sha256: str) -> None: ...

    @abc.abstractmethod
    def describe(self) -> str: ...

    @abc.abstractmethod
    def modified_at(self, sha256: str) -> datetime:
        """When the blob was stored (UTC); BlobNotFound if it is not."""

    @abc.abstractmethod
    def quarantine(self, sha256: str) -> str:
        """Move the blob out of the store, to a quarantine place in the same storage, where it stays until an operator
        removes it (fsck's collection never deletes). Returns where it went; BlobLocked if retention forbids."""

    @abc.abstractmethod
    def put_part(self, name: str, path: str) -> None:
        """Keep the local file at `path` as the upload part `name` (validated); the file is consumed (moved or
        uploaded, then removed)."""

    @abc.abstractmethod
    def open_part(self, name: str) -> BinaryIO:
        """Read an upload part; BlobNotFound if it is not there."""

    @abc.abstractmethod
    def delete_part(self, name: str) -> None:
        """Remove an upload part for good (every version); no error if it is already gone."""

    @abc.abstractmethod
    def iter_parts(self) -> Iterator[tuple[str, datetime]]:
        """Every upload part in the store, with when it was written (UTC): for the sweep of abandoned ones."""

    @property
    @abc.abstractmethod
    def temp_dir(self) -> str | None:
        """Where this store's writers spool (None: the system's temporary folder, shared, never swept)."""

    def sweep_partial(self, max_age_seconds: float) -> list[str]:
        """Remove what writers of killed processes left behind: temporary files not written to for
        ``max_age_seconds``. A live writer touches its file with every chunk, so a bound well above the longest
        pause of a slow upload never takes a live one. Returns what was removed (names, for the operator)."""
        removed: list[str] = []
        if self.temp_dir is None:
            return removed
        bound = time.time() - max_age_seconds
        with os.scandir(self.temp_dir) as entries:
            for entry in entries:
                if not (entry.name.startswith(TEMP_PREFIX) and entry.name.endswith(TEMP_SUFFIX)):
                    continue
                try:
                    if entry.is_file(follow_symlinks=False) and entry.stat(follow_symlinks=False).st_mtime < bound:
                        os.unlink(entry.path)
                        removed.append(entry.name)
                except FileNotFoundError:
                    continue  # its writer finished (or another sweep got it) meanwhile
        return removed

    def put(self, stream: BinaryIO, expected_sha256: str | None = None, chunk_size: int = CHUNK_SIZE) -> str:
        """Copy ``stream`` into the store chunk by chunk and return the blob's hash."""
        if chunk_size <= 0:
            raise ValueError("chunk_size must be positive")
        # Validate up front so a malformed hash fails before we copy a large stream.
        expected = None if expected_sha256 is None else normalise_expected_sha256(expected_sha256)
        with self.writer() as writer:
            return copy_into(writer, stream, chunk_size).commit(expected)

    def rehash(self, sha256: str) -> str:
        """Recompute the SHA-256 of the stored bytes (fixity check); streams, never loads whole."""
        digest = hashlib.sha256()
        with self.open(validate_blob_id(sha256)) as blob:
            while chunk := blob.read(CHUNK_SIZE):
                digest.update(chunk)
        return digest.hexdigest()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.describe()}>"


def _discard_temp(fileobj: io.BufferedWriter, path: str) -> None:
    # Runs at most once: on commit/abort, or when a forgotten writer is garbage-collected or the
    # interpreter exits, so half-received evidence never lingers in the temp directory.
    try:
        fileobj.close()
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


_OPEN, _COMMITTED, _ABORTED = "open", "committed", "aborted"


class TempFileBlobWriter(abc.ABC):
    """Writer that hashes while spooling to a private temp file; subclasses publish it on commit.

    Append-only: ``seek`` accepts only positions 0 and end-of-data, because Werkzeug rewinds the
    container after spooling and nothing needs real random access. Not thread-safe.
    """

    def __init__(self, temp_dir: str | os.PathLike[str] | None, *, file_mode: int | None = None) -> None:
        # mkstemp: O_EXCL, mode 0o600, random name -- never derived from the uploader's file name.
        fd, path = tempfile.mkstemp(dir=temp_dir, prefix=TEMP_PREFIX, suffix=TEMP_SUFFIX)
        try:
            self._file = os.fdopen(fd, "wb")
        except BaseException:
            os.close(fd)
            os.unlink(path)
            raise
        self._path = path
        self._cleanup = weakref.finalize(self, _discard_temp, self._file, path)
        self._file_mode = file_mode
        self._hash = hashlib.sha256()
        self._size = 0
        self._pos = 0
        self._state = _OPEN

    @abc.abstractmethod
    def _store(self, temp_path: str, sha256: str, size: int) -> None:
        """Publish the closed, fsynced temp file as blob ``sha256`` (dedupe if already present).

        The temp file is deleted by the caller afterwards, whatever happens.
        """

    # -- writing -------------------------------------------------------------------------------

    def write(self, data: Buffer, /) -> int:
        self._check_open()
        if self._pos != self._size:
            raise io.UnsupportedOperation("blob writer is append-only; seek to the end before writing")
        view = memoryview(data)
        try:
            self._file.write(view)
        except OSError as exc:
            # The file and the hash may now disagree; the writer is unusable.
            self.abort()
            raise StorageError(f"could not spool blob data: {exc}") from exc
        self._hash.update(view)
        self._size += view.nbytes
        self._pos = self._size
        return view.nbytes

    def writelines(self, lines: Iterable[Buffer], /) -> None:
        for line in lines:
            self.write(line)

    def seek(self, pos: int, whence: int = io.SEEK_SET, /) -> int:
        self._check_open()
        if whence == io.SEEK_SET:
            target = pos
        elif whence == io.SEEK_CUR:
            target = self._pos + pos
        elif whence == io.SEEK_END:
            target = self._size + pos
        else:
            raise ValueError(f"invalid whence ({whence})")
        if target not in (0, self._size):
            raise io.UnsupportedOperation("blob writer can only seek to the start or the end")
        self._pos = target
        return target

    def tell(self) -> int:
        return self._pos

    def flush(self) -> None:
        if self._state == _OPEN:
            self._file.flush()

    def open_staged(self) -> BinaryIO:
        """Read back what was spooled so far, before commit: ingest sniffs and extracts metadata from
        local disk instead of fetching the blob back from remote storage. Valid until commit or abort."""
        self._check_open()
        self._file.flush()
        return open(self._path, "rb")

    # -- file-likeness for Werkzeug ------------------------------------------------------------

    def writable(self) -> bool:
        return True

    def readable(self) -> bool:
        return False

    def seekable(self) -> bool:
        # Only the harmless rewind/end seeks above are supported, so don't advertise seeking.
        return False

    def read(self, size: int = -1, /) -> bytes:
        raise io.UnsupportedOperation("blob writer is write-only; open the committed blob to read")

    def fileno(self) -> int:
        raise io.UnsupportedOperation("blob writer has no usable file descriptor")

    def isatty(self) -> bool:
        return False

    @property
    def closed(self) -> bool:
        return self._state != _OPEN

    @property
    def committed(self) -> bool:
        return self._state == _COMMITTED

    # -- state ---------------------------------------------------------------------------------

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()

    @property
    def size(self) -> int:
        return self._size

    def commit(self, expected_sha256: str | None = None) -> str:
        """Verify and publish the blob; returns its hash. The writer is closed afterwards."""
        if self._state == _COMMITTED:
            raise StorageError("blob writer already committed")
        if self._state == _ABORTED:
            raise StorageError("blob writer was aborted")
        try:
            actual = self.sha256
            if expected_sha256 is not None:
                expected = normalise_expected_sha256(expected_sha256)
                if expected != actual:
                    raise HashMismatch(expected, actual)
            self._file.flush()
            fd = self._file.fileno()
            if self._file_mode is not None:
                os.fchmod(fd, self._file_mode)
            # Data must be on disk before the blob becomes visible under its name.
            os.fsync(fd)
            self._file.close()
            self._store(self._path, actual, self._size)
        except OSError as exc:
            self.abort()
            raise StorageError(f"could not store blob: {exc}") from exc
        except BaseException:
            self.abort()
            raise
        self._state = _COMMITTED
        self._cleanup()
        return actual

    def abort(self) -> None:
        """Discard the spooled data. Safe to call repeatedly and after ``commit`` (no-op then)."""
        if self._state == _OPEN:
            self._state = _ABORTED
        if self._state == _ABORTED:
            self._cleanup()

    def close(self) -> None:
        # Werkzeug/Flask close request files at the end of a request: uncommitted data is dropped.
        self.abort()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._state} size={self._size}>"

    def _check_open(self) -> None:
        if self._state != _OPEN:
            raise ValueError(f"I/O operation on {self._state} blob writer")
