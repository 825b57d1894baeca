"""Exceptions raised by the blob stores.

Everything derives from ``StorageError`` so callers can catch one type; the more specific
classes also derive from the matching builtin where that helps generic code.
"""

from __future__ import annotations


class StorageError(Exception):
    """Any failure of the blob store (I/O, backend, misuse of a writer)."""


class InvalidBlobId(StorageError, ValueError):
    """The string is not a lowercase hex SHA-256; raised before any path or key is built."""

    def __init__(self, value: object) -> None:
        # repr() and truncation keep hostile input (newlines, huge strings) out of log lines.
        shown = repr(value)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        super().__init__(f"invalid blob id {shown}: expected 64 lowercase hex characters")
        self.value = value


class BlobNotFound(StorageError, LookupError):
    """No blob with this hash is stored."""

    def __init__(self, sha256: str) -> None:
        super().__init__(f"blob {sha256} not found")
        self.sha256 = sha256


class HashMismatch(StorageError):
    """The bytes received do not hash to the value the client announced."""

    def __init__(self, expected: str, actual: str) -> None:
        super().__init__(f"SHA-256 mismatch: expected {expected}, got {actual}")
        self.expected = expected
        self.actual = actual


class BlobLocked(StorageError):
    """The backend refuses to delete the blob (e.g. S3 Object Lock retention is in force)."""

    def __init__(self, sha256: str, reason: str = "") -> None:
        message = f"blob {sha256} is locked against deletion"
        super().__init__(f"{message}: {reason}" if reason else message)
        self.sha256 = sha256
