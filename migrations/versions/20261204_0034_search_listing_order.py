"""search listing order in its own index

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-04 17:30:00

Search listed its matches by a CASE over the object type, then newest first, and counted them all with a window
function: a word found in every document sorted and counted every match before the first page (2.5 s at a million
items). `search_documents.type_weight` (incident 4, actor 3, evidence 2, witness 1) stores that order, and the index
(type_weight, updated_at, id), read backwards, gives it: PostgreSQL walks it and stops after the page when the word
is everywhere, and reads the full-text index when it is rare. Existing documents get their weight here. A plain ADD
COLUMN and DROP COLUMN (SQLite >= 3.35): the table is never copied, so the full-text triggers of revision 0008 stay.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0034"
down_revision: str | None = "0033"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_search_documents_listing"
WEIGHTS = {"incident": 4, "actor": 3, "evidence": 2, "witness": 1}


def upgrade() -> None:
    op.add_column("search_documents", sa.Column("type_weight", sa.SmallInteger(), server_default="0", nullable=False))
    documents = sa.table("search_documents", sa.column("object_type", sa.String), sa.column("type_weight", sa.Integer))
    for object_type, weight in WEIGHTS.items():
        op.execute(documents.update().where(documents.c.object_type == object_type).values(type_weight=weight))
    op.create_index(INDEX, "search_documents", ["type_weight", "updated_at", "id"], unique=False)


def downgrade() -> None:
    op.drop_index(INDEX, table_name="search_documents")
    op.execute("ALTER TABLE search_documents DROP COLUMN type_weight")
