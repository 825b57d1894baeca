"""item page and charge matrix indexes

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-04 20:00:00.000000

Measured with bench/scale.py at 300,000 items (PostgreSQL's auto_explain): an item's page looked up the item's
derivatives (`parent_id = ?`) by a sequential scan of evidence_items, 40 ms there and growing with the table; a
partial index over the few items that have a parent serves it. The charge matrix numbered every link of the charge to
keep the oldest 25 of each element and stance, and joined every link to its item to count the verified ones: an
index on the live links by (charge_id, element_code, stance, created_at, id) gives each group's oldest links as one
short range and the counts from the index alone. Plain CREATE INDEX, inside the migration's transaction (on a large
PostgreSQL table it holds a write lock while it builds).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0036"
down_revision: str | None = "0035"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    live = sa.text("removed_at IS NULL")
    op.create_index(
        "ix_evidence_links_charge_element",
        "evidence_links",
        ["charge_id", "element_code", "stance", "created_at", "id"],
        unique=False,
        postgresql_where=live,
        sqlite_where=live,
    )
    has_parent = sa.text("parent_id IS NOT NULL")
    op.create_index(
        "ix_evidence_items_parent",
        "evidence_items",
        ["parent_id"],
        unique=False,
        postgresql_where=has_parent,
        sqlite_where=has_parent,
    )


def downgrade() -> None:
    op.drop_index("ix_evidence_items_parent", table_name="evidence_items")
    op.drop_index("ix_evidence_links_charge_element", table_name="evidence_links")
