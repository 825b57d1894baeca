"""Near-duplicate lookup benchmark: finding an image's near-duplicates must not slow down as the case grows.

    .venv/bin/python -m bench.near_duplicates            # 10k then 100k images
    .venv/bin/python -m bench.near_duplicates --quick    # 1k then 10k

A throwaway instance (SQLite) gets a case whose images' perceptual hashes are seeded in bulk, exactly as ingest
stores them (ImageHash rows and their 16-bit chunk index, casefile/evidence/similar.py): random PDQ and pHash values
(both are median-thresholded, so their bits are balanced as random bits are), plus 50 planted near-duplicates
(PDQ 24 bits and pHash 6 bits away from an image). The lookup is `similar.candidates`, the one the item page and
the API call; it is timed for 200 images at the small size, then again after the case has grown tenfold.

Baseline, in the same run: the scan the index replaces (every hash of the case read and compared), at both sizes.

Targets: lookup median at the large size <= 3 x the median at the small size; every planted near-duplicate found.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import (
    bulk_engine,
    create_owner_and_case,
    insert_rows,
    item_rows,
    make_instance,
    quick_from_env,
    table,
    temp_dir,
    verdict,
)

QUERIES = 200
PLANTED = 50


def flip(hex_hash: str, bits: int, rng: random.Random) -> str:
    value = int(hex_hash, 16)
    for bit in rng.sample(range(len(hex_hash) * 4), bits):
        value ^= 1 << bit
    return f"{value:0{len(hex_hash)}x}"


def hash_rows(rng: random.Random, items: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    from casefile.evidence.similar import PDQ, PHASH, _keys

    hashes, keys = [], []
    for item in items:
        dihedral = [f"{rng.getrandbits(256):064x}" for _ in range(8)]
        phash = f"{rng.getrandbits(64):016x}"
        hashes.append(
            {
                "evidence_id": item["id"],
                "case_id": item["case_id"],
                "pdq": dihedral[0],
                "pdq_dihedral": "".join(dihedral),
                "pdq_quality": 100,
                "phash": phash,
                "phash_mirror": f"{rng.getrandbits(64):016x}",
            }
        )
    for row in hashes:
        for scheme, value in ((PDQ, row["pdq"]), (PHASH, row["phash"])):
            for key in set(_keys(value)):
                keys.append(
                    {"evidence_id": row["evidence_id"], "scheme": scheme, "key": key, "case_id": row["case_id"]}
                )
    return hashes, keys


def plant(rng: random.Random, hashes: list[dict[str, Any]], count: int) -> list[tuple[Any, Any]]:
    """Make `count` images near-duplicates of others (in place): (original, copy) pairs."""
    pairs = []
    chosen = rng.sample(range(0, len(hashes) - 1, 2), count)
    for index in chosen:
        original, copy = hashes[index], hashes[index + 1]
        copy["pdq"] = flip(original["pdq"], 24, rng)
        copy["pdq_dihedral"] = copy["pdq"] + copy["pdq_dihedral"][64:]
        copy["phash"] = flip(original["phash"], 6, rng)
        pairs.append((original["evidence_id"], copy["evidence_id"]))
    return pairs


def scan(session: Any, case_id: Any, query: Any) -> int:
    """The baseline: every hash of the case compared with the query's."""
    from sqlalchemy import select

    from casefile.evidence.models import ImageHash
    from casefile.evidence.similar import PDQ_THRESHOLD, PHASH_THRESHOLD, _distance

    found = 0
    for pdq, phash in session.execute(select(ImageHash.pdq, ImageHash.phash).where(ImageHash.case_id == case_id)):
        if _distance(query.pdq, pdq) <= PDQ_THRESHOLD or _distance(query.phash, phash) <= PHASH_THRESHOLD:
            found += 1
    return found


def measure(app: Any, case_id: Any, ids: list[Any], rng: random.Random) -> tuple[float, float, float]:
    """(median ms, p95 ms of the indexed lookup; median ms of the scan)."""
    from casefile.db import get_database
    from casefile.evidence.models import EvidenceItem, ImageHash
    from casefile.evidence.similar import candidates

    lookups, scans = [], []
    with app.app_context(), get_database(app).read_sessionmaker() as s:
        for n, item_id in enumerate(rng.sample(ids, QUERIES)):
            item = s.get(EvidenceItem, item_id)
            started = time.perf_counter()
            candidates(s, item)
            lookups.append((time.perf_counter() - started) * 1000)
            if n < 10:  # the scan is slow at 100k: ten queries tell its cost
                query = s.get(ImageHash, item_id)
                started = time.perf_counter()
                scan(s, case_id, query)
                scans.append((time.perf_counter() - started) * 1000)
            s.expunge_all()
    lookups.sort()
    return statistics.median(lookups), lookups[int(len(lookups) * 0.95) - 1], statistics.median(scans)


def found_planted(app: Any, pairs: list[tuple[Any, Any]]) -> int:
    from casefile.db import get_database
    from casefile.evidence.models import EvidenceItem
    from casefile.evidence.similar import candidates

    with app.app_context(), get_database(app).read_sessionmaker() as s:
        return sum(
            1 for original, copy in pairs if original in {c.item.id for c in candidates(s, s.get(EvidenceItem, copy))}
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    small, large = (1_000, 10_000) if args.quick or quick_from_env() else (10_000, 100_000)

    from casefile import create_app
    from casefile.evidence.models import EvidenceItem, ImageHash, ImageHashKey

    rng = random.Random(20201206)
    with temp_dir("casefile-bench-ndup-", keep=args.keep) as folder:
        settings = make_instance(folder / "instance", argon2_profile="cheapest")
        app = create_app(settings)
        owner = create_owner_and_case(app, "NDUP")
        items = item_rows(rng, owner.case_id, owner.reference, large, owner.user_id)
        for row in items:
            row["media_type"], row["kind"] = "image/jpeg", "photo"
        hashes, keys = [], []
        engine = bulk_engine(settings.database_url)
        results = []
        planted_ok = True
        for stage, size in (("small", small), ("large", large)):
            start = len(hashes)
            new_hashes, new_keys = hash_rows(rng, items[start:size])
            pairs = plant(rng, new_hashes, PLANTED // 2)
            insert_rows(engine, EvidenceItem.__table__, items[start:size])
            insert_rows(engine, ImageHash.__table__, new_hashes)
            insert_rows(engine, ImageHashKey.__table__, new_keys)
            hashes.extend(new_hashes)
            keys.extend(new_keys)
            found = found_planted(app, pairs)
            planted_ok = planted_ok and found == len(pairs)
            median, p95, scan_ms = measure(app, owner.case_id, [h["evidence_id"] for h in hashes], rng)
            results.append((stage, size, median, p95, scan_ms, f"{found}/{len(pairs)}"))
        engine.dispose()

    load = os.getloadavg()[0]
    print(f"Near-duplicate lookup, SQLite, {QUERIES} lookups per size (load average {load:.2f})\n")
    print(
        table(
            ["size", "images", "lookup median ms", "lookup p95 ms", "full scan median ms", "planted found"],
            [(s, f"{n:,}", f"{m:.2f}", f"{p:.2f}", f"{sc:.1f}", f) for s, n, m, p, sc, f in results],
        )
    )
    ratio = results[1][2] / results[0][2]
    scan_ratio = results[1][4] / results[0][4]
    ok = ratio <= 3.0 and planted_ok
    print(f"\nlookup ratio {results[1][1]:,} / {results[0][1]:,} images: {ratio:.2f} (target <= 3)")
    print(f"baseline (full scan) ratio: {scan_ratio:.2f}; at {results[1][1]:,} the index is "
          f"{results[1][4] / results[1][2]:.0f}x faster than the scan")  # fmt: skip
    print(f"\n{verdict(ok)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
