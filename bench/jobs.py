"""Jobs benchmark: the evidence list page's latency while a full custody verification runs in a worker.

    .venv/bin/python -m bench.jobs                       # SQLite, then PostgreSQL (full size)
    .venv/bin/python -m bench.jobs --quick               # smoke size (or CASEFILE_BENCH_QUICK=1)
    .venv/bin/python -m bench.jobs --engines sqlite      # one engine

For each engine, a throwaway instance (SQLite in a temporary directory, or a throwaway database on the local
PostgreSQL server; local blob storage for both) is seeded in bulk with `--items` evidence items, each with a
real small blob of `--blob-size` bytes, and a valid `--entries`-entry custody chain with signed checkpoints.
A real web server process (`flask run`) and a real worker process (`flask jobs worker`) serve it.

The measured request is the evidence list page `/cases/<id>/evidence` (page 1, HTML, logged-in session, as a
browser asks for it), one request at a time over loopback. Baseline, same run: `--requests` of them while the
instance is idle. Then a verification with fixity is started through `POST /api/v1/custody/verifications`, and
the same number of requests is measured while it runs; between two measured requests (untimed), the job is read
through `GET /api/v1/jobs/{id}`, so every measured request is known to have started and ended while the job was
`running`. After that window the page is still requested until the job ends (its last phase appends a fixity
entry per item, in slices of 100 per transaction): those requests are reported by phase too.

Target (the issue's): list-page p95 while the job runs <= 2 x the idle p95, on SQLite and on PostgreSQL, in the
window and in the rest of the job.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import http.cookies
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file (python bench/jobs.py): make `bench` and `casefile` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import (
    BASE_TIME,
    PASSWORD,
    REPO,
    LedgerWriter,
    Owner,
    bulk_engine,
    create_owner_and_case,
    event_details,
    ingest_details,
    insert_rows,
    instance_env,
    item_rows,
    make_instance,
    percentile,
    quick_from_env,
    seeded_uuid,
    table,
    temp_dir,
    verdict,
)
from bench.pages import INCIDENTS, STANCES, links_for

KIB = 1024
TARGET_RATIO = 2.0
PG_URL = "postgresql+psycopg://root@/{db}?host=/var/run/postgresql"
ENGINES = ("sqlite", "postgresql")
CHAIN_PHASE = "chain"
FILES_PHASE = "files"
COMMIT_PHASE = "recording"


# --- the instance ------------------------------------------------------------------------------------------


def pg_admin(statement: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(PG_URL.format(db="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(statement))
    finally:
        engine.dispose()


@contextmanager
def database(engine: str, keep: bool) -> Iterator[str | None]:
    """The database URL of a throwaway instance: None (SQLite in the instance folder) or a new PostgreSQL
    database, dropped at the end unless `keep`."""
    if engine == "sqlite":
        yield None
        return
    name = f"casefile_bench_jobs_{uuid.uuid4().hex[:10]}"
    pg_admin(f'CREATE DATABASE "{name}"')
    try:
        yield PG_URL.format(db=name)
    finally:
        if keep:
            print(f"(kept PostgreSQL database {name})")
        else:
            pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Instance:
    engine: str
    path: Path
    env: dict[str, str]
    owner: Owner
    items: int
    entries: int
    blob_bytes: int
    seed_s: float


def write_blobs(store: Any, rows: list[dict[str, Any]], size: int, rng: random.Random) -> int:
    """A distinct blob of `size` bytes per item, laid out as the local store lays it out (read-only files under
    objects/sha256/ab/cd/), and the item rows updated with its SHA-256 and size. Written directly, without the
    store's per-file fsync: seeding a throwaway instance is not what is measured. Returns the bytes written."""
    shared = rng.randbytes(size)
    total = 0
    for row in rows:
        data = row["number"].to_bytes(8, "big") + shared[8:]
        digest = hashlib.sha256(data).hexdigest()
        path = Path(store.path_for(digest))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        path.chmod(0o444)
        row["sha256"], row["size"] = digest, len(data)
        total += len(data)
    return total


def seed(path: Path, engine: str, url: str | None, *, items: int, entries: int, blob_size: int) -> Instance:
    """Create, migrate and bulk-seed an instance (as bench/pages.py does, plus real blobs and checkpoints)."""
    from sqlalchemy import update

    from casefile import create_app
    from casefile.cases.models import Case
    from casefile.cases.services import create_incident
    from casefile.custody.keys import InstanceKey
    from casefile.db import make_engine, session_scope
    from casefile.evidence.models import EvidenceItem
    from casefile.links.models import EvidenceLink
    from casefile.storage import open_blob_store

    started = time.perf_counter()
    rng = random.Random(11)
    settings = make_instance(path, **({"database_url": url} if url else {}))
    app = create_app(settings)
    owner = create_owner_and_case(app, "JOB")
    with app.app_context(), session_scope(app) as s:
        case = s.get(Case, owner.case_id)
        incident_ids = [
            create_incident(
                s,
                case,
                {"title": f"Incident {k + 1}", "start_date": f"2025-03-{k + 1:02d}", "place_name": "Tarhouna"},
            ).id
            for k in range(INCIDENTS)
        ]
    app.extensions["casefile_db"].dispose()

    if entries < 2 * items:
        raise SystemExit(f"--entries must be at least 2 x --items ({2 * items:,}): an ingest and a fixity entry each")
    db = bulk_engine(settings.database_url) if engine == "sqlite" else make_engine(settings.database_url)
    rows = item_rows(rng, owner.case_id, "JOB", items, owner.user_id)
    blob_bytes = write_blobs(open_blob_store(settings.storage_url), rows, blob_size, rng)
    insert_rows(db, EvidenceItem.__table__, rows)
    links = [
        {
            "id": seeded_uuid(rng),
            "evidence_id": row["id"],
            "case_id": owner.case_id,
            "incident_id": incident,
            "stance": STANCES[(row["number"] + k) % 3],
            "note": "",
            "created_by_id": owner.user_id,
            "created_at": row["created_at"],
        }
        for row in rows
        for k, incident in enumerate(links_for(row["number"], incident_ids, items))
    ]
    insert_rows(db, EvidenceLink.__table__, links)
    with db.begin() as conn:
        conn.execute(update(Case.__table__).where(Case.id == owner.case_id).values(next_ern=items + 1))

    # An ingest entry per item, views/downloads/hand-overs at random, and a last fixity run (every list row has
    # its badge), with a signed checkpoint every tenth of the ledger: verification checks them all.
    ledger = LedgerWriter(
        db,
        checkpoint_every=max(entries // 10, 1),
        private_key=InstanceKey(settings.signing_key_path).private,
        at=BASE_TIME,
    )
    actor = f"user:{owner.user_id}"

    def add(row: dict[str, Any], action: str, details: dict[str, Any]) -> None:
        ledger.append(
            actor=actor,
            action=action,
            case_id=owner.case_id,
            evidence_id=row["id"],
            sha256=row["sha256"],
            details=details,
        )

    for row in rows:
        add(row, "ingested", ingest_details(row, links_for(row["number"], incident_ids, items)))
    for n in range(entries - 2 * items):
        roll = rng.random()
        action = "viewed" if roll < 0.6 else "downloaded" if roll < 0.85 else "transferred"
        add(rng.choice(rows), action, event_details(action, n))
    for row in rows:
        add(row, "fixity_verified", {})
    ledger.finish()
    db.dispose()

    env = instance_env(path) | {
        "FLASK_DEBUG": "0",
        "PYTHONUNBUFFERED": "1",
        # No scheduled checkpoint job in the middle of the measurement: only the verification runs.
        "CASEFILE_CHECKPOINT_MINUTES": "0",
    }
    if url:
        env["CASEFILE_DATABASE_URL"] = url
    return Instance(engine, path, env, owner, items, entries, blob_bytes, time.perf_counter() - started)


# --- processes ---------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(cmd: list[str], env: dict[str, str], log_path: Path, ready: Callable[[], bool]) -> subprocess.Popen[bytes]:
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{cmd[3:]} exited ({proc.returncode}); {log_path}:\n{log_path.read_text()[-2000:]}")
        if ready():
            return proc
        time.sleep(0.1)
    stop(proc)
    raise RuntimeError(f"{cmd[3:]} was not ready within 60 s; see {log_path}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()  # the worker hands a running job back and exits; the server just exits
        try:
            proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def listening(port: int) -> Callable[[], bool]:
    def check() -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            return False

    return check


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (from /proc/<pid>/stat)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- the client --------------------------------------------------------------------------------------------


class Client:
    """A browser-like session (its cookies, logged in through the login form) and an API token, over loopback.
    One connection per request (http.client), as a browser's request would find the server."""

    def __init__(self, port: int, owner: Owner) -> None:
        self.port = port
        self.owner = owner
        self.cookies = http.cookies.SimpleCookie()

    def call(
        self, path: str, *, api: bool = False, method: str = "GET", body: bytes | None = None, form: bool = False
    ) -> tuple[int, bytes, float]:
        """(status, body, seconds from sending the request to the last byte of the response)."""
        headers = {"Authorization": f"Bearer {self.owner.token}", "Accept": "application/json"} if api else {}
        if not api and self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={m.value}" for k, m in self.cookies.items())
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded" if form else "application/json"
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        started = time.perf_counter()
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            payload = response.read()
        finally:
            conn.close()
        elapsed = time.perf_counter() - started
        if not api:
            for value in response.headers.get_all("Set-Cookie") or []:
                self.cookies.load(value)
        return response.status, payload, elapsed

    def api(self, path: str, body: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
        data = json.dumps(body).encode() if body is not None else None
        status, payload, _s = self.call(path, api=True, method="POST" if data is not None else "GET", body=data)
        try:
            return status, json.loads(payload)
        except ValueError:
            return status, {"raw": payload[:300].decode(errors="replace")}

    def login(self) -> None:
        _status, page, _s = self.call("/login")
        match = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page)
        fields = {"email": self.owner.email, "password": PASSWORD}
        if match:
            fields["csrf_token"] = match.group(1).decode()
        data = urllib.parse.urlencode(fields).encode()
        status, _page, _s = self.call("/login", method="POST", body=data, form=True)
        if status != 302:
            raise RuntimeError(f"login failed: HTTP {status}")

    def job(self, job_id: str) -> dict[str, Any]:
        status, payload = self.api(f"/api/v1/jobs/{job_id}")
        if status != 200:
            raise RuntimeError(f"GET /api/v1/jobs/{job_id}: HTTP {status} {payload}")
        return payload


def phase_of(job: dict[str, Any]) -> str:
    message = job["progress"]["message"]
    if message.startswith("Recording"):  # the fixity entries, appended in short slices
        return COMMIT_PHASE
    return FILES_PHASE if message.startswith("Re-hashing") else CHAIN_PHASE


@dataclass
class Sample:
    ms: float
    phase: str = ""


@dataclass
class Run:
    idle: list[Sample] = field(default_factory=list)
    window: list[Sample] = field(default_factory=list)
    rest: list[Sample] = field(default_factory=list)  # after the window, until the job ended
    progress: list[tuple[str, float, dict[str, Any]]] = field(default_factory=list)  # (when, s since submission, job)
    job: dict[str, Any] = field(default_factory=dict)
    job_s: float = 0.0
    window_s: float = 0.0
    idle_s: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)  # "<phase> <process>" -> CPU seconds
    loads: list[float] = field(default_factory=list)
    error: str | None = None


def list_page(client: Client, path: str) -> float:
    status, body, seconds = client.call(path)
    if status != 200 or b"JOB-" not in body:
        raise RuntimeError(f"GET {path}: HTTP {status}")
    return seconds * 1000


def progress_text(job: dict[str, Any]) -> str:
    p = job["progress"]
    total = "?" if p["total"] is None else f"{p['total']:,}"
    return f"{job['state']}, {p['done']:,}/{total} ({p['message'] or '-'})"


def measure(inst: Instance, args: argparse.Namespace, log_dir: Path) -> Run:
    run = Run()
    port = free_port()
    server_cmd = [sys.executable, "-m", "flask", "--app", "app", "run", "--no-reload", "--host", "127.0.0.1"]
    server = start([*server_cmd, "--port", str(port)], inst.env, log_dir / "server.log", listening(port))
    worker_log = log_dir / "worker.log"
    worker_cmd = [sys.executable, "-m", "flask", "--app", "app", "jobs", "worker"]
    worker = start(worker_cmd, inst.env, worker_log, lambda: b"Worker:" in worker_log.read_bytes())
    procs = {"server": server.pid, "worker": worker.pid}

    def cpu_now() -> dict[str, float]:
        return {name: cpu_seconds(pid) for name, pid in procs.items()}

    def cpu_delta(label: str, before: dict[str, float]) -> None:
        for name, value in cpu_now().items():
            run.cpu[f"{label} {name}"] = value - before[name]

    try:
        client = Client(port, inst.owner)
        client.login()
        path = f"/cases/{inst.owner.case_id}/evidence"
        for _ in range(args.warmup):
            list_page(client, path)
            client.call(f"/api/v1/jobs?case_id={inst.owner.case_id}", api=True)

        # Idle baseline: the same pattern as under load (a measured page, then an untimed API read of jobs).
        before, started = cpu_now(), time.perf_counter()
        for _ in range(args.requests):
            run.idle.append(Sample(list_page(client, path)))
            client.call(f"/api/v1/jobs?case_id={inst.owner.case_id}", api=True)
        run.idle_s = time.perf_counter() - started
        cpu_delta("idle", before)
        run.loads.append(os.getloadavg()[0])

        status, created = client.api(
            "/api/v1/custody/verifications", {"case_id": str(inst.owner.case_id), "fixity": True}
        )
        if status != 202:
            raise RuntimeError(f"POST /api/v1/custody/verifications: HTTP {status} {created}")
        job_id = created["id"]
        submitted = time.perf_counter()
        job = client.job(job_id)
        while job["state"] == "queued" and time.perf_counter() - submitted < 30:
            time.sleep(0.02)
            job = client.job(job_id)
        if job["state"] != "running":
            raise RuntimeError(f"the verification job did not start running: {progress_text(job)}")
        run.progress.append(("window start", time.perf_counter() - submitted, job))

        # The window: each measured request is bracketed by two reads of the job that say `running`.
        before, started = cpu_now(), time.perf_counter()
        for _ in range(args.requests):
            phase = phase_of(job)
            ms = list_page(client, path)
            job = client.job(job_id)
            if job["state"] != "running":
                run.error = (
                    f"the job ended ({job['state']}) after {len(run.window)} of {args.requests} requests of the "
                    "window: make it longer (--items, --entries, --blob-size)"
                )
                break
            run.window.append(Sample(ms, phase))
        run.window_s = time.perf_counter() - started
        cpu_delta("window", before)
        run.loads.append(os.getloadavg()[0])
        run.progress.append(("window end", time.perf_counter() - submitted, job))

        # The rest of the job, through its final commit. Here every request that started while the job was
        # running counts, the one that overlapped its end too: a stall behind the job's last transaction shows.
        before, started = cpu_now(), time.perf_counter()
        while job["state"] == "running" and time.perf_counter() - submitted < args.max_job_seconds:
            phase = phase_of(job)
            run.rest.append(Sample(list_page(client, path), phase))
            job = client.job(job_id)
            if job["state"] == "running" and phase != phase_of(job):
                run.progress.append((f"{phase} -> {phase_of(job)}", time.perf_counter() - submitted, job))
        cpu_delta("rest", before)
        if job["state"] == "running":
            client.api(f"/api/v1/jobs/{job_id}/cancel", {})
            run.error = f"the job was still running after {args.max_job_seconds:.0f} s and was cancelled"
        run.job_s = time.perf_counter() - submitted
        run.loads.append(os.getloadavg()[0])
        run.progress.append(("end", time.perf_counter() - submitted, job))
        run.job = job
    finally:
        stop(worker)
        stop(server)
    return run


# --- report ------------------------------------------------------------------------------------------------


def stats(samples: list[Sample]) -> tuple[str, str, str, str]:
    values = [s.ms for s in samples]
    if not values:
        return ("0", "-", "-", "-")
    return (
        f"{len(values):,}",
        f"{statistics.median(values):.1f}",
        f"{percentile(values, 95):.1f}",
        f"{max(values):.1f}",
    )


def report(inst: Instance, run: Run, args: argparse.Namespace) -> list[list[str]]:
    """Print the engine's figures; return its rows of the final checks."""
    idle_p95 = percentile([s.ms for s in run.idle], 95)
    print()
    print(
        f"## {inst.engine}: evidence list page (50 rows of {inst.items:,} items, HTML, logged in) while "
        f"`custody.verify` (fixity) runs; {inst.entries:,} ledger entries, {inst.blob_bytes / 2**20:,.0f} MiB of blobs"
    )
    print()
    rows = [["idle (baseline)", *stats(run.idle), "1.00"]]
    for label, samples in (("job running: window", run.window), ("job running: rest of the job", run.rest)):
        count, p50, p95, worst = stats(samples)
        ratio = f"{float(p95) / idle_p95:.2f}" if samples else "-"
        rows.append([label, count, p50, p95, worst, ratio])
        for phase in (CHAIN_PHASE, FILES_PHASE, COMMIT_PHASE):
            part = [s for s in samples if s.phase == phase]
            if part and len(part) != len(samples):
                count, p50, p95, worst = stats(part)
                rows.append([f"  of which {phase}", count, p50, p95, worst, f"{float(p95) / idle_p95:.2f}"])
    print(table(["phase", "requests", "p50 ms", "p95 ms", "max ms", "p95 / idle p95"], rows))
    print()
    print(
        table(
            ["job", "s since submitted", "state and progress (from GET /api/v1/jobs/{id})"],
            [[when, f"{at:.1f}", progress_text(job)] for when, at, job in run.progress],
        )
    )
    result = run.job.get("result") or {}
    print()
    cpu = run.cpu
    print(
        f"idle {run.idle_s:.1f} s; window {run.window_s:.1f} s; job {run.job_s:.1f} s from submission "
        f"(result: ok={result.get('ok')}, {result.get('checked', 0):,} entries, "
        f"{result.get('items_checked', 0):,} files, {result.get('checkpoints_checked', 0)} checkpoints)"
    )
    if run.idle_s and run.window_s:
        print(
            "CPU use (cores): idle: server {:.2f}, worker {:.2f}; window: server {:.2f}, worker {:.2f}".format(
                cpu["idle server"] / run.idle_s,
                cpu["idle worker"] / run.idle_s,
                cpu["window server"] / run.window_s,
                cpu["window worker"] / run.window_s,
            )
            + f"; 1-min load average after idle / window / job: {' / '.join(f'{v:.1f}' for v in run.loads)}"
        )
    checks = []
    for label, samples in (("window", run.window), ("rest of the job", run.rest)):
        if not samples:
            continue
        ratio = percentile([s.ms for s in samples], 95) / idle_p95
        checks.append(
            [f"{inst.engine}: p95 {label} / p95 idle", f"{ratio:.2f}", f"<= {TARGET_RATIO:g}", verdict(ratio <= 2)]
        )
    complete = run.error is None and len(run.window) == args.requests and result.get("ok") is True
    checks.append(
        [
            f"{inst.engine}: window complete, job succeeded and ok",
            "yes" if complete else f"NO ({run.error or run.job.get('state')})",
            "yes",
            verdict(complete),
        ]
    )
    return checks


def run_all(args: argparse.Namespace) -> bool:
    checks: list[list[str]] = []
    with temp_dir("casefile-bench-jobs-", args.keep) as root:
        for engine in args.engines:
            with database(engine, args.keep) as url:
                print(
                    f"{engine}: seeding {args.items:,} items ({args.blob_size // KIB} KiB blobs), "
                    f"{args.entries:,} ledger entries ...",
                    flush=True,
                )
                inst = seed(
                    root / engine, engine, url, items=args.items, entries=args.entries, blob_size=args.blob_size
                )
                print(f"{engine}: seeded in {inst.seed_s:.1f} s; measuring ...", flush=True)
                try:
                    run = measure(inst, args, root / engine)
                except RuntimeError as error:
                    print(f"{engine}: {error}")
                    checks.append([f"{engine}: measured", "NO", "yes", "FAIL"])
                    continue
                checks.extend(report(inst, run, args))
    print()
    print(table(["check", "measured", "target", "result"], checks))
    ok = all(row[-1] == "PASS" for row in checks)
    print(f"\njobs: {verdict(ok)}")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke size: 2,000 items / 20,000 entries, 30 requests")
    parser.add_argument("--engines", default=",".join(ENGINES), help="comma-separated: sqlite,postgresql")
    parser.add_argument("--items", type=int, help="evidence items, each with a blob (default 10,000)")
    parser.add_argument("--entries", type=int, help="custody entries (default 10 x items)")
    parser.add_argument("--blob-size", type=int, default=32 * KIB, help="bytes per blob (default 32 KiB)")
    parser.add_argument("--requests", type=int, help="measured requests idle and in the window (default 100)")
    parser.add_argument("--warmup", type=int, default=5, help="unmeasured requests first (default 5)")
    parser.add_argument("--max-job-seconds", type=float, default=300, help="cancel the job after this long")
    parser.add_argument("--keep", action="store_true", help="keep the temporary instances (and PostgreSQL databases)")
    args = parser.parse_args(argv)
    quick = args.quick or quick_from_env()
    args.items = args.items or (2_000 if quick else 10_000)
    args.entries = args.entries or 10 * args.items
    args.requests = args.requests or (30 if quick else 100)
    args.engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    if not args.engines or any(e not in ENGINES for e in args.engines):
        parser.error(f"--engines takes {', '.join(ENGINES)}")
    return 0 if run_all(args) else 1


if __name__ == "__main__":
    sys.exit(main())
