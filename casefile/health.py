"""`/healthz` and `/readyz`, for the proxy or orchestrator in front of several web servers (README: production
layout). Neither needs a login, and neither says more than which dependency is unreachable: the details go to the
log, never to an unauthenticated caller.

- `/healthz`: the process answers (no database, no store, no queue: a web server must not be restarted because
  PostgreSQL is down).
- `/readyz`: the database, the blob store and the job queue answer; 503 with Retry-After otherwise, so traffic
  goes to another server meanwhile.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import text

from casefile.components import blob_store, job_queue
from casefile.db import get_database

log = logging.getLogger(__name__)
bp = Blueprint("health", __name__)
ENDPOINTS = frozenset({"health.alive", "health.ready"})
RETRY_AFTER_SECONDS = 10


@bp.get("/healthz")
def alive() -> ResponseReturnValue:
    return jsonify({"status": "alive"})


def _database() -> None:
    with get_database().read_sessionmaker() as s:
        s.execute(text("SELECT 1"))


def _check(name: str, probe: Callable[[], object]) -> str:
    try:
        probe()
    except Exception:
        log.warning("readiness: %s unreachable", name, exc_info=True)
        return "unreachable"
    return "ok"


@bp.get("/readyz")
def ready() -> ResponseReturnValue:
    checks = {
        "database": _check("database", _database),
        # An id no blob has: a stat on disk, a HEAD on S3 (answered 404 when the store is reachable).
        "store": _check("store", lambda: blob_store().exists("0" * 64)),
        "queue": _check("queue", lambda: job_queue().pending()),
    }
    ok = all(value == "ok" for value in checks.values())
    response = jsonify({"status": "ready" if ok else "not ready", "checks": checks})
    if not ok:
        response.status_code = 503
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
