"""Alembic, driven from code so `flask --app app db upgrade` and the tests use the same configuration; and the
rights of the runtime database role.

On PostgreSQL the tables belong to the role that runs the migrations. The application should not run as that role:
an owner can `ALTER TABLE … DISABLE TRIGGER` and then rewrite the ledger. `grant_runtime` gives a separate, non-owner
role exactly what the application needs: history tables (the ledger, its checkpoints, the consent register, the
audit log) may be read and appended to, never changed; evidence, links, witnesses and statements may be changed but
never deleted; the ledger head only updated; everything else read and written.
"""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, inspect, pool, text
from sqlalchemy.engine import make_url

from casefile import REPO_ROOT


def alembic_config(database_url: str) -> Config:
    cfg = Config(str(REPO_ROOT / "migrations" / "alembic.ini"))
    cfg.set_main_option("script_location", str(REPO_ROOT / "migrations"))
    # Passed through attributes, not the ini: '%' in a URL would otherwise be read as interpolation.
    cfg.attributes["database_url"] = database_url
    return cfg


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)


APPEND_ONLY_TABLES = frozenset(
    {
        "custody_entries",
        "custody_checkpoints",
        "witness_consents",
        "auth_events",
        "verification_checks",
        "case_activity",
        "merkle_nodes",
    }
)
NEVER_DELETED_TABLES = frozenset(
    {
        "evidence_items",
        "evidence_links",
        "witnesses",
        "witness_statements",
        "field_submissions",
        "field_submission_files",
    }
)
RUNTIME_RIGHTS = {
    **dict.fromkeys(APPEND_ONLY_TABLES, "SELECT, INSERT"),
    **dict.fromkeys(NEVER_DELETED_TABLES, "SELECT, INSERT, UPDATE"),
    "custody_head": "SELECT, UPDATE",
    "alembic_version": "SELECT",
}
DEFAULT_RIGHTS = "SELECT, INSERT, UPDATE, DELETE"


class RoleError(ValueError):
    """The runtime role cannot be given its rights (not PostgreSQL, no such role, or a role too powerful)."""


def grant_runtime(owner_url: str, role: str) -> dict[str, str]:
    """Revoke everything from `role` on this database's tables, then grant each table's runtime rights (run after
    every `db upgrade`: new tables get their rights here). Returns table -> rights granted."""
    if make_url(owner_url).get_backend_name() != "postgresql":
        raise RoleError(
            "Database roles exist on PostgreSQL only. An embedded (SQLite) instance is one file: whoever can write it "
            "can change anything, and tampering is found by `custody verify` against the checkpoints published to "
            "CASEFILE_CHECKPOINT_WITNESS."
        )
    engine = create_engine(owner_url, poolclass=pool.NullPool)
    try:
        with engine.begin() as conn:
            found = conn.execute(
                text("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = :role"), {"role": role}
            ).one_or_none()
            if found is None:
                raise RoleError(f"No role {role!r}: create it first (CREATE ROLE … LOGIN PASSWORD …).")
            if found.rolsuper or found.rolbypassrls:
                raise RoleError(f"{role!r} is a superuser: it could disable any trigger. Use an ordinary role.")
            owners = conn.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tableowner = :role"),
                {"role": role},
            ).all()
            if owners:
                raise RoleError(f"{role!r} owns tables ({owners[0].tablename}, …): the runtime role must not.")
            quoted = conn.dialect.identifier_preparer.quote(role)
            tables = sorted(inspect(conn).get_table_names())
            conn.execute(text(f"GRANT USAGE ON SCHEMA {conn.dialect.default_schema_name} TO {quoted}"))
            conn.execute(text(f"REVOKE ALL ON ALL TABLES IN SCHEMA {conn.dialect.default_schema_name} FROM {quoted}"))
            granted = {}
            for table in tables:
                rights = RUNTIME_RIGHTS.get(table, DEFAULT_RIGHTS)
                conn.execute(text(f'GRANT {rights} ON TABLE "{table}" TO {quoted}'))
                granted[table] = rights
            conn.execute(
                text(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {conn.dialect.default_schema_name} TO {quoted}")
            )
    finally:
        engine.dispose()
    return granted
