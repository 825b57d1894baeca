"""evidence copies

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 04:00:00.000000

A file whose SHA-256 is already in the case is no longer silently a second item: the uploader chooses to record
the new acquisition on the existing item (a custody entry), or to keep it as a separate item marked as a copy of
the existing one: `copy_of_id`. No foreign key: adding one on SQLite would rebuild the table (a batch copy), which
would drop the triggers of revision 0015; items are never deleted, so the reference cannot dangle.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("evidence_items", sa.Column("copy_of_id", sa.Uuid(), nullable=True))
    # Looking for the same file in a case at every upload: (case, hash), not a scan of the case.
    op.create_index("ix_evidence_items_case_sha256", "evidence_items", ["case_id", "sha256"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_evidence_items_case_sha256", table_name="evidence_items")
    op.drop_column("evidence_items", "copy_of_id")
