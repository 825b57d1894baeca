"""case leads

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-04 13:30:00

A case lead manages the case's members (adds, changes and removes them) without being an administrator:
`memberships.is_lead`. The creator of each existing case becomes its lead, as a new case's creator is. A plain added
column with a default (no table copy on SQLite).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("memberships", sa.Column("is_lead", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.execute(
        "UPDATE memberships SET is_lead = TRUE WHERE role <> 'reviewer' AND EXISTS ("
        "SELECT 1 FROM cases WHERE cases.id = memberships.case_id AND cases.created_by_id = memberships.user_id)"
    )


def downgrade() -> None:
    with op.batch_alter_table("memberships", schema=None) as batch_op:
        batch_op.drop_column("is_lead")
