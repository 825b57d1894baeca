from __future__ import annotations

import os

from alembic import context
from sqlalchemy import create_engine, pool

from casefile.db import UTCDateTime
from casefile.models import metadata
from casefile.search.models import FTS_TABLES

config = context.config


def render_item(type_: str, obj: object, autogen_context: object) -> str | bool:
    # Revisions must not import application types: they outlive the code that wrote them.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    # SQLite's FTS5 search table and its shadow tables (revision 0008) are made by SQL that models cannot declare:
    # autogenerate must neither reflect them nor propose to drop them. Exactly these names; any other stray table
    # is still reported.
    return not (type_ == "table" and name in FTS_TABLES)


def database_url() -> str:
    url = config.attributes.get("database_url") or os.environ.get("CASEFILE_DATABASE_URL")
    if not url:
        from casefile.config import load_settings

        url = load_settings().database_url
    return url


def run_migrations_offline() -> None:
    context.configure(
        url=database_url(),
        target_metadata=metadata,
        literal_binds=True,
        render_as_batch=True,
        compare_type=True,
        render_item=render_item,
        include_name=include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = create_engine(database_url(), poolclass=pool.NullPool)
    with engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            # Batch mode rebuilds tables; foreign keys must not fire while it does.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()  # end the implicit transaction the PRAGMA opened
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
            render_item=render_item,
            include_name=include_name,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
