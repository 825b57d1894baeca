"""Filesystem-specific behaviour of LocalBlobStore."""

from __future__ import annotations

import errno
import hashlib
import io
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from casefile.storage import LocalBlobStore, StorageError, open_blob_store


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def local(tmp_path: Path) -> LocalBlobStore:
    return LocalBlobStore(tmp_path / "blobs")


def test_layout_and_read_only_mode(local: LocalBlobStore, tmp_path: Path) -> None:
    data = b"photo of the checkpoint"
    digest = local.put(io.BytesIO(data))
    expected = tmp_path / "blobs" / "objects" / "sha256" / digest[0:2] / digest[2:4] / digest
    assert Path(local.path_for(digest)) == expected
    assert expected.read_bytes() == data
    assert stat.S_IMODE(expected.stat().st_mode) == 0o444
    assert os.listdir(tmp_path / "blobs" / "tmp") == []
    assert stat.S_IMODE((tmp_path / "blobs" / "tmp").stat().st_mode) == 0o700


def test_existing_object_is_never_overwritten(local: LocalBlobStore) -> None:
    data = b"original bytes"
    digest = local.put(io.BytesIO(data))
    path = Path(local.path_for(digest))
    inode = path.stat().st_ino
    assert local.put(io.BytesIO(data)) == digest
    assert path.stat().st_ino == inode


def test_rehash_detects_a_flipped_byte(local: LocalBlobStore) -> None:
    data = os.urandom(2 * (1 << 20) + 5)
    digest = local.put(io.BytesIO(data))
    path = Path(local.path_for(digest))
    path.chmod(0o644)  # the store made it read-only; simulate bit rot / tampering
    with path.open("r+b") as f:
        f.seek(1_500_000)
        byte = f.read(1)
        f.seek(1_500_000)
        f.write(bytes([byte[0] ^ 0x01]))
    assert local.rehash(digest) != digest
    assert local.rehash(digest) == sha(path.read_bytes())


def test_delete_read_only_blob(local: LocalBlobStore) -> None:
    digest = local.put(io.BytesIO(b"unreferenced"))
    path = Path(local.path_for(digest))
    local.delete(digest)
    assert not path.exists()


def test_iter_hashes_ignores_strays(local: LocalBlobStore, tmp_path: Path) -> None:
    digest = local.put(io.BytesIO(b"real"))
    objects = tmp_path / "blobs" / "objects" / "sha256"
    (objects / digest[0:2] / digest[2:4] / "README").write_text("not a blob")
    misplaced = sha(b"misplaced")
    (objects / digest[0:2] / digest[2:4] / misplaced).write_bytes(b"misplaced")
    (objects / "zz").mkdir()
    (objects / "zz" / "00").mkdir()
    (objects / "notes.txt").write_text("x")
    assert list(local.iter_hashes()) == [digest]


def test_symlinked_shard_outside_root_is_refused(local: LocalBlobStore, tmp_path: Path) -> None:
    data = b"would land outside"
    digest = sha(data)
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "blobs" / "objects" / "sha256" / digest[0:2]).symlink_to(outside)
    with pytest.raises(StorageError, match="escapes"):
        local.put(io.BytesIO(data))
    with pytest.raises(StorageError, match="escapes"):
        local.exists(digest)
    assert list(outside.iterdir()) == []
    assert os.listdir(local.tmp_dir) == []


def test_falls_back_to_rename_without_hard_links(local: LocalBlobStore, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_links(src: str, dst: str) -> None:
        raise OSError(errno.EPERM, "hard links not supported")

    monkeypatch.setattr(os, "link", no_links)
    data = b"on a filesystem without hard links"
    digest = local.put(io.BytesIO(data))
    assert local.put(io.BytesIO(data)) == digest
    path = Path(local.path_for(digest))
    assert path.read_bytes() == data
    assert stat.S_IMODE(path.stat().st_mode) == 0o444
    assert os.listdir(local.tmp_dir) == []


def test_concurrent_writers_of_the_same_content(local: LocalBlobStore) -> None:
    data = os.urandom(200_000)
    results: list[str] = []
    barrier = threading.Barrier(4)

    def upload() -> None:
        writer = local.writer()
        writer.write(data)
        barrier.wait()
        results.append(writer.commit())

    threads = [threading.Thread(target=upload) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [sha(data)] * 4
    assert list(local.iter_hashes()) == [sha(data)]
    assert os.listdir(local.tmp_dir) == []


def test_root_is_resolved_and_created(tmp_path: Path) -> None:
    real = tmp_path / "real"
    link = tmp_path / "link"
    real.mkdir()
    link.symlink_to(real)
    store = LocalBlobStore(link / "blobs")
    assert store.root == str(real / "blobs")
    assert store.describe() == f"file://{real / 'blobs'}"
    assert (real / "blobs" / "objects" / "sha256").is_dir()


def test_open_blob_store_file_url(tmp_path: Path) -> None:
    store = open_blob_store(f"file://{tmp_path}/blob%20store")
    assert isinstance(store, LocalBlobStore)
    assert store.root == str(tmp_path / "blob store")
    assert isinstance(open_blob_store(f"file://localhost{tmp_path}/b"), LocalBlobStore)


@pytest.mark.parametrize(
    "url",
    [
        "file://relative/path",
        "file:relative",
        "file:///abs?x=1",
        "ftp://host/path",
        "/plain/path",
        "s3://",
        "s3://key:secret@bucket",
    ],
)
def test_open_blob_store_rejects_bad_urls(url: str) -> None:
    with pytest.raises(ValueError) as info:
        open_blob_store(url)
    assert "secret" not in str(info.value)


def test_package_is_framework_free() -> None:
    # Fresh interpreter; casefile/__init__.py (the Flask app factory) is replaced by a bare
    # namespace so we see only what the storage package itself pulls in.
    package_dir = Path(__file__).resolve().parents[2] / "casefile"
    code = (
        "import sys, types\n"
        "pkg = types.ModuleType('casefile')\n"
        f"pkg.__path__ = [{str(package_dir)!r}]\n"
        "sys.modules['casefile'] = pkg\n"
        "import casefile.storage as s\n"
        "s.open_blob_store, s.LocalBlobStore\n"
        "top = {m.split('.')[0] for m in sys.modules}\n"
        "print(sorted(top & {'flask', 'sqlalchemy', 'werkzeug', 'boto3'}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == "[]"
