"""The task queue: huey, built from the settings.

`CASEFILE_QUEUE_URL` unset: `SqliteHuey` in the instance folder (`queue.db`), the embedded mode, which needs no
other service. `redis://…` (or `rediss://`, `unix://`): `RedisHuey`, so N web servers and M worker machines share
one queue. `CASEFILE_QUEUE_NAME` keeps several instances (or test runs) apart on one Redis.

Huey only carries "run job <id>": ONE generic task, `run_job`, whose closure holds the Flask app, plus ONE
periodic task, `tick` (every minute: reclaim silent jobs, resend forgotten ones, run the schedules). What to run
and whether it may run is decided by the runner from the `jobs` table, never by the message. Huey's own results,
retries and locks are not used: the table is the record.

Messages are pickled by huey. They are signed (HMAC, a key derived from CASEFILE_SECRET_KEY, which every web
server and worker shares already for sessions), so whoever can write to Redis still cannot make a worker unpickle
data of their choosing.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from huey import Huey, RedisHuey, SqliteHuey, crontab
from huey.api import TaskWrapper
from huey.consumer import Consumer
from huey.serializer import SignedSerializer

from casefile.jobs import runner

if TYPE_CHECKING:
    from flask import Flask

    from casefile.config import Settings

REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
SQLITE_PREFIX = "sqlite:///"


def queue_target(settings: Settings) -> str:
    """The queue's URL: CASEFILE_QUEUE_URL, or a SQLite file in the instance folder."""
    return settings.queue_url or f"{SQLITE_PREFIX}{settings.instance_path / 'queue.db'}"


def check_queue_url(url: str) -> None:
    if not (url.startswith(REDIS_SCHEMES) or (url.startswith(SQLITE_PREFIX) and len(url) > len(SQLITE_PREFIX))):
        raise ValueError("CASEFILE_QUEUE_URL must be redis://…, rediss://…, unix://… or sqlite:///PATH")


class JobQueue:
    """The app's queue. Huey is built on first use: a web process that never submits a job opens nothing."""

    def __init__(self, app: Flask, settings: Settings) -> None:
        self.url = queue_target(settings)
        check_queue_url(self.url)
        self.name = settings.queue_name
        self._app = app
        self._secret = hmac.new(settings.secret_key.encode(), b"casefile job queue", hashlib.sha256).hexdigest()
        self._built: tuple[Huey, TaskWrapper] | None = None
        self._lock = threading.Lock()
        # Set when the worker is shutting down: running jobs stop at their next check and go back to the queue.
        # (The consumer's own stop flag, once a consumer exists.)
        self.stopping = threading.Event()

    def _get(self) -> tuple[Huey, TaskWrapper]:
        with self._lock:
            if self._built is None:
                self._built = self._build()
            return self._built

    @property
    def huey(self) -> Huey:
        return self._get()[0]

    def _build(self) -> tuple[Huey, TaskWrapper]:
        serializer = SignedSerializer(secret=self._secret, salt="casefile-jobs")
        huey: Huey
        if self.url.startswith(REDIS_SCHEMES):
            huey = RedisHuey(self.name, url=self.url, results=False, serializer=serializer)
        else:
            path = Path(self.url.removeprefix(SQLITE_PREFIX))
            path.parent.mkdir(parents=True, exist_ok=True)
            # A 30 s busy timeout, as Casefile's own SQLite database: web requests and workers share the file.
            huey = SqliteHuey(self.name, filename=str(path), results=False, serializer=serializer, timeout=30)
        app = self._app
        queue = self

        @huey.task()
        def run_job(job_id: str) -> None:
            with app.app_context():
                runner.run(app, queue, uuid.UUID(job_id))

        @huey.periodic_task(crontab(minute="*"))
        def tick() -> None:
            with app.app_context():
                runner.tick(app, queue)

        return huey, run_job

    def enqueue(self, job_id: uuid.UUID, delay: float | None = None) -> None:
        _huey, run_job = self._get()
        if delay:
            run_job.schedule(args=(str(job_id),), delay=delay)
        else:
            run_job(str(job_id))

    def pending(self) -> int:
        """Messages waiting in the queue (not those scheduled for later)."""
        return int(self.huey.pending_count())

    def consumer(self, workers: int, shutdown_timeout: float) -> Consumer:
        """A huey consumer with `workers` threads (see casefile/jobs/cli.py for why threads), the periodic tick
        on, and polling SQLite every second at most when idle (Redis blocks on the queue instead). Its stop flag
        becomes `stopping`, so running jobs notice a shutdown at their next check."""
        consumer = self.huey.create_consumer(
            workers=workers,
            worker_type="thread",
            periodic=True,
            initial_delay=0.1,
            backoff=1.15,
            max_delay=1.0,
            scheduler_interval=1,
            check_worker_health=True,
            shutdown_timeout=shutdown_timeout,
        )
        self.stopping = consumer.stop_flag
        return consumer

    def close(self) -> None:
        with self._lock:
            if self._built is not None:
                storage = self._built[0].storage
                storage.close()
                pool = getattr(storage, "pool", None)  # RedisStorage's close() leaves its connections open
                if pool is not None:
                    pool.disconnect()
                self._built = None
