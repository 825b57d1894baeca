"""Ingest benchmark: stream a large file to a real Casefile server over loopback and compare with sha256sum.

    .venv/bin/python -m bench.ingest                # 1 GiB (default)
    .venv/bin/python -m bench.ingest --quick        # 64 MiB smoke run (or CASEFILE_BENCH_QUICK=1)
    .venv/bin/python -m bench.ingest --size 4GiB

A throwaway instance (SQLite + local blob store) is created in a temporary directory, migrated, and given a
user, an API token and a case. The app is served by Werkzeug in a separate process (`flask run`), and the
file is POSTed to /api/v1/cases/<id>/evidence as a streamed multipart body (http.client, fixed
Content-Length, the file sent in chunks: never held in memory on either side).

Targets: upload throughput >= 0.5 x `sha256sum` throughput on the same file in the same run; server peak RSS
growth during the upload <= 64 MiB; the SHA-256 the server returns equals the local one.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import re
import resource
import secrets
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file (python bench/ingest.py): make `bench` and `casefile` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import (
    GIB,
    MIB,
    REPO,
    create_owner_and_case,
    instance_env,
    make_instance,
    proc_status_kib,
    quick_from_env,
    reset_peak_rss,
    table,
    temp_dir,
    verdict,
)

TARGET_RATIO = 0.5
TARGET_RSS_MIB = 64.0
QUICK_SIZE = 64 * MIB
SEND_CHUNK = 1 * MIB
UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "kib": 1024, "m": 1000**2, "mb": 1000**2, "mib": MIB}
UNITS |= {"g": 1000**3, "gb": 1000**3, "gib": GIB}


def parse_size(text: str) -> int:
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", text)
    if not match or match.group(2).lower() not in UNITS:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (try 1GiB, 256MiB or a byte count)")
    size = int(float(match.group(1)) * UNITS[match.group(2).lower()])
    if size <= 0:
        raise argparse.ArgumentTypeError("the size must be positive")
    return size


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_test_file(path: Path, size: int) -> float:
    """Incompressible data written 4 MiB at a time and fsynced (so write-back does not disturb the timings)."""
    started = time.perf_counter()
    remaining = size
    with open(path, "wb") as fh:
        while remaining:
            block = os.urandom(min(4 * MIB, remaining))
            fh.write(block)
            remaining -= len(block)
        fh.flush()
        os.fsync(fh.fileno())
    return time.perf_counter() - started


def sha256sum(path: Path) -> tuple[str, float, float]:
    """(hex digest, wall seconds, CPU seconds) of coreutils `sha256sum` on `path`."""
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    out = subprocess.run(["sha256sum", str(path)], check=True, capture_output=True, text=True).stdout
    wall = time.perf_counter() - started
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    return out.split()[0], wall, cpu


def hashlib_sha256(path: Path) -> tuple[str, float]:
    """(hex digest, wall seconds) of Python's hashlib (OpenSSL) over the file in 1 MiB reads: informational."""
    digest = hashlib.sha256()
    buffer = bytearray(MIB)
    view = memoryview(buffer)
    started = time.perf_counter()
    with open(path, "rb", buffering=0) as fh:
        while n := fh.readinto(buffer):
            digest.update(view[:n])
    return digest.hexdigest(), time.perf_counter() - started


def start_server(
    instance: Path,
    port: int,
    log_path: Path,
    command: list[str] | None = None,
    extra_env: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """A server process for `instance` on `port` (by default `flask run`; `command` gets `--port N` appended),
    once it listens."""
    env = instance_env(instance) | {"FLASK_DEBUG": "0", "PYTHONUNBUFFERED": "1"} | (extra_env or {})
    cmd = command or [sys.executable, "-m", "flask", "--app", "app", "run", "--no-reload", "--host", "127.0.0.1"]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([*cmd, "--port", str(port)], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log_path.read_text()[-2000:]
            raise RuntimeError(f"the server exited ({proc.returncode}); see {log_path}:\n{tail}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc
        except OSError:
            time.sleep(0.1)
    proc.terminate()
    raise RuntimeError("the server did not start listening within 60 s")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (from /proc/<pid>/stat)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class RssSampler(threading.Thread):
    """Polls the server's VmRSS while the upload runs (a cross-check of VmHWM)."""

    def __init__(self, pid: int, interval: float = 0.02) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.interval = interval
        self.peak_kib = 0
        self.samples = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                self.peak_kib = max(self.peak_kib, proc_status_kib(self.pid, "VmRSS"))
                self.samples += 1
            except (OSError, KeyError):
                return
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


def multipart_envelope(boundary: str, fields: dict[str, str], filename: str) -> tuple[bytes, bytes]:
    """The bytes before and after the file's content in a multipart/form-data body."""
    head = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    )
    head += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    return head, f"\r\n--{boundary}--\r\n".encode()


def upload(port: int, token: str, case_id: Any, path: Path, title: str) -> dict[str, Any]:
    """POST `path` as evidence with a streamed multipart body; returns timings and the response."""
    boundary = "casefile-bench-" + secrets.token_hex(12)
    head, tail = multipart_envelope(boundary, {"title": title}, path.name)
    size = path.stat().st_size
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=3600)
    buffer = bytearray(SEND_CHUNK)
    view = memoryview(buffer)
    started = time.perf_counter()
    sent_error: OSError | None = None
    try:
        conn.putrequest("POST", f"/api/v1/cases/{case_id}/evidence", skip_accept_encoding=True)
        conn.putheader("Authorization", f"Bearer {token}")
        conn.putheader("Accept", "application/json")
        conn.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
        conn.putheader("Content-Length", str(len(head) + size + len(tail)))
        conn.endheaders()
        try:
            conn.send(head)
            with open(path, "rb", buffering=0) as fh:
                while n := fh.readinto(buffer):
                    conn.send(view[:n])
            conn.send(tail)
        except OSError as error:  # the server answered early (e.g. 401/413) and closed: read that answer
            sent_error = error
        sent = time.perf_counter()
        response = conn.getresponse()
        body = response.read()
        done = time.perf_counter()
    finally:
        conn.close()
    try:
        payload = json.loads(body)
    except ValueError:
        payload = {"raw": body[:500].decode(errors="replace")}
    return {
        "status": response.status,
        "payload": payload,
        "send_s": sent - started,
        "total_s": done - started,
        "send_error": sent_error,
    }


def run(size: int, keep: bool) -> bool:
    from casefile import create_app

    with temp_dir("casefile-bench-ingest-", keep) as tmp:
        instance = tmp / "instance"
        settings = make_instance(instance)
        app = create_app(settings)
        owner = create_owner_and_case(app, "BENCH")
        app.extensions["casefile_db"].dispose()

        print(f"generating {size / MIB:,.0f} MiB of random data ...", flush=True)
        data_path = tmp / "upload.bin"
        gen_s = write_test_file(data_path, size)
        warm_path = tmp / "warmup.bin"
        write_test_file(warm_path, 1 * MIB)
        load_start = os.getloadavg()[0]

        # The baseline runs before and after the upload; the faster run is used (the stricter ratio).
        local_sha, sum_s1, sum_cpu1 = sha256sum(data_path)
        port = free_port()
        server = start_server(instance, port, tmp / "server.log")
        try:
            # A small upload first, so lazy imports and first-request set-up are not counted as growth.
            warm = upload(port, owner.token, owner.case_id, warm_path, "warm-up")
            if warm["status"] != 201:
                print(f"warm-up upload failed: {warm['status']} {warm['payload']}")
                return False
            peak_reset = reset_peak_rss(server.pid)
            rss_before = proc_status_kib(server.pid, "VmRSS")
            hwm_before = proc_status_kib(server.pid, "VmHWM")
            cpu_before = cpu_seconds(server.pid)
            client_cpu_before = time.process_time()
            sampler = RssSampler(server.pid)
            sampler.start()
            print(f"uploading to 127.0.0.1:{port} (server pid {server.pid}) ...", flush=True)
            result = upload(port, owner.token, owner.case_id, data_path, "Benchmark upload")
            sampler.stop()
            hwm_after = proc_status_kib(server.pid, "VmHWM")
            rss_after = proc_status_kib(server.pid, "VmRSS")
            server_cpu = cpu_seconds(server.pid) - cpu_before
            client_cpu = time.process_time() - client_cpu_before
        finally:
            stop_server(server)
        _sha, sum_s2, sum_cpu2 = sha256sum(data_path)
        py_sha, py_s = hashlib_sha256(data_path)
        load_end = os.getloadavg()[0]

        payload = result["payload"]
        if result["status"] != 201:
            print(f"upload failed: HTTP {result['status']} {payload} (send error: {result['send_error']})")
            print((tmp / "server.log").read_text()[-3000:])
            return False
        stored_sha = str(payload.get("sha256"))
        blob = Path(settings.storage_url.removeprefix("file://")) / "objects" / "sha256"
        blob = blob / stored_sha[0:2] / stored_sha[2:4] / stored_sha
        blob_ok = blob.is_file() and blob.stat().st_size == size

        mib = size / MIB
        sum_s = min(sum_s1, sum_s2)
        sum_cpu = min(sum_cpu1, sum_cpu2)
        upload_mibs = mib / result["total_s"]
        sum_mibs = mib / sum_s
        ratio = upload_mibs / sum_mibs
        # Peak growth: the high-water mark during the upload over the resting RSS just before it. If the
        # kernel refused to reset VmHWM, the sampled peak is the only figure that isolates this upload.
        peak_kib = max(hwm_after, sampler.peak_kib) if peak_reset else sampler.peak_kib
        growth_mib = (peak_kib - rss_before) / 1024
        hash_ok = stored_sha == local_sha == py_sha and payload.get("size") == size and blob_ok

        print()
        print(f"## Ingest benchmark ({mib:,.0f} MiB, Werkzeug `flask run` on loopback, SQLite + local blobs)")
        print()
        print(
            table(
                ["measure", "value"],
                [
                    ["file size", f"{size:,} bytes ({mib:,.0f} MiB)"],
                    [
                        "sha256sum before / after upload (wall)",
                        f"{sum_s1:.2f} s / {sum_s2:.2f} s -> baseline {sum_mibs:,.0f} MiB/s",
                    ],
                    ["sha256sum CPU (best run)", f"{sum_cpu:.2f} s = {mib / sum_cpu:,.0f} MiB/s per CPU-second"],
                    ["hashlib.sha256 in-process (info)", f"{py_s:.2f} s = {mib / py_s:,.0f} MiB/s"],
                    ["upload, request start -> 201 response", f"{result['total_s']:.2f} s = {upload_mibs:,.0f} MiB/s"],
                    ["  of which sending the body", f"{result['send_s']:.2f} s = {mib / result['send_s']:,.0f} MiB/s"],
                    ["  of which after the last byte (commit)", f"{result['total_s'] - result['send_s']:.2f} s"],
                    [
                        "server CPU during upload",
                        f"{server_cpu:.2f} s = {mib / max(server_cpu, 1e-9):,.0f} MiB/s per CPU-second",
                    ],
                    ["client CPU during upload", f"{client_cpu:.2f} s"],
                    ["server RSS before / after", f"{rss_before / 1024:.1f} / {rss_after / 1024:.1f} MiB"],
                    [
                        "server peak RSS (VmHWM / sampled)",
                        f"{hwm_after / 1024:.1f} / {sampler.peak_kib / 1024:.1f} MiB"
                        + ("" if peak_reset else f" (VmHWM not reset; was {hwm_before / 1024:.1f})"),
                    ],
                    ["SHA-256 local (sha256sum)", local_sha],
                    ["SHA-256 returned by the server", stored_sha],
                    ["ERN", str(payload.get("ern"))],
                    ["1-min load average start / end (2 CPUs)", f"{load_start:.1f} / {load_end:.1f}"],
                    ["(generating the file took)", f"{gen_s:.1f} s"],
                ],
            )
        )
        print()
        checks = [
            [
                "throughput ratio upload / sha256sum (wall)",
                f"{ratio:.2f}",
                f">= {TARGET_RATIO}",
                verdict(ratio >= TARGET_RATIO),
            ],
            [
                "server peak RSS growth",
                f"{growth_mib:.1f} MiB",
                f"<= {TARGET_RSS_MIB:.0f} MiB",
                verdict(growth_mib <= TARGET_RSS_MIB),
            ],
            ["returned SHA-256 and size = local, blob stored", "yes" if hash_ok else "NO", "yes", verdict(hash_ok)],
        ]
        print(table(["check", "measured", "target", "result"], checks))
        print(
            f"\n(info: CPU-time ratio sha256sum CPU / server CPU = {sum_cpu / max(server_cpu, 1e-9):.2f}; "
            f"upload / hashlib wall = {upload_mibs / (mib / py_s):.2f})"
        )
        ok = all(row[-1] == "PASS" for row in checks)
        print(f"\ningest: {verdict(ok)}")
        return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=parse_size, default=None, help="file size, e.g. 1GiB (default), 256MiB")
    parser.add_argument("--quick", action="store_true", help=f"smoke run with {QUICK_SIZE // MIB} MiB")
    parser.add_argument("--keep", action="store_true", help="keep the temporary instance and logs")
    args = parser.parse_args(argv)
    size = args.size or (QUICK_SIZE if args.quick or quick_from_env() else GIB)
    return 0 if run(size, args.keep) else 1


if __name__ == "__main__":
    sys.exit(main())
