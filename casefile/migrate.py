"""Alembic, driven from code so `flask --app app db upgrade` and the tests use the same configuration."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

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
