"""one time passwords

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04 06:56:25.280910

A password an administrator (or the command line) generated and printed works for one login: `must_change_password`
sends its user to choose their own before anything else. Existing users are not affected (false).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("users", sa.Column("must_change_password", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    op.drop_column("users", "must_change_password")
