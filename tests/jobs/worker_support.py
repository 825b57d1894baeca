"""Helpers of the job tests that run real worker processes (kept out of conftest.py so test modules can import
them by a unique name)."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from casefile.config import Settings

from support import free_port, wait_for  # noqa: F401 - the job tests import them from here too

JOBS_TESTS = Path(__file__).resolve().parent
HEARTBEAT_SECONDS = 0.2
STALE_SECONDS = 2.0
READY_TIMEOUT = 90.0


def worker_environment(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)  # keeps the AWS variables the moto fixture set for this session
    env.update(
        CASEFILE_INSTANCE_PATH=str(settings.instance_path),
        CASEFILE_DATABASE_URL=settings.database_url,
        CASEFILE_STORAGE=settings.storage_url,
        CASEFILE_SECRET_KEY=settings.secret_key,  # also the key the queue's messages are signed with
        CASEFILE_SIGNING_KEY=str(settings.signing_key_path),
        CASEFILE_FIELD_KEYS=",".join(base64.b64encode(k).decode() for k in settings.field_keys),
        CASEFILE_QUEUE_NAME=settings.queue_name,
        CASEFILE_JOB_HEARTBEAT_SECONDS=str(settings.job_heartbeat_seconds),
        CASEFILE_JOB_STALE_SECONDS=str(settings.job_stale_seconds),
        CASEFILE_TEMP_MAX_AGE_SECONDS=str(settings.temp_max_age_seconds),
        CASEFILE_CHECKPOINT_MINUTES=str(settings.checkpoint_minutes),
        PYTHONPATH=os.pathsep.join(filter(None, [str(JOBS_TESTS), env.get("PYTHONPATH")])),
    )
    env.pop("CASEFILE_QUEUE_URL", None)
    if settings.queue_url:
        env["CASEFILE_QUEUE_URL"] = settings.queue_url
    env.pop("CASEFILE_S3_ENDPOINT_URL", None)
    if settings.s3_endpoint_url:
        env["CASEFILE_S3_ENDPOINT_URL"] = settings.s3_endpoint_url
    return env


@dataclass
class Worker:
    process: subprocess.Popen[bytes]
    log_path: Path
    log: IO[bytes]

    def output(self) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")

    def wait_ready(self) -> None:
        def consuming() -> bool:
            if self.process.poll() is not None:
                raise AssertionError(f"the worker exited ({self.process.returncode}):\n{self.output()}")
            return "Huey consumer started" in self.output()

        wait_for(consuming, READY_TIMEOUT, "the worker to start consuming")

    def kill(self) -> None:
        """SIGKILL: no handler runs, nothing is handed back."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self, sig: int = signal.SIGINT, timeout: float = 60) -> int:
        self.process.send_signal(sig)
        return self.process.wait(timeout=timeout)

    def close(self) -> None:
        if self.process.poll() is None:
            self.kill()
        self.log.close()
