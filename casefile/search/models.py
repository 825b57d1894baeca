"""The search index: one row per searchable object, holding the normalised tokens of its searchable text.

Each engine searches it with its own full-text facility. PostgreSQL: the generated tsvector column `search_vector`
under a GIN index. SQLite: the FTS5 table `search_fts` (migration 0008), a copy of every document's id and `terms`
that triggers on `search_documents` keep in step. FTS5 tables are virtual tables that SQLAlchemy cannot declare, so
`search_fts` and its shadow tables are created by that migration alone, left out of the models, and ignored by
autogenerate (migrations/env.py, FTS_TABLES); `search_fts` below is only a name for queries to use.

The index is derived data. It can be dropped and rebuilt from the case tables at any time
(`flask --app app search reindex`), so it is never evidence and never part of a dossier or the custody ledger.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Computed,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    TableClause,
    Text,
    UniqueConstraint,
    column,
    table,
    text,
)
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement

from casefile.db import Base, UUIDPrimaryKey, utcnow

TITLE_LENGTH = 400

# SQLite's full-text index (migration 0008): the FTS5 table and the shadow tables FTS5 keeps its data in.
FTS_TABLE = "search_fts"
FTS_TABLES = frozenset(
    {FTS_TABLE, *(f"{FTS_TABLE}_{part}" for part in ("data", "idx", "content", "docsize", "config"))}
)
# For queries only (not part of the metadata): `terms` is the searched column, `document_id` a SearchDocument.id.
search_fts: TableClause = table(FTS_TABLE, column("document_id"), column("terms"))


class ObjectType(enum.StrEnum):
    """What a document stands for, in the order results are listed."""

    INCIDENT = "incident"
    ACTOR = "actor"
    EVIDENCE = "evidence"
    WITNESS = "witness"


# Results list incidents, then actors, evidence, witnesses: the heavier first. Stored in each document
# (`type_weight`), so that one index gives the listing's order and a page of a word found everywhere is read from it
# in order, stopping after the page, instead of sorting every match.
TYPE_WEIGHT = {ObjectType.INCIDENT: 4, ObjectType.ACTOR: 3, ObjectType.EVIDENCE: 2, ObjectType.WITNESS: 1}


class SearchVectorExpression(ColumnElement[Any]):
    """The generated full-text column, written per engine.

    PostgreSQL: the document's tokens become the lexemes of a tsvector as they are (`array_to_tsvector`), not
    through `to_tsvector`'s own parser, which splits and classifies words by the server's locale. So the only
    tokenizer is casefile.names.search_terms and PostgreSQL matches exactly what SQLite's FTS5 table matches.
    SQLite has no tsvector and searches `search_fts` instead; the column exists there only so that both engines
    share one schema (one set of models, one `alembic check`), and is always NULL.
    """

    inherit_cache = True
    type = TSVECTOR()


@compiles(SearchVectorExpression)
def _vector_default(element: SearchVectorExpression, compiler: SQLCompiler, **kw: Any) -> str:
    return "NULL"


@compiles(SearchVectorExpression, "postgresql")
def _vector_postgresql(element: SearchVectorExpression, compiler: SQLCompiler, **kw: Any) -> str:
    # `terms` never holds empty tokens (array_to_tsvector refuses them): the indexer writes it single-spaced.
    return "array_to_tsvector(string_to_array(terms, ' '))"


class SearchDocument(UUIDPrimaryKey, Base):
    __tablename__ = "search_documents"
    __table_args__ = (
        UniqueConstraint("object_type", "object_id"),
        CheckConstraint(
            "object_type IN ({})".format(", ".join(f"'{t.value}'" for t in ObjectType)), name="object_type"
        ),
        # Searches always run within the cases a user belongs to, often for one type.
        Index("ix_search_documents_case_type", "case_id", "object_type"),
        # The listing's order, read backwards: heaviest type, newest, last id first (revision 0034).
        Index("ix_search_documents_listing", "type_weight", "updated_at", "id"),
        # GIN on PostgreSQL; on SQLite the column is NULL, so the index is declared empty (WHERE 0).
        Index(
            "ix_search_documents_search_vector",
            "search_vector",
            postgresql_using="gin",
            sqlite_where=text("0"),
        ),
    )

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    object_type: Mapped[str] = mapped_column(String(16))
    object_id: Mapped[uuid.UUID]
    # What a result shows: an incident's title, an actor's name, "ERN — title", a witness's pseudonym.
    title: Mapped[str] = mapped_column(String(TITLE_LENGTH))
    # names.search_terms of the searchable text, space-joined: normalised words and name-key tokens.
    terms: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    type_weight: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    search_vector: Mapped[Any] = mapped_column(
        TSVECTOR().with_variant(Text(), "sqlite"),
        Computed(SearchVectorExpression(), persisted=True),
        deferred=True,
    )
