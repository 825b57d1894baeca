"""Gunicorn settings for Casefile in production: `.venv/bin/gunicorn -c config/production/gunicorn.conf.py app:app`.

Field uploads arrive over slow and broken connections (a 1 GiB video at 1 MiB/s takes 17 minutes) and a lawyer may
download a large dossier just as slowly. Under gunicorn's default `sync` workers one request holds a whole process,
and its arbiter kills a worker whose request outlasts `timeout` (30 s): measured, a 45 MiB upload at 1 MiB/s was
killed at 32 s, a 256 MiB download at 4 MiB/s cut off, and 4 slow sockets stalled every other request for 35 s.

So: the `gthread` worker. Each process serves WORKERS x THREADS requests at once, a slow client holds one thread and
not a process, idle keep-alive connections wait in the worker's poller and hold no thread, and the worker's main
thread keeps telling the arbiter it is alive however long a request takes, so `timeout` only catches a worker that
is truly stuck. Casefile streams uploads into the blob store and downloads out of it chunk by chunk, so a thread
holds little memory however large the file. A buffering proxy in front (nginx) is still recommended for TLS, but
need not buffer bodies (`proxy_request_buffering off; proxy_buffering off;`): that would spool gigabytes on the
proxy's disk.

Every setting can be changed from the environment (CASEFILE_WEB_*), so one file serves every machine.
"""

from __future__ import annotations

import gc
import os


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    return int(value) if value.strip() else default


bind = os.environ.get("CASEFILE_WEB_BIND", "127.0.0.1:8000")
worker_class = "gthread"
# Processes: a dossier build or a PDF's text runs in a forked helper, not in these, so a few per machine suffice.
workers = _int("CASEFILE_WEB_WORKERS", 2)
# Concurrent requests per process, slow ones included: size for the slow field connections you expect at once.
threads = _int("CASEFILE_WEB_THREADS", 32)
# Seconds without a heartbeat from a worker's main thread (not the length of a request) before it is restarted.
timeout = _int("CASEFILE_WEB_TIMEOUT", 60)
graceful_timeout = _int("CASEFILE_WEB_GRACEFUL_TIMEOUT", 60)
# Keep-alive between requests of one client (a browser's page, its scripts, its uploads).
keepalive = _int("CASEFILE_WEB_KEEPALIVE", 15)
# Request line and headers stay small; bodies are limited by CASEFILE_MAX_UPLOAD_BYTES in the application.
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190
# The heartbeat file lives in memory, so a slow or full disk cannot make the arbiter think a worker is stuck.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108 - gunicorn's documented advice
# Behind a proxy on the same machine (or a private network): trust its X-Forwarded-* headers only from there.
forwarded_allow_ips = os.environ.get("CASEFILE_WEB_FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = os.environ.get("CASEFILE_WEB_ACCESS_LOG", "-") or None  # empty: no access log
errorlog = "-"


def post_worker_init(worker: object) -> None:
    """Move everything the application made at start-up out of the cycle collector's sight (it is never freed
    anyway): a full collection then looks at a request's objects only. Measured on the charge matrix (bench.scale),
    a full collection of the ~250,000 start-up objects took 120-135 ms and fell on one request in nine; frozen, 3 ms."""
    gc.freeze()
