"""the ProofMode bundle a provenance check came from, as a blob reference

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-04 13:50:00

`fsck` and backups know a blob only through a row that names it: a ProofMode bundle (the ZIP as received) was named
only inside the check's JSON summary and the custody details, so `fsck` counted it an orphan and a backup left it
out. `provenance_records.bundle_sha256` names it: a plain added nullable column. (Rows checked before this revision
keep the bundle's hash in their summary only; none exist outside development.)
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("provenance_records", sa.Column("bundle_sha256", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("provenance_records", schema=None) as batch_op:
        batch_op.drop_column("bundle_sha256")
