"""dossier builds as jobs

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 23:50:00.000000

A dossier's row now exists from the moment its build is asked for: `status` (building, ready, failed; existing
dossiers were built synchronously and are ready), the build's `job_id`, the `error` of a failed build, and the
`checkpoint_id` of the signed checkpoint over its `exported` entries, recorded by the first attempt so a retry
reuses them. The package's `sha256`, `size` and `tree_size` are unknown until the build finishes: nullable.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUS = sa.Enum(
    "building", "ready", "failed", name="dossier_status", native_enum=False, create_constraint=True, length=32
)


def upgrade() -> None:
    with op.batch_alter_table("dossiers", schema=None) as batch_op:
        # The server default only fills the existing rows; the application always sets the status.
        batch_op.add_column(sa.Column("status", STATUS, nullable=False, server_default="ready"))
        batch_op.add_column(sa.Column("checkpoint_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("job_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("error", sa.Text(), nullable=True))
        batch_op.alter_column("sha256", existing_type=sa.String(length=64), nullable=True)
        batch_op.alter_column("size", existing_type=sa.BigInteger(), nullable=True)
        batch_op.alter_column("tree_size", existing_type=sa.Integer(), nullable=True)
        batch_op.create_foreign_key(
            batch_op.f("fk_dossiers_checkpoint_id_custody_checkpoints"),
            "custody_checkpoints",
            ["checkpoint_id"],
            ["id"],
            ondelete="RESTRICT",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_dossiers_job_id_jobs"), "jobs", ["job_id"], ["id"], ondelete="RESTRICT"
        )
    with op.batch_alter_table("dossiers", schema=None) as batch_op:
        batch_op.alter_column("status", existing_type=STATUS, server_default=None)


def downgrade() -> None:
    # Dossiers that never became ready have no package to describe: the old schema cannot hold them.
    op.execute("DELETE FROM dossiers WHERE status <> 'ready'")
    with op.batch_alter_table("dossiers", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_dossiers_job_id_jobs"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_dossiers_checkpoint_id_custody_checkpoints"), type_="foreignkey")
        batch_op.alter_column("tree_size", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("size", existing_type=sa.BigInteger(), nullable=False)
        batch_op.alter_column("sha256", existing_type=sa.String(length=64), nullable=False)
        batch_op.drop_column("error")
        batch_op.drop_column("job_id")
        batch_op.drop_column("checkpoint_id")
        # Named, so SQLite's table rebuild does not carry a CHECK on a column that is gone.
        batch_op.drop_constraint(batch_op.f("ck_dossiers_dossier_status"), type_="check")
        batch_op.drop_column("status")
