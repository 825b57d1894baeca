"""A second, fresh Casefile instance to restore into, made the way an operator makes one on a new machine: its own
instance folder (keys generated there on first start), a new database (a new SQLite file, or a new PostgreSQL
database beside the test's one) and a new blob store (a new folder, or a new bucket on the same moto server)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from casefile import create_app
from casefile.config import Settings, load_settings

STORAGE_KIND = os.environ.get("CASEFILE_TEST_STORAGE", "local")


@dataclass
class Target:
    env: dict[str, str]

    def settings(self) -> Settings:
        """Read afresh each time, as a restarted app does (restore puts keys where these settings look)."""
        return load_settings(self.env, testing=True, csrf_enabled=False, argon2_profile="cheapest")

    @contextmanager
    def app(self) -> Iterator[Flask]:
        application = create_app(self.settings())
        try:
            yield application
        finally:
            application.extensions["casefile_db"].dispose()


def _pg_admin(source_url: str, statement: str) -> None:
    engine = create_engine(make_url(source_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text(statement))
    finally:
        engine.dispose()


@contextmanager
def new_target(
    root: Path,
    source: Settings,
    make_bucket: Callable[..., str] | None,
    *,
    template: str | None = None,
) -> Iterator[Target]:
    """`template`: a migrated database to start from (a file path on SQLite, a database name on PostgreSQL);
    without it the database has no tables at all."""
    root.mkdir()
    env = {"CASEFILE_INSTANCE_PATH": str(root / "instance")}
    pg_name = None
    if source.database_url.startswith("sqlite"):
        database = root / "casefile.db"
        if template:
            database.write_bytes(Path(template).read_bytes())
        env["CASEFILE_DATABASE_URL"] = f"sqlite:///{database}"
    else:
        pg_name = f"cf_restore_{uuid.uuid4().hex[:10]}"
        _pg_admin(source.database_url, f'CREATE DATABASE "{pg_name}"' + (f' TEMPLATE "{template}"' if template else ""))
        env["CASEFILE_DATABASE_URL"] = make_url(source.database_url).set(database=pg_name).render_as_string(False)
    if source.storage_url.startswith("s3://"):
        assert make_bucket is not None and source.s3_endpoint_url
        env["CASEFILE_STORAGE"] = f"s3://{make_bucket()}"
        env["CASEFILE_S3_ENDPOINT_URL"] = source.s3_endpoint_url
    else:
        env["CASEFILE_STORAGE"] = f"file://{root / 'blobs'}"
    try:
        yield Target(env)
    finally:
        if pg_name:
            _pg_admin(source.database_url, f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')


def run(app: Flask, *args: Any) -> Any:
    return app.test_cli_runner().invoke(args=[str(a) for a in args])


PASSPHRASE = "tarhuna graves 2020 backup"


def passphrase_file(folder: Path, passphrase: str = PASSPHRASE) -> Path:
    path = folder / "passphrase.txt"
    path.write_text(passphrase + "\n")
    path.chmod(0o600)
    return path
