"""Page benchmark: latency and SQL query counts of the evidence pages on a large case vs a small one.

    .venv/bin/python -m bench.pages             # 10,000 items / 100,000 ledger entries vs 10 items / 100 entries
    .venv/bin/python -m bench.pages --quick     # 1,000 items / 10,000 entries, fewer requests
    .venv/bin/python -m bench.pages --show-queries   # also print the SQL of one request of each kind

Two throwaway instances (SQLite, in temporary directories) are seeded in bulk with SQLAlchemy core: the large
one with `--items` evidence items and `--entries` custody entries (a valid hash chain, as the ledger writes
it: an `ingested` entry per item, views, downloads and hand-overs spread over the items, one item with a
`--trail`-entry trail, and a final fixity run over every item), the small one with 10 items and 100 entries.
Items are linked to a few incidents (2, 1 or 0 links in turn). Requests go through the app's test client
(the whole WSGI stack in-process, logged in as a case member, or with an API Bearer token).

Baseline: the same requests on the small instance. Target: the number of SQL statements per request is the
same on both (ratio 1.0): page cost must not grow with the amount of data by way of extra queries. Latency
ratios (large / small) are reported for information.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file (python bench/pages.py): make `bench` and `casefile` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import (
    BASE_TIME,
    PASSWORD,
    LedgerWriter,
    Owner,
    bulk_engine,
    create_owner_and_case,
    event_details,
    ingest_details,
    insert_rows,
    item_rows,
    make_instance,
    percentile,
    quick_from_env,
    seeded_uuid,
    table,
    temp_dir,
    verdict,
)

PER_PAGE = 50  # casefile.evidence.views.PER_PAGE and the API's default per_page
INCIDENTS = 5
STANCES = ("supports", "contradicts", "context")


@dataclass
class QueryCounter:
    """Counts statements sent to the database (both of the app's engines) through before_cursor_execute."""

    statements: list[str] = field(default_factory=list)
    recording: bool = False

    def __call__(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if self.recording:
            self.statements.append(statement)

    def start(self) -> None:
        self.statements = []
        self.recording = True

    def stop(self) -> list[str]:
        self.recording = False
        return self.statements


@dataclass
class Seeded:
    label: str
    app: Any
    owner: Owner
    items: int
    entries: int
    pages: int
    long_item: uuid.UUID
    long_number: int
    typical_item: uuid.UUID
    typical_number: int
    trail: dict[uuid.UUID, int]
    seed_s: float
    ids: dict[int, uuid.UUID]  # item number -> id
    links: dict[int, int]  # item number -> number of incident links
    counter: QueryCounter = field(default_factory=QueryCounter)


def links_for(number: int, incidents: list[uuid.UUID], last: int) -> list[uuid.UUID]:
    """2, 1 or 0 incident links, in turn (so item numbers 1, 4, 7, ... have two); the last item is linked
    to every incident."""
    wanted = len(incidents) if number == last else {1: 2, 2: 1, 0: 0}[number % 3]
    return [incidents[(number + k) % len(incidents)] for k in range(wanted)]


def seed(root: Path, label: str, reference: str, *, items: int, entries: int, trail: int, seed_value: int) -> Seeded:
    """Create, migrate and bulk-seed one instance. `trail` > 0 gives item 1 exactly that many entries."""
    from sqlalchemy import update

    from casefile import create_app
    from casefile.cases.models import Case
    from casefile.cases.services import create_incident
    from casefile.db import session_scope
    from casefile.evidence.models import EvidenceItem
    from casefile.links.models import EvidenceLink

    started = time.perf_counter()
    rng = random.Random(seed_value)
    settings = make_instance(root / label)
    app = create_app(settings)
    owner = create_owner_and_case(app, reference, email=f"{label}@example.org")
    with app.app_context(), session_scope(app) as s:
        case = s.get(Case, owner.case_id)
        incident_ids = [
            create_incident(
                s,
                case,
                {
                    "title": f"Incident {k + 1}: shelling of the market",
                    "start_date": f"2025-03-{k + 1:02d}",
                    "place_name": "Northern district",
                },
            ).id
            for k in range(INCIDENTS)
        ]

    # An ingest and a fixity entry per item, item 1's extra entries (when it has a set trail), and the rest
    # of the budget spread at random over the other items.
    extra = max(trail - 2, 0)
    spread = entries - 2 * items - extra
    if spread < 0:
        raise SystemExit(
            f"--entries must be at least {entries - spread:,} for {items:,} items and a {trail}-entry trail"
        )
    engine = bulk_engine(settings.database_url)
    rows = item_rows(rng, owner.case_id, reference, items, owner.user_id)
    insert_rows(engine, EvidenceItem.__table__, rows)
    links = [
        {
            "id": seeded_uuid(rng),
            "evidence_id": row["id"],
            "case_id": owner.case_id,
            "incident_id": incident,
            "stance": STANCES[(row["number"] + k) % 3],
            "note": "Shows the damaged stalls." if k == 0 else "",
            "created_by_id": owner.user_id,
            "created_at": row["created_at"],
        }
        for row in rows
        for k, incident in enumerate(links_for(row["number"], incident_ids, items))
    ]
    insert_rows(engine, EvidenceLink.__table__, links)
    with engine.begin() as conn:
        conn.execute(update(Case.__table__).where(Case.id == owner.case_id).values(next_ern=items + 1))

    actor = f"user:{owner.user_id}"
    ledger = LedgerWriter(engine, at=BASE_TIME)
    trail_len: Counter[int] = Counter()

    def add(index: int, action: str, details: dict[str, Any]) -> None:
        row = rows[index]
        ledger.append(
            actor=actor,
            action=action,
            case_id=owner.case_id,
            evidence_id=row["id"],
            sha256=row["sha256"],
            details=details,
        )
        trail_len[index] += 1

    for index, row in enumerate(rows):
        add(index, "ingested", ingest_details(row, links_for(row["number"], incident_ids, items)))
    others = range(1, items) if trail > 0 else range(items)
    events = [0] * extra + [rng.choice(others) for _ in range(spread)]
    rng.shuffle(events)
    for n, index in enumerate(events):
        roll = rng.random()
        action = "viewed" if roll < 0.6 else "downloaded" if roll < 0.85 else "transferred"
        add(index, action, event_details(action, n))
    for index in range(items):  # a verification run at the end: every item's fixity badge is "intact"
        add(index, "fixity_verified", {})
    ledger.finish()
    engine.dispose()
    if ledger.seq != entries:
        raise RuntimeError(f"seeded {ledger.seq} entries, expected {entries}")

    trail_by_id = {rows[i]["id"]: n for i, n in trail_len.items()}
    return Seeded(
        label=label,
        app=app,
        owner=owner,
        items=items,
        entries=entries,
        pages=max((items - 1) // PER_PAGE + 1, 1),
        long_item=rows[0]["id"],
        long_number=1,
        typical_item=rows[0]["id"],  # chosen by pick_typical()
        typical_number=1,
        trail=trail_by_id,
        seed_s=time.perf_counter() - started,
        ids={row["number"]: row["id"] for row in rows},
        links={row["number"]: len(links_for(row["number"], incident_ids, items)) for row in rows},
    )


def pick_typical(inst: Seeded, wanted: int | None) -> None:
    """A two-link item (number 4, 7, 10, ...) whose trail is `wanted` entries long (or the median)."""
    from sqlalchemy import select

    from casefile.db import session_scope
    from casefile.evidence.models import EvidenceItem

    with inst.app.app_context(), session_scope(inst.app) as s:
        candidates = [
            (row.id, row.number)
            for row in s.execute(
                select(EvidenceItem.id, EvidenceItem.number).where(EvidenceItem.case_id == inst.owner.case_id)
            )
            if 1 < row.number < inst.items and row.number % 3 == 1
        ]
    lengths = sorted(inst.trail[i] for i, _n in candidates)
    target = wanted if wanted is not None else lengths[len(lengths) // 2]
    item_id, number = min(candidates, key=lambda c: (abs(inst.trail[c[0]] - target), c[1]))
    inst.typical_item, inst.typical_number = item_id, number


def verify_chain(inst: Seeded) -> tuple[bool, int, float]:
    from casefile.custody.verify import verify_ledger
    from casefile.db import get_database

    started = time.perf_counter()
    with inst.app.app_context(), get_database(inst.app).read_sessionmaker() as s:
        report = verify_ledger(s, None, inst.app.extensions["casefile_key"].public_pem)
    return report.ok, report.checked, time.perf_counter() - started


def attach_counter(inst: Seeded) -> None:
    from sqlalchemy import event

    from casefile.db import get_database

    database = get_database(inst.app)
    for engine in {database.engine, database.read_engine}:
        event.listen(engine, "before_cursor_execute", inst.counter)


def logged_in_client(inst: Seeded) -> Any:
    client = inst.app.test_client()
    page = client.get("/login").get_data(as_text=True)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    data = {"email": inst.owner.email, "password": PASSWORD}
    if match:
        data["csrf_token"] = match.group(1)
    response = client.post("/login", data=data)
    if response.status_code != 302:
        raise RuntimeError(f"login failed: {response.status_code} {response.get_data(as_text=True)[:300]}")
    return client


@dataclass
class Measure:
    latencies_ms: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)  # CPU time of this (single-threaded) process
    queries: list[int] = field(default_factory=list)
    statements: list[str] = field(default_factory=list)
    size: int = 0
    error: str | None = None


def scenarios(inst: Seeded) -> list[tuple[str, str, bool]]:
    """(label, path, api?) of the measured requests."""
    case = inst.owner.case_id
    middle = (inst.pages + 1) // 2
    return [
        ("evidence list, page 1", f"/cases/{case}/evidence", False),
        ("evidence list, middle page", f"/cases/{case}/evidence?page={middle}", False),
        ("item page, long trail", f"/evidence/{inst.long_item}", False),
        ("item page, typical trail", f"/evidence/{inst.typical_item}", False),
        ("API evidence list, page 1", f"/api/v1/cases/{case}/evidence", True),
        ("API evidence list, middle page", f"/api/v1/cases/{case}/evidence?page={middle}", True),
    ]


def request_once(inst: Seeded, client: Any, path: str, is_api: bool, into: Measure, record: bool) -> None:
    """One GET through the test client, timed (wall and CPU) and with its SQL statements counted."""
    headers = {"Authorization": f"Bearer {inst.owner.token}"} if is_api else {}
    inst.counter.start()
    cpu = time.process_time()
    started = time.perf_counter()
    response = client.get(path, headers=headers)
    body = response.get_data()
    elapsed = time.perf_counter() - started
    cpu_used = time.process_time() - cpu
    executed = inst.counter.stop()
    if response.status_code != 200:
        # Reported in the table (and the app logs the traceback); the other requests still run.
        into.error, into.statements = f"HTTP {response.status_code}", executed
        return
    if record:
        into.latencies_ms.append(elapsed * 1000)
        into.cpu_ms.append(cpu_used * 1000)
        into.queries.append(len(executed))
        into.statements, into.size = executed, len(body)


def measure_pair(jobs: list[tuple[Seeded, Any, str, bool]], n: int, warmup: int) -> list[Measure]:
    """The same request on each instance in turn (small, large, small, large, ...), so that load on a shared
    machine falls on both alike instead of on whichever ran during a busy minute."""
    results = [Measure() for _ in jobs]
    for i in range(warmup + n):
        for (inst, client, path, is_api), into in zip(jobs, results, strict=True):
            if into.error is None:
                request_once(inst, client, path, is_api, into, record=i >= warmup)
    return results


def fmt_queries(values: list[int]) -> str:
    low, high = min(values), max(values)
    return str(low) if low == high else f"{low}-{high}"


def run(args: argparse.Namespace) -> bool:
    with temp_dir("casefile-bench-pages-", args.keep) as root:
        print(
            f"seeding: large = {args.items:,} items / {args.entries:,} entries (trail {args.trail:,}); "
            f"small = {args.small_items} items / {args.small_entries} entries ...",
            flush=True,
        )
        small = seed(root, "small", "SML", items=args.small_items, entries=args.small_entries, trail=0, seed_value=2)
        large = seed(root, "large", "LRG", items=args.items, entries=args.entries, trail=args.trail, seed_value=1)
        pick_typical(small, None)
        pick_typical(large, small.trail[small.typical_item])
        chain_ok, checked, verify_s = verify_chain(large)
        print(
            f"seeded in {small.seed_s:.1f} s + {large.seed_s:.1f} s; large ledger verified: "
            f"{'ok' if chain_ok else 'PROBLEMS'} ({checked:,} entries, {verify_s:.1f} s)",
            flush=True,
        )
        if not chain_ok:
            return False

        trails_before = {
            inst.label: (inst.trail[inst.long_item], inst.trail[inst.typical_item]) for inst in (small, large)
        }
        results: dict[str, dict[str, Measure]] = {"small": {}, "large": {}}
        clients = {}
        for inst in (small, large):
            attach_counter(inst)
            clients[inst.label] = (logged_in_client(inst), inst.app.test_client())
        for (label, small_path, is_api), (_label, large_path, _api) in zip(
            scenarios(small), scenarios(large), strict=True
        ):
            print(f"  {label}: {args.requests} requests on each case, alternating ...", flush=True)
            jobs = [
                (inst, clients[inst.label][1 if is_api else 0], path, is_api)
                for inst, path in ((small, small_path), (large, large_path))
            ]
            results["small"][label], results["large"][label] = measure_pair(jobs, args.requests, args.warmup)

        # Supplementary: does the item page's query count depend on how many incidents the item is linked to?
        by_links: dict[int, int] = {}
        web = logged_in_client(large)
        for number, n_links in sorted(large.links.items(), key=lambda kv: kv[0]):
            if n_links not in by_links and number > 1 and large.ids[number] != large.typical_item:
                probe = measure_pair([(large, web, f"/evidence/{large.ids[number]}", False)], 1, 1)[0]
                by_links[n_links] = probe.queries[0] if probe.queries else -1

        rows = []
        all_equal = True
        for label, _path, _api in scenarios(large):
            lg, sm = results["large"][label], results["small"][label]
            if lg.error or sm.error:
                all_equal = False
                failed = f"large: {lg.error or 'ok'}, small: {sm.error or 'ok'}"
                rows.append([label, "ERROR", "", "", "", "", "", "", "", "", failed, "FAIL"])
                continue
            lg_med, sm_med = statistics.median(lg.latencies_ms), statistics.median(sm.latencies_ms)
            constant = min(lg.queries) == max(lg.queries) and min(sm.queries) == max(sm.queries)
            ratio = statistics.median(lg.queries) / statistics.median(sm.queries)
            ok = constant and ratio == 1.0
            all_equal &= ok
            rows.append(
                [
                    label,
                    f"{lg_med:.1f}",
                    f"{percentile(lg.latencies_ms, 95):.1f}",
                    f"{sm_med:.1f}",
                    f"{percentile(sm.latencies_ms, 95):.1f}",
                    f"{lg_med / sm_med:.2f}",
                    f"{statistics.median(lg.cpu_ms) / statistics.median(sm.cpu_ms):.2f}",
                    f"{lg.size / 1024:.0f} / {sm.size / 1024:.0f}",
                    fmt_queries(lg.queries),
                    fmt_queries(sm.queries),
                    f"{ratio:.2f}",
                    verdict(ok),
                ]
            )

        print()
        print(
            f"## Evidence pages: large case ({large.items:,} items, {large.entries:,} ledger entries) "
            f"vs small case ({small.items} items, {small.entries} entries); {args.requests} requests each, "
            "in-process test client"
        )
        print()
        print(
            table(
                [
                    "request",
                    "large median ms",
                    "large p95 ms",
                    "small median ms",
                    "small p95 ms",
                    "latency ratio",
                    "CPU ratio",
                    "KiB large / small",
                    "SQL large",
                    "SQL small",
                    "SQL ratio",
                    "result",
                ],
                rows,
            )
        )
        print()
        for inst in (small, large):
            long_before, typical_before = trails_before[inst.label]
            grown = args.requests + args.warmup  # each item page view appends a `viewed` entry
            print(
                f"{inst.label}: middle page = {(inst.pages + 1) // 2} of {inst.pages}; long-trail item "
                f"#{inst.long_number} trail {long_before:,} -> {long_before + grown:,} entries; typical item "
                f"#{inst.typical_number} trail {typical_before} -> {typical_before + grown} entries (2 links each)"
            )
        print(
            f"list pages show {min(PER_PAGE, large.items)} rows on the large case and {min(PER_PAGE, small.items)} "
            "on the small one (all it has), so their latency ratios include 5x the rows"
        )
        print(f"1-min load average at the end: {os.getloadavg()[0]:.1f} (2 CPUs)")
        print(
            "SQL = statements per request on both engines (incl. BEGIN), constant over all requests unless a "
            "range is shown.\nlatency ratio = large median / small median (wall clock); CPU ratio = the same for "
            "the CPU time this process spent per request\n(less disturbed by other load). Both are for information; "
            "the target is SQL ratio = 1.0."
        )
        print(
            "item page SQL statements by number of incident links on the item (large case): "
            + ", ".join(f"{k} links: {v}" for k, v in sorted(by_links.items()))
        )
        if args.show_queries:
            for inst_label in ("small", "large"):
                for label, measured in results[inst_label].items():
                    print(f"\n--- {inst_label}: {label}: {len(measured.statements)} statements")
                    for statement in measured.statements:
                        print("   ", " ".join(statement.split())[:160])
        for inst in (small, large):
            inst.app.extensions["casefile_db"].dispose()
        print(f"\npages: {verdict(all_equal)}")
        return all_equal


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1,000 items / 10,000 entries, 20 requests each")
    parser.add_argument("--items", type=int, help="evidence items in the large case (default 10,000)")
    parser.add_argument("--entries", type=int, help="custody entries in the large instance (default 100,000)")
    parser.add_argument("--trail", type=int, help="entries in the long-trail item's trail (default 1,000)")
    parser.add_argument("--small-items", type=int, default=10)
    parser.add_argument("--small-entries", type=int, default=100)
    parser.add_argument("--requests", type=int, help="measured requests per page and instance (default 100)")
    parser.add_argument("--warmup", type=int, default=3, help="unmeasured requests first (default 3)")
    parser.add_argument("--show-queries", action="store_true", help="print the SQL of one request of each kind")
    parser.add_argument("--keep", action="store_true", help="keep the temporary instances")
    args = parser.parse_args(argv)
    quick = args.quick or quick_from_env()
    args.items = args.items or (1_000 if quick else 10_000)
    args.entries = args.entries or (10_000 if quick else 100_000)
    args.trail = args.trail or (200 if quick else 1_000)
    args.requests = args.requests or (20 if quick else 100)
    return 0 if run(args) else 1


if __name__ == "__main__":
    sys.exit(main())
