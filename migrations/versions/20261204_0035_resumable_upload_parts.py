"""resumable upload parts

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-04 20:00:00.000000

The bytes of a tus upload in progress move from a spool file in one machine's instance folder to the blob store,
one part per PATCH request, so that the next request of the upload may reach any web server (issue #24). This table
names each confirmed part. The running SHA-256 that one process kept between requests is gone too: the job that
joins the parts computes it.

Uploads in progress when this runs had their bytes in the old spool, which nothing reads any more: their offset
goes back to 0, so a tus client resumes them from the first byte (its HEAD says so) rather than from bytes that
are not there.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0035"
down_revision: str | None = "0034"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "resumable_upload_parts",
        sa.Column("upload_id", sa.Uuid(), nullable=False),
        sa.Column("start", sa.BigInteger(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["upload_id"],
            ["resumable_uploads.id"],
            name=op.f("fk_resumable_upload_parts_upload_id_resumable_uploads"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resumable_upload_parts")),
        sa.UniqueConstraint("upload_id", "start", name="uq_resumable_upload_parts_start"),
    )
    op.execute("UPDATE resumable_uploads SET received = 0 WHERE state = 'receiving'")


def downgrade() -> None:
    # The parts' bytes stay in the blob store (the sweep of the new code removed them; the old code never looks).
    op.execute("UPDATE resumable_uploads SET received = 0 WHERE state = 'receiving'")
    op.drop_table("resumable_upload_parts")
