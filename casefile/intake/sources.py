"""Where an import's files are: a ZIP archive (uploaded, kept in the blob store) or, from the command line, a
folder on the server. Both answer the same questions: which files are there, and a stream of one of them.

A name from a manifest or an archive is only ever a key into the source's own list of members: a name that climbs
out (`../`), is absolute, or carries control characters is refused, never resolved on a disk.
"""

from __future__ import annotations

import unicodedata
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import IO, Protocol

from flask_babel import gettext as _

from casefile.storage import CHUNK_SIZE, BlobStore

MANIFEST_NAMES = ("manifest.csv", "manifest.xlsx")
# Archive members that are never evidence: folders' and operating systems' bookkeeping.
_JUNK = ("__MACOSX/", ".DS_Store", "Thumbs.db", "desktop.ini")
# A member that expands more than this many times, beyond a megabyte, is treated as a decompression bomb.
MAX_RATIO = 200
MAX_MEMBERS = 100_000


class UnsafeName(ValueError):
    pass


class SourceError(Exception):
    """The archive or folder as a whole cannot be read."""


def safe_name(name: str) -> str:
    """The member name as a normalised relative POSIX path, or UnsafeName."""
    text = name.replace("\\", "/").strip()
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in text):
        raise UnsafeName(_("The file name contains control or direction characters."))
    path = PurePosixPath(text)
    parts = [p for p in path.parts if p not in ("", ".")]
    if not parts or path.is_absolute() or ".." in parts or ":" in parts[0]:
        raise UnsafeName(_("The file name is not a plain path inside the archive."))
    return "/".join(parts)


class Source(Protocol):
    def names(self) -> list[str]: ...

    def size(self, name: str) -> int: ...

    def open(self, name: str) -> IO[bytes]: ...


class ZipSource:
    def __init__(self, file: IO[bytes], max_bytes: int) -> None:
        try:
            self.zip = zipfile.ZipFile(file)
        except (zipfile.BadZipFile, OSError, ValueError):
            raise SourceError(_("The archive is not a readable ZIP file.")) from None
        infos = [i for i in self.zip.infolist() if not i.is_dir() and not any(j in i.filename for j in _JUNK)]
        if len(infos) > MAX_MEMBERS:
            raise SourceError(_("The archive holds more than %(n)d files: split it.", n=MAX_MEMBERS))
        self.members: dict[str, zipfile.ZipInfo] = {}
        self.unsafe: set[str] = set()
        self.max_bytes = max_bytes
        for info in infos:
            try:
                self.members.setdefault(safe_name(info.filename), info)
            except UnsafeName:
                self.unsafe.add(info.filename)

    def names(self) -> list[str]:
        return sorted(self.members)

    def size(self, name: str) -> int:
        return self.members[name].file_size

    def open(self, name: str) -> IO[bytes]:
        info = self.members[name]
        if info.file_size > self.max_bytes:
            raise SourceError(_("The file is larger than this instance accepts."))
        if info.file_size > 1 << 20 and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise SourceError(_("The file expands %(n)d times: refused as a decompression bomb.", n=MAX_RATIO))
        try:
            return self.zip.open(info)
        except (zipfile.BadZipFile, NotImplementedError, RuntimeError):
            raise SourceError(
                _("The file cannot be read from the archive (damaged, encrypted or unsupported).")
            ) from None


class FolderSource:
    """A folder on the server (the command line only: an operator's own disk)."""

    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = root.resolve()
        if not self.root.is_dir():
            raise SourceError(_("%(path)s is not a folder.", path=str(root)))
        self.max_bytes = max_bytes
        self.members: dict[str, Path] = {}
        self.unsafe: set[str] = set()
        for path in sorted(self.root.rglob("*")):
            # Symbolic links are not followed: a link could lead anywhere on the server.
            if path.is_symlink() or not path.is_file() or any(j.strip("/") in path.parts for j in _JUNK):
                continue
            self.members[path.relative_to(self.root).as_posix()] = path

    def names(self) -> list[str]:
        return list(self.members)

    def size(self, name: str) -> int:
        return self.members[name].stat().st_size

    def open(self, name: str) -> IO[bytes]:
        path = self.members[name]
        if path.stat().st_size > self.max_bytes:
            raise SourceError(_("The file is larger than this instance accepts."))
        return path.open("rb")


def chunks(source: Source, name: str) -> Iterator[bytes]:
    """A member's bytes, a chunk at a time; a member damaged inside the archive (a bad CRC, a broken deflate stream)
    is a SourceError naming it, found while it is read, never a crash."""
    try:
        with source.open(name) as stream:
            while chunk := stream.read(CHUNK_SIZE):
                yield chunk
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError):
        raise SourceError(_("The file is damaged inside the archive (its checksum does not match).")) from None


@contextmanager
def staged_blob(store: BlobStore, sha256: str) -> Iterator[IO[bytes]]:
    """A seekable copy of a stored blob (a ZIP or an XLSX must be read out of order): the blob itself when the
    store gives a file, otherwise a private copy in the store's spool, deleted afterwards."""
    with store.open(sha256) as blob:
        if blob.seekable():
            yield blob
            return
        with store.writer() as copy:
            while chunk := blob.read(CHUNK_SIZE):
                copy.write(chunk)
            with copy.open_staged() as staged:
                yield staged
