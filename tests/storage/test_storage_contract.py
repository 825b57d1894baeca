"""Behaviour every BlobStore backend must share; runs against local disk and moto S3."""

from __future__ import annotations

import gc
import hashlib
import io
import os
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from casefile.storage import (
    BlobNotFound,
    BlobStore,
    BlobStoreBase,
    BlobWriter,
    HashMismatch,
    InvalidBlobId,
    LocalBlobStore,
    StorageError,
)

MIB = 1 << 20
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

SpooledFiles = Callable[[BlobStoreBase], list[str]]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_put_open_roundtrip(store: BlobStoreBase) -> None:
    data = os.urandom(300_000) + "شاهد".encode()
    digest = store.put(io.BytesIO(data))
    assert digest == sha(data)
    assert store.exists(digest)
    assert store.size(digest) == len(data)
    with store.open(digest) as blob:
        assert blob.read() == data
    assert store.rehash(digest) == digest


def test_open_is_a_streaming_file(store: BlobStoreBase) -> None:
    data = os.urandom(3 * MIB + 17)
    digest = store.put(io.BytesIO(data))
    with store.open(digest) as blob:
        assert blob.read(10) == data[:10]
        assert blob.read(MIB) == data[10 : 10 + MIB]
        rest = b"".join(iter(lambda: blob.read(MIB), b""))
    assert rest == data[10 + MIB :]
    assert blob.closed


def test_writer_hashes_as_it_writes(store: BlobStoreBase) -> None:
    chunks = [b"alpha", b"", bytearray(b"beta"), memoryview(b"gamma")]
    seen = b""
    with store.writer() as writer:
        assert isinstance(writer, BlobWriter)
        for chunk in chunks:
            assert writer.write(chunk) == len(chunk)
            seen += bytes(chunk)
            assert writer.size == len(seen)
            assert writer.tell() == len(seen)
            assert writer.sha256 == sha(seen)
        digest = writer.commit()
        assert writer.closed
    assert digest == sha(b"alphabetagamma")
    with store.open(digest) as blob:
        assert blob.read() == b"alphabetagamma"


def test_store_satisfies_protocol(store: BlobStoreBase) -> None:
    assert isinstance(store, BlobStore)


def test_same_content_twice_is_deduplicated(store: BlobStoreBase, spooled_files: SpooledFiles) -> None:
    data = b"the same exhibit, uploaded twice"
    first = store.put(io.BytesIO(data))
    second = store.put(io.BytesIO(data))
    assert first == second == sha(data)
    assert list(store.iter_hashes()) == [first]
    assert spooled_files(store) == []


def test_expected_hash_is_case_insensitive(store: BlobStoreBase) -> None:
    data = b"announced by the client in upper case"
    assert store.put(io.BytesIO(data), expected_sha256=sha(data).upper()) == sha(data)


def test_hash_mismatch_stores_nothing(store: BlobStoreBase, spooled_files: SpooledFiles) -> None:
    data = b"tampered in transit"
    wrong = sha(b"what the client hashed")
    with pytest.raises(HashMismatch) as info:
        store.put(io.BytesIO(data), expected_sha256=wrong)
    assert info.value.expected == wrong
    assert info.value.actual == sha(data)
    assert not store.exists(sha(data))
    assert not store.exists(wrong)
    assert list(store.iter_hashes()) == []
    assert spooled_files(store) == []


def test_writer_mismatch_closes_the_writer(store: BlobStoreBase, spooled_files: SpooledFiles) -> None:
    writer = store.writer()
    writer.write(b"abc")
    with pytest.raises(HashMismatch):
        writer.commit(EMPTY_SHA256)
    assert writer.closed
    with pytest.raises(StorageError):
        writer.commit()
    writer.close()
    assert spooled_files(store) == []
    assert list(store.iter_hashes()) == []


def test_abort_leaves_nothing(store: BlobStoreBase, spooled_files: SpooledFiles) -> None:
    writer = store.writer()
    writer.write(b"half an upload")
    assert len(spooled_files(store)) == 1
    writer.abort()
    assert spooled_files(store) == []
    assert list(store.iter_hashes()) == []
    assert not store.exists(sha(b"half an upload"))
    writer.abort()  # idempotent
    writer.close()
    with pytest.raises(ValueError, match=r"closed|aborted"):
        writer.write(b"more")
    with pytest.raises(StorageError):
        writer.commit()


def test_with_block_without_commit_aborts(store: BlobStoreBase, spooled_files: SpooledFiles) -> None:
    with store.writer() as writer:
        writer.write(b"never committed")
    assert writer.closed
    with pytest.raises(RuntimeError), store.writer() as writer:
        writer.write(b"request blew up")
        raise RuntimeError("boom")
    assert spooled_files(store) == []
    assert list(store.iter_hashes()) == []


def test_commit_twice_raises_and_abort_after_commit_is_a_no_op(store: BlobStoreBase) -> None:
    writer = store.writer()
    writer.write(b"once")
    digest = writer.commit()
    with pytest.raises(StorageError, match="already committed"):
        writer.commit()
    writer.abort()
    writer.close()
    assert store.exists(digest)


def test_forgotten_writer_is_cleaned_up_by_gc(store: BlobStoreBase, spooled_files: SpooledFiles) -> None:
    writer = store.writer()
    writer.write(b"abandoned")
    del writer
    gc.collect()
    assert spooled_files(store) == []


def test_zero_byte_blob(store: BlobStoreBase) -> None:
    digest = store.put(io.BytesIO(b""))
    assert digest == EMPTY_SHA256
    assert store.exists(digest)
    assert store.size(digest) == 0
    with store.open(digest) as blob:
        assert blob.read() == b""
    assert store.rehash(digest) == EMPTY_SHA256


def test_large_blob_written_in_chunks(store: BlobStoreBase, spooled_files: SpooledFiles) -> None:
    chunk = os.urandom(MIB)
    expected = hashlib.sha256()
    with store.writer() as writer:
        for i in range(20):
            # Vary the content per chunk so misordered parts would change the hash.
            piece = i.to_bytes(4, "big") + chunk[4:]
            writer.write(piece)
            expected.update(piece)
        digest = writer.commit(expected.hexdigest())
    assert digest == expected.hexdigest()
    assert store.size(digest) == 20 * MIB
    assert store.rehash(digest) == digest
    assert spooled_files(store) == []


def test_put_reads_in_chunks(store: BlobStoreBase) -> None:
    class RecordingStream(io.BytesIO):
        def __init__(self, data: bytes) -> None:
            super().__init__(data)
            self.sizes: list[int] = []

        def read(self, size: int | None = -1, /) -> bytes:
            self.sizes.append(-1 if size is None else size)
            return super().read(size)

    stream = RecordingStream(os.urandom(100_000))
    store.put(stream, chunk_size=16_384)  # type: ignore[arg-type]
    assert set(stream.sizes) == {16_384}


def test_iter_hashes_lists_everything_stored(store: BlobStoreBase) -> None:
    assert list(store.iter_hashes()) == []
    digests = {store.put(io.BytesIO(f"exhibit {i}".encode())) for i in range(5)}
    listed = list(store.iter_hashes())
    assert sorted(listed) == sorted(digests)
    assert len(listed) == len(digests)


def test_delete(store: BlobStoreBase) -> None:
    keep = store.put(io.BytesIO(b"referenced"))
    gone = store.put(io.BytesIO(b"unreferenced"))
    store.delete(gone)
    assert not store.exists(gone)
    assert list(store.iter_hashes()) == [keep]
    with pytest.raises(BlobNotFound):
        store.delete(gone)


def test_quarantine_moves_a_blob_out_of_the_store_without_losing_it(store: BlobStoreBase) -> None:
    keep = store.put(io.BytesIO(b"referenced"))
    moved = store.put(io.BytesIO(b"unreferenced"))
    before = store.modified_at(moved)
    assert before.tzinfo is not None and abs((datetime.now(UTC) - before).total_seconds()) < 120
    where = store.quarantine(moved)
    assert moved in where
    assert not store.exists(moved) and list(store.iter_hashes()) == [keep]
    with pytest.raises(BlobNotFound):
        store.quarantine(moved)
    with pytest.raises(BlobNotFound):
        store.modified_at(moved)
    # Still there, outside the store's namespace, for an operator to move back.
    if isinstance(store, LocalBlobStore):
        with open(where, "rb") as fh:
            assert fh.read() == b"unreferenced"
    else:
        bucket, _, key = where.removeprefix("s3://").partition("/")
        assert store.client.get_object(Bucket=bucket, Key=key)["Body"].read() == b"unreferenced"


def test_missing_blob_raises_not_found(store: BlobStoreBase) -> None:
    missing = sha(b"never stored")
    assert not store.exists(missing)
    with pytest.raises(BlobNotFound):
        store.open(missing)
    with pytest.raises(BlobNotFound):
        store.size(missing)
    with pytest.raises(BlobNotFound):
        store.rehash(missing)
    with pytest.raises(BlobNotFound):
        store.delete(missing)


BAD_IDS = [
    "../../etc/passwd",
    "../../" + "AB/" * 20,
    "a" * 63,
    "a" * 65,
    "A" * 64,  # upper case is only accepted for the expected hash of an upload
    EMPTY_SHA256 + "\n",
    "\n" + EMPTY_SHA256[1:],
    EMPTY_SHA256[:62] + "/x",
    "٠" * 64,  # Arabic-Indic digits: \d would accept them, [0-9] must not
    "",
    None,
    b"e3" * 32,
]


@pytest.mark.parametrize("bad", BAD_IDS, ids=repr)
@pytest.mark.parametrize("method", ["open", "exists", "size", "delete", "rehash"])
def test_invalid_ids_are_rejected(store: BlobStoreBase, method: str, bad: Any, tmp_path: Any) -> None:
    before = sorted(str(p) for p in tmp_path.rglob("*"))
    s3_calls: list[str] = []
    client = getattr(store, "client", None)

    def record(event_name: str, **kwargs: Any) -> None:
        s3_calls.append(event_name)

    if client is not None:
        client.meta.events.register("before-call.s3", record)
    try:
        with pytest.raises(InvalidBlobId) as info:
            getattr(store, method)(bad)
    finally:
        if client is not None:
            client.meta.events.unregister("before-call.s3", record)
    assert isinstance(info.value, ValueError)
    # Rejected before any path was built or any request was sent.
    assert sorted(str(p) for p in tmp_path.rglob("*")) == before
    assert s3_calls == []


@pytest.mark.parametrize("bad", ["../../etc/passwd", "a" * 63, "٠" * 64, "K" * 64])
def test_invalid_expected_hash_stores_nothing(store: BlobStoreBase, bad: str, spooled_files: SpooledFiles) -> None:
    class Unread(io.BytesIO):
        def read(self, size: int | None = -1, /) -> bytes:
            raise AssertionError("put must validate before reading the stream")

    with pytest.raises(InvalidBlobId):
        store.put(Unread(b"x"), expected_sha256=bad)
    writer = store.writer()
    writer.write(b"x")
    with pytest.raises(InvalidBlobId):
        writer.commit(bad)
    assert writer.closed
    assert spooled_files(store) == []
    assert list(store.iter_hashes()) == []


def test_writer_is_file_like_enough_for_werkzeug(store: BlobStoreBase) -> None:
    with store.writer() as writer:
        assert writer.writable()
        assert not writer.readable()
        assert not writer.seekable()
        assert not writer.closed
        with pytest.raises(io.UnsupportedOperation):
            writer.read()
        writer.write(b"0123456789")
        writer.flush()
        assert writer.seek(0) == 0  # what Werkzeug does after spooling a part
        assert writer.tell() == 0
        with pytest.raises(io.UnsupportedOperation):
            writer.write(b"overwrite")  # append-only: no rewriting history
        with pytest.raises(io.UnsupportedOperation):
            writer.seek(3)
        assert writer.seek(0, io.SEEK_END) == 10
        writer.write(b"!")
        assert writer.tell() == 11
        digest = writer.commit()
    assert digest == sha(b"0123456789!")
    assert writer.closed


def test_describe(store: BlobStoreBase) -> None:
    assert store.describe().startswith(("file:///", "s3://"))
    assert store.describe() in repr(store)


def test_sweep_removes_what_a_dead_writer_left_and_spares_a_live_one(
    store: BlobStoreBase, spooled_files: SpooledFiles
) -> None:
    """A process killed while writing leaves its temporary file: swept once untouched for longer than the bound.
    A writer still at work touches its file with every chunk and is never swept; other files are never touched."""
    assert store.temp_dir is not None
    dead = os.path.join(store.temp_dir, "upload-dead1234.part")
    with open(dead, "wb") as fh:
        fh.write(b"half an upload")
    old = os.stat(dead).st_mtime - 7200
    os.utime(dead, (old, old))
    unrelated = os.path.join(store.temp_dir, "keep-me.txt")
    with open(unrelated, "wb") as fh:
        fh.write(b"not ours")
    os.utime(unrelated, (old, old))
    with store.writer() as live:
        live.write(b"still arriving")
        assert store.sweep_partial(3600) == ["upload-dead1234.part"]
        live.write(b", and more")
        sha256 = live.commit()
    assert store.exists(sha256)
    assert spooled_files(store) == ["keep-me.txt"]
    assert store.sweep_partial(3600) == []


def test_upload_parts_are_kept_read_listed_and_deleted_apart_from_blobs(store: BlobStoreBase, tmp_path: Path) -> None:
    name = f"tus/{uuid.uuid4()}/{0:020d}-{uuid.uuid4().hex}"
    source = tmp_path / "received"
    source.write_bytes(b"the first bytes of a video")
    store.put_part(name, str(source))
    assert not source.exists()  # consumed
    with store.open_part(name) as part:
        assert part.read() == b"the first bytes of a video"
    assert [found for found, _at in store.iter_parts()] == [name]
    assert list(store.iter_hashes()) == []  # never a blob
    store.delete_part(name)
    store.delete_part(name)  # already gone: nothing to do
    assert list(store.iter_parts()) == []
    with pytest.raises(BlobNotFound):
        store.open_part(name)


UPLOAD = "3f2b8c1e-5d4a-4e6b-9c7d-0a1b2c3d4e5f"


@pytest.mark.parametrize(
    "name",
    [
        "../../etc/passwd",
        "tus/../sha256/" + "a" * 64,
        f"tus/{UPLOAD}/../../x",
        f"tus/{UPLOAD}/{0:020d}-{'a' * 32}/extra",
        f"TUS/{UPLOAD}/{0:020d}-{'a' * 32}",
        f"tus/{UPLOAD}/{0:020d}-{'a' * 32}\n",
        "",
    ],
)
def test_hostile_part_names_are_refused_before_anything_is_touched(
    store: BlobStoreBase, tmp_path: Path, name: str
) -> None:
    source = tmp_path / "received"
    source.write_bytes(b"x")
    with pytest.raises(InvalidBlobId):
        store.put_part(name, str(source))
    with pytest.raises(InvalidBlobId):
        store.open_part(name)
    with pytest.raises(InvalidBlobId):
        store.delete_part(name)
    assert source.exists() and list(store.iter_parts()) == []
