"""The writer as Werkzeug's multipart ``stream_factory``: one pass from HTTP body to the store."""

from __future__ import annotations

import hashlib
import io
import os
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from werkzeug.formparser import parse_form_data
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from casefile.storage import BlobStoreBase, BlobWriter

MIB = 1 << 20
SpooledFiles = Callable[[BlobStoreBase], list[str]]


def factory_for(store: BlobStoreBase, created: list[BlobWriter]) -> Callable[..., IO[bytes]]:
    def stream_factory(
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None,
        content_length: int | None = None,
    ) -> Any:
        writer = store.writer()  # the uploader's filename is deliberately ignored
        created.append(writer)
        return writer

    return stream_factory


@contextmanager
def upload_environ(files: dict[str, tuple[bytes, str]]) -> Iterator[dict[str, Any]]:
    data: dict[str, Any] = {"note": "witness statement"}
    data.update({field: (io.BytesIO(body), name) for field, (body, name) in files.items()})
    builder = EnvironBuilder(method="POST", data=data)
    try:
        environ = builder.get_environ()
        # Large bodies are buffered by the builder in a temp file that is ours to close.
        with environ["wsgi.input"]:
            yield environ
    finally:
        builder.close()


def test_multipart_upload_spools_into_the_store(store: BlobStoreBase, spooled_files: SpooledFiles) -> None:
    video = os.urandom(3 * MIB + 123)
    photo = b"\x89PNG fake"
    created: list[BlobWriter] = []
    with upload_environ({"video": (video, "../../etc/passwd"), "photo": (photo, "a\x00b.png")}) as environ:
        _, form, files = parse_form_data(environ, stream_factory=factory_for(store, created))
    assert form["note"] == "witness statement"
    assert len(created) == 2
    assert files["video"].filename == "../../etc/passwd"  # just metadata, never a path

    video_hash = files["video"].stream.commit(hashlib.sha256(video).hexdigest())
    photo_hash = files["photo"].stream.commit()
    for storage in files.values():
        storage.close()  # what Request.close() does at the end of the request

    assert video_hash == hashlib.sha256(video).hexdigest()
    assert photo_hash == hashlib.sha256(photo).hexdigest()
    with store.open(video_hash) as blob:
        assert blob.read() == video
    assert sorted(store.iter_hashes()) == sorted([video_hash, photo_hash])
    assert spooled_files(store) == []


def test_request_close_discards_uncommitted_uploads(store: BlobStoreBase, spooled_files: SpooledFiles) -> None:
    created: list[BlobWriter] = []

    class UploadRequest(Request):
        def _get_file_stream(
            self,
            total_content_length: int | None,
            content_type: str | None,
            filename: str | None = None,
            content_length: int | None = None,
        ) -> IO[bytes]:
            return factory_for(store, created)(total_content_length, content_type, filename, content_length)

    with upload_environ({"doc": (b"rejected by validation", "doc.pdf")}) as environ:
        request = UploadRequest(environ)
        assert request.files["doc"].stream is created[0]
        assert len(spooled_files(store)) == 1
        request.close()
    assert created[0].closed
    assert spooled_files(store) == []
    assert list(store.iter_hashes()) == []


def test_memory_stays_flat(store: BlobStoreBase, tmp_path: Path) -> None:
    size = 24 * MIB
    source = tmp_path / "source.bin"
    chunk = os.urandom(MIB)
    with source.open("wb") as f:
        for i in range(size // MIB):
            f.write(i.to_bytes(4, "big") + chunk[4:])

    tracemalloc.start()
    try:
        with source.open("rb") as f:
            digest = store.put(f)
        assert store.rehash(digest) == digest
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # A few 1 MiB buffers (plus, for S3, a few parts in flight) -- never the whole blob.
    assert peak < 12 * MIB, f"peak {peak / MIB:.1f} MiB"
