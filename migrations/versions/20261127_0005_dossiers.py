"""dossiers

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 18:21:38.034672
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dossiers",
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("profile", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("bag_name", sa.String(length=100), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("tree_size", sa.Integer(), nullable=False),
        sa.Column("included", sa.JSON(), nullable=False),
        sa.Column("excluded", sa.JSON(), nullable=False),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_dossiers_case_id_cases"), ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_dossiers_created_by_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dossiers")),
    )
    with op.batch_alter_table("dossiers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dossiers_case_id"), ["case_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("dossiers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dossiers_case_id"))

    op.drop_table("dossiers")
