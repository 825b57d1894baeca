"""jobs

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 12:00:00.000000

Background jobs (casefile/jobs): huey carries the work, this table carries what users see and what is true about
it: kind, case (none for instance-wide work), who asked, state, progress, attempts, result reference, error, and
the times (created, started, finished, last heartbeat). Indexes match the lists (a case's jobs, a user's jobs,
the latest job of a scheduled kind) and the reclaim of silent jobs (state, heartbeat).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=True),
        sa.Column("requested_by_id", sa.Uuid(), nullable=True),
        sa.Column(
            "state",
            sa.Enum(
                "queued",
                "running",
                "succeeded",
                "failed",
                "cancelled",
                name="job_state",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("progress_done", sa.Integer(), nullable=False),
        sa.Column("progress_total", sa.Integer(), nullable=True),
        sa.Column("progress_message", sa.String(length=500), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("cancel_requested_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_by_id", sa.Uuid(), nullable=True),
        sa.Column("worker", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_jobs_case_id_cases"), ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(
            ["requested_by_id"], ["users.id"], name=op.f("fk_jobs_requested_by_id_users"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["cancelled_by_id"], ["users.id"], name=op.f("fk_jobs_cancelled_by_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
    )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index("ix_jobs_case_created", ["case_id", "created_at"], unique=False)
        batch_op.create_index("ix_jobs_requested_by_created", ["requested_by_id", "created_at"], unique=False)
        batch_op.create_index("ix_jobs_kind_created", ["kind", "created_at"], unique=False)
        batch_op.create_index("ix_jobs_state_heartbeat", ["state", "heartbeat_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_jobs_state_heartbeat")
        batch_op.drop_index("ix_jobs_kind_created")
        batch_op.drop_index("ix_jobs_requested_by_created")
        batch_op.drop_index("ix_jobs_case_created")
    op.drop_table("jobs")
