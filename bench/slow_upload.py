"""Slow-upload benchmark: a large file sent at field speed to gunicorn with the shipped configuration.

    .venv/bin/python -m bench.slow_upload                      # 1 GiB at 1 MiB/s (about 17 minutes)
    .venv/bin/python -m bench.slow_upload --quick              # 96 MiB at 1 MiB/s (about 100 s)
    .venv/bin/python -m bench.slow_upload --size 256MiB --rate 4MiB

A throwaway instance (SQLite + local blobs) is served by gunicorn with config/production/gunicorn.conf.py,
unchanged (its `timeout` of 60 s, which killed sync workers' uploads). The same file is first sent at full speed
(the baseline, measured in this run), then at `--rate`, while another client asks /healthz and the case's
evidence list every second.

Targets: the slow upload gets 201 with the right SHA-256 although it lasts longer than the server's timeout; it
arrives at >= 0.9 x the rate it was sent at (the server never holds it up); no ordinary request during it takes
more than 1 s; no worker is restarted.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import secrets
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: make `bench` and `casefile` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import (
    GIB,
    MIB,
    REPO,
    create_owner_and_case,
    instance_env,
    make_instance,
    percentile,
    quick_from_env,
    table,
    temp_dir,
    verdict,
)
from bench.ingest import free_port, multipart_envelope, parse_size, write_test_file

QUICK_SIZE = 96 * MIB
TARGET_RATE_RATIO = 0.9
TARGET_LATENCY_S = 1.0
SERVER_TIMEOUT_S = 60  # config/production/gunicorn.conf.py's default


def start_gunicorn(instance: Path, port: int, log_path: Path) -> subprocess.Popen[bytes]:
    env = instance_env(instance) | {"CASEFILE_WEB_BIND": f"127.0.0.1:{port}", "CASEFILE_WEB_ACCESS_LOG": ""}
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [gunicorn, "-c", "config/production/gunicorn.conf.py", "app:app"], cwd=REPO, env=env, stdout=log, stderr=log
        )
    for _ in range(300):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.1)
    proc.terminate()
    raise RuntimeError(f"gunicorn did not start; see {log_path}")


def send(port: int, token: str, case_id: Any, path: Path, rate: float | None) -> tuple[int, dict[str, Any], float]:
    """POST the file as evidence, paced to `rate` bytes a second (None: as fast as possible)."""
    boundary = "casefile-slow-" + secrets.token_hex(8)
    head, tail = multipart_envelope(boundary, {"title": path.name}, path.name)
    size = path.stat().st_size
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=3600)
    chunk = 64 * 1024
    started = time.perf_counter()
    try:
        conn.putrequest("POST", f"/api/v1/cases/{case_id}/evidence", skip_accept_encoding=True)
        conn.putheader("Authorization", f"Bearer {token}")
        conn.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
        conn.putheader("Content-Length", str(len(head) + size + len(tail)))
        conn.endheaders()
        conn.send(head)
        sent = 0
        with open(path, "rb") as fh:
            while data := fh.read(chunk):
                conn.send(data)
                sent += len(data)
                if rate:
                    ahead = sent / rate - (time.perf_counter() - started)
                    if ahead > 0:
                        time.sleep(ahead)
        conn.send(tail)
        response = conn.getresponse()
        body = response.read()
    finally:
        conn.close()
    return response.status, json.loads(body or b"{}"), time.perf_counter() - started


class Prober(threading.Thread):
    """Ordinary requests, one a second, while the upload goes on: their latencies."""

    def __init__(self, port: int, token: str, case_id: Any) -> None:
        super().__init__(daemon=True)
        self.port, self.token, self.case_id = port, token, case_id
        self.latencies: list[float] = []
        self.failures = 0
        self.done = threading.Event()

    def run(self) -> None:
        paths = ("/healthz", f"/api/v1/cases/{self.case_id}/evidence")
        while not self.done.wait(1.0):
            for path in paths:
                started = time.perf_counter()
                try:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                    conn.request("GET", path, headers={"Authorization": f"Bearer {self.token}"})
                    ok = conn.getresponse().status == 200
                    conn.close()
                except OSError:
                    ok = False
                self.latencies.append(time.perf_counter() - started)
                self.failures += 0 if ok else 1


def run(size: int, rate: int, keep: bool) -> bool:
    from casefile import create_app

    with temp_dir("casefile-bench-slow-", keep) as tmp:
        instance = tmp / "instance"
        app = create_app(make_instance(instance))
        owner = create_owner_and_case(app, "SLOW")
        app.extensions["casefile_db"].dispose()
        fast_path, slow_path = tmp / "baseline.bin", tmp / "field-video.bin"
        write_test_file(fast_path, size)
        write_test_file(slow_path, size)  # another file: the same one would be a duplicate of the baseline
        digest = hashlib.sha256()
        with open(slow_path, "rb") as fh:
            while block := fh.read(4 * MIB):
                digest.update(block)
        expected = digest.hexdigest()
        port = free_port()
        log_path = tmp / "gunicorn.log"
        server = start_gunicorn(instance, port, log_path)
        try:
            base_status, _base, base_s = send(port, owner.token, owner.case_id, fast_path, None)
            prober = Prober(port, owner.token, owner.case_id)
            prober.start()
            print(f"sending {size / MIB:,.0f} MiB at {rate / MIB:g} MiB/s ...", flush=True)
            status, payload, slow_s = send(port, owner.token, owner.case_id, slow_path, rate)
            prober.done.set()
            prober.join()
        finally:
            server.terminate()
            server.wait(60)
        log = log_path.read_text(errors="replace")
        # The configuration starts 2 workers; any further boot is a restart.
        restarted = "WORKER TIMEOUT" in log or log.count("Booting worker") > 2
        arrived = size / MIB / slow_s
        rate_ratio = arrived / (rate / MIB)
        worst = max(prober.latencies, default=0.0)
        checks = {
            "201 with the right SHA-256": status == 201 and payload.get("sha256") == expected and base_status == 201,
            f"lasted longer than the {SERVER_TIMEOUT_S} s timeout": slow_s > SERVER_TIMEOUT_S,
            f"arrived at >= {TARGET_RATE_RATIO} x the sending rate": rate_ratio >= TARGET_RATE_RATIO,
            f"ordinary requests <= {TARGET_LATENCY_S} s": worst <= TARGET_LATENCY_S and prober.failures == 0,
            "no worker restarted": not restarted,
        }
        print()
        print(f"## Slow upload ({size / MIB:,.0f} MiB at {rate / MIB:g} MiB/s, gunicorn gthread, SQLite + local)")
        print()
        print(
            table(
                ["measure", "value"],
                [
                    ["baseline: the same size at full speed", f"{base_s:.1f} s = {size / MIB / base_s:,.0f} MiB/s"],
                    ["slow upload, first byte -> 201", f"{slow_s:.1f} s = {arrived:.3f} MiB/s"],
                    ["arrival rate / sending rate", f"{rate_ratio:.3f}"],
                    ["slow upload / baseline (time)", f"{slow_s / base_s:.1f}x"],
                    [
                        "ordinary requests meanwhile (n, p50, max)",
                        f"{len(prober.latencies)}, {percentile(prober.latencies, 50) * 1000:.1f} ms, "
                        f"{worst * 1000:.1f} ms, {prober.failures} failed",
                    ],
                ],
            )
        )
        print()
        for name, ok in checks.items():
            print(f"- {name}: {verdict(ok)}")
        return all(checks.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=parse_size, default=None, help="default 1GiB (96MiB with --quick)")
    parser.add_argument("--rate", type=parse_size, default=MIB, help="bytes a second (default 1MiB)")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    size = args.size or (QUICK_SIZE if args.quick or quick_from_env() else GIB)
    sys.exit(0 if run(size, args.rate, args.keep) else 1)


if __name__ == "__main__":
    main()
