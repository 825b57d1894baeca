"""Migrations, after SecureDrop's tests/test_alembic.py: on a fresh, empty database of the engine under test,
the revisions reach exactly the models, every revision goes up and down one step at a time and leaves the
schema as it found it, and rows survive an upgrade that is already done and a round trip of the last
revision. Everything is generic over the revision list, so new revisions are covered as they are added.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import Script, ScriptDirectory
from sqlalchemy import Engine, create_engine, inspect, pool, select, text
from sqlalchemy.orm import Session

from casefile.migrate import alembic_config
from casefile.search.models import FTS_TABLES

DB_KIND = os.environ.get("CASEFILE_TEST_DB", "sqlite")
PG_URL = os.environ.get("CASEFILE_TEST_POSTGRES_URL", "postgresql+psycopg://root@/{db}?host=/var/run/postgresql")
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")
VERSION_TABLE = "alembic_version"


# --- a fresh, empty database ---------------------------------------------------------------------------


def _pg_admin(statement: str) -> None:
    engine = create_engine(PG_URL.format(db="postgres"), isolation_level="AUTOCOMMIT", poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            conn.execute(text(statement))
    finally:
        engine.dispose()


@pytest.fixture
def fresh_url(tmp_path: Path) -> Iterator[str]:
    if DB_KIND == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    name = f"cf_mig_{WORKER}_{uuid.uuid4().hex[:10]}"
    _pg_admin(f'CREATE DATABASE "{name}"')
    try:
        yield PG_URL.format(db=name)
    finally:
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def cfg(fresh_url: str) -> Config:
    return alembic_config(fresh_url)


@pytest.fixture
def engine(fresh_url: str) -> Iterator[Engine]:
    # NullPool: no connection stays open to block a DROP or a SQLite table rebuild.
    eng = create_engine(fresh_url, poolclass=pool.NullPool)
    yield eng
    eng.dispose()


# --- helpers -----------------------------------------------------------------------------------------------


def revisions(cfg: Config) -> list[Script]:
    """All revisions from base to head. The history must be linear: one head, one parent per revision."""
    script = ScriptDirectory.from_config(cfg)
    heads = script.get_heads()
    assert len(heads) == 1, f"migrations have several heads {heads}: add a merge revision"
    ordered = list(reversed(list(script.walk_revisions("base", "heads"))))
    for rev in ordered:
        assert not isinstance(rev.down_revision, tuple | list), f"{rev.revision} merges {rev.down_revision}"
    assert ordered and ordered[0].down_revision is None
    assert ordered[-1].revision == heads[0]
    return ordered


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def user_tables(engine: Engine) -> set[str]:
    """The tables the models describe: all but Alembic's and SQLite's FTS5 search tables (see sqlite_objects)."""
    return set(inspect(engine).get_table_names()) - {VERSION_TABLE} - FTS_TABLES


def sqlite_objects(engine: Engine) -> list[tuple[str, str, str]]:
    """What SQLite holds beyond the models: triggers, and the FTS5 search table and its shadow tables (made by SQL
    in the revisions, so invisible to the inspector's columns and indexes)."""
    if engine.dialect.name != "sqlite":
        return []
    names = ", ".join(f"'{name}'" for name in sorted(FTS_TABLES))
    with engine.connect() as conn:
        found = conn.execute(
            text(
                "SELECT type, name, tbl_name FROM sqlite_master "  # noqa: S608 - names are constants
                f"WHERE type = 'trigger' OR (type = 'table' AND name IN ({names}))"
            )
        )
        return sorted((str(t), str(n), str(tbl)) for t, n, tbl in found)


def schema(engine: Engine) -> dict[str, Any]:
    """A comparable description of the schema (tables, columns, keys, indexes, constraints)."""

    def norm(value: Any) -> str:
        return re.sub(r"\s+", " ", str(value)).strip().upper() if value is not None else ""

    insp = inspect(engine)
    out: dict[str, Any] = {}
    for table in sorted(user_tables(engine)):
        out[table] = {
            "columns": sorted(
                (c["name"], norm(c["type"]), c["nullable"], norm(c.get("default"))) for c in insp.get_columns(table)
            ),
            "pk": sorted(insp.get_pk_constraint(table)["constrained_columns"]),
            "fks": sorted(
                (
                    tuple(fk["constrained_columns"]),
                    fk["referred_table"],
                    tuple(fk["referred_columns"]),
                    norm((fk.get("options") or {}).get("ondelete")),
                )
                for fk in insp.get_foreign_keys(table)
            ),
            "indexes": sorted(
                (i["name"] or "", tuple(c or "" for c in i["column_names"]), bool(i["unique"]))
                for i in insp.get_indexes(table)
            ),
            "uniques": sorted(tuple(u["column_names"]) for u in insp.get_unique_constraints(table)),
            "checks": sorted(c["name"] or "" for c in insp.get_check_constraints(table)),
        }
    extra = sqlite_objects(engine)
    if extra:
        out["(sqlite_master)"] = extra
    return out


def leftovers_pg(engine: Engine) -> list[str]:
    """Types and sequences a downgrade forgot to drop (PostgreSQL keeps them after DROP TABLE)."""
    with engine.connect() as conn:
        return list(
            conn.scalars(
                text(
                    "SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
                    "WHERE n.nspname = 'public' AND t.typtype IN ('e', 'd', 'r', 'm') "
                    "UNION ALL SELECT sequence_name FROM information_schema.sequences "
                    "WHERE sequence_schema = 'public'"
                )
            )
        )


def rows(engine: Engine, columns_of: dict[str, set[str]] | None = None) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (restricted to `columns_of[table]` when given), order-independent."""
    tables = sorted(columns_of) if columns_of is not None else sorted(user_tables(engine))
    out: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        for table in tables:
            cols = sorted(columns_of[table]) if columns_of is not None else None
            select_list = ", ".join(f'"{c}"' for c in cols) if cols else "*"
            result = conn.execute(text(f'SELECT {select_list} FROM "{table}"'))  # noqa: S608 - names from the schema
            keys = list(result.keys())
            out[table] = sorted(
                (tuple(sorted(zip(keys, (str(v) for v in row), strict=True))) for row in result), key=repr
            )
    return out


def columns(engine: Engine) -> dict[str, set[str]]:
    insp = inspect(engine)
    return {t: {c["name"] for c in insp.get_columns(t)} for t in user_tables(engine)}


def insert_sample_rows(engine: Engine) -> None:
    """A user with a token, a case with a member and an incident, and a login attempt, through the models
    (which equal the schema at head, as test_head_matches_models proves), so defaults of new columns apply."""
    from casefile.auth.models import ApiToken, CaseRole, LoginAttempt, Membership, Role, User
    from casefile.cases.models import Case, DatePrecision, Incident, LocationPrecision

    with Session(engine) as s, s.begin():
        user = User(
            email="survivor@example.org",
            name="Migration survivor",
            role=Role.INVESTIGATOR,
            password_hash="$argon2id$v=19$m=65536,t=3,p=4$placeholder",
            session_token="0" * 32,
        )
        s.add(user)
        s.flush()
        case = Case(
            reference="MIG-1", title="Survives migrations", summary="ترهونة", situation="", created_by_id=user.id
        )
        s.add(case)
        s.flush()
        s.add(Membership(case_id=case.id, user_id=user.id, role=CaseRole.INVESTIGATOR, can_view_identities=True))
        s.add(ApiToken(user_id=user.id, name="cli", token_hash="f" * 64, prefix="cf_abcdefg"))
        s.add(LoginAttempt(email=user.email, address="127.0.0.1", success=True, at=datetime(2026, 1, 2, tzinfo=UTC)))
        s.add(
            Incident(
                case_id=case.id,
                title="Mass graves",
                description="<script>alert(1)</script>",
                start_date=date(2020, 6, 1),
                end_date=date(2020, 6, 30),
                date_precision=DatePrecision.MONTH,
                place_name="Tarhouna",
                latitude=32.435,
                longitude=13.634,
                location_precision=LocationPrecision.LOCALITY,
                violation_types=["killing", "mass_grave"],
                victim_count=11,
            )
        )


# --- tests -------------------------------------------------------------------------------------------------


def test_files_are_named_in_chain_order() -> None:
    """Listing migrations/versions reads as the upgrade order: file number N is the Nth step of the chain (two
    early revisions keep ids that predate a reordering, so the number is not always the revision id)."""
    names = [Path(rev.path).name for rev in revisions(alembic_config("sqlite://"))]
    assert names == sorted(names)
    numbers = [re.match(r"\d{8}_(\d{4})_", name) for name in names]
    assert [match.group(1) if match else name for match, name in zip(numbers, names, strict=True)] == [
        f"{step:04d}" for step in range(1, len(names) + 1)
    ]


def test_head_matches_models(cfg: Config, engine: Engine) -> None:
    assert user_tables(engine) == set()
    command.upgrade(cfg, "head")
    assert current_revision(engine) == revisions(cfg)[-1].revision
    # Raises AutogenerateDiffsDetected when the models and the migrations disagree.
    command.check(cfg)
    from casefile.models import metadata

    assert user_tables(engine) == set(metadata.tables)
    # Besides the models' tables, exactly SQLite's FTS5 search table and its shadow tables, and only on SQLite.
    fts = FTS_TABLES if engine.dialect.name == "sqlite" else set()
    assert set(inspect(engine).get_table_names()) - {VERSION_TABLE} - set(metadata.tables) == fts


def test_check_still_reports_a_stray_table(cfg: Config, engine: Engine) -> None:
    """Ignoring the FTS5 tables must not blind `alembic check` to other tables the models do not declare."""
    from alembic.util import AutogenerateDiffsDetected

    command.upgrade(cfg, "head")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE search_fts_extra (id INTEGER PRIMARY KEY)"))
    with pytest.raises(AutogenerateDiffsDetected, match="search_fts_extra"):
        command.check(cfg)


def test_every_revision_up_and_down_one_step(cfg: Config, engine: Engine) -> None:
    ordered = revisions(cfg)
    before: dict[str | None, dict[str, Any]] = {None: schema(engine)}
    assert before[None] == {}
    for rev in ordered:
        command.upgrade(cfg, rev.revision)
        assert current_revision(engine) == rev.revision
        before[rev.revision] = schema(engine)
        # Up then down then up again leaves the schema exactly as the revision made it.
        command.downgrade(cfg, rev.down_revision or "base")
        assert current_revision(engine) == rev.down_revision
        assert schema(engine) == before[rev.down_revision], f"downgrade of {rev.revision} is not its inverse"
        command.upgrade(cfg, rev.revision)
        assert schema(engine) == before[rev.revision], f"{rev.revision} is not repeatable after its downgrade"

    for rev in reversed(ordered):
        assert current_revision(engine) == rev.revision
        command.downgrade(cfg, "-1")
        assert current_revision(engine) == rev.down_revision
        assert schema(engine) == before[rev.down_revision], f"downgrade of {rev.revision}"

    assert current_revision(engine) is None
    assert set(inspect(engine).get_table_names()) <= {VERSION_TABLE}, "tables left behind after downgrade to base"
    if engine.dialect.name == "postgresql":
        assert leftovers_pg(engine) == [], "types or sequences left behind after downgrade to base"
    # And the whole way up again from the emptied database.
    command.upgrade(cfg, "head")
    assert schema(engine) == before[ordered[-1].revision]


def test_rows_survive_upgrades(cfg: Config, engine: Engine) -> None:
    ordered = revisions(cfg)
    head, previous = ordered[-1].revision, ordered[-1].down_revision
    command.upgrade(cfg, "head")
    insert_sample_rows(engine)
    at_head = rows(engine)
    assert all(at_head[t] for t in ("users", "cases", "incidents", "memberships"))
    head_schema = schema(engine)

    # Upgrading a database that is already at head changes nothing.
    command.upgrade(cfg, "head")
    assert current_revision(engine) == head
    assert rows(engine) == at_head and schema(engine) == head_schema

    # Round trip of the last revision: rows in tables (and columns) it does not create are untouched.
    command.downgrade(cfg, "-1")
    assert current_revision(engine) == previous
    # Tables the last revision creates are gone now; tables it drops come back empty: compare the others.
    kept = {t: cols for t, cols in columns(engine).items() if t in at_head}
    expected = {t: rows_projected(at_head[t], cols) for t, cols in kept.items()}
    assert rows(engine, kept) == expected, f"downgrade of {head} lost or changed rows"
    command.upgrade(cfg, "head")
    assert current_revision(engine) == head
    assert rows(engine, kept) == expected, f"re-applying {head} lost or changed rows"
    assert schema(engine) == head_schema


def rows_projected(table_rows: list[tuple[Any, ...]], keep: set[str]) -> list[tuple[Any, ...]]:
    return sorted((tuple(kv for kv in row if kv[0] in keep) for row in table_rows), key=repr)


def test_0027_makes_each_case_creator_its_lead(cfg: Config, engine: Engine) -> None:
    """Cases made before case leads: the creator's membership becomes the lead's, nobody else's."""
    command.upgrade(cfg, "head")
    insert_sample_rows(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE memberships SET is_lead = FALSE"))
    command.downgrade(cfg, "0026")
    command.upgrade(cfg, "0027")
    with engine.connect() as conn:
        leads = conn.execute(
            text("SELECT u.email FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.is_lead")
        ).scalars()
        assert list(leads) == ["survivor@example.org"]


def test_0033_stores_the_subtree_roots_of_the_existing_ledger(cfg: Config, engine: Engine) -> None:
    """A ledger written before stored subtrees gets every root its entries complete, the ones the ledger would have
    stored at append (those a walk of the entries gives), and no other."""
    import hashlib

    from casefile.custody.merkle import MerkleAccumulator
    from casefile.custody.subtrees import BLOCK_LEVEL

    command.upgrade(cfg, "0032")
    hashes = [hashlib.sha256(f"entry {n}".encode()).hexdigest() for n in range(1, 1200)]
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO custody_entries (seq, at, actor, action, details, prev_hash, entry_hash) "
                "VALUES (:seq, :at, 'system', 'note', '{}', :prev, :hash)"
            ),
            [
                {"seq": n, "at": datetime(2026, 1, 1, tzinfo=UTC), "prev": "0" * 64, "hash": h}
                for n, h in enumerate(hashes, start=1)
            ],
        )
    command.upgrade(cfg, "0033")
    tree = MerkleAccumulator()
    expected = {}
    for h in hashes:
        for level, index, root in tree.append_noting(bytes.fromhex(h), BLOCK_LEVEL):
            expected[(level, index)] = root
    with engine.connect() as conn:
        stored = {(lv, ix): bytes(h) for lv, ix, h in conn.execute(text("SELECT level, idx, hash FROM merkle_nodes"))}
    assert stored == expected and len(stored) == 4 + 2 + 1  # 1199 entries: four blocks, two pairs, one of four


def test_0035_sends_uploads_in_progress_back_to_byte_0(cfg: Config, engine: Engine) -> None:
    """Their bytes were in one machine's spool, which nothing reads any more: a client resumes them from byte 0
    (its HEAD says so). Uploads past receiving keep their offset."""
    from casefile.auth.models import User
    from casefile.cases.models import Case
    from casefile.intake.models import ResumableUpload, UploadState

    command.upgrade(cfg, "head")
    insert_sample_rows(engine)
    with Session(engine) as s, s.begin():
        user = s.scalars(select(User)).one()
        case = s.scalars(select(Case)).one()
        for state in (UploadState.RECEIVING, UploadState.RECEIVED):
            now = datetime(2026, 12, 1, tzinfo=UTC)
            s.add(
                ResumableUpload(
                    case_id=case.id,
                    created_by_id=user.id,
                    length=10,
                    received=0,
                    filename=f"{state.value}.mp4",
                    fields={},
                    state=state,
                    created_at=now,
                    updated_at=now,
                    expires_at=now,
                )
            )
    command.downgrade(cfg, "0034")
    with engine.begin() as conn:  # as the spool-era code left them
        conn.execute(text("UPDATE resumable_uploads SET received = 6 WHERE state = 'receiving'"))
        conn.execute(text("UPDATE resumable_uploads SET received = 10 WHERE state = 'received'"))
    command.upgrade(cfg, "0035")
    with engine.connect() as conn:
        offsets = dict(conn.execute(text("SELECT filename, received FROM resumable_uploads")).all())
    assert offsets == {"receiving.mp4": 0, "received.mp4": 10}
