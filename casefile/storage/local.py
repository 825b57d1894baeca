"""Filesystem backend: ``<root>/objects/sha256/ab/cd/<hex>``, read-only files, never overwritten."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import BinaryIO

from casefile.storage.base import (
    BlobStoreBase,
    TempFileBlobWriter,
    is_blob_id,
    is_part_name,
    validate_blob_id,
    validate_part_name,
)
from casefile.storage.errors import BlobNotFound, StorageError

__all__ = ["LocalBlobStore", "LocalBlobWriter"]

_READ_ONLY = 0o444
_DIR_MODE = 0o750
_HEX_DIGITS = frozenset("0123456789abcdef")


def _fsync_dir(path: str) -> None:
    """Persist directory entries (new names) so a crash cannot lose a committed blob."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _is_hex_pair(name: str) -> bool:
    return len(name) == 2 and set(name) <= _HEX_DIGITS


class LocalBlobWriter(TempFileBlobWriter):
    def __init__(self, store: LocalBlobStore) -> None:
        # Temp file lives under <root>/tmp: same filesystem, so publishing is an atomic link.
        super().__init__(store.tmp_dir, file_mode=_READ_ONLY)
        self._store_ref = store

    def _store(self, temp_path: str, sha256: str, size: int) -> None:
        self._store_ref._publish(temp_path, sha256)


class LocalBlobStore(BlobStoreBase):
    """Blobs as read-only files under ``root``; all paths are derived from validated hashes only."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        root = os.fspath(root)
        os.makedirs(root, mode=_DIR_MODE, exist_ok=True)
        # Resolve once: later confinement checks compare resolved paths against this.
        self.root = os.path.realpath(root)
        objects_dir = os.path.join(self.root, "objects", "sha256")
        tmp_dir = os.path.join(self.root, "tmp")
        os.makedirs(objects_dir, mode=_DIR_MODE, exist_ok=True)
        os.makedirs(tmp_dir, mode=0o700, exist_ok=True)
        self.objects_dir = os.path.realpath(objects_dir)
        self.tmp_dir = os.path.realpath(tmp_dir)
        # Upload parts live beside the blobs, not among them: iter_hashes, fsck and backups never see them. The
        # folder is made by the first part.
        self.parts_dir = os.path.join(self.root, "parts")

    @property
    def temp_dir(self) -> str:
        return self.tmp_dir

    # -- paths ---------------------------------------------------------------------------------

    def path_for(self, sha256: str) -> str:
        """Absolute path of the blob's file (which may not exist). Raises ``InvalidBlobId``."""
        hexdigest = validate_blob_id(sha256)
        path = os.path.join(self.objects_dir, hexdigest[0:2], hexdigest[2:4], hexdigest)
        # Defence in depth against symlinked shard directories pointing outside the store.
        resolved = os.path.realpath(path)
        if os.path.commonpath([resolved, self.objects_dir]) != self.objects_dir:
            raise StorageError(f"blob path for {hexdigest} escapes the store root")
        return path

    # -- writing -------------------------------------------------------------------------------

    def writer(self) -> LocalBlobWriter:
        return LocalBlobWriter(self)

    def _ensure_dir(self, path: str) -> None:
        # One level at a time so each newly created directory entry is fsynced in its parent.
        parent = os.path.dirname(path)
        if not os.path.isdir(parent):
            self._ensure_dir(parent)
        try:
            os.mkdir(path, _DIR_MODE)
        except FileExistsError:
            return
        _fsync_dir(parent)

    def _publish(self, temp_path: str, sha256: str) -> None:
        dest = self.path_for(sha256)
        shard = os.path.dirname(dest)
        self._ensure_dir(shard)
        try:
            # link() refuses to replace an existing name: write-once without a check-then-act race.
            os.link(temp_path, dest)
        except FileExistsError:
            return  # same hash => same bytes: dedupe, the caller discards the temp file
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK):
                raise
            # Filesystems without hard links: rename is still atomic; a concurrent writer of the
            # same hash can only ever put identical bytes there.
            if os.path.lexists(dest):
                return
            os.replace(temp_path, dest)
        _fsync_dir(shard)

    # -- reading -------------------------------------------------------------------------------

    def open(self, sha256: str) -> BinaryIO:
        path = self.path_for(sha256)
        try:
            return open(path, "rb")  # the caller closes it (context manager)
        except FileNotFoundError:
            raise BlobNotFound(sha256) from None

    def exists(self, sha256: str) -> bool:
        return os.path.isfile(self.path_for(sha256))

    def size(self, sha256: str) -> int:
        try:
            return os.stat(self.path_for(sha256)).st_size
        except FileNotFoundError:
            raise BlobNotFound(sha256) from None

    def iter_hashes(self) -> Iterator[str]:
        """Yield stored hashes in sorted order; stray files in the tree are ignored."""
        for first in self._sorted_subdirs(self.objects_dir):
            if not _is_hex_pair(first):
                continue
            first_dir = os.path.join(self.objects_dir, first)
            for second in self._sorted_subdirs(first_dir):
                if not _is_hex_pair(second):
                    continue
                second_dir = os.path.join(first_dir, second)
                with os.scandir(second_dir) as entries:
                    names = sorted(e.name for e in entries if e.is_file(follow_symlinks=False))
                for name in names:
                    if name.startswith(first + second) and is_blob_id(name):
                        yield name

    @staticmethod
    def _sorted_subdirs(path: str) -> list[str]:
        try:
            with os.scandir(path) as entries:
                return sorted(e.name for e in entries if e.is_dir(follow_symlinks=False))
        except FileNotFoundError:
            return []

    # -- maintenance ---------------------------------------------------------------------------

    def delete(self, sha256: str) -> None:
        """Remove a blob (fsck garbage collection of unreferenced blobs only)."""
        path = self.path_for(sha256)
        try:
            # Read-only files are unlinkable on POSIX, but not on every platform/share.
            os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
            os.unlink(path)
        except FileNotFoundError:
            raise BlobNotFound(sha256) from None
        _fsync_dir(os.path.dirname(path))

    def modified_at(self, sha256: str) -> datetime:
        try:
            return datetime.fromtimestamp(os.stat(self.path_for(sha256)).st_mtime, UTC)
        except FileNotFoundError:
            raise BlobNotFound(sha256) from None

    def quarantine(self, sha256: str) -> str:
        """<root>/quarantine/<hex>: a rename, on the same filesystem, so nothing is copied and nothing half-moved."""
        target_dir = os.path.join(self.root, "quarantine")
        os.makedirs(target_dir, mode=_DIR_MODE, exist_ok=True)
        target = os.path.join(target_dir, validate_blob_id(sha256))
        try:
            os.rename(self.path_for(sha256), target)
        except FileNotFoundError:
            raise BlobNotFound(sha256) from None
        _fsync_dir(target_dir)
        return target

    # -- upload parts ----------------------------------------------------------------------------

    def _part_path(self, name: str) -> str:
        return os.path.join(self.parts_dir, *validate_part_name(name).split("/"))

    def put_part(self, name: str, path: str) -> None:
        dest = self._part_path(name)
        os.makedirs(os.path.dirname(dest), mode=0o700, exist_ok=True)
        with open(path, "rb+") as source:  # confirmed bytes survive a crash of the machine
            os.fsync(source.fileno())
        shutil.move(path, dest)  # a rename from the store's own tmp folder
        _fsync_dir(os.path.dirname(dest))

    def open_part(self, name: str) -> BinaryIO:
        try:
            return open(self._part_path(name), "rb")  # the caller closes it
        except FileNotFoundError:
            raise BlobNotFound(name) from None

    def delete_part(self, name: str) -> None:
        path = self._part_path(name)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        with contextlib.suppress(OSError):  # the upload's folder, once its last part is gone
            os.rmdir(os.path.dirname(path))

    def iter_parts(self) -> Iterator[tuple[str, datetime]]:
        for kind in self._sorted_subdirs(self.parts_dir):
            for upload in self._sorted_subdirs(os.path.join(self.parts_dir, kind)):
                folder = os.path.join(self.parts_dir, kind, upload)
                with os.scandir(folder) as entries:
                    found = sorted((e.name, e.stat().st_mtime) for e in entries if e.is_file(follow_symlinks=False))
                for file_name, mtime in found:
                    name = f"{kind}/{upload}/{file_name}"
                    if is_part_name(name):
                        yield name, datetime.fromtimestamp(mtime, UTC)

    def describe(self) -> str:
        return f"file://{self.root}"
