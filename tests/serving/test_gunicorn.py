"""The production server configuration (config/production/gunicorn.conf.py) with real gunicorn and real sockets:
slow field connections (uploads trickling in, downloads read slowly) do not stall anyone else, and an upload that
lasts far longer than the server's `timeout` completes (under the default sync workers it was killed at the
timeout)."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from casefile import REPO_ROOT
from casefile.config import Settings

from support import Account, Api, free_port, upload

GUNICORN = str(Path(sys.executable).parent / "gunicorn")
FAST_SECONDS = 1.0  # what an ordinary request may take while the slow ones go on


class Server:
    def __init__(self, port: int, token: str) -> None:
        self.port, self.token = port, token

    def connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=30)

    def get(self, path: str, *, auth: bool = True) -> tuple[int, bytes]:
        headers = f"Authorization: Bearer {self.token}\r\n" if auth else ""
        with self.connect() as conn:
            conn.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n{headers}Connection: close\r\n\r\n".encode())
            return read_response(conn)


def read_response(conn: socket.socket) -> tuple[int, bytes]:
    data = b""
    while chunk := conn.recv(65536):
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


@pytest.fixture
def server(
    settings: Settings, api_for: Callable[..., tuple[Api, Account]], tmp_path: Path
) -> Iterator[tuple[Server, Api, Account]]:
    """gunicorn with the shipped configuration, one worker of 16 threads and a 5 s timeout, on the suite's database
    and store."""
    api, owner = api_for("investigator")
    port = free_port()
    env = {
        **os.environ,
        "CASEFILE_INSTANCE_PATH": str(tmp_path / "served-instance"),
        "CASEFILE_DATABASE_URL": settings.database_url,
        "CASEFILE_STORAGE": settings.storage_url,
        "CASEFILE_SECRET_KEY": settings.secret_key,
        "CASEFILE_SIGNING_KEY": str(settings.signing_key_path),
        "CASEFILE_FIELD_KEYS": ",".join(__import__("base64").b64encode(k).decode() for k in settings.field_keys),
        "CASEFILE_WEB_BIND": f"127.0.0.1:{port}",
        "CASEFILE_WEB_WORKERS": "1",
        "CASEFILE_WEB_THREADS": "16",
        "CASEFILE_WEB_TIMEOUT": "5",
        "CASEFILE_WEB_ACCESS_LOG": "",
    }
    if settings.s3_endpoint_url:
        env["CASEFILE_S3_ENDPOINT_URL"] = settings.s3_endpoint_url
    log = open(tmp_path / "gunicorn.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [GUNICORN, "-c", "config/production/gunicorn.conf.py", "app:app"],
        cwd=REPO_ROOT,
        env=env,
        stdout=log,
        stderr=log,
    )
    served = Server(port, api.headers["Authorization"].split(" ", 1)[1])
    try:
        for _ in range(150):
            try:
                if served.get("/healthz", auth=False)[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("gunicorn did not start: " + (tmp_path / "gunicorn.log").read_text()[-2000:])
        yield served, api, owner
    finally:
        process.terminate()
        process.wait(30)
        log.close()
    assert b"WORKER TIMEOUT" not in (tmp_path / "gunicorn.log").read_bytes()


def multipart(content: bytes, name: str) -> tuple[str, bytes]:
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="title"\r\n\r\n{name}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return f"multipart/form-data; boundary={boundary}", body


def trickle_upload(served: Server, case_id: uuid.UUID, body: bytes, content_type: str, rate: int) -> tuple[int, bytes]:
    """POST the body at `rate` bytes a second, as a weak field connection would."""
    with served.connect() as conn:
        conn.sendall(
            (
                f"POST /api/v1/cases/{case_id}/evidence HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {served.token}\r\n"
                f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            ).encode()
        )
        step = max(rate // 10, 1)
        for start in range(0, len(body), step):
            conn.sendall(body[start : start + step])
            time.sleep(0.1)
        return read_response(conn)


def test_slow_clients_do_not_stall_anyone_else(server: tuple[Server, Api, Account], make_case: Any) -> None:
    served, api, owner = server
    case_id = make_case(owner, "SLOW")
    big = upload(api, case_id, os.urandom(16 * 1024 * 1024), "big.bin")
    stop = threading.Event()
    slow: list[threading.Thread] = []

    def slow_uploader() -> None:
        with served.connect() as conn:
            conn.sendall(
                (
                    f"POST /api/v1/cases/{case_id}/evidence HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                    f"{served.token}\r\nContent-Type: multipart/form-data; boundary=x\r\n"
                    "Content-Length: 10485760\r\n\r\n--x\r\n"
                ).encode()
            )
            while not stop.wait(0.2):
                conn.sendall(b"a" * 256)

    def slow_reader() -> None:
        with served.connect() as conn:
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)
            conn.sendall(
                f"GET /api/v1/evidence/{big['id']}/content HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                f"{served.token}\r\n\r\n".encode()
            )
            while not stop.wait(0.2):
                conn.recv(4096)

    for target in [slow_uploader] * 8 + [slow_reader] * 2:
        thread = threading.Thread(target=target, daemon=True)
        thread.start()
        slow.append(thread)
    time.sleep(1.0)  # every slow connection is in a request now
    try:
        timings = []
        for _ in range(10):
            for path, auth in (("/healthz", False), ("/api/v1/cases", True), (f"/api/v1/evidence/{big['id']}", True)):
                started = time.monotonic()
                status, body = served.get(path, auth=auth)
                timings.append(time.monotonic() - started)
                assert status == 200, body[:300]
        assert json.loads(served.get("/api/v1/cases")[1])["total"] == 1
    finally:
        stop.set()
        for thread in slow:
            thread.join(10)
    assert max(timings) < FAST_SECONDS, f"an ordinary request waited {max(timings):.2f} s behind slow clients"


def test_an_upload_slower_than_the_timeout_completes(server: tuple[Server, Api, Account], make_case: Any) -> None:
    """5 s timeout, 2 MiB at 200 KiB/s: about 10 s of upload, twice the timeout."""
    served, _api, owner = server
    case_id = make_case(owner, "TRICKLE")
    content = os.urandom(2 * 1024 * 1024)
    content_type, body = multipart(content, "field-video.bin")
    started = time.monotonic()
    status, answer = trickle_upload(served, case_id, body, content_type, rate=200 * 1024)
    took = time.monotonic() - started
    assert status == 201, answer[:500]
    assert took > 2 * 5
    item = json.loads(answer)
    assert item["sha256"] == hashlib.sha256(content).hexdigest() and item["size"] == len(content)


def test_a_worker_freezes_its_start_up_objects() -> None:
    """post_worker_init takes what the loaded application holds out of the cycle collector's passes (a full pass over
    it cost 120-135 ms on one request in nine), and leaves later objects to be collected as usual."""
    import gc
    import runpy

    settings = runpy.run_path(str(Path(__file__).resolve().parents[2] / "config/production/gunicorn.conf.py"))
    assert gc.get_freeze_count() == 0
    try:
        settings["post_worker_init"](None)
        assert gc.get_freeze_count() > 10_000  # the test process's modules, as a worker's application would be
        cycle: list[object] = []
        cycle.append(cycle)  # garbage made after the freeze is still collected
        del cycle
        assert gc.collect() >= 1
    finally:
        gc.unfreeze()
