"""Job kinds for the tests only, registered when this module is imported: by the test process itself, and by a
worker started with `flask --app app jobs worker --import jobs_support` (tests/jobs is on its PYTHONPATH).

`test.slow` sleeps through `steps` steps, reporting progress before each, then appends one custody NOTE entry
naming the job and marks the job succeeded in the same transaction: a retried job that ran twice would show two.
`test.slow_once` is the same with a single attempt. `test.broken` raises an unexpected error on every attempt;
`test.refused` raises a CasefileError (the work itself is refused: no retry).

With CASEFILE_TEST_READ_DELAY=<seconds> in a worker's environment, every stored file that a dossier build streams
or a verification re-hashes is read that much more slowly, so a test can kill the worker in the middle of it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from typing import BinaryIO

from casefile.custody.actions import Action
from casefile.custody.ledger import SYSTEM, record_custody
from casefile.db import session_scope
from casefile.dossier import builder
from casefile.errors import ValidationFailed
from casefile.jobs.registry import register
from casefile.jobs.runner import JobContext
from casefile.storage.base import BlobStoreBase

SLOW = "test.slow"
SLOW_ONCE = "test.slow_once"
BROKEN = "test.broken"
REFUSED = "test.refused"


def slow(ctx: JobContext) -> None:
    steps = int(ctx.params.get("steps", 5))
    delay = float(ctx.params.get("delay", 0.3))
    for step in range(steps):
        ctx.progress(step, steps, f"step {step + 1} of {steps}")
        time.sleep(delay)
    ctx.progress(steps, steps, "writing the note")
    with session_scope() as s:
        entry = record_custody(
            s, actor=SYSTEM, action=Action.NOTE, case_id=ctx.case_id, details={"job": str(ctx.job_id)}
        )
        ctx.succeed(s, {"note_seq": entry.seq, "attempt": ctx.attempt})


def broken(ctx: JobContext) -> dict[str, object]:
    raise RuntimeError("secret internal detail /etc/casefile")


def refused(ctx: JobContext) -> dict[str, object]:
    raise ValidationFailed("This cannot be done for the test.")


def _slow_reads(delay: float) -> None:
    chunks, rehash = builder._chunks, BlobStoreBase.rehash

    def slow_chunks(fp: BinaryIO) -> Iterable[bytes]:
        for chunk in chunks(fp):
            time.sleep(delay)
            yield chunk

    def slow_rehash(self: BlobStoreBase, sha256: str) -> str:
        time.sleep(delay)
        return rehash(self, sha256)

    builder._chunks = slow_chunks  # type: ignore[assignment]
    BlobStoreBase.rehash = slow_rehash  # type: ignore[method-assign]


if os.environ.get("CASEFILE_TEST_READ_DELAY"):
    _slow_reads(float(os.environ["CASEFILE_TEST_READ_DELAY"]))

register(SLOW, slow, label="Slow test job")
register(SLOW_ONCE, slow, max_attempts=1, label="Slow test job, one attempt")
register(BROKEN, broken, max_attempts=2, label="Broken test job")
register(REFUSED, refused, label="Refused test job")
