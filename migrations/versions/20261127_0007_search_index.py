"""search index

Revision ID: 0006
Revises: 0007
Create Date: 2026-11-27 19:00:00.000000

The file is named for its place in the chain (seventh, after 0007); its revision id predates the reordering.

The search index (casefile.search): one row per incident, actor, evidence item and witness pseudonym, with the
normalised tokens of its searchable text in `terms`. On PostgreSQL a generated tsvector column over those tokens
carries a GIN index; SQLite has no tsvector, so there the column is a NULL placeholder (one schema for both
engines, as the models declare it) and its index is empty. An FTS5 table is deliberately not used on SQLite: its
shadow tables would be tables outside the models, which `alembic check` and the migration tests refuse.
(Superseded by 0008, which adds that FTS5 table after all, with migrations/env.py and the migration tests ignoring
exactly its tables. This revision is unchanged.)

The index is derived data: on a database that already holds cases, fill it once with
`flask --app app search reindex` (new writes are indexed as they happen).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        vector_type: sa.types.TypeEngine = postgresql.TSVECTOR()
        vector_sql = "array_to_tsvector(string_to_array(terms, ' '))"
    else:
        vector_type = sa.Text()
        vector_sql = "NULL"
    op.create_table(
        "search_documents",
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("object_type", sa.String(length=16), nullable=False),
        sa.Column("object_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=400), nullable=False),
        sa.Column("terms", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("search_vector", vector_type, sa.Computed(vector_sql, persisted=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "object_type IN ('incident', 'actor', 'evidence', 'witness')", name=op.f("ck_search_documents_object_type")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_search_documents_case_id_cases"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_documents")),
        sa.UniqueConstraint("object_type", "object_id", name=op.f("uq_search_documents_object_type_object_id")),
    )
    op.create_index("ix_search_documents_case_type", "search_documents", ["case_id", "object_type"], unique=False)
    op.create_index(
        "ix_search_documents_search_vector",
        "search_documents",
        ["search_vector"],
        unique=False,
        postgresql_using="gin",
        sqlite_where=sa.text("0"),
    )


def downgrade() -> None:
    op.drop_index("ix_search_documents_search_vector", table_name="search_documents")
    op.drop_index("ix_search_documents_case_type", table_name="search_documents")
    op.drop_table("search_documents")
