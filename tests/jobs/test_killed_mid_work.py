"""A worker SIGKILLed in the middle of real work: a dossier build while it streams the evidence files, and a
verification while it re-hashes them. On both queue back-ends (and, as the whole suite, on both databases).

Afterwards the ledger verifies, no entry claims an export that did not finish (every `exported` entry names a
dossier that is ready, or one whose failure a `build_failed` note records), no temporary file of the killed
worker remains, and the job either completes on its retry without repeating any ledger entry, or, on its last
attempt, is failed with the reason.
"""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from collections.abc import Callable
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, update

from casefile import components
from casefile.custody.actions import Action
from casefile.custody.models import Checkpoint, CustodyEntry
from casefile.db import session_scope
from casefile.dossier.models import Dossier, DossierStatus
from casefile.jobs.models import Job
from casefile.storage.base import TEMP_PREFIX

from support import Account, Api, approve_release
from worker_support import STALE_SECONDS, Worker, wait_for

pytestmark = pytest.mark.usefixtures("queue_backend")
ITEMS = 12
# Each stored file is read this much more slowly by the first worker (jobs_support): a build takes some seconds.
SLOW = {"CASEFILE_TEST_READ_DELAY": "0.4"}


@pytest.fixture
def owner(api_for: Callable[..., tuple[Api, Account]]) -> tuple[Api, uuid.UUID]:
    api, _account = api_for("investigator")
    case = api.post("/cases", {"reference": "KIL", "title": "Killed mid-work"}).get_json()["id"]
    incident = api.post(f"/cases/{case}/incidents", {"title": "Graves"}).get_json()["id"]
    for n in range(ITEMS):
        response = api.post(
            f"/cases/{case}/evidence",
            data={
                "file": (BytesIO(os.urandom(200_000)), f"exhibit-{n}.bin"),
                "title": f"Exhibit {n}",
                "incident_ids": incident,
                "classification": "public",
            },
            content_type="multipart/form-data",
        )
        response.request.input_stream.close()
        assert response.status_code == 201, response.get_json()
    return api, uuid.UUID(case)


def follow(api: Api, job_id: str, until: Callable[[dict[str, Any]], bool], timeout: float = 90) -> dict[str, Any]:
    last: dict[str, Any] = {}

    def poll() -> bool:
        response = api.get(f"/jobs/{job_id}")
        assert response.status_code == 200, response.get_json()
        last.update(response.get_json())
        return until(last)

    wait_for(poll, timeout, f"job {job_id}: {last}", interval=0.05)
    return dict(last)


def finished(job: dict[str, Any]) -> bool:
    return job["state"] in ("succeeded", "failed", "cancelled")


def kill_when(worker: Worker, api: Api, job_id: str, until: Callable[[dict[str, Any]], bool]) -> None:
    """SIGKILL the worker once the job is running and `until` holds, and wait out the stale bound."""
    follow(api, job_id, lambda job: job["state"] == "running" and until(job))
    worker.kill()
    stuck = api.get(f"/jobs/{job_id}").get_json()
    assert stuck["state"] == "running", stuck  # nothing ran to mark it otherwise
    time.sleep(STALE_SECONDS + 0.5)


def temporary_files(app: Flask) -> list[str]:
    """The blob writers' temporary files: in the local store's tmp folder, or the S3 store's spool folder."""
    folder = components.blob_store(app).temp_dir
    assert folder is not None
    return [name for name in os.listdir(folder) if name.startswith(TEMP_PREFIX)]


def custody_intact(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["custody", "verify", "--no-fixity"])
    assert result.exit_code == 0 and "INTACT" in result.output, result.output


def entries(app: Flask, action: Action) -> list[CustodyEntry]:
    with app.app_context(), session_scope() as s:
        return list(s.scalars(select(CustodyEntry).where(CustodyEntry.action == action.value)))


def no_false_export_claim(app: Flask) -> None:
    """Every `exported` entry names a dossier that is ready, or one whose failed build a note records."""
    with app.app_context(), session_scope() as s:
        ready = {str(d.id) for d in s.scalars(select(Dossier).where(Dossier.status == DossierStatus.READY))}
    failed = {e.details["dossier"] for e in entries(app, Action.NOTE) if "build_failed" in e.details}
    claimed = {e.details["dossier"] for e in entries(app, Action.EXPORTED)}
    assert claimed <= ready | failed, claimed - ready - failed
    assert not ready & failed


@pytest.mark.parametrize("outcome", ["retried", "failed"])
def test_a_dossier_build_killed_mid_stream(
    app: Flask,
    owner: tuple[Api, uuid.UUID],
    start_worker: Callable[..., Worker],
    outcome: str,
    tmp_path: Path,
) -> None:
    api, case = owner
    accepted = api.post(f"/cases/{case}/dossiers", {"profile": "generic", "title": "Killed"})
    assert accepted.status_code == 202, accepted.get_json()
    dossier_id, job_id = accepted.get_json()["id"], accepted.get_json()["job_id"]
    if outcome == "failed":  # as if this were its last attempt
        with app.app_context(), session_scope() as s:
            s.execute(update(Job).where(Job.id == uuid.UUID(job_id)).values(max_attempts=1))

    worker = start_worker(**SLOW)
    # Killed with some files in the package and others not: the `exported` entries and checkpoint are written.
    kill_when(worker, api, job_id, lambda job: 3 <= job["progress"]["done"] < ITEMS)
    assert api.get(f"/dossiers/{dossier_id}").get_json()["status"] == "building"
    assert temporary_files(app), "the killed worker was writing the package"
    exported_before = len(entries(app, Action.EXPORTED))
    assert exported_before == ITEMS

    restarted = start_worker()  # at start: the silent job is retried or failed, the partial package swept
    job = follow(api, job_id, finished)
    dossier = api.get(f"/dossiers/{dossier_id}").get_json()
    if outcome == "retried":
        assert job["state"] == "succeeded" and job["attempts"] == 2, (job, restarted.output())
        assert dossier["status"] == "ready" and len(dossier["included"]) == ITEMS
        # The retry reused the first attempt's entries and checkpoint: one per item, and the case-level one.
        assert len(entries(app, Action.EXPORTED)) == ITEMS + 1
        with app.app_context(), session_scope() as s:
            signed = s.scalars(select(Checkpoint).where(Checkpoint.reason == f"dossier {dossier_id}")).all()
        assert len(signed) == 1 and dossier["tree_size"] == signed[0].tree_size
        approve_release(app, dossier_id)
        download = api.get(f"/dossiers/{dossier_id}/download")
        assert download.status_code == 200
        assert hashlib.sha256(download.get_data()).hexdigest() == dossier["sha256"]
        zip_path = tmp_path / "dossier.zip"
        zip_path.write_bytes(download.get_data())
        verified = app.test_cli_runner().invoke(args=["dossier", "verify", str(zip_path)])
        assert verified.exit_code == 0, verified.output
    else:
        assert job["state"] == "failed" and "no attempt left" in job["error"], job
        assert dossier["status"] == "failed" and dossier["error"] == job["error"] and dossier["sha256"] is None
        assert api.get(f"/dossiers/{dossier_id}/download").status_code == 409
        assert len(entries(app, Action.EXPORTED)) == ITEMS  # no case-level entry: nothing was exported
        (note,) = [e for e in entries(app, Action.NOTE) if e.details.get("dossier") == dossier_id]
        assert note.details["build_failed"] == job["error"]
    assert "temporary file(s) left by processes that died" in restarted.output()
    assert temporary_files(app) == []
    no_false_export_claim(app)
    custody_intact(app)


def test_a_verification_killed_mid_rehash_is_retried_without_repeating_entries(
    app: Flask, owner: tuple[Api, uuid.UUID], start_worker: Callable[..., Worker]
) -> None:
    api, case = owner
    started = api.post("/custody/verifications", {"case_id": str(case)})
    assert started.status_code == 202, started.get_json()
    job_id = started.get_json()["id"]
    worker = start_worker(**SLOW)

    def rehashing(job: dict[str, Any]) -> bool:
        return job["progress"]["message"].startswith("Re-hashing") and 2 <= job["progress"]["done"] < ITEMS

    kill_when(worker, api, job_id, rehashing)

    def recorded() -> list[CustodyEntry]:  # (the workers' scheduled fixity audit records its own entries)
        return [e for e in entries(app, Action.FIXITY_VERIFIED) if e.details.get("job") == job_id]

    assert recorded() == []  # a verification writes its results after re-hashing every file

    restarted = start_worker()
    job = follow(api, job_id, finished)
    assert job["state"] == "succeeded" and job["attempts"] == 2, (job, restarted.output())
    assert job["result"]["ok"] is True and job["result"]["items_checked"] == ITEMS
    assert len(recorded()) == ITEMS  # once per file, not once per attempt
    custody_intact(app)
