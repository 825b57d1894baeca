"""Content-addressed, write-once blob storage (framework-free: no Flask, no SQLAlchemy).

Usage::

    store = open_blob_store("file:///srv/casefile/blobs")      # or "s3://bucket[/prefix]"
    with store.writer() as w:
        for chunk in upload:
            w.write(chunk)
        sha256 = w.commit(expected_sha256=client_hash)       # HashMismatch if it differs
    with store.open(sha256) as f:
        ...
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from casefile.storage.base import (
    CHUNK_SIZE,
    BlobStore,
    BlobStoreBase,
    BlobWriter,
    TempFileBlobWriter,
    copy_into,
    is_blob_id,
    normalise_expected_sha256,
    validate_blob_id,
)
from casefile.storage.errors import BlobLocked, BlobNotFound, HashMismatch, InvalidBlobId, StorageError
from casefile.storage.local import LocalBlobStore, LocalBlobWriter

if TYPE_CHECKING:
    from casefile.storage.s3 import S3BlobStore, S3BlobWriter

__all__ = [
    "CHUNK_SIZE",
    "BlobLocked",
    "BlobNotFound",
    "BlobStore",
    "BlobStoreBase",
    "BlobWriter",
    "HashMismatch",
    "InvalidBlobId",
    "LocalBlobStore",
    "LocalBlobWriter",
    "S3BlobStore",
    "S3BlobWriter",
    "StorageError",
    "TempFileBlobWriter",
    "copy_into",
    "is_blob_id",
    "normalise_expected_sha256",
    "open_blob_store",
    "validate_blob_id",
]


def __getattr__(name: str) -> Any:
    # boto3 is slow to import; deployments on local storage should not pay for it.
    if name in ("S3BlobStore", "S3BlobWriter"):
        from casefile.storage import s3

        return getattr(s3, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def open_blob_store(url: str, **options: Any) -> BlobStore:
    """Build a store from its URL: ``file:///abs/path`` or ``s3://bucket[/prefix]``.

    ``options`` go to the backend constructor (e.g. ``endpoint_url``, ``object_lock_mode``).
    Error messages never echo the URL, which might carry credentials.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if parts.query or parts.fragment:
        raise ValueError("blob store URL must not have a query string or fragment")
    if scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise ValueError("file blob store URL must look like file:///absolute/path")
        path = unquote(parts.path)
        if not path.startswith("/"):
            raise ValueError("file blob store URL must contain an absolute path")
        return LocalBlobStore(path, **options)
    if scheme == "s3":
        if not parts.netloc or "@" in parts.netloc or ":" in parts.netloc:
            raise ValueError("S3 blob store URL must look like s3://bucket[/prefix]")
        from casefile.storage.s3 import S3BlobStore

        return S3BlobStore(parts.netloc, prefix=unquote(parts.path).strip("/"), **options)
    raise ValueError(f"unsupported blob store URL scheme {scheme!r}")
