"""The database half of a backup: a consistent snapshot while the app runs, what that snapshot holds, and its
restore into an empty database. SQLite through its online backup API, PostgreSQL through pg_dump/pg_restore."""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess  # pg_dump/pg_restore: fixed argument lists, never a shell
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Connection, create_engine, func, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from casefile.backup import BackupError
from casefile.backup.blobs import BlobRef, referenced_blobs
from casefile.cases.models import Case
from casefile.custody.ledger import head
from casefile.custody.models import Checkpoint, CustodyEntry
from casefile.evidence.models import EvidenceItem

SQLITE_FILE = "database.sqlite3"
PG_FILE = "database.pgdump"
PG_DUMP = os.environ.get("CASEFILE_PG_DUMP", "/usr/bin/pg_dump")
PG_RESTORE = os.environ.get("CASEFILE_PG_RESTORE", "/usr/bin/pg_restore")


@dataclass
class SnapshotInfo:
    """What a database snapshot holds, read from the snapshot itself (never from the live database)."""

    revision: str | None
    head_seq: int
    head_hash: str | None
    checkpoints: int
    blobs: list[BlobRef] = field(default_factory=list)


def kind_of(url: str) -> str:
    backend = make_url(url).get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise BackupError(f"backups support SQLite and PostgreSQL databases, not {backend}")
    return backend


def read_info(session: Session) -> SnapshotInfo:
    revision = session.execute(text("SELECT version_num FROM alembic_version")).scalar()
    ledger_head = head(session)
    return SnapshotInfo(
        revision=revision,
        head_seq=ledger_head.seq if ledger_head else 0,
        head_hash=ledger_head.entry_hash if ledger_head and ledger_head.seq else None,
        checkpoints=session.scalar(select(func.count()).select_from(Checkpoint)) or 0,
        blobs=referenced_blobs(session),
    )


# --- SQLite -----------------------------------------------------------------------------------------------------


def sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("the SQLite database must be a file")
    return Path(database).resolve()


def snapshot_sqlite(url: str, target: Path) -> SnapshotInfo:
    """Copy the live database with SQLite's backup API in one step: that step reads under one read transaction,
    so writers (WAL mode) carry on and the copy is one committed state. Then read what that copy holds."""
    source_path = sqlite_path(url)
    if not source_path.is_file():
        raise BackupError(f"the SQLite database {source_path} does not exist")
    source = sqlite3.connect(source_path, timeout=30)
    try:
        destination = sqlite3.connect(target)
        try:
            source.backup(destination)  # pages=-1: everything in one step
            # A self-contained file: no -wal/-shm beside it in the bag.
            destination.execute("PRAGMA journal_mode=DELETE")
        finally:
            destination.close()
    finally:
        source.close()
    with sqlite_session(target) as session:
        return read_info(session)


@contextlib.contextmanager
def sqlite_session(path: Path) -> Iterator[Session]:
    engine = create_engine(f"sqlite:///{path}")
    try:
        with Session(engine) as session:
            yield session
    finally:
        engine.dispose()


def integrity_problems(path: Path) -> list[str]:
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = [str(row[0]) for row in connection.execute("PRAGMA integrity_check")]
    except sqlite3.DatabaseError as error:
        return [f"{path.name}: not a readable SQLite database ({error})"]
    finally:
        connection.close()
    return [] if rows == ["ok"] else [f"{path.name}: integrity check: {row}" for row in rows]


def restore_sqlite(source: Path, url: str) -> None:
    """Put the snapshot in place of the (empty) target file, atomically; the old WAL files must go with it."""
    target = sqlite_path(url)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.restore-")
    try:
        with os.fdopen(fd, "wb") as out, source.open("rb") as src:
            shutil.copyfileobj(src, out, 1 << 20)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temp, 0o600)
        for suffix in ("-wal", "-shm", "-journal"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"{target}{suffix}")
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise


# --- PostgreSQL -------------------------------------------------------------------------------------------------


def libpq_target(url: str) -> tuple[str, dict[str, str]]:
    """The SQLAlchemy URL as libpq wants it (postgresql://…), the password moved to PGPASSWORD so that it never
    appears in a process list."""
    parsed = make_url(url)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    return parsed.set(drivername="postgresql", password=None).render_as_string(hide_password=False), env


def _run(command: list[str], env: dict[str, str], what: str) -> None:
    try:
        result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    except OSError as error:
        raise BackupError(f"cannot run {command[0]}: {error.strerror}") from None
    if result.returncode != 0:
        raise BackupError(f"{what} failed: {result.stderr.strip()[-2000:]}")


def snapshot_postgresql(url: str, target: Path) -> SnapshotInfo:
    """pg_dump inside a snapshot this process exported: the metadata read here and the dump see one state."""
    dsn, env = libpq_target(url)
    engine = create_engine(url, isolation_level="REPEATABLE READ")
    try:
        with engine.connect() as connection:
            snapshot = connection.scalar(text("SELECT pg_export_snapshot()"))
            with Session(bind=connection) as session:
                info = read_info(session)
                # The exporting transaction stays open until pg_dump is done: the snapshot lives as long as it does.
                _run(
                    [PG_DUMP, "--format=custom", f"--snapshot={snapshot}", f"--file={target}", f"--dbname={dsn}"],
                    env,
                    "pg_dump",
                )
            connection.rollback()
    finally:
        engine.dispose()
    return info


def list_pg_dump(path: Path) -> list[str]:
    try:
        result = subprocess.run([PG_RESTORE, "--list", str(path)], capture_output=True, text=True, check=False)  # noqa: S603
    except OSError as error:
        raise BackupError(f"cannot run {PG_RESTORE}: {error.strerror}") from None
    return [] if result.returncode == 0 else [f"{path.name}: pg_restore --list: {result.stderr.strip()[-500:]}"]


def restore_postgresql(source: Path, url: str, *, has_tables: bool) -> None:
    dsn, env = libpq_target(url)
    command = [PG_RESTORE, "--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error"]
    if has_tables:  # an empty instance at the same revision: its (empty) tables are replaced by the backup's
        command += ["--clean", "--if-exists"]
    _run([*command, f"--dbname={dsn}", str(source)], env, "pg_restore")


# --- the target -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TargetState:
    tables: bool
    revision: str | None
    not_empty: str | None  # why the target is not empty, or None


def target_state(url: str) -> TargetState:
    """Empty means: no tables, or no custody entry, checkpoint, case nor evidence item."""
    if kind_of(url) == "sqlite" and not sqlite_path(url).exists():
        return TargetState(False, None, None)
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            tables = set(inspect(connection).get_table_names())
            if not tables:
                return TargetState(False, None, None)
            revision = (
                connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
                if "alembic_version" in tables
                else None
            )
            return TargetState(True, revision, _contents(connection, tables))
    finally:
        engine.dispose()


def _contents(connection: Connection, tables: set[str]) -> str | None:
    for model, what in (
        (CustodyEntry, "custody entries"),
        (Checkpoint, "checkpoints"),
        (Case, "cases"),
        (EvidenceItem, "evidence items"),
    ):
        if model.__tablename__ in tables and (count := connection.scalar(select(func.count()).select_from(model))):
            return f"the target database holds {count} {what}"
    return None
