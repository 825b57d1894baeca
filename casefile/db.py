"""Database plumbing: the declarative base, engines, and the one session per request.

Services flush and never commit; the request (or CLI command) commits once, in `finish_request`.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, ClassVar

from flask import Flask, current_app, g, has_request_context, request
from flask.typing import ResponseReturnValue
from sqlalchemy import DateTime, Engine, Enum, MetaData, create_engine, event
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.types import TypeDecorator

from casefile.custody.chain import canonical_text

# Constraint names come from a convention so migrations can address them by name on both engines.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# Who acts outside a request: a job runs for the person who asked for it (casefile.jobs.runner sets this), and what it
# changes is theirs in the case's activity feed (casefile/activity). In a request it is the logged-in user.
acting_user: ContextVar[uuid.UUID | None] = ContextVar("acting_user", default=None)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every engine (SQLite hands back naive values otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: all times are stored in UTC")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime}


def enum_type(cls: type[enum.Enum], name: str) -> Enum:
    """The column type of an enumeration: stored as plain strings with a named CHECK constraint, portable
    across engines and readable in a raw dump."""
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


class UUIDPrimaryKey:
    # Opaque, unguessable identifiers in URLs: no enumeration of another case's objects by counting.
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)


def make_engine(url: str, *, immediate: bool = True) -> Engine:
    """Create an engine. For SQLite, `immediate` makes every transaction take the write lock at BEGIN,
    which is what serialises custody-ledger appends (deferred transactions forked the chain when measured).

    JSON is written in the ledger's canonical form (sorted keys, compact, UTF-8): a ledger entry's stored `details`
    is then the very text its hash covers, and verification hashes it as stored instead of parsing and re-encoding
    it (twice as fast; an entry stored otherwise, as before this, is parsed as it always was).
    """
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, json_serializer=canonical_text)

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
            # Take transaction control away from pysqlite so our own BEGIN is the one that counts.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    # READ COMMITTED is what the ledger's FOR UPDATE head lock was measured under (0 forks).
    return create_engine(url, pool_pre_ping=True, isolation_level="READ COMMITTED", json_serializer=canonical_text)


class Database:
    """Engines and session factories of one app. Auth look-ups use a separate read engine so that
    a request streaming a large upload does not hold SQLite's write lock while it spools."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        # Reads that must see one consistent state (verification walks the chain, then checks the head)
        # run in a snapshot: a deferred transaction in SQLite's WAL mode, REPEATABLE READ on PostgreSQL.
        self.read_engine = (
            make_engine(url, immediate=False)
            if url.startswith("sqlite")
            else self.engine.execution_options(isolation_level="REPEATABLE READ")
        )
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)
        self.read_sessionmaker = sessionmaker(self.read_engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def dispose(self) -> None:
        self.engine.dispose()
        if self.read_engine is not self.engine:
            self.read_engine.dispose()


def get_database(app: Flask | None = None) -> Database:
    return (app or current_app).extensions["casefile_db"]


# Requests that, by HTTP's rules, only read. Some still write (a view of evidence is a custody entry), after reading.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# What SQLite answers when a transaction that began by reading cannot start writing: another connection holds the
# write lock, or committed since this transaction's snapshot (SQLITE_BUSY, SQLITE_BUSY_SNAPSHOT).
_SQLITE_BUSY_CODES = frozenset({5, 517})


def db_session() -> Session:
    """The request's unit of work, opened on first use.

    On SQLite a transaction that will write must take the write lock at BEGIN (IMMEDIATE: the ledger's appends are
    serialised by it). A safe request (GET, HEAD) begins as a plain read instead, so page views never queue behind a
    writer; if it then writes (a `viewed` entry) and SQLite refuses to upgrade its read, the request is dispatched again
    with the write lock from the start (`CasefileFlask.dispatch_request`). PostgreSQL readers never wait for writers."""
    if "db_session" not in g:
        database = get_database()
        reads_first = (
            database.is_sqlite
            and has_request_context()
            and request.method in SAFE_METHODS
            and not g.get("write_lock", False)
        )
        g.db_session = (database.read_sessionmaker if reads_first else database.sessionmaker)()
    return g.db_session


def lost_read_upgrade(error: OperationalError) -> bool:
    return getattr(error.orig, "sqlite_errorcode", None) in _SQLITE_BUSY_CODES


class CasefileFlask(Flask):
    def dispatch_request(self) -> ResponseReturnValue:
        try:
            return super().dispatch_request()
        except OperationalError as error:
            if g.get("write_lock", False) or not lost_read_upgrade(error) or request.method not in SAFE_METHODS:
                raise
        # The first attempt read, then could not write: undo it and run the view again, writing from the start.
        finish_request(commit=False)
        g.write_lock = True
        return super().dispatch_request()


def finish_request(commit: bool) -> None:
    session: Session | None = g.pop("db_session", None)
    if session is None:
        return
    try:
        if commit:
            session.commit()
        else:
            session.rollback()
    finally:
        session.close()


@contextmanager
def session_scope(app: Flask | None = None) -> Iterator[Session]:
    """A unit of work outside a request (CLI, background work): commit on success, roll back on error."""
    session = get_database(app).sessionmaker()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def init_app(app: Flask, url: str) -> Database:
    database = Database(url)
    app.extensions["casefile_db"] = database
    return database
