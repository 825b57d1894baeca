"""Each engine's own full-text index (casefile.search): on SQLite the FTS5 table `search_fts` of migration 0008,
kept in step with `search_documents` by triggers; on PostgreSQL the GIN-indexed tsvector. The behaviour tests run
on both engines (CASEFILE_TEST_DB) with the same expected results; the ones that look inside an index look inside
the one of the engine under test. Whatever a user types, it is text to look for, never query syntax of either
engine."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from flask import Flask
from sqlalchemy import create_engine, delete, event, pool, select, text
from sqlalchemy.dialects import sqlite

from casefile.cases.models import Incident
from casefile.db import get_database, session_scope
from casefile.migrate import alembic_config
from casefile.search import services
from casefile.search.models import SearchDocument
from casefile.search.services import WALK_FROM, Term, fts5_query_text, match_condition, parse_query, tsquery_text

from search_support import Team, found


def fts_mirrors_documents(app: Flask) -> int:
    """On SQLite, assert that search_fts holds exactly one row per search document, with its terms; the count."""
    with app.app_context(), session_scope() as s:
        documents = sorted(tuple(r) for r in s.execute(text("SELECT id, terms FROM search_documents")))
        if s.get_bind().dialect.name != "sqlite":
            return len(documents)
        fts = sorted(tuple(r) for r in s.execute(text("SELECT document_id, terms FROM search_fts")))
    assert fts == documents
    return len(fts)


def test_fts5_condition_is_a_match_on_search_fts() -> None:
    compiled = str(match_condition("sqlite", parse_query("ترهونة W-0001")).compile(dialect=sqlite.dialect()))
    assert "search_fts" in compiled and "MATCH" in compiled and "instr" not in compiled.lower()


def test_search_goes_through_the_engines_full_text_index(app: Flask, team: Callable[..., Team]) -> None:

    t = team()
    t.incident("Tarhouna mass graves")
    statements: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        statements.append((statement, parameters))

    database = get_database(app)
    engine = database.engine
    # A search is a GET: on SQLite it reads through the read engine (no write lock), on PostgreSQL through the engine.
    engines = {id(e): e for e in (database.engine, database.read_engine)}.values()
    for each in engines:
        event.listen(each, "before_cursor_execute", capture)
    try:
        assert found(t.search("tarhuna")) == {("incident", "Tarhouna mass graves")}
    finally:
        for each in engines:
            event.remove(each, "before_cursor_execute", capture)
    if engine.dialect.name == "sqlite":
        # How many documents match, counted no further than WALK_FROM; the page; its (bounded) count: each goes
        # through the full-text index (a word this rare is not looked for by walking the listing).
        matches, page, count = [(sql, params) for sql, params in statements if "search_fts" in sql]
        assert "search_documents" not in matches[0] and WALK_FROM in matches[1]
        assert "count(" in count[0] and "instr" not in page[0].lower()
        for sql, params in (matches, page, count):
            assert "search_fts.terms MATCH" in sql and '(("tarhuna"*) OR ("trhn"))' in params
            with engine.connect() as conn:
                plan = " | ".join(row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params))
            # The matching documents come out of the full-text index (FTS5's MATCH plan), not a scan of their terms.
            assert "search_fts VIRTUAL TABLE INDEX" in plan, plan
    else:
        page, count = [(sql, params) for sql, params in statements if "FROM search_documents" in sql]
        assert "count(" in count[0]
        sql, params = page
        assert "search_vector @@" in sql and "TSQUERY" in sql.upper()
        assert "(('tarhuna':*) | ('trhn'))" in params.values()
        # The condition can be answered from the GIN index. (On a few rows the planner rightly prefers the
        # case index of the full query, so ask about the condition alone, with sequential scans ruled out.)
        matching = select(SearchDocument.id).where(match_condition("postgresql", parse_query("tarhuna")))
        compiled = matching.compile(dialect=engine.dialect)
        with engine.connect() as conn:
            conn.exec_driver_sql("SET enable_seqscan = off")
            plan = " | ".join(row[0] for row in conn.exec_driver_sql("EXPLAIN " + str(compiled), compiled.params))
        assert "Bitmap Index Scan on ix_search_documents_search_vector" in plan, plan


def test_fts5_query_quotes_every_token() -> None:
    assert fts5_query_text(parse_query("ترهونة W-0001")) == '(("ترهونه"*) OR ("trhn")) AND (("w" AND "0001"*))'
    hostile = (((Term('a"b OR c* NEAR(', True),),),)
    assert fts5_query_text(hostile) == '(("a""b OR c* NEAR("*))'


def test_hostile_tokens_are_text_to_the_engine(app: Flask, team: Callable[..., Team]) -> None:
    """Tokens that bypass parse_query (which would have reduced them to words) still never parse as syntax."""
    t = team()
    t.incident("Shelling near the market")
    tokens = ('"', '""', "'", "''", "\\", "*", ":*", "NEAR(", "a OR b", "a & b", "!x", "-x", "^", "col:x", "market)")
    with app.app_context(), session_scope() as s:
        for token in (*tokens, "terms:market", "{terms}"):
            words = (((Term(token, False),), (Term(token, True),)),)
            # Never a syntax error; at most a phrase of the words it contains.
            if s.get_bind().dialect.name == "sqlite":
                query, sql = fts5_query_text(words), "SELECT count(*) FROM search_fts WHERE terms MATCH :q"
            else:
                query, sql = tsquery_text(words), "SELECT count(*) FROM search_documents WHERE search_vector @@ :q"
            s.execute(text(sql), {"q": query}).scalar_one()


# query → what it finds (as titles of incidents), or the status when it is refused; the same on both engines.
HOSTILE: dict[str, set[str] | int] = {
    '"': 422,
    '""': 422,
    "*": 422,
    "^": 422,
    "(": 422,
    "NEAR(": {"Shelling near the market"},
    "NEAR(market, shelling)": {"Shelling near the market"},
    "market*": {"Shelling near the market"},
    '"market"': {"Shelling near the market"},
    "-market": {"Shelling near the market"},
    "^market": {"Shelling near the market"},
    "market -shelling": {"Shelling near the market"},  # no NOT: both words are required, and both are there
    "market OR kani": set(),  # OR is a word to find, like any other
    "market AND NOT shelling": set(),
    "col:market": set(),
    "terms:market": set(),
    "{terms}:market": set(),
    "search_fts:market": set(),
    "' OR 1=1 --": set(),
    '"ترهونة': {"ترهونة checkpoint"},
    "ترهونة*": {"ترهونة checkpoint"},
}


def test_hostile_queries_are_words_on_either_engine(team: Callable[..., Team]) -> None:
    t = team()
    t.incident("Shelling near the market")
    t.incident("ترهونة checkpoint")
    outcome: dict[str, set[str] | int] = {}
    for q, expected in HOSTILE.items():
        response = t.api.get("/search", query_string={"q": q})
        if isinstance(expected, int):
            outcome[q] = response.status_code
        else:
            assert response.status_code == 200, (q, response.get_data(as_text=True)[:300])
            outcome[q] = {title for _kind, title in found(response.get_json())}
    wrong = {q: (got, HOSTILE[q]) for q, got in outcome.items() if got != HOSTILE[q]}
    assert not wrong, wrong


def test_walking_the_listing_finds_what_the_full_text_index_finds(
    app: Flask, team: Callable[..., Team], monkeypatch: pytest.MonkeyPatch
) -> None:
    """On SQLite a word in many documents is looked for by walking the listing and testing each document's terms
    (services.terms_condition): the same documents, in the same order, with the same totals, as through FTS5, for
    prefixes, name keys, Arabic, digits and hostile input. (PostgreSQL has one way; it must give the same too.)"""
    t = team()
    for title in ("Shelling near the market", "ترهونة checkpoint", "Tarhouna mass graves", "Market fire 2019"):
        t.incident(title)
    t.actor("محمد الكاني", aliases=["Mohammed al-Kani"])
    t.actor("Kaniyat militia", aliases=["الكانيات"])
    t.witness("W-0001 Salim")
    t.evidence("Autopsy report W-0001", content=b"autopsy")
    queries = [
        *HOSTILE,
        "market",
        "mark",
        "tarhuna",
        "ترهونه",
        "al-Kani",
        "alkani",
        "الكاني",
        "W-0001",
        "w-000",
        "2019",
        "autopsy report",
        "kaniyat militia",
        "salim",
        "zzz",
        "_",
        "ﻙ",
    ]

    def results() -> dict[str, Any]:
        seen: dict[str, Any] = {}
        for q in queries:
            pages = [t.api.get("/search", query_string={"q": q, "per_page": 2, "page": n}) for n in (1, 2, 3)]
            seen[q] = [
                ([(i["object_type"], i["title"]) for i in r.get_json()["items"]], r.get_json()["total"])
                if r.status_code == 200
                else r.status_code
                for r in pages
            ]
        return seen

    through_the_index = results()
    statements: list[str] = []
    engine = get_database(app).read_engine

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        statements.append(statement)

    monkeypatch.setattr(services, "WALK_FROM", 0)  # every word counts as common: always walk
    event.listen(engine, "before_cursor_execute", capture)
    try:
        walking = results()
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    assert walking == through_the_index
    assert sum(1 for pages in through_the_index.values() if pages[0] != 422 and pages[0][0]) >= 12
    if engine.dialect.name == "sqlite":
        [walk, *_] = [sql for sql in statements if "instr(" in sql]
        assert "search_fts" not in walk  # each document's own terms, not an FTS5 probe per document
        with engine.connect() as conn:
            params = tuple(range(walk.count("?")))
            plan = " | ".join(row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + walk, params))
        # The listing's own index, in its order: the walk stops when the page is full (no sort of every match).
        assert "USING INDEX ix_search_documents_listing" in plan and "TEMP B-TREE" not in plan, plan


def test_document_ids_are_never_matched(app: Flask, team: Callable[..., Team]) -> None:
    t = team()
    t.incident("Tarhouna")
    with app.app_context(), session_scope() as s:
        [document_id] = s.scalars(select(SearchDocument.id)).all()
    assert t.search(document_id.hex)["total"] == 0
    assert t.search(str(document_id))["total"] == 0


def test_edits_and_deletions_reach_the_full_text_index(app: Flask, team: Callable[..., Team]) -> None:
    t = team()
    incident = t.incident("Shelling of Abu Salim", place_name="Tripoli")
    t.actor("Kaniyat militia", aliases=["الكانيات"])
    assert fts_mirrors_documents(app) == 2
    assert found(t.search("Salim")) == {("incident", "Shelling of Abu Salim")}

    changed = t.api.patch(f"/incidents/{incident['id']}", json={"title": "Shelling of Qasr Bin Ghashir"})
    assert changed.status_code == 200, changed.get_data(as_text=True)
    assert t.search("Salim")["total"] == 0
    assert found(t.search("Ghashir")) == {("incident", "Shelling of Qasr Bin Ghashir")}
    assert found(t.search("غشير")) == {("incident", "Shelling of Qasr Bin Ghashir")}  # by name key: ghshr
    assert fts_mirrors_documents(app) == 2

    with app.app_context(), session_scope() as s:
        s.delete(s.get(Incident, uuid.UUID(incident["id"])))
    assert t.search("Ghashir")["total"] == 0 and t.search("Tripoli")["total"] == 0
    assert found(t.search("الكانيات")) == {("actor", "Kaniyat militia")}
    assert fts_mirrors_documents(app) == 1


def test_reindex_leaves_the_full_text_index_right(app: Flask, team: Callable[..., Team]) -> None:
    t = team()
    t.incident("Tarhouna mass graves")
    t.actor("محمد الكاني")
    t.evidence("Autopsy report")
    with app.app_context(), session_scope() as s:
        s.execute(delete(SearchDocument))
        if s.get_bind().dialect.name == "sqlite":
            # A row that drifted from its document (as if written while the triggers were missing).
            s.execute(text("INSERT INTO search_fts (document_id, terms) VALUES ('0' || hex(randomblob(15)), 'stray')"))
    assert t.search("tarhuna")["total"] == 0
    result = app.test_cli_runner().invoke(args=["search", "reindex"])
    assert result.exit_code == 0, result.output
    assert fts_mirrors_documents(app) == 3
    assert found(t.search("ترهونه")) == {("incident", "Tarhouna mass graves")}
    assert found(t.search("al-Kani")) == {("actor", "محمد الكاني")}
    assert t.search("autopsy")["total"] == 1


def test_migration_fills_the_fts5_table_from_existing_documents_and_downgrade_removes_it(tmp_path: Path) -> None:
    # A SQLite file of its own, whichever engine the rest of the suite runs on.
    url = f"sqlite:///{tmp_path / 'upgrade.db'}"
    cfg = alembic_config(url)
    command.upgrade(cfg, "0006")
    engine = create_engine(url, poolclass=pool.NullPool)
    document_id = uuid.uuid4().hex
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO search_documents (id, case_id, object_type, object_id, title, terms, updated_at) "
                "VALUES (:id, :case_id, 'incident', :object_id, 'Tarhouna', 'tarhouna ترهونه trhn', '2026-01-01')"
            ),
            {"id": document_id, "case_id": uuid.uuid4().hex, "object_id": uuid.uuid4().hex},
        )
    command.upgrade(cfg, "0008")
    with engine.connect() as conn:
        for query in ('"ترهون"*', '"trhn"', '"tarhouna"'):
            matched = conn.execute(text("SELECT document_id FROM search_fts WHERE terms MATCH :q"), {"q": query})
            assert matched.scalars().all() == [document_id], query
    command.downgrade(cfg, "0006")
    with engine.connect() as conn:
        left = conn.execute(text("SELECT name FROM sqlite_master WHERE name LIKE 'search_fts%'")).scalars().all()
        assert left == []
        assert conn.execute(text("SELECT count(*) FROM search_documents")).scalar_one() == 1
    engine.dispose()
