"""dossier scope and actors' place of birth

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-04 12:05:00

A dossier is about chosen targets and charges or designation criteria: `dossiers.scope` keeps them (`target_ids`,
`charge_ids`, and whether the analysis annex was asked for); dossiers built before this revision covered the whole
case, which the empty scope means. Sanctions submissions identify a target by date and place of birth:
`actors.place_of_birth`, empty for actors recorded before. Plain added columns with defaults (no table copy on
SQLite, so no trigger is lost).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("actors", sa.Column("place_of_birth", sa.String(length=200), nullable=False, server_default=""))
    op.add_column("dossiers", sa.Column("scope", sa.JSON(), nullable=False, server_default="{}"))


def downgrade() -> None:
    with op.batch_alter_table("dossiers", schema=None) as batch_op:
        batch_op.drop_column("scope")
    with op.batch_alter_table("actors", schema=None) as batch_op:
        batch_op.drop_column("place_of_birth")
