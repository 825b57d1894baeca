"""evidence derived status

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 00:10:00.000000

A PDF's text, and a large file's metadata and preview, are now made by a background job after the upload, so an
item says where its derived data stands: `derived_status` pending (a job will make it), done, failed. Existing
items: done, except text files and PDFs with no text yet (uploaded before revision 0009, when text extraction did
not exist): pending, so the scheduled backfill reads their text.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUS = sa.Enum(
    "pending",
    "done",
    "failed",
    name="evidence_derived_status",
    native_enum=False,
    create_constraint=True,
    length=32,
)


def upgrade() -> None:
    with op.batch_alter_table("evidence_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("derived_status", STATUS, nullable=False, server_default="done"))
    op.execute(
        "UPDATE evidence_items SET derived_status = 'pending' WHERE text_content = '' "
        "AND (media_type LIKE 'application/pdf%' OR media_type LIKE 'text/%')"
    )
    with op.batch_alter_table("evidence_items", schema=None) as batch_op:
        batch_op.alter_column("derived_status", existing_type=STATUS, server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("evidence_items", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_evidence_items_evidence_derived_status"), type_="check")
        batch_op.drop_column("derived_status")
