"""case exports

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04 05:59:13.192138

Case exports (CSV or XLSX of a case's data, made by a job): the file itself is kept in the blob store, named here by
its SHA-256, with the classification level it holds and its rows per table.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "case_exports",
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column(
            "format",
            sa.Enum("xlsx", "csv", name="export_format", native_enum=False, create_constraint=True, length=32),
            nullable=False,
        ),
        sa.Column("max_classification", sa.String(length=32), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "building", "ready", "failed", name="export_state", native_enum=False, create_constraint=True, length=32
            ),
            nullable=False,
        ),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("job_id", sa.Uuid(), nullable=True),
        sa.Column("created_by_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_exports_case_id_cases"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_case_exports_created_by_id_users"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name=op.f("fk_case_exports_job_id_jobs"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_exports")),
    )
    with op.batch_alter_table("case_exports", schema=None) as batch_op:
        batch_op.create_index("ix_case_exports_case_created", ["case_id", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("case_exports", schema=None) as batch_op:
        batch_op.drop_index("ix_case_exports_case_created")

    op.drop_table("case_exports")
