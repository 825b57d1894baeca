"""What a backup needs of an S3 store beyond the BlobStore protocol: the object versions that hold its blobs.

Imported only for S3 deployments (boto3 is slow to import), through `s3_objects`."""

from __future__ import annotations

from typing import Any, BinaryIO, cast

from botocore.exceptions import BotoCoreError, ClientError

from casefile.backup import BackupError
from casefile.backup.blobs import BlobRef
from casefile.storage import BlobStore, S3BlobStore, StorageError


class S3Objects:
    def __init__(self, store: S3BlobStore) -> None:
        self.store = store
        self.bucket = store.bucket
        self.prefix = store.prefix

    def versioned(self) -> bool:
        try:
            status = self.store.client.get_bucket_versioning(Bucket=self.bucket).get("Status")
        except (ClientError, BotoCoreError) as error:
            raise BackupError(f"cannot read the versioning status of {self.store.describe()}: {error}") from None
        return status == "Enabled"

    def current_version(self, ref: BlobRef) -> tuple[int, str | None]:
        """Size and VersionId of the object holding the blob now (VersionId None in an unversioned bucket)."""
        try:
            head: dict[str, Any] = self.store.client.head_object(Bucket=self.bucket, Key=self.store.key_for(ref.sha256))
        except (ClientError, BotoCoreError) as error:
            raise BackupError(
                f"{ref.owner} {ref.role} blob {ref.sha256}: not readable in {self.bucket}: {error}"
            ) from None
        version = head.get("VersionId")
        return int(head["ContentLength"]), None if version in (None, "null") else str(version)

    def open_version(
        self, sha256: str, version_id: str, *, bucket: str | None = None, prefix: str | None = None
    ) -> BinaryIO:
        """One version of a blob's object, in this bucket or (same endpoint and credentials) the backed-up one."""
        source = self.store if bucket is None else S3BlobStore(bucket, prefix=prefix or "", client=self.store.client)
        key = source.key_for(sha256)
        try:
            response = self.store.client.get_object(Bucket=source.bucket, Key=key, VersionId=version_id)
        except (ClientError, BotoCoreError) as error:
            raise StorageError(f"version {version_id} of s3://{source.bucket}/{key} cannot be read: {error}") from None
        return cast(BinaryIO, _Body(response["Body"]))


class _Body:
    """A GetObject body as the binary stream `BlobStore.put` and the bag copy read in chunks."""

    def __init__(self, body: Any) -> None:
        self._body = body

    def read(self, size: int = -1) -> bytes:
        return bytes(self._body.read(None if size < 0 else size))

    def __enter__(self) -> _Body:
        return self

    def __exit__(self, *exc: object) -> None:
        self._body.close()


def s3_objects(store: BlobStore) -> S3Objects | None:
    return S3Objects(store) if isinstance(store, S3BlobStore) else None
