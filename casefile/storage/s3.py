"""S3 backend: key ``[<prefix>/]sha256/<hex>``, optional Object Lock retention, write-once.

Uploads are spooled to a local temp file first (hashing as they arrive), so nothing reaches the
bucket until the content hash is known and verified. The app's own SHA-256 is authoritative;
S3's checksum is an extra transport check, not the source of truth.
"""

from __future__ import annotations

import base64
import io
import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, BinaryIO, cast

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import BotoCoreError, ClientError

from casefile.storage.base import (
    BlobStoreBase,
    TempFileBlobWriter,
    is_blob_id,
    is_part_name,
    validate_blob_id,
    validate_part_name,
)
from casefile.storage.errors import BlobLocked, BlobNotFound, StorageError

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer
    from botocore.response import StreamingBody

__all__ = ["OBJECT_LOCK_MODES", "S3BlobStore", "S3BlobWriter"]

OBJECT_LOCK_MODES = frozenset({"GOVERNANCE", "COMPLIANCE"})
MIB = 1 << 20
DEFAULT_MULTIPART_THRESHOLD = 64 * MIB
# S3 rejects non-final multipart parts smaller than 5 MiB.
MIN_PART_SIZE = 5 * MIB
DEFAULT_MULTIPART_CHUNKSIZE = 8 * MIB

_NOT_FOUND_CODES = frozenset({"404", "NoSuchKey", "NotFound"})
_UNSUPPORTED_CODES = frozenset({"NotImplemented", "AccessDenied", "MethodNotAllowed"})
# Permissive on purpose (legacy buckets allow upper case/underscores); just keep out URL syntax.
_BUCKET_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{1,253}[A-Za-z0-9]")


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class _S3BlobReader(io.RawIOBase):
    """Raw stream over a GetObject body, so callers get an ordinary buffered binary file."""

    def __init__(self, body: StreamingBody) -> None:
        super().__init__()
        self._body = body

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        # A byte view whatever the buffer's item format, so its length is the number of bytes to fill.
        with memoryview(buffer).cast("B") as view:
            try:
                data = self._body.read(len(view))
            except BotoCoreError as exc:  # truncated stream, checksum failure, timeouts
                raise StorageError(f"error reading blob from S3: {exc}") from exc
            n = len(data)
            view[:n] = data
            return n

    def close(self) -> None:
        if not self.closed:
            self._body.close()
        super().close()


class S3BlobWriter(TempFileBlobWriter):
    def __init__(self, store: S3BlobStore) -> None:
        super().__init__(store.spool_dir)
        self._s3_store = store

    def _store(self, temp_path: str, sha256: str, size: int) -> None:
        self._s3_store._upload(temp_path, sha256, size)


class S3BlobStore(BlobStoreBase):
    """Blobs as S3 objects. Credentials come from the usual boto3 chain (environment etc.)."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        endpoint_url: str | None = None,
        object_lock_mode: str | None = None,
        object_lock_days: int | str | None = None,
        multipart_threshold: int = DEFAULT_MULTIPART_THRESHOLD,
        client: Any = None,
        *,
        multipart_chunksize: int = DEFAULT_MULTIPART_CHUNKSIZE,
        max_concurrency: int = 4,
        spool_dir: str | os.PathLike[str] | None = None,
        region_name: str | None = None,
    ) -> None:
        if not _BUCKET_RE.fullmatch(bucket):
            raise ValueError(f"invalid S3 bucket name {bucket!r}")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self._key_prefix = f"{self.prefix}/sha256/" if self.prefix else "sha256/"
        # Upload parts beside the blobs (never listed as blobs), written without retention so they can be deleted.
        self._parts_prefix = f"{self.prefix}/parts/" if self.prefix else "parts/"

        if (object_lock_mode is None) != (object_lock_days is None):
            raise ValueError("object_lock_mode and object_lock_days must be set together")
        self.object_lock_mode = object_lock_mode.upper() if object_lock_mode is not None else None
        if self.object_lock_mode is not None and self.object_lock_mode not in OBJECT_LOCK_MODES:
            raise ValueError(f"object_lock_mode must be one of {sorted(OBJECT_LOCK_MODES)}")
        self.object_lock_days = int(object_lock_days) if object_lock_days is not None else None
        if self.object_lock_days is not None and self.object_lock_days <= 0:
            raise ValueError("object_lock_days must be a positive number of days")

        if multipart_threshold <= 0:
            raise ValueError("multipart_threshold must be positive")
        self.multipart_threshold = int(multipart_threshold)
        self._transfer_config = TransferConfig(
            multipart_threshold=self.multipart_threshold,
            multipart_chunksize=max(int(multipart_chunksize), MIN_PART_SIZE),
            max_concurrency=max_concurrency,
        )
        self.spool_dir = os.fspath(spool_dir) if spool_dir is not None else None
        self.endpoint_url = endpoint_url
        self.client = client or boto3.client("s3", endpoint_url=endpoint_url, region_name=region_name)

    # -- keys ----------------------------------------------------------------------------------

    def key_for(self, sha256: str) -> str:
        """Object key of the blob. Raises ``InvalidBlobId`` before anything touches S3."""
        return self._key_prefix + validate_blob_id(sha256)

    # -- writing -------------------------------------------------------------------------------

    def writer(self) -> S3BlobWriter:
        return S3BlobWriter(self)

    def _lock_args(self) -> dict[str, Any]:
        if self.object_lock_mode is None or self.object_lock_days is None:
            return {}
        # Retention runs from the moment of upload, per object.
        until = datetime.now(UTC) + timedelta(days=self.object_lock_days)
        return {"ObjectLockMode": self.object_lock_mode, "ObjectLockRetainUntilDate": until}

    @property
    def temp_dir(self) -> str | None:
        return self.spool_dir

    def sweep_partial(self, max_age_seconds: float) -> list[str]:
        """The spooled temporary files, and the multipart uploads of killed processes (S3 keeps, and bills, their
        parts until they are aborted), started more than ``max_age_seconds`` ago under this store's prefix."""
        removed = super().sweep_partial(max_age_seconds)
        bound = datetime.now(UTC) - timedelta(seconds=max_age_seconds)
        try:
            pages = self.client.get_paginator("list_multipart_uploads").paginate(
                Bucket=self.bucket, Prefix=self._key_prefix
            )
            for page in pages:
                for upload in page.get("Uploads", []):
                    if upload["Initiated"] < bound:
                        self.client.abort_multipart_upload(
                            Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                        )
                        removed.append(f"s3 multipart upload of {upload['Key']}")
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"listing or aborting incomplete S3 uploads failed: {exc}") from exc
        return removed

    def _upload(self, path: str, sha256: str, size: int) -> None:
        key = self.key_for(sha256)
        if self.exists(sha256):
            return  # write-once: identical content is already there
        lock_args = self._lock_args()
        extra: dict[str, Any] = {
            "ContentType": "application/octet-stream",
            "ChecksumAlgorithm": "SHA256",
            **lock_args,
        }
        try:
            if size < self.multipart_threshold:
                with open(path, "rb") as body:
                    self.client.put_object(
                        Bucket=self.bucket,
                        Key=key,
                        Body=body,
                        ContentLength=size,
                        # Our digest, so S3 verifies the bytes it received against it.
                        ChecksumSHA256=base64.b64encode(bytes.fromhex(sha256)).decode("ascii"),
                        **extra,
                    )
            else:
                # By file name: s3transfer then reads each part from disk rather than memory.
                self.client.upload_file(path, self.bucket, key, ExtraArgs=extra, Config=self._transfer_config)
            self._verify_upload(key, sha256, size, lock_args)
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"S3 upload of blob {sha256} failed: {exc}") from exc

    def _verify_upload(self, key: str, sha256: str, size: int, lock_args: dict[str, Any]) -> None:
        head = self.client.head_object(Bucket=self.bucket, Key=key)
        if head.get("ContentLength") != size:
            raise StorageError(f"S3 object for blob {sha256} has {head.get('ContentLength')} bytes, expected {size}")
        if lock_args and head.get("ObjectLockMode") != lock_args["ObjectLockMode"]:
            # Some servers (moto, some S3-compatibles) drop lock headers on multipart uploads;
            # evidence must not end up unprotected, so set the retention explicitly.
            version = {"VersionId": head["VersionId"]} if head.get("VersionId") else {}
            self.client.put_object_retention(
                Bucket=self.bucket,
                Key=key,
                Retention={
                    "Mode": lock_args["ObjectLockMode"],
                    "RetainUntilDate": lock_args["ObjectLockRetainUntilDate"],
                },
                **version,
            )

    # -- reading -------------------------------------------------------------------------------

    def _head(self, sha256: str) -> dict[str, Any] | None:
        key = self.key_for(sha256)
        try:
            head: dict[str, Any] = self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _error_code(exc) in _NOT_FOUND_CODES:
                return None
            raise StorageError(f"S3 head of blob {sha256} failed: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"S3 head of blob {sha256} failed: {exc}") from exc
        return head

    def open(self, sha256: str) -> BinaryIO:
        return self._read(self.key_for(sha256), sha256, "blob")

    def _read(self, key: str, name: str, what: str) -> BinaryIO:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _error_code(exc) in _NOT_FOUND_CODES:
                raise BlobNotFound(name) from None
            raise StorageError(f"S3 read of {what} {name} failed: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"S3 read of {what} {name} failed: {exc}") from exc
        return io.BufferedReader(_S3BlobReader(response["Body"]), buffer_size=MIB)

    def exists(self, sha256: str) -> bool:
        return self._head(sha256) is not None

    def size(self, sha256: str) -> int:
        head = self._head(sha256)
        if head is None:
            raise BlobNotFound(sha256)
        return int(head["ContentLength"])

    def iter_hashes(self) -> Iterator[str]:
        """Yield stored hashes in key order; foreign keys under the prefix are ignored."""
        paginator = self.client.get_paginator("list_objects_v2")
        pages = paginator.paginate(Bucket=self.bucket, Prefix=self._key_prefix)
        try:
            for page in pages:
                for item in page.get("Contents", ()):
                    name = item["Key"][len(self._key_prefix) :]
                    if is_blob_id(name):
                        yield name
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"S3 listing of {self.describe()} failed: {exc}") from exc

    # -- maintenance ---------------------------------------------------------------------------

    def delete(self, sha256: str) -> None:
        """Remove every version of the blob (fsck garbage collection only).

        In a versioned bucket a plain DELETE only adds a delete marker and is never refused by
        Object Lock, so the versions themselves are deleted; a retained version raises BlobLocked.
        """
        key = self.key_for(sha256)
        try:
            versions, markers = self._list_versions(key)
        except ClientError as exc:
            if _error_code(exc) not in _UNSUPPORTED_CODES:
                raise StorageError(f"S3 version listing for blob {sha256} failed: {exc}") from exc
            # No versioning API (or permission): fall back to a plain delete.
            if not self.exists(sha256):
                raise BlobNotFound(sha256) from None
            self._delete_version(sha256, key, None)
            return
        except BotoCoreError as exc:
            raise StorageError(f"S3 version listing for blob {sha256} failed: {exc}") from exc
        if not versions:
            raise BlobNotFound(sha256)
        locked: list[BlobLocked] = []
        for version_id in versions:
            try:
                self._delete_version(sha256, key, version_id)
            except BlobLocked as exc:
                locked.append(exc)
        if locked:
            raise locked[0]
        # Only once the data is gone: removing markers earlier would resurrect a locked version.
        for version_id in markers:
            self._delete_version(sha256, key, version_id)

    def _list_versions(self, key: str) -> tuple[list[str], list[str]]:
        versions: list[str] = []
        markers: list[str] = []
        paginator = self.client.get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=key):
            # Prefix matching could include longer keys; only the exact key counts.
            versions += [v["VersionId"] for v in page.get("Versions", ()) if v["Key"] == key]
            markers += [m["VersionId"] for m in page.get("DeleteMarkers", ()) if m["Key"] == key]
        return versions, markers

    def _delete_version(self, sha256: str, key: str, version_id: str | None) -> None:
        version = {"VersionId": version_id} if version_id is not None else {}
        try:
            self.client.delete_object(Bucket=self.bucket, Key=key, **version)
        except ClientError as exc:
            # S3 reports retention/legal-hold refusals as AccessDenied.
            if _error_code(exc) == "AccessDenied":
                raise BlobLocked(sha256, str(exc)) from exc
            raise StorageError(f"S3 delete of blob {sha256} failed: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"S3 delete of blob {sha256} failed: {exc}") from exc

    def modified_at(self, sha256: str) -> datetime:
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self.key_for(sha256))
        except ClientError as exc:
            if _error_code(exc) in ("404", "NoSuchKey", "NotFound"):
                raise BlobNotFound(sha256) from None
            raise StorageError(f"S3 head of blob {sha256} failed: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"S3 head of blob {sha256} failed: {exc}") from exc
        return cast("datetime", head["LastModified"]).astimezone(UTC)

    def quarantine(self, sha256: str) -> str:
        """A server-side copy under <prefix>/quarantine/, then the blob's versions are deleted; if retention refuses
        that, the copy is removed again and BlobLocked raised (the blob stays where it was)."""
        key = self.key_for(sha256)
        target = f"{self.prefix}/quarantine/{sha256}" if self.prefix else f"quarantine/{sha256}"
        try:
            self.client.copy_object(Bucket=self.bucket, Key=target, CopySource={"Bucket": self.bucket, "Key": key})
        except ClientError as exc:
            if _error_code(exc) in ("404", "NoSuchKey", "NotFound"):
                raise BlobNotFound(sha256) from None
            raise StorageError(f"S3 copy of blob {sha256} to quarantine failed: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"S3 copy of blob {sha256} to quarantine failed: {exc}") from exc
        try:
            self.delete(sha256)
        except BlobLocked:
            self.client.delete_object(Bucket=self.bucket, Key=target)
            raise
        return f"s3://{self.bucket}/{target}"

    # -- upload parts ----------------------------------------------------------------------------

    def put_part(self, name: str, path: str) -> None:
        key = self._parts_prefix + validate_part_name(name)
        try:
            # By file name: s3transfer reads each part of a large file from disk; no Object Lock arguments.
            self.client.upload_file(
                path, self.bucket, key, ExtraArgs={"ChecksumAlgorithm": "SHA256"}, Config=self._transfer_config
            )
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"S3 upload of part {name} failed: {exc}") from exc
        finally:
            os.unlink(path)

    def open_part(self, name: str) -> BinaryIO:
        return self._read(self._parts_prefix + validate_part_name(name), name, "part")

    def delete_part(self, name: str) -> None:
        key = self._parts_prefix + validate_part_name(name)
        try:
            try:
                versions, markers = self._list_versions(key)
            except ClientError as exc:
                if _error_code(exc) not in _UNSUPPORTED_CODES:
                    raise
                # No versioning API (or permission): a plain delete. Never when the listing worked and found
                # nothing: on a versioned bucket S3 answers that with a new delete marker, which would then remain.
                self.client.delete_object(Bucket=self.bucket, Key=key)
                return
            for version_id in versions + markers:  # a versioned bucket keeps every version until deleted
                self.client.delete_object(Bucket=self.bucket, Key=key, VersionId=version_id)
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"S3 delete of part {name} failed: {exc}") from exc

    def iter_parts(self) -> Iterator[tuple[str, datetime]]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self._parts_prefix)
        try:
            for page in pages:
                for item in page.get("Contents", ()):
                    name = item["Key"][len(self._parts_prefix) :]
                    if is_part_name(name):
                        yield name, cast("datetime", item["LastModified"]).astimezone(UTC)
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"S3 listing of upload parts in {self.describe()} failed: {exc}") from exc

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"
