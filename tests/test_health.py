"""`/healthz` and `/readyz`: answered without a login and without the database for the first; the second names
the dependency that does not answer (503 with Retry-After), and nothing else."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from casefile.storage import StorageError
from casefile.storage.base import BlobStoreBase


def test_healthz_needs_neither_a_login_nor_the_database(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_database(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("/healthz must not touch the database")

    monkeypatch.setattr("casefile.health.get_database", no_database)
    monkeypatch.setattr("casefile.web.session_scope", no_database)
    response = app.test_client().get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "alive"}


def test_readyz_checks_database_store_and_queue(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    client = app.test_client()
    response = client.get("/readyz")
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"status": "ready", "checks": {"database": "ok", "store": "ok", "queue": "ok"}}

    def unreachable(*_args: Any, **_kwargs: Any) -> bool:
        raise StorageError("connect timeout to s3.internal:443 with key AKIA…")

    monkeypatch.setattr(type(app.extensions["casefile_blobs"]), "exists", unreachable)
    assert isinstance(app.extensions["casefile_blobs"], BlobStoreBase)
    response = client.get("/readyz")
    assert response.status_code == 503 and response.headers["Retry-After"] == "10"
    body = response.get_json()
    assert body == {"status": "not ready", "checks": {"database": "ok", "store": "unreachable", "queue": "ok"}}
    assert "s3.internal" not in response.get_data(as_text=True)  # the reason goes to the log only
