"""Ledger verification benchmark: `verify_ledger` over a large chain vs a plain hashing loop.

    .venv/bin/python -m bench.verify                  # 1,000,000 entries (default)
    .venv/bin/python -m bench.verify --quick          # 100,000 entries (or CASEFILE_BENCH_QUICK=1)
    .venv/bin/python -m bench.verify --entries 250000

A throwaway SQLite instance is seeded in bulk (SQLAlchemy core, batches of 20,000) with `--items` evidence
items and a valid `--entries`-entry custody chain: an `ingested` entry per item, then views, downloads,
hand-overs and a few case-level exports, with a signed checkpoint every `--checkpoint-every` entries. Then
`casefile.custody.verify.verify_ledger(session, None, public_pem, workers=1)` (no fixity) runs in a fresh child
process, so its peak RSS (`ru_maxrss`) growth is its own; the child also times how long that walk waits for its rows
(entries with their items), to show how much of the time is the database. Then it runs again as the verification
job does: in slices, one process per CPU.

Baseline, same run: a plain loop that computes SHA-256 over the canonical JSON bytes of every entry, from an
in-memory list of the same dicts. Reported: entries/s of each and the ratios to the baseline; the target (issue #21)
is >= 0.5 for the verification in slices, judged when the ledger is at least two slices long.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file (python bench/verify.py): make `bench` and `casefile` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import (
    BASE_TIME,
    REPO,
    LedgerWriter,
    bulk_engine,
    create_owner_and_case,
    event_details,
    ingest_details,
    insert_rows,
    item_rows,
    make_instance,
    proc_status_kib,
    quick_from_env,
    reset_peak_rss,
    table,
    temp_dir,
    verdict,
)


def build(
    root: Path, entries: int, items: int, checkpoint_every: int
) -> tuple[Any, list[dict[str, Any]], list[str], float]:
    """Seed the instance; returns (settings, hashed bodies, entry hashes, seconds)."""
    from casefile import create_app
    from casefile.custody.keys import InstanceKey
    from casefile.evidence.models import EvidenceItem

    started = time.perf_counter()
    rng = random.Random(7)
    settings = make_instance(root / "instance")
    app = create_app(settings)
    owner = create_owner_and_case(app, "VRF")
    app.extensions["casefile_db"].dispose()

    engine = bulk_engine(settings.database_url)
    items = min(items, entries)
    rows = item_rows(rng, owner.case_id, "VRF", items, owner.user_id)
    insert_rows(engine, EvidenceItem.__table__, rows)

    bodies: list[dict[str, Any]] = []
    hashes: list[str] = []
    ledger = LedgerWriter(
        engine,
        checkpoint_every=checkpoint_every,
        private_key=InstanceKey(settings.signing_key_path).private,
        keep_bodies=bodies,
        at=BASE_TIME,
    )
    actor = f"user:{owner.user_id}"
    report_every = max(entries // 10, 1)
    for n in range(entries):
        if n < items:
            row, action, details = rows[n], "ingested", ingest_details(rows[n])
        else:
            row = rows[rng.randrange(items)]
            roll = rng.random()
            action = "viewed" if roll < 0.6 else "downloaded" if roll < 0.85 else "transferred"
            details = event_details(action, n)
            if roll > 0.99:  # a case-level entry that names no item
                row, action, details = None, "exported", {"case": "VRF", "items": items, "format": "zip"}
        hashes.append(
            ledger.append(
                actor=actor,
                action=action,
                case_id=owner.case_id,
                evidence_id=row["id"] if row else None,
                sha256=row["sha256"] if row else None,
                details=details,
            )
        )
        if (n + 1) % report_every == 0:
            print(f"  {n + 1:,} entries written ({time.perf_counter() - started:.0f} s)", flush=True)
    ledger.finish()
    engine.dispose()
    return settings, bodies, hashes, time.perf_counter() - started


def baseline(bodies: list[dict[str, Any]], hashes: list[str]) -> tuple[float, float, int]:
    """Plain loop: SHA-256 over the canonical JSON bytes of each entry (same encoding rules as the ledger).
    Returns (wall seconds, CPU seconds, hashes that differ from the stored ones)."""
    encode = json.JSONEncoder(
        sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False, check_circular=False
    ).encode
    sha256 = hashlib.sha256
    mismatches = 0
    cpu = time.process_time()
    started = time.perf_counter()
    for body, expected in zip(bodies, hashes, strict=True):
        if sha256(encode(body).encode("utf-8")).hexdigest() != expected:
            mismatches += 1
    return time.perf_counter() - started, time.process_time() - cpu, mismatches


def child() -> int:
    """The verifier process. It is started first, while the parent is still small (Linux carries a parent's
    peak RSS over into the ru_maxrss of a child it forks and execs), and waits for the instance on stdin;
    then it times verify_ledger and its peak RSS.

    The time verify spends waiting for rows is measured inside the same run: the reference verify_ledger holds to
    `_entries_with_items` (entries and their items, in batches) is wrapped (the application's code is unchanged) by
    a generator that adds up the wall time of each `next()` (two perf_counter calls per batch of 10,000 entries)."""
    from sqlalchemy import text

    import casefile.models  # noqa: F401 - every mapped class, so relationships resolve as in the app
    from casefile.custody import verify as verify_module
    from casefile.custody.keys import InstanceKey
    from casefile.custody.verify import _cpus, verify_ledger
    from casefile.db import Database

    reading = {"s": 0.0, "n": 0}

    def timed_entries_with_items(session: Any, **kwargs: Any) -> Any:
        rows = entries_with_items(session, **kwargs)
        clock = time.perf_counter
        spent, count = 0.0, 0
        try:
            while True:
                started = clock()
                try:
                    batch = next(rows)
                except StopIteration:
                    spent += clock() - started
                    return
                spent += clock() - started
                count += len(batch)
                yield batch
        finally:
            reading["s"] += spent
            reading["n"] += count

    entries_with_items = verify_module._entries_with_items
    verify_module._entries_with_items = timed_entries_with_items  # type: ignore[assignment]

    inherited = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    line = sys.stdin.readline()
    if not line.strip():
        return 0  # the parent gave up before sending an instance
    job = json.loads(line)
    database = Database(job["database_url"])
    public_pem = InstanceKey(Path(job["key_path"])).public_pem
    with database.read_sessionmaker() as session:
        session.execute(text("SELECT 1")).all()
    pid = os.getpid()
    hwm_reset = reset_peak_rss(pid)
    rss_before = proc_status_kib(pid, "VmRSS")
    maxrss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with database.read_sessionmaker() as session:
        cpu = time.process_time()
        started = time.perf_counter()
        report = verify_ledger(session, None, public_pem, workers=1)
        verify_s = time.perf_counter() - started
        verify_cpu = time.process_time() - cpu
    maxrss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    hwm_after = proc_status_kib(pid, "VmHWM")
    read_s, read = reading["s"], reading["n"]  # the walk in order's own (a ledger of one slice is walked so again)
    # Then as the verification job runs it: in slices, one process per CPU.
    with database.read_sessionmaker() as session:
        cpu = time.process_time()
        started = time.perf_counter()
        sliced = verify_ledger(session, None, public_pem)
        sliced_s = time.perf_counter() - started
        sliced_cpu = time.process_time() - cpu  # this process only: the slices run in the fork server's children
    database.dispose()
    result = {
        "verify_s": verify_s,
        "verify_cpu": verify_cpu,
        "read_s": read_s,
        "read": read,
        "ok": report.ok,
        "checked": report.checked,
        "checkpoints": report.checkpoints_checked,
        "problems": [p.message for p in report.problems[:5]],
        "maxrss_inherited_kib": inherited,
        "maxrss_before_kib": maxrss_before,
        "maxrss_after_kib": maxrss_after,
        "rss_before_kib": rss_before,
        "hwm_after_kib": hwm_after if hwm_reset else None,
        "sliced_s": sliced_s,
        "sliced_cpu": sliced_cpu,
        "sliced_ok": sliced.ok,
        "sliced_checked": sliced.checked,
        "sliced_checkpoints": sliced.checkpoints_checked,
        "workers": _cpus(),
    }
    print("RESULT " + json.dumps(result), flush=True)
    return 0


def start_child() -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASEFILE_")}
    cmd = [sys.executable, "-m", "bench.verify", "--child"]
    pipe = subprocess.PIPE
    return subprocess.Popen(cmd, cwd=REPO, env=env, stdin=pipe, stdout=pipe, stderr=pipe, text=True)


def finish_child(proc: subprocess.Popen[str], settings: Any) -> dict[str, Any]:
    job = {"database_url": settings.database_url, "key_path": str(settings.signing_key_path)}
    out, err = proc.communicate(json.dumps(job) + "\n")
    if proc.returncode != 0:
        raise RuntimeError(f"the verify child failed ({proc.returncode}):\n{err[-3000:]}")
    line = next(line for line in out.splitlines() if line.startswith("RESULT "))
    return json.loads(line.removeprefix("RESULT "))


def run(args: argparse.Namespace) -> bool:
    verifier = start_child()  # first, while this process is small (see child())
    try:
        with temp_dir("casefile-bench-verify-", args.keep) as root:
            return report(args, root, verifier)
    finally:
        if verifier.poll() is None:
            verifier.kill()
            verifier.wait()


def report(args: argparse.Namespace, root: Path, verifier: subprocess.Popen[str]) -> bool:
    from casefile.custody.verify import SLICE_ENTRIES

    print(f"building a {args.entries:,}-entry ledger over {args.items:,} items ...", flush=True)
    settings, bodies, hashes, build_s = build(root, args.entries, args.items, args.checkpoint_every)
    db_mib = Path(settings.database_url.removeprefix("sqlite:///")).stat().st_size / 2**20
    print(f"built in {build_s:.1f} s ({args.entries / build_s:,.0f} entries/s); database {db_mib:,.0f} MiB")

    # The baseline runs before and after verify; the faster run is used (the stricter ratio).
    base_s1, base_cpu1, mismatches = baseline(bodies, hashes)
    print("running verify_ledger in the child process ...", flush=True)
    result = finish_child(verifier, settings)
    base_s2, base_cpu2, _ = baseline(bodies, hashes)
    base_s, base_cpu = min(base_s1, base_s2), min(base_cpu1, base_cpu2)

    n = args.entries
    verify_rate, verify_cpu_rate = n / result["verify_s"], n / result["verify_cpu"]
    base_rate, base_cpu_rate = n / base_s, n / base_cpu
    maxrss_growth = (result["maxrss_after_kib"] - result["maxrss_before_kib"]) / 1024
    hwm = result["hwm_after_kib"]
    hwm_growth = f"{(hwm - result['rss_before_kib']) / 1024:.1f} MiB" if hwm is not None else "n/a (no clear_refs)"
    expected_checkpoints = n // args.checkpoint_every if args.checkpoint_every else 0
    sliced_ratio = n / result["sliced_s"] / base_rate
    print()
    print(
        f"## Ledger verification: {n:,} entries, {args.items:,} items, {expected_checkpoints} signed checkpoints "
        f"(SQLite {db_mib:,.0f} MiB, no fixity)"
    )
    print()
    print(
        table(
            ["measure", "wall s", "entries/s (wall)", "CPU s", "entries/s per CPU-second"],
            [
                [
                    "verify_ledger (fresh child process)",
                    f"{result['verify_s']:.2f}",
                    f"{verify_rate:,.0f}",
                    f"{result['verify_cpu']:.2f}",
                    f"{verify_cpu_rate:,.0f}",
                ],
                [
                    "  of which waiting for rows (entries and their items)",
                    f"{result['read_s']:.2f}",
                    f"{n / result['read_s']:,.0f}",
                    "",
                    "",
                ],
                [
                    "baseline: sha256(canonical JSON) over in-memory dicts, best of 2",
                    f"{base_s:.2f} ({base_s1:.2f} / {base_s2:.2f})",
                    f"{base_rate:,.0f}",
                    f"{base_cpu:.2f}",
                    f"{base_cpu_rate:,.0f}",
                ],
                [
                    f"verify_ledger in slices, {result['workers']} processes (as the job runs it)",
                    f"{result['sliced_s']:.2f}",
                    f"{n / result['sliced_s']:,.0f}",
                    f"{result['sliced_cpu']:.2f} (this process; the slices' are not counted)",
                    "",
                ],
                ["(building the ledger)", f"{build_s:.1f}", f"{n / build_s:,.0f}", "", ""],
            ],
        )
    )
    print()
    print(
        table(
            ["figure", "value"],
            [
                ["ratio verify / baseline, entries/s (wall)", f"{verify_rate / base_rate:.3f}"],
                ["ratio verify / baseline, entries/s per CPU-second", f"{verify_cpu_rate / base_cpu_rate:.3f}"],
                ["**ratio in slices / baseline, entries/s (wall)** (target >= 0.5)", f"{sliced_ratio:.3f}"],
                ["share of verify wall time spent waiting for rows", f"{result['read_s'] / result['verify_s']:.0%}"],
                [
                    "verify ru_maxrss before / after",
                    f"{result['maxrss_before_kib'] / 1024:.1f} / {result['maxrss_after_kib'] / 1024:.1f} MiB",
                ],
                ["verify peak RSS growth (ru_maxrss)", f"{maxrss_growth:.1f} MiB"],
                ["verify peak RSS growth (VmHWM over VmRSS before)", hwm_growth],
                ["report", f"ok={result['ok']} checked={result['checked']:,} checkpoints={result['checkpoints']}"],
                [
                    "report in slices",
                    f"ok={result['sliced_ok']} checked={result['sliced_checked']:,} "
                    f"checkpoints={result['sliced_checkpoints']}",
                ],
                ["1-min load average at the end (2 CPUs)", f"{os.getloadavg()[0]:.1f}"],
            ],
        )
    )
    checks_ok = (
        result["ok"]
        and result["checked"] == n
        and result["read"] == n
        and result["checkpoints"] == expected_checkpoints
        and mismatches == 0
        and result["sliced_ok"]
        and result["sliced_checked"] == n
        and result["sliced_checkpoints"] == expected_checkpoints
    )
    # Below two slices the walk is one process: the throughput target is for ledgers long enough to be sliced.
    sliced = n >= 2 * SLICE_ENTRIES and result["workers"] > 1
    fast_enough = sliced_ratio >= 0.5 or not sliced
    if result["problems"]:
        print("problems:", *result["problems"], sep="\n  ")
    if mismatches:
        print(f"baseline: {mismatches} hashes differ from the ledger's")
    print(f"\nverify: {verdict(checks_ok)} (verified in order and in slices; every entry and checkpoint checked)")
    if sliced:
        print(f"throughput: {verdict(fast_enough)} (in slices, {sliced_ratio:.2f}x the hashlib loop; target 0.5x)")
    else:
        print("throughput: not judged (fewer than two slices or one CPU: the walk is one process)")
    return checks_ok and fast_enough


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        return child()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, help="ledger entries (default 1,000,000; --quick 100,000)")
    parser.add_argument("--items", type=int, default=10_000, help="evidence items the entries refer to")
    parser.add_argument("--checkpoint-every", type=int, help="sign a checkpoint every N entries (0: none)")
    parser.add_argument("--quick", action="store_true", help="100,000 entries")
    parser.add_argument("--keep", action="store_true", help="keep the temporary instance")
    args = parser.parse_args(argv)
    quick = args.quick or quick_from_env()
    args.entries = args.entries or (100_000 if quick else 1_000_000)
    if args.checkpoint_every is None:
        args.checkpoint_every = max(args.entries // 10, 1)
    return 0 if run(args) else 1


if __name__ == "__main__":
    sys.exit(main())
