"""The restore drill of the backup issue: a backup made while investigators keep uploading, restored into a fresh
instance on a new database and a new store, must verify intact, fsck clean, and hold every upload that had been
answered 201 before the backup started. Runs on SQLite + local disk and on PostgreSQL + S3 (a versioned bucket)."""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from collections.abc import Callable
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from backup_support import STORAGE_KIND, new_target, passphrase_file, run
from flask import Flask
from sqlalchemy import select

import casefile.backup.operations as operations
from casefile.db import session_scope
from casefile.evidence.models import EvidenceItem
from casefile.witnesses.models import Witness
from casefile.witnesses.services import context

from support import Account, Api

UPLOADERS = 3


@pytest.fixture
def storage_url(tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """As the suite's, but the bucket is versioned: the production set-up the backup records versions of."""
    if STORAGE_KIND == "local":
        return f"file://{tmp_path / 'blobs'}"
    return f"s3://{request.getfixturevalue('make_bucket')(versioned=True)}"


def test_backup_during_uploads_restores_intact_with_every_earlier_upload(
    app: Flask,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    api_for: Callable[..., tuple[Api, Account]],
    make_case: Callable[..., uuid.UUID],
    add_member: Callable[..., None],
) -> None:
    owner_api, owner = api_for("investigator")
    case_id = make_case(owner, "TRH")
    tokens = [owner_api.headers["Authorization"].removeprefix("Bearer ")]
    for _ in range(UPLOADERS - 1):
        api, account = api_for("investigator")
        add_member(case_id, account, "investigator")
        tokens.append(api.headers["Authorization"].removeprefix("Bearer "))
    # A protected identity: readable after the restore only if the field keys came back with it.
    witness = owner_api.post(f"/cases/{case_id}/witnesses", json={"full_name": "Hamza al-Tarhuni"})
    assert witness.status_code == 201, witness.get_data(as_text=True)
    witness_id = uuid.UUID(witness.get_json()["id"])
    assert run(app, "custody", "checkpoint").exit_code == 0  # a signed head the restored key must still verify

    # (status, ern, sha256, answered at) of every upload, per thread
    answers: list[list[tuple[int, str, str, float]]] = [[] for _ in range(UPLOADERS)]
    stop = threading.Event()
    errors: list[str] = []

    def upload(index: int) -> None:
        api = Api(app.test_client(), tokens[index])
        n = 0
        try:
            while not stop.is_set() and n < 400:
                content = f"uploader {index} file {n}: {uuid.uuid4()}\n".encode() * 50
                response = api.post(
                    f"/cases/{case_id}/evidence",
                    data={"file": (BytesIO(content), f"u{index}-{n}.txt"), "title": f"u{index}-{n}"},
                    content_type="multipart/form-data",
                )
                body = response.get_json(silent=True) or {}
                answers[index].append(
                    (response.status_code, body.get("ern", ""), body.get("sha256", ""), time.monotonic())
                )
                n += 1
        except Exception as error:  # reported by the assertion below
            errors.append(f"{type(error).__name__}: {error}"[:300])

    def answered() -> int:
        return sum(1 for mine in answers for status, *_ in mine if status == 201)

    # The backup copies blobs after the database snapshot; hold it there until uploads have committed meanwhile,
    # so rows and blobs that are not in the snapshot exist while it copies.
    original = operations._back_up_blob
    held: list[bool] = []

    def back_up_blob(*args: Any, **kwargs: Any) -> Any:
        if not held:
            before = answered()
            deadline = time.monotonic() + 30
            while answered() < before + UPLOADERS and time.monotonic() < deadline:
                time.sleep(0.02)
            held.append(answered() >= before + UPLOADERS)
        return original(*args, **kwargs)

    monkeypatch.setattr(operations, "_back_up_blob", back_up_blob)
    workers = [threading.Thread(target=upload, args=(i,)) for i in range(UPLOADERS)]
    for worker in workers:
        worker.start()
    deadline = time.monotonic() + 60
    while answered() < 2 * UPLOADERS and time.monotonic() < deadline:
        time.sleep(0.02)
    secret = passphrase_file(tmp_path)
    dest = tmp_path / "backup"
    started = time.monotonic()
    created = run(app, "backup", "create", dest, "--passphrase-file", secret)
    stop.set()
    for worker in workers:
        worker.join(120)
    assert created.exit_code == 0, created.output + repr(created.exception)
    assert errors == []
    assert held == [True], "no upload committed while the backup ran: the drill did not test concurrency"
    statuses = {status for mine in answers for status, *_ in mine}
    assert statuses == {201}, statuses
    before = {ern: sha256 for mine in answers for _, ern, sha256, at in mine if at < started}
    everything = {ern: sha256 for mine in answers for _, ern, sha256, _at in mine}
    assert len(before) >= 2 * UPLOADERS and len(everything) > len(before)

    verified = run(app, "backup", "verify", dest, "--passphrase-file", secret)
    assert verified.exit_code == 0, verified.output
    assert "SOUND" in verified.output

    with new_target(tmp_path / "restored", app.extensions["casefile_settings"], _bucket_maker(request)) as target:
        with target.app() as fresh:
            restored = run(fresh, "backup", "restore", dest, "--passphrase-file", secret)
        assert restored.exit_code == 0, restored.output + repr(restored.exception)
        assert "RESTORED" in restored.output
        with target.app() as restarted:  # started again, as the restore says: it reads the restored keys
            verify = run(restarted, "custody", "verify")
            assert verify.exit_code == 0, verify.output
            assert "INTACT" in verify.output and "1 checkpoints" in verify.output, verify.output
            fsck = run(restarted, "fsck")
            assert fsck.exit_code == 0, fsck.output
            assert fsck.output.strip().endswith("0 missing, 0 unreferenced blob(s)."), fsck.output
            store = restarted.extensions["casefile_blobs"]
            with restarted.app_context(), session_scope() as s:
                items = dict(s.execute(select(EvidenceItem.ern, EvidenceItem.sha256)).all())
            missing = sorted(set(before) - set(items))
            assert missing == [], f"{len(missing)} upload(s) answered 201 before the backup are not restored"
            for ern, sha256 in before.items():
                assert items[ern] == sha256
                assert store.rehash(sha256) == sha256
            # Whatever else came back is exactly what the running instance had (uploads during the backup).
            assert all(everything[ern] == sha256 for ern, sha256 in items.items())
            with restarted.app_context(), session_scope() as s:
                ciphertext = s.get_one(Witness, witness_id).identity_ciphertext
            identity = restarted.extensions["casefile_cipher"].decrypt(ciphertext, context(witness_id))
            assert identity["full_name"] == "Hamza al-Tarhuni"
            with store.open(before[min(before)]) as blob:
                assert hashlib.sha256(blob.read()).hexdigest() == before[min(before)]


def _bucket_maker(request: pytest.FixtureRequest) -> Any:
    return request.getfixturevalue("make_bucket") if STORAGE_KIND == "s3" else None
