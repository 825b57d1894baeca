"""Fixtures of the job tests: the queue back-ends, a real Redis server, and real worker processes.

- `queue_backend` ("sqlite" | "redis"): a test that asks for it runs on both; its app (and its workers) use
  SqliteHuey in the test's instance folder, or a Redis server started once per session on a free loopback port
  (Debian's redis-server, with no persistence) under a queue name of its own.
- Every job test gets a fast heartbeat (0.2 s) and a short stale bound (2 s), so a killed worker's job is
  reclaimable two seconds later.
- `start_worker()` runs `flask --app app jobs worker --import jobs_support` as a subprocess with the test's
  settings in its environment (same database, blob store, keys and queue), waits until it consumes, and stops
  (or kills) it at the end of the test.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask

from casefile import components
from casefile.config import Settings

import jobs_support  # noqa: F401 - registers the test-only job kinds in this process too
from support import REPO
from worker_support import (
    HEARTBEAT_SECONDS,
    STALE_SECONDS,
    Worker,
    worker_environment,
)


@pytest.fixture(params=["sqlite", "redis"])
def queue_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def settings(settings: Settings, request: pytest.FixtureRequest) -> Settings:
    """The suite's settings with fast heartbeats, and the queue of `queue_backend` when the test asks for one."""
    queue_url = None
    if "queue_backend" in request.fixturenames and request.getfixturevalue("queue_backend") == "redis":
        queue_url = request.getfixturevalue("redis_url")
    return settings.with_overrides(
        queue_url=queue_url,
        queue_name=f"cf-test-{uuid.uuid4().hex[:12]}",  # tests sharing one Redis never see each other's messages
        job_heartbeat_seconds=HEARTBEAT_SECONDS,
        job_stale_seconds=STALE_SECONDS,
        # What a killed worker was writing is swept by the next one, which these tests start after the stale bound.
        temp_max_age_seconds=STALE_SECONDS,
    )


@pytest.fixture
def app(app: Flask) -> Iterator[Flask]:
    yield app
    components.job_queue(app).close()


@pytest.fixture
def start_worker(settings: Settings, tmp_path: Path) -> Iterator[Callable[..., Worker]]:
    started: list[Worker] = []

    def start(threads: int = 2, **environment: str) -> Worker:
        log_path = tmp_path / f"worker-{len(started) + 1}.log"
        log = log_path.open("wb")
        command = [sys.executable, "-m", "flask", "--app", "app", "jobs", "worker"]
        command += ["--workers", str(threads), "--import", "jobs_support"]
        process = subprocess.Popen(
            command, cwd=REPO, env=worker_environment(settings) | environment, stdout=log, stderr=subprocess.STDOUT
        )
        worker = Worker(process, log_path, log)
        started.append(worker)
        worker.wait_ready()
        return worker

    yield start
    for worker in started:
        worker.close()
