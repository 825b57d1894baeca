"""Fixtures for the blob-store tests: a real moto S3 server over HTTP and a store per backend.

The moto server fixtures (``moto_endpoint``, ``s3_client``, ``make_bucket``) live in tests/conftest.py.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from casefile.storage import BlobStoreBase, LocalBlobStore

MIB = 1 << 20
# Small enough that a 20 MiB test blob goes through multipart upload (parts must be >= 5 MiB).
TEST_MULTIPART_THRESHOLD = 5 * MIB


@pytest.fixture
def make_s3_store(
    moto_endpoint: str, s3_client: Any, make_bucket: Callable[..., str], tmp_path: Path
) -> Callable[..., Any]:
    from casefile.storage.s3 import S3BlobStore

    spool = tmp_path / "spool"
    spool.mkdir(exist_ok=True)

    def make(bucket: str | None = None, **options: Any) -> S3BlobStore:
        options.setdefault("multipart_threshold", TEST_MULTIPART_THRESHOLD)
        options.setdefault("spool_dir", spool)
        options.setdefault("client", s3_client)
        return S3BlobStore(bucket or make_bucket(), endpoint_url=moto_endpoint, **options)

    return make


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStoreBase:
    if request.param == "local":
        return LocalBlobStore(tmp_path / "blobs")
    make_s3_store: Callable[..., BlobStoreBase] = request.getfixturevalue("make_s3_store")
    return make_s3_store()


@pytest.fixture
def spooled_files() -> Callable[[BlobStoreBase], list[str]]:
    """Lists the temp files a store's writers left behind (must be empty when nothing is in flight)."""

    def list_files(store: BlobStoreBase) -> list[str]:
        directory = store.temp_dir
        assert directory is not None
        return sorted(os.listdir(directory))

    return list_files
