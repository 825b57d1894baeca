"""Merkle proofs from stored subtree roots vs from a tree of the whole ledger built in memory.

    .venv/bin/python -m bench.merkle_proofs                 # 1,000,000 entries (default)
    .venv/bin/python -m bench.merkle_proofs --quick         # 100,000 entries (or CASEFILE_BENCH_QUICK=1)
    .venv/bin/python -m bench.merkle_proofs --entries 250000 --proofs 500

A throwaway SQLite instance is seeded in bulk with a valid `--entries`-entry chain (bench._common.LedgerWriter,
which writes the stored subtree roots as the ledger does). Then, in this process, each way answers the same
questions: the root, `--proofs` inclusion proofs at random leaves and a consistency proof from half the ledger:

- stored: `casefile.custody.subtrees.StoredTree` (what dossiers, the consistency API and published-head checks
  use now): O(log n) reads per proof;
- baseline, same run: `casefile.custody.merkle.MerkleTree` over every entry hash read from the ledger (what they
  used before: ~64 bytes per entry held in memory).

Every proof of both is checked against the root. Reported: seconds, peak RSS growth (VmHWM, reset before each), and
the ratios stored / in-memory. Targets: identical proofs; stored peak memory flat (< 20 MiB) and at most 1/5 of the
in-memory tree's; stored time at most the in-memory time.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: make `bench` and `casefile` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import (
    BASE_TIME,
    LedgerWriter,
    bulk_engine,
    create_owner_and_case,
    make_instance,
    proc_status_kib,
    quick_from_env,
    reset_peak_rss,
    table,
    temp_dir,
    verdict,
)

MIB_KIB = 1024


def build(root: Path, entries: int) -> Any:
    from casefile import create_app

    settings = make_instance(root / "instance")
    app = create_app(settings)
    owner = create_owner_and_case(app, "MRK")
    app.extensions["casefile_db"].dispose()
    engine = bulk_engine(settings.database_url)
    ledger = LedgerWriter(engine, at=BASE_TIME)
    for n in range(entries):
        ledger.append(
            actor="system", action="note", case_id=owner.case_id, evidence_id=None, sha256=None, details={"n": n}
        )
    ledger.finish()
    engine.dispose()
    return settings


def measure(label: str, run: Any) -> tuple[float, float, Any]:
    """(seconds, peak RSS growth in MiB, result) of `run()` in this process."""
    pid = os.getpid()
    before = proc_status_kib(pid, "VmRSS")
    reset_peak_rss(pid)
    started = time.perf_counter()
    result = run()
    seconds = time.perf_counter() - started
    growth = (proc_status_kib(pid, "VmHWM") - before) / MIB_KIB
    print(f"  {label}: {seconds:.2f} s, peak RSS +{growth:.1f} MiB", flush=True)
    return seconds, growth, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=int, default=None)
    parser.add_argument("--proofs", type=int, default=200)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    entries = args.entries or (100_000 if args.quick or quick_from_env() else 1_000_000)

    from sqlalchemy.orm import Session

    from casefile.custody import ledger as ledger_module
    from casefile.custody.merkle import MerkleTree, verify_consistency, verify_inclusion
    from casefile.custody.subtrees import StoredTree, leaf_data
    from casefile.db import make_engine

    with temp_dir("casefile-bench-merkle-") as root:
        print(f"Seeding {entries:,} ledger entries …", flush=True)
        started = time.perf_counter()
        settings = build(root, entries)
        print(f"  seeded in {time.perf_counter() - started:.0f} s", flush=True)
        rng = random.Random(11)
        indices = [rng.randrange(entries) for _ in range(args.proofs)]
        half = entries // 2

        def answers(tree: Any) -> tuple[bytes, list[list[bytes]], list[bytes]]:
            return tree.root(), [tree.inclusion_proof(i) for i in indices], tree.consistency_proof(half)

        engine = make_engine(settings.database_url, immediate=False)
        with Session(engine) as session:
            stored_s, stored_mib, stored = measure(
                "stored subtree roots", lambda: answers(StoredTree(session, entries))
            )
        with Session(engine) as session:
            memory_s, memory_mib, in_memory = measure(
                "whole tree in memory",
                lambda: answers(
                    MerkleTree(leaf_data(f["entry_hash"]) for f in ledger_module.iter_entry_fields(session))
                ),
            )
            leaves = {i: leaf_data(f["entry_hash"]) for i, f in enumerate(ledger_module.iter_entry_fields(session))}
        engine.dispose()

    root_hash, proofs, consistency = stored
    same = stored == in_memory
    valid = all(
        verify_inclusion(leaves[i], i, entries, proof, root_hash) for i, proof in zip(indices, proofs, strict=True)
    ) and verify_consistency(half, entries, MerkleTree([leaves[i] for i in range(half)]).root(), root_hash, consistency)
    memory_ratio = stored_mib / memory_mib if memory_mib > 0 else 0.0
    time_ratio = stored_s / memory_s if memory_s > 0 else 0.0
    checks = [
        ("proofs identical, and each verifies against the root", f"{same}, {valid}", "yes, yes", same and valid),
        ("stored: peak RSS growth", f"{stored_mib:.1f} MiB", "< 20 MiB", stored_mib < 20),
        ("ratio peak RSS stored / in memory", f"{memory_ratio:.3f}", "<= 0.2", memory_ratio <= 0.2),
        ("ratio time stored / in memory", f"{time_ratio:.3f}", "<= 1", time_ratio <= 1),
    ]
    print()
    print(
        table(
            ["figure", "stored subtrees", "whole tree in memory"],
            [
                ("entries", f"{entries:,}", f"{entries:,}"),
                (
                    f"root + {args.proofs} inclusion proofs + 1 consistency proof",
                    f"{stored_s:.2f} s",
                    f"{memory_s:.2f} s",
                ),
                ("peak RSS growth", f"{stored_mib:.1f} MiB", f"{memory_mib:.1f} MiB"),
            ],
        )
    )
    print()
    print(table(["check", "measured", "target", "result"], [(*c[:3], verdict(c[3])) for c in checks]))
    ok = all(c[3] for c in checks)
    print(f"\nmerkle_proofs: {verdict(ok)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
