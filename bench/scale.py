"""Scale benchmark (issue #21): the same requests on cases of 10k, 100k (and 1M) evidence items with ten custody
entries per item, through a real server; p95 must stay within 2x of the smallest size and under 300 ms.

    .venv/bin/python -m bench.scale                          # PostgreSQL, 10,000 and 100,000 items (a few minutes)
    .venv/bin/python -m bench.scale --sizes 10000,100000,1000000
    .venv/bin/python -m bench.scale --sqlite                 # SQLite (the embedded mode), 10,000 and 100,000 items
    .venv/bin/python -m bench.scale --quick                  # 1,000 and 10,000 items, 15 requests each
    .venv/bin/python -m bench.scale --explain                # also EXPLAIN ANALYZE the evidence list's queries
    .venv/bin/python -m bench.scale --sizes 10000,1000000 --only "evidence list"   # some of the requests only

For each size: a throwaway database (PostgreSQL: `--postgres-url`, `{db}` where the name goes, created and dropped at
the end; SQLite: a file in the temporary folder), migrated with the project's revisions, and an instance folder. The
case, its owner, five incidents, a suspect and a charge are made through the services, and a second case of five
files is uploaded through the API; then the bulk (PostgreSQL: `INSERT … SELECT generate_series`, seconds per million
rows; SQLite: the same rows made in Python, in core batches): N items (every tenth titled in Arabic), one incident
link per item and a charge-element link on every tenth, a search document per item, and 10 N custody entries (an
`ingested` entry and nine views per item, with about 50 views of the small case's files scattered over them). The
ledger is real: canonical entries chained and hashed as the ledger does, with its stored Merkle subtree roots and a
signed checkpoint, so `custody verify` accepts it. The search rows carry what casefile.search.indexer computes for
the item's texts (names.search_terms), less the per-item ERN and file name.

`--explain` prints, for the evidence list with each of its filters, the plan of the first, last and a deep page
and of the bounded count, flagging any sequential scan of evidence_items or evidence_links. (The benchmark's
database holds one case, so a scan of "the case's items" and of the table are the same thing: PostgreSQL may
rightly read the table there, as it would not with many cases.)

The server is a real one in its own process (Werkzeug, threaded, this module's `--serve`), which adds the number
of SQL statements each request sent (both of the app's engines) as a response header. After 3 warm-up requests of
each kind, `--requests` (50) rounds of every request run in turn (so a burst of load on a shared machine hits all
kinds alike), logged in as a case member or with an API token:

    evidence list: first page, and the last page (the page's own "Last" link: a cursor); the same two in the API;
    an item page and the API item (the middle item); the charges list; the charge page with its element matrix
    and the API matrix; search for a word in every item, and for an Arabic word in 10 % of them; verifying the
    five-item case (page, with fixity, and API); the tree head and a consistency proof.

Then, in a process of its own, the whole ledger is verified as the job does it (in slices, one process per CPU),
against a hashlib loop over the same canonical entries (target: at least 0.5x its rate), with 100 inclusion and 20
consistency proofs from the stored subtree roots.

Baseline: the smallest size, in the same run. Targets at the largest size, per request: p95 <= 2x the smallest's
p95, p95 <= 300 ms, and the same number of SQL statements. The verdict names each request that fails, and the exit
status is 1 if any does.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import io
import json
import os
import re
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file (python bench/scale.py): make `bench` and `casefile` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import (
    BASE_TIME,
    PASSWORD,
    LedgerWriter,
    create_owner_and_case,
    insert_rows,
    percentile,
    quick_from_env,
    table,
    temp_dir,
    verdict,
)
from bench.ingest import free_port, start_server, stop_server

DEFAULT_PG = "postgresql+psycopg://root@/{db}?host=/var/run/postgresql"
REFERENCE = "SCL"
ENTRIES_PER_ITEM = 10
RATIO_LIMIT = 2.0
VERIFY_RATIO = 0.5  # whole-ledger verification's rate against the hashlib loop's, at the largest size
P95_LIMIT_MS = 300.0
QUERY_HEADER = "X-Bench-Queries"
EVERY_ITEM_WORD = "checkpoint"
ARABIC_WORD = "ترهونة"  # Tarhuna: in the title of every tenth item
ENGLISH_TITLE = "Photo collected near the northern checkpoint"
ARABIC_TITLE = "صورة من مقابر ترهونة قرب نقطة التفتيش"
DESCRIPTION = "Received from a field team at the checkpoint; see the collection notes."
SOURCE = "Field team"


# --- the server process ----------------------------------------------------------------------------------


def serve(port: int) -> None:
    """Serve the instance of the environment, adding each response's count of SQL statements as a header."""
    from sqlalchemy import event
    from werkzeug.serving import run_simple

    from casefile import create_app
    from casefile.db import get_database

    app = create_app()
    gc.freeze()  # as config/production/gunicorn.conf.py's post_worker_init does once the application is loaded
    counts = threading.local()  # the threaded server runs each request, and its queries, on one thread

    def count(*_args: Any) -> None:
        counts.n = getattr(counts, "n", 0) + 1

    database = get_database(app)
    for engine in {database.engine, database.read_engine}:
        event.listen(engine, "before_cursor_execute", count)
    inner = app.wsgi_app

    def counting(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        counts.n = 0

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            return start_response(status, [*headers, (QUERY_HEADER, str(counts.n))], exc_info)

        return inner(environ, start)

    app.wsgi_app = counting  # type: ignore[method-assign]
    run_simple("127.0.0.1", port, app, threaded=True)


# --- one size --------------------------------------------------------------------------------------------


def admin(url_template: str, statement: str) -> None:
    from sqlalchemy import create_engine, pool, text

    engine = create_engine(url_template.format(db="postgres"), isolation_level="AUTOCOMMIT", poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            conn.execute(text(statement))
    finally:
        engine.dispose()


@dataclass
class SmallCase:
    """A second case of five items, uploaded through the API, whose verification is measured."""

    case_id: uuid.UUID
    items: list[tuple[str, str]]  # (id, SHA-256) of each item


@dataclass
class World:
    case_id: uuid.UUID
    charge_id: uuid.UUID
    small_case_id: uuid.UUID
    token: str
    email: str
    size: int
    load_seconds: float = 0.0


def bulk_id(case_id: uuid.UUID, kind: str, number: int) -> uuid.UUID:
    """The id the bulk load gives row `number` of a kind (md5(case || ':kind:' || n) as a UUID, as in the SQL)."""
    return uuid.UUID(hashlib.md5(f"{case_id}:{kind}:{number}".encode(), usedforsecurity=False).hexdigest())


def item_id(case_id: uuid.UUID, number: int) -> uuid.UUID:
    return bulk_id(case_id, "item", number)


def build(app: Any, url: str, size: int) -> World:
    """The case, its people and charge through the services, then everything counted in N with SQL."""
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from casefile.actors.services import create_actor
    from casefile.auth.models import User
    from casefile.cases.models import Case
    from casefile.cases.services import create_case, create_incident
    from casefile.components import instance_key
    from casefile.custody.services import create_checkpoint
    from casefile.db import make_engine, session_scope
    from casefile.legal.catalogue import load_catalogue
    from casefile.legal.services import create_charge
    from casefile.search.indexer import terms_of

    owner = create_owner_and_case(app, REFERENCE)
    offence = load_catalogue().to_dict()["frameworks"][0]["offences"][0]
    with app.app_context(), session_scope(app) as s:
        case, user = s.get(Case, owner.case_id), s.get(User, owner.user_id)
        assert case is not None and user is not None
        incidents = [create_incident(s, case, {"title": f"Incident {n}"}).id for n in range(5)]
        suspect = create_actor(s, case, user, {"kind": "person", "name": "Suspect One"}, confirm_new=True)
        charge = create_charge(
            s, case, {"suspect_id": str(suspect.id), "offence_code": offence["code"], "incident_ids": incidents}
        )
        charge_id = charge.id
        small_case_id = create_case(s, user, {"reference": "SML", "title": "Five items"}).id
    small = SmallCase(small_case_id, [])
    client = app.test_client()
    for n in range(5):
        response = client.post(
            f"/api/v1/cases/{small_case_id}/evidence",
            headers={"Authorization": f"Bearer {owner.token}"},
            data={"file": (io.BytesIO(f"Statement {n}\n".encode() * 1000), f"statement-{n}.txt"), "title": f"S{n}"},
            content_type="multipart/form-data",
        )
        if response.status_code != 201:
            raise RuntimeError(f"upload failed: {response.status_code} {response.get_data(as_text=True)[:300]}")
        small.items.append((response.get_json()["id"], response.get_json()["sha256"]))
    elements = [e["code"] for e in offence["elements"]]

    started = time.perf_counter()
    engine = make_engine(url)
    params = {
        "case": str(owner.case_id),
        "n": size,
        "ref": REFERENCE,
        "user": str(owner.user_id),
        "base": BASE_TIME,
        "en_title": ENGLISH_TITLE,
        "ar_title": ARABIC_TITLE,
        "description": DESCRIPTION,
        "source": SOURCE,
        "en_terms": terms_of([ENGLISH_TITLE, DESCRIPTION, SOURCE]),
        "ar_terms": terms_of([ARABIC_TITLE, DESCRIPTION, SOURCE]),
        "incidents": [str(i) for i in incidents],
        "charge": str(charge_id),
        "elements": elements,
        "actor": f"user:{owner.user_id}",
    }
    if engine.dialect.name == "sqlite":
        load_rows(engine, owner.case_id, owner.user_id, size, incidents, charge_id, elements)
    else:
        load_sql(engine, params)
    load_ledger(engine, owner.case_id, f"user:{owner.user_id}", size, small)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))  # as autovacuum would have by then: statistics and visibility map
            try:
                # Write out the gigabytes just loaded now, not in a checkpoint in the middle of the measurements.
                conn.execute(text("CHECKPOINT"))
            except DBAPIError:
                print("  (no CHECKPOINT: it needs a superuser or pg_checkpoint; the first requests may be slower)")
    # SQLite: no ANALYZE, as an embedded instance never runs one: its plans come from the indexes alone.
    engine.dispose()
    with app.app_context(), session_scope(app) as s:  # as the schedule would have by then: a signed tree head
        create_checkpoint(s, instance_key(app), "bench")
    return World(owner.case_id, charge_id, small_case_id, owner.token, owner.email, size, time.perf_counter() - started)


def load_sql(engine: Any, params: dict[str, Any]) -> None:
    """The bulk on PostgreSQL: `INSERT … SELECT generate_series`, seconds per million rows."""
    from sqlalchemy import text

    with engine.begin() as conn:
        conn.execute(
            text(
                """
                INSERT INTO evidence_items (id, case_id, ern, number, kind, title, description, source,
                    source_reliability, info_credibility, collected_at, collected_by, collection_place,
                    original_filename, media_type, size, sha256, extracted, metadata_status, classification, graphic,
                    created_by_id, created_at, updated_at, text_content, derived_status, verification_status)
                SELECT md5(CAST(:case AS text) || ':item:' || n)::uuid, CAST(:case AS uuid),
                    :ref || '-' || lpad(n::text, greatest(5, length(n::text)), '0'), n,
                    (ARRAY['photo', 'document', 'video', 'audio', 'testimony'])[n % 5 + 1],
                    CASE WHEN n % 10 = 0 THEN :ar_title ELSE :en_title END, :description, :source,
                    CASE WHEN n % 4 > 0 THEN substr('ABCDEF', n % 6 + 1, 1) END,
                    CASE WHEN n % 4 > 0 THEN n % 6 + 1 END,
                    CAST(:base AS timestamptz) + n * interval '1 minute' - interval '3 days',
                    'Field investigator', 'Northern district', 'IMG_' || n || '.jpg', 'image/jpeg', 100000 + n,
                    encode(sha256(convert_to(CAST(:case AS text) || n, 'UTF8')), 'hex'),
                    '{"status": "none", "error": null, "exif": null, "gps": null, "warnings": []}',
                    'none', (ARRAY['public', 'confidential', 'confidential', 'under_seal'])[n % 4 + 1], n % 11 = 0,
                    CAST(:user AS uuid), CAST(:base AS timestamptz) + n * interval '1 minute',
                    CAST(:base AS timestamptz) + n * interval '1 minute', '', 'done', 'new'
                FROM generate_series(1, :n) AS n
                """
            ),
            params,
        )
        conn.execute(text("UPDATE cases SET next_ern = :n + 1 WHERE id = CAST(:case AS uuid)"), params)
        conn.execute(
            text(
                """
                INSERT INTO evidence_links (id, evidence_id, case_id, incident_id, stance, note, created_at)
                SELECT md5(CAST(:case AS text) || ':link:' || n)::uuid,
                    md5(CAST(:case AS text) || ':item:' || n)::uuid, CAST(:case AS uuid),
                    CAST((CAST(:incidents AS text[]))[n % 5 + 1] AS uuid), 'supports', '',
                    CAST(:base AS timestamptz) + n * interval '1 minute'
                FROM generate_series(1, :n) AS n
                """
            ),
            params,
        )
        conn.execute(
            text(
                """
                INSERT INTO evidence_links (id, evidence_id, case_id, charge_id, element_code, stance, note,
                    created_at)
                SELECT md5(CAST(:case AS text) || ':element:' || n)::uuid,
                    md5(CAST(:case AS text) || ':item:' || n)::uuid, CAST(:case AS uuid),
                    CAST(:charge AS uuid),
                    (CAST(:elements AS text[]))[(n / 10) % cardinality(CAST(:elements AS text[])) + 1],
                    CASE WHEN n % 30 = 0 THEN 'contradicts' ELSE 'supports' END, '',
                    CAST(:base AS timestamptz) + n * interval '1 minute'
                FROM generate_series(10, :n, 10) AS n
                """
            ),
            params,
        )
        conn.execute(
            text(
                """
                INSERT INTO search_documents
                    (id, case_id, object_type, type_weight, object_id, title, terms, updated_at)
                SELECT md5(CAST(:case AS text) || ':search:' || n)::uuid, CAST(:case AS uuid), 'evidence', 2,
                    md5(CAST(:case AS text) || ':item:' || n)::uuid,
                    :ref || '-' || lpad(n::text, greatest(5, length(n::text)), '0') || ' — '
                        || CASE WHEN n % 10 = 0 THEN :ar_title ELSE :en_title END,
                    CASE WHEN n % 10 = 0 THEN :ar_terms ELSE :en_terms END,
                    CAST(:base AS timestamptz) + n * interval '1 minute'
                FROM generate_series(1, :n) AS n
                """
            ),
            params,
        )


def load_rows(
    engine: Any,
    case_id: uuid.UUID,
    user_id: uuid.UUID,
    size: int,
    incidents: list[uuid.UUID],
    charge_id: uuid.UUID,
    elements: list[str],
) -> None:
    """The bulk on SQLite: the same rows as `load_sql`, made here and inserted in core batches (SQLite has no
    generate_series or md5). FTS5's triggers index each search document as it goes in."""
    from sqlalchemy import update

    from casefile.cases.models import Case
    from casefile.evidence.models import EvidenceItem
    from casefile.links.models import EvidenceLink
    from casefile.search.indexer import terms_of
    from casefile.search.models import SearchDocument

    minute, days3 = timedelta(minutes=1), timedelta(days=3)
    terms = {True: terms_of([ARABIC_TITLE, DESCRIPTION, SOURCE]), False: terms_of([ENGLISH_TITLE, DESCRIPTION, SOURCE])}
    items, links, element_links, documents = [], [], [], []
    for n in range(1, size + 1):
        arabic, at, ern, item = n % 10 == 0, BASE_TIME + n * minute, f"{REFERENCE}-{n:05d}", item_id(case_id, n)
        title = ARABIC_TITLE if arabic else ENGLISH_TITLE
        items.append(
            {
                "id": item,
                "case_id": case_id,
                "ern": ern,
                "number": n,
                "kind": ("photo", "document", "video", "audio", "testimony")[n % 5],
                "title": title,
                "description": DESCRIPTION,
                "source": SOURCE,
                "source_reliability": "ABCDEF"[n % 6] if n % 4 else None,
                "info_credibility": n % 6 + 1 if n % 4 else None,
                "collected_at": at - days3,
                "collected_by": "Field investigator",
                "collection_place": "Northern district",
                "original_filename": f"IMG_{n}.jpg",
                "media_type": "image/jpeg",
                "size": 100_000 + n,
                "sha256": hashlib.sha256(f"{case_id}{n}".encode()).hexdigest(),
                "extracted": {"status": "none", "error": None, "exif": None, "gps": None, "warnings": []},
                "metadata_status": "none",
                "classification": ("public", "confidential", "confidential", "under_seal")[n % 4],
                "graphic": n % 11 == 0,
                "created_by_id": user_id,
                "created_at": at,
                "updated_at": at,
                "text_content": "",
                "derived_status": "done",
                "verification_status": "new",
            }
        )
        links.append(
            {
                "id": bulk_id(case_id, "link", n),
                "evidence_id": item,
                "case_id": case_id,
                "incident_id": incidents[n % 5],
                "stance": "supports",
                "note": "",
                "created_at": at,
            }
        )
        if n % 10 == 0:
            element_links.append(
                {
                    "id": bulk_id(case_id, "element", n),
                    "evidence_id": item,
                    "case_id": case_id,
                    "charge_id": charge_id,
                    "element_code": elements[(n // 10) % len(elements)],
                    "stance": "contradicts" if n % 30 == 0 else "supports",
                    "note": "",
                    "created_at": at,
                }
            )
        documents.append(
            {
                "id": bulk_id(case_id, "search", n),
                "case_id": case_id,
                "object_type": "evidence",
                "type_weight": 2,
                "object_id": item,
                "title": f"{ern} — {title}",
                "terms": terms[arabic],
                "updated_at": at,
            }
        )
    insert_rows(engine, EvidenceItem.__table__, items)
    with engine.begin() as conn:
        conn.execute(update(Case.__table__).where(Case.__table__.c.id == case_id).values(next_ern=size + 1))
    insert_rows(engine, EvidenceLink.__table__, links)
    insert_rows(engine, EvidenceLink.__table__, element_links)
    insert_rows(engine, SearchDocument.__table__, documents)


def load_ledger(engine: Any, case_id: uuid.UUID, actor: str, size: int, small: SmallCase) -> None:
    """ENTRIES_PER_ITEM real custody entries per bulk item (an `ingested` entry, then views), chained on from the head
    the services left and hashed exactly as the ledger hashes, with every `STEP`-th entry a view of one of the small
    case's items, so that case's entries are scattered over the whole ledger; with the stored Merkle subtree roots
    the ledger keeps at append, and the head moved to the last entry. PostgreSQL: the canonical JSON written as a
    string template (its first entries checked against casefile.custody.chain.entry_hash) and COPY'd in; SQLite:
    bench._common.LedgerWriter, which hashes with the ledger's own code, in core batches."""
    from sqlalchemy import text

    from casefile.custody.chain import entry_hash
    from casefile.custody.merkle import MerkleAccumulator
    from casefile.custody.subtrees import BLOCK_LEVEL, leaf_data

    with engine.begin() as conn:
        seq, prev = conn.execute(text("SELECT seq, entry_hash FROM custody_head")).one()
        existing = conn.execute(text("SELECT entry_hash FROM custody_entries ORDER BY seq")).scalars().all()
    tree = MerkleAccumulator()
    for stored in existing:  # their subtree roots are stored already
        tree.append_noting(leaf_data(stored), BLOCK_LEVEL)
    base = BASE_TIME + timedelta(days=30)
    if engine.dialect.name == "sqlite":
        writer = LedgerWriter(engine, seq=seq, prev_hash=prev, at=base, tree=tree)
        for entry_case, item, sha, action, details in ledger_entries(case_id, size, small):
            writer.append(
                actor=actor,
                action=action,
                case_id=uuid.UUID(entry_case),
                evidence_id=uuid.UUID(item),
                sha256=sha,
                details=json.loads(details),
            )
        writer.finish()
        return
    template = (
        '{{"action":"{action}","actor":"{actor}","at":"{at}","case_id":"{case}","details":{details},'
        '"evidence_id":"{item}","prev_hash":"{prev}","seq":{seq},"sha256":"{sha}"}}'
    )
    sha256 = hashlib.sha256
    raw = engine.raw_connection()
    try:
        with raw.cursor() as cursor:
            columns = "seq, at, actor, action, case_id, evidence_id, sha256, details, prev_hash, entry_hash"
            with cursor.copy(f"COPY custody_entries ({columns}) FROM STDIN") as copy:
                lines: list[str] = []
                nodes: list[str] = []
                for g, (entry_case, item, sha, action, details) in enumerate(ledger_entries(case_id, size, small), 1):
                    seq += 1
                    at = (base + timedelta(microseconds=7_000 * g)).isoformat(timespec="microseconds")
                    body = template.format(
                        action=action,
                        actor=actor,
                        at=at,
                        case=entry_case,
                        details=details,
                        item=item,
                        prev=prev,
                        seq=seq,
                        sha=sha,
                    )
                    digest = sha256(body.encode()).hexdigest()
                    if g <= 3:  # the template is the canonical encoding: the ledger's own hash agrees
                        fields = json.loads(body)
                        assert entry_hash(fields) == digest, body
                    lines.append(
                        f"{seq}\t{at}\t{actor}\t{action}\t{entry_case}\t{item}\t{sha}\t{details}\t{prev}\t{digest}\n"
                    )
                    prev = digest
                    for level, index, root in tree.append_noting(bytes.fromhex(digest), BLOCK_LEVEL):
                        nodes.append(f"{level}\t{index}\t\\\\x{root.hex()}\n")
                    if len(lines) >= 50_000:
                        copy.write("".join(lines))
                        lines.clear()
                copy.write("".join(lines))
            with cursor.copy("COPY merkle_nodes (level, idx, hash) FROM STDIN") as copy:
                copy.write("".join(nodes))
            cursor.execute("UPDATE custody_head SET seq = %s, entry_hash = %s", (seq, prev))
        raw.commit()
    finally:
        raw.close()


def ledger_entries(case_id: uuid.UUID, size: int, small: SmallCase) -> Iterator[tuple[str, str, str, str, str]]:
    """(case, item, SHA-256, action, details as canonical JSON) of each bulk entry in order: ENTRIES_PER_ITEM per
    item, and every `step`-th a view of one of the small case's items (about 50 over the ledger)."""
    case = str(case_id)
    step = max(size * ENTRIES_PER_ITEM // 50, 1)
    for g in range(1, size * ENTRIES_PER_ITEM + 1):
        if g % step == 0:
            item, sha = small.items[(g // step) % len(small.items)]
            yield str(small.case_id), item, sha, "viewed", '{"via":"page"}'
            continue
        n = (g - 1) // ENTRIES_PER_ITEM + 1
        sha = hashlib.sha256(f"{case}{n}".encode()).hexdigest()
        if g % ENTRIES_PER_ITEM == 1:
            yield (
                case,
                str(item_id(case_id, n)),
                sha,
                "ingested",
                f'{{"ern":"{REFERENCE}-{n:05d}","metadata_status":"none"}}',
            )
        else:
            yield case, str(item_id(case_id, n)), sha, "viewed", '{"via":"page"}'


def explain(url: str, world: World) -> list[tuple[str, str, float, bool]]:
    """EXPLAIN ANALYZE of the evidence list's statements, as the app builds them: (what, plan's first line, ms,
    whether the plan reads evidence_items or evidence_links by sequential scan). On SQLite: EXPLAIN QUERY PLAN (all of
    it) and the statement's own time."""
    from sqlalchemy import event, func, select, text
    from sqlalchemy.dialects import postgresql
    from sqlalchemy.orm import Session

    from casefile.cases.models import Case, Incident
    from casefile.db import make_engine
    from casefile.evidence import services
    from casefile.paging import COUNT_CAP

    engine = make_engine(url)
    keyset = services.EVIDENCE_KEYSET
    out = []
    sent: list[tuple[str, Any]] = []  # SQLite: the statement and parameters the driver was given
    listen = ("before_cursor_execute", lambda *a: sent.append((a[2], a[3])))
    with Session(engine) as s:
        case = s.get(Case, world.case_id)
        assert case is not None
        incident = s.scalar(select(Incident.id).where(Incident.case_id == world.case_id).limit(1))
        filters = {
            "no filter": {},
            "kind=video": {"kind": "video"},
            "classification=under_seal": {"classification": "under_seal"},
            "source_reliability=F": {"source_reliability": "F"},
            "info_credibility=2": {"info_credibility": "2"},
            "incident": {"incident": str(incident)},
            "collected, one day": {"collected_from": "2026-01-05", "collected_to": "2026-01-05"},
        }
        for name, args in filters.items():
            stmt = services.evidence_query(case, services.parse_filter(args))
            statements = {
                "first page": keyset.after(stmt, None).limit(51),
                "last page": keyset.before(stmt, None).limit(51),
                "deep page (90 %)": keyset.after(stmt, [world.size * 9 // 10]).limit(51),
                "count": select(func.count()).select_from(stmt.order_by(None).limit(COUNT_CAP + 1).subquery()),
            }
            for what, query in statements.items():
                if engine.dialect.name == "sqlite":  # the statement run and timed, then its plan
                    sent.clear()
                    event.listen(engine, *listen)
                    started = time.perf_counter()
                    s.execute(query).all()
                    took = (time.perf_counter() - started) * 1000
                    event.remove(engine, *listen)
                    cursor = s.connection().connection.driver_connection.cursor()
                    plan = [row[-1] for row in cursor.execute("EXPLAIN QUERY PLAN " + sent[0][0], sent[0][1])]
                    # "SCAN t" reads the whole table; "SCAN t USING [COVERING] INDEX i" walks an index in its order.
                    seq_scan = any(re.fullmatch(r"SCAN (evidence_items|evidence_links)( AS \w+)?", p) for p in plan)
                    out.append((f"{name}: {what}", " | ".join(plan), took, seq_scan))
                    continue
                sql = str(query.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
                plan = [row[0] for row in s.execute(text("EXPLAIN (ANALYZE, COSTS OFF) " + sql))]
                took = next(
                    (float(m.group(1)) for line in plan if (m := re.search(r"Execution Time: ([\d.]+)", line))), 0.0
                )
                seq_scan = any(re.search(r"Seq Scan on (evidence_items|evidence_links)", line) for line in plan)
                out.append((f"{name}: {what}", plan[0].strip(), took, seq_scan))
    engine.dispose()
    return out


# --- the ledger at this size: whole verification and proofs (in a child process, for its own peak RSS) ------------


def ledger_figures(url: str, instance: str) -> dict[str, Any]:
    """Whole-ledger verification (what the `custody.verify` job of the instance runs, without fixity), a hashlib loop
    over the canonical entries as its baseline, and RFC 6962 proofs from the stored subtree roots."""
    import random
    import resource

    from casefile.config import load_settings
    from casefile.custody.chain import entry_hash
    from casefile.custody.keys import InstanceKey
    from casefile.custody.ledger import head, iter_entry_fields
    from casefile.custody.merkle import verify_consistency, verify_inclusion
    from casefile.custody.subtrees import StoredTree, leaf_data
    from casefile.custody.verify import verify_ledger
    from casefile.db import Database

    settings = load_settings({"CASEFILE_INSTANCE_PATH": instance, "CASEFILE_DATABASE_URL": url})
    public_pem = InstanceKey(settings.signing_key_path).public_pem
    database = Database(url)
    figures: dict[str, Any] = {}
    with database.read_sessionmaker() as session:
        size = head(session).seq  # type: ignore[union-attr]
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        report = verify_ledger(session, None, public_pem)
        figures["verify_s"] = time.perf_counter() - started
        figures["verify_peak_growth_mib"] = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
        figures |= {"entries": size, "ok": report.ok, "checked": report.checked}
        figures["problems"] = [p.message for p in report.problems[:3]]
        sample = list(iter_entry_fields(session, up_to=min(size, 200_000)))
        started = time.perf_counter()
        for fields in sample:
            entry_hash(fields)
        figures["baseline_rate"] = len(sample) / (time.perf_counter() - started)
        del sample
        rng = random.Random(21)
        inclusion, consistency = [], []
        for index in (rng.randrange(size) for _ in range(100)):
            started = time.perf_counter()
            tree = StoredTree(session, size)  # a fresh tree each time: nothing cached from the proof before
            proof, root = tree.inclusion_proof(index), tree.root()
            [leaf] = [f["entry_hash"] for f in iter_entry_fields(session, after=index, up_to=index + 1)]
            inclusion.append((time.perf_counter() - started) * 1000)
            assert verify_inclusion(leaf_data(leaf), index, size, proof, root)
        for old in (rng.randrange(1, size) for _ in range(20)):
            started = time.perf_counter()
            tree = StoredTree(session, size)
            proof, old_root, root = tree.consistency_proof(old), tree.root(old), tree.root()
            consistency.append((time.perf_counter() - started) * 1000)
            assert verify_consistency(old, size, old_root, root, proof)
        figures["inclusion_ms"], figures["consistency_ms"] = inclusion, consistency
    database.dispose()
    return figures


def run_ledger_figures(url: str, instance: Path) -> dict[str, Any]:
    import subprocess

    env = {k: v for k, v in os.environ.items() if not k.startswith("CASEFILE_")}
    command = [sys.executable, "-m", "bench.scale", "--ledger-figures", url, str(instance)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the ledger figures failed:\n{done.stderr[-3000:]}")
    line = next(line for line in done.stdout.splitlines() if line.startswith("RESULT "))
    return json.loads(line.removeprefix("RESULT "))


# --- requests --------------------------------------------------------------------------------------------


@dataclass
class Measure:
    latencies_ms: list[float] = field(default_factory=list)
    queries: list[int] = field(default_factory=list)

    @property
    def usual_queries(self) -> int:
        """The count most requests sent: a session's last-seen time is written once a minute or so, whatever the
        page, which adds a statement to the odd request of any kind."""
        return Counter(self.queries).most_common(1)[0][0]


def login(base: str, email: str) -> Any:
    import requests

    session = requests.Session()
    page = session.get(f"{base}/login", timeout=60).text
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    data = {"email": email, "password": PASSWORD, **({"csrf_token": match.group(1)} if match else {})}
    response = session.post(f"{base}/login", data=data, allow_redirects=False, timeout=60)
    if response.status_code != 302:
        raise RuntimeError(f"login failed: {response.status_code} {response.text[:300]}")
    return session


def run_size(
    url: str, size: int, requests_each: int, tmp: Path, show_explain: bool, only: list[str]
) -> tuple[dict[str, Measure], dict[str, Any] | None]:
    import requests

    from casefile import create_app, migrate
    from casefile.config import load_settings

    instance = tmp / f"instance-{size}"
    instance.mkdir()
    env = {"CASEFILE_INSTANCE_PATH": str(instance), "CASEFILE_DATABASE_URL": url}
    migrate.upgrade(url)
    app = create_app(load_settings(env))
    world = build(app, url, size)
    print(f"  loaded {size:,} items, {size * ENTRIES_PER_ITEM:,} ledger entries in {world.load_seconds:.1f} s")
    if show_explain:
        rows = explain(url, world)
        print(
            table(
                ["statement", "plan", "ms", "seq scan"],
                [(w, p, f"{t:.2f}", "YES" if q else "no") for w, p, t, q in rows],
            )
        )

    port = free_port()
    server = start_server(
        instance,
        port,
        tmp / f"server-{size}.log",
        command=[sys.executable, "-m", "bench.scale", "--serve"],
        extra_env={"CASEFILE_DATABASE_URL": url, "CASEFILE_CHECKPOINT_MINUTES": "0"},
    )
    try:
        base = f"http://127.0.0.1:{port}"
        web = login(base, world.email)
        api = requests.Session()
        api.headers["Authorization"] = f"Bearer {world.token}"
        first = web.get(f"{base}/cases/{world.case_id}/evidence", timeout=60)
        last = re.search(r'<a href="([^"]+)" rel="last"', first.text)
        if last is None:
            raise RuntimeError("the evidence list has no Last link")
        last_url = last.group(1).replace("&amp;", "&")
        token = last_url.split("before=", 1)[1]
        overview = web.get(f"{base}/custody", timeout=60).text
        csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', overview)
        verify_form = {"case_id": str(world.small_case_id), **({"csrf_token": csrf.group(1)} if csrf else {})}
        half = world.size * ENTRIES_PER_ITEM // 2
        targets: dict[str, tuple[Any, str, dict[str, str] | None]] = {
            "evidence list, first page": (web, f"/cases/{world.case_id}/evidence", None),
            "evidence list, last page (cursor)": (web, last_url, None),
            "API evidence list, first page": (api, f"/api/v1/cases/{world.case_id}/evidence", None),
            "API evidence list, last page (cursor)": (
                api,
                f"/api/v1/cases/{world.case_id}/evidence?before={token}",
                None,
            ),
            "item page": (web, f"/evidence/{item_id(world.case_id, size // 2)}", None),
            "API item": (api, f"/api/v1/evidence/{item_id(world.case_id, size // 2)}", None),
            "charges list": (web, f"/cases/{world.case_id}/charges", None),
            "charge matrix (page)": (web, f"/charges/{world.charge_id}", None),
            "charge matrix (API)": (api, f"/api/v1/charges/{world.charge_id}/matrix", None),
            f"search, a word in every item ({EVERY_ITEM_WORD})": (web, f"/search?q={EVERY_ITEM_WORD}", None),
            "search, an Arabic word in 10 %": (web, f"/search?q={ARABIC_WORD}", None),
            "verification of a 5-item case (page)": (web, "/custody/verify", verify_form),
            "API verification of a 5-item case": (api, f"/api/v1/custody/verify?case_id={world.small_case_id}", None),
            "API tree head": (api, "/api/v1/custody/tree-head", None),
            "API consistency proof (half the ledger)": (api, f"/api/v1/custody/consistency?first={half}", None),
        }
        targets = {name: target for name, target in targets.items() if not only or any(o in name for o in only)}
        measures = {name: Measure() for name in targets}
        for round_ in range(3 + requests_each):  # 3 warm-up rounds, not recorded
            for name, (client, path, form) in targets.items():
                started = time.perf_counter()
                if form is None:
                    response = client.get(base + path, timeout=600, allow_redirects=False)
                else:
                    response = client.post(base + path, data=form, timeout=600, allow_redirects=False)
                took = (time.perf_counter() - started) * 1000
                if response.status_code != 200:
                    raise RuntimeError(f"{name}: {path} answered {response.status_code}: {response.text[:300]}")
                if round_ == 0 and "verification" in name and "API" in name and not response.json()["ok"]:
                    raise RuntimeError(f"{name}: the case does not verify: {response.json()['problems'][:3]}")
                if round_ >= 3:
                    measures[name].latencies_ms.append(took)
                    measures[name].queries.append(int(response.headers.get(QUERY_HEADER, "-1")))
    finally:
        stop_server(server)
    figures = None
    if not only or any("ledger" in o for o in only):
        print("  verifying the whole ledger and computing proofs ...", flush=True)
        figures = run_ledger_figures(url, instance)
    return measures, figures


def ledger_table(sizes: list[int], ledgers: dict[int, dict[str, Any]]) -> list[str]:
    """The second table: whole-ledger verification and proofs at each size; returns what misses a target (the
    verification must find the ledger intact, at the largest size at VERIFY_RATIO of the hashlib loop's rate or
    more, and a proof's p95 stay within the requests' targets)."""
    from casefile.custody.verify import SLICE_ENTRIES

    rows, failures = [], []
    for size in sizes:
        f = ledgers[size]
        rate = f["entries"] / f["verify_s"]
        rows.append(
            [
                f"{size:,} items",
                f"{f['entries']:,}",
                f"{f['verify_s']:.1f} s, {rate:,.0f}/s",
                f"{rate / f['baseline_rate']:.2f}",
                f"{f['verify_peak_growth_mib']:.0f} MiB",
                "intact" if f["ok"] and f["checked"] == f["entries"] else f"NOT INTACT: {f['problems']}",
                f"{percentile(f['inclusion_ms'], 50):.1f}/{percentile(f['inclusion_ms'], 95):.1f}",
                f"{percentile(f['consistency_ms'], 50):.1f}/{percentile(f['consistency_ms'], 95):.1f}",
            ]
        )
        if not f["ok"] or f["checked"] != f["entries"]:
            failures.append(f"whole-ledger verification at {size:,} items: {f['problems']}")
    small, large = ledgers[sizes[0]], ledgers[sizes[-1]]
    speed = large["entries"] / large["verify_s"] / large["baseline_rate"]
    if large["entries"] >= 2 * SLICE_ENTRIES and speed < VERIFY_RATIO:  # shorter: one process, not judged
        failures.append(f"whole-ledger verification {speed:.2f}x the hashlib loop < {VERIFY_RATIO}x")
    for kind in ("inclusion_ms", "consistency_ms"):
        lo, hi = percentile(small[kind], 95), percentile(large[kind], 95)
        if hi > RATIO_LIMIT * max(lo, 1.0) or hi > P95_LIMIT_MS:  # below a millisecond, a ratio is noise
            failures.append(f"{kind.split('_')[0]} proof p95 {lo:.1f} -> {hi:.1f} ms")
    print()
    headers = [
        "ledger",
        "entries",
        "whole verification (no fixity)",
        "rate / hashlib loop",
        "verify peak RSS growth",
        "result",
        "inclusion proof p50/p95 ms",
        "consistency proof p50/p95 ms",
    ]
    print(table(headers, rows))
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000", help="item counts, comma-separated (default 10000,100000)")
    parser.add_argument("--requests", type=int, default=50, help="measured requests of each kind per size")
    parser.add_argument("--postgres-url", default=os.environ.get("CASEFILE_TEST_POSTGRES_URL", DEFAULT_PG))
    parser.add_argument(
        "--sqlite", action="store_true", help="SQLite (the embedded mode) instead: a database file per size"
    )
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE the evidence list at each size")
    parser.add_argument("--only", default="", help="only the requests whose name holds one of these (comma-separated)")
    parser.add_argument("--quick", action="store_true", default=quick_from_env())
    parser.add_argument("--keep", action="store_true", help="keep the instance folders (the databases are dropped)")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--ledger-figures", nargs=2, metavar=("URL", "INSTANCE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.port)
        return 0
    if args.ledger_figures:
        print("RESULT " + json.dumps(ledger_figures(*args.ledger_figures)), flush=True)
        return 0
    sizes = [1_000, 10_000] if args.quick else sorted(int(s.replace("_", "")) for s in args.sizes.split(","))
    requests_each = 15 if args.quick else args.requests
    only = [o.strip() for o in args.only.split(",") if o.strip()]
    if len(sizes) < 2:
        parser.error("give at least two sizes: the smallest is the baseline")
    listed = ", ".join(f"{s:,}" for s in sizes)
    engine_name = "SQLite" if args.sqlite else "PostgreSQL"
    print(f"# Scale benchmark: {engine_name}, {listed} items, {requests_each} requests of each kind per size")
    print(f"load average (1 min): {os.getloadavg()[0]:.2f}")

    results: dict[int, dict[str, Measure]] = {}
    ledgers: dict[int, dict[str, Any] | None] = {}
    with temp_dir("casefile-bench-scale-", keep=args.keep) as tmp:
        for size in sizes:
            if args.sqlite:
                print(f"\n## {size:,} items (SQLite)")
                url = f"sqlite:///{tmp}/casefile-{size}.db"
                results[size], ledgers[size] = run_size(url, size, requests_each, tmp, args.explain, only)
                continue
            db = f"cf_bench_scale_{os.getpid()}_{size}"
            url = args.postgres_url.format(db=db)
            print(f"\n## {size:,} items (database {db})")
            admin(args.postgres_url, f'CREATE DATABASE "{db}"')
            try:
                results[size], ledgers[size] = run_size(url, size, requests_each, tmp, args.explain, only)
            finally:
                admin(args.postgres_url, f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')

    small, large = sizes[0], sizes[-1]
    rows, failures = [], []
    for name in results[small]:
        lo, hi = results[small][name], results[large][name]
        ratio = percentile(hi.latencies_ms, 95) / max(percentile(lo.latencies_ms, 95), 0.001)
        problems = []
        if ratio > RATIO_LIMIT:
            problems.append(f"ratio {ratio:.1f} > {RATIO_LIMIT:g}")
        if percentile(hi.latencies_ms, 95) > P95_LIMIT_MS:
            problems.append(f"p95 {percentile(hi.latencies_ms, 95):.0f} ms > {P95_LIMIT_MS:g} ms")
        if hi.usual_queries != lo.usual_queries:
            problems.append(f"queries {lo.usual_queries} -> {hi.usual_queries}")
        if problems:
            failures.append(f"{name}: {', '.join(problems)}")
        cells: list[Any] = [name]
        for size in sizes:
            m = results[size][name]
            cells.append(
                f"{m.usual_queries} q, {percentile(m.latencies_ms, 50):.0f}/{percentile(m.latencies_ms, 95):.0f}"
            )
        rows.append([*cells, f"{ratio:.2f}", verdict(not problems)])
    print()
    headers = ["request", *(f"{s:,}: queries, p50/p95 ms" for s in sizes), f"p95 {large:,}/{small:,}", "verdict"]
    print(table(headers, rows))
    if ledgers[small] is not None and ledgers[large] is not None:
        failures += ledger_table(sizes, ledgers)  # type: ignore[arg-type]
    print()
    if failures:
        print(f"FAIL ({len(failures)} of {len(rows)}):")
        for failure in failures:
            print(f"  - {failure}")
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
