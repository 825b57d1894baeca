"""dossier release approval

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-04 09:03:13.035713

Release takes two people: a built dossier is approved by a legal member of the case who did not build it before it
can be downloaded (`approved_by_id`, `approved_at`, and a `release_approved` ledger entry). Dossiers built before
this revision are not approved by it: nobody approved them, so they wait for a legal member like new ones (the
dossiers table has no triggers, so SQLite's table copy loses nothing).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("dossiers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("approved_by_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_dossiers_approved_by_id_users"), "users", ["approved_by_id"], ["id"], ondelete="SET NULL"
        )


def downgrade() -> None:
    with op.batch_alter_table("dossiers", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_dossiers_approved_by_id_users"), type_="foreignkey")
        batch_op.drop_column("approved_at")
        batch_op.drop_column("approved_by_id")
