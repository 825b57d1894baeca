"""SQLite full-text search

Revision ID: 0008
Revises: 0006
Create Date: 2026-11-27 21:00:00.000000

Search must use each engine's own full-text facility. PostgreSQL has had one since 0006: the tsvector generated
from `search_documents.terms`, under a GIN index. On SQLite, 0006 left search to token look-ups in `terms`, a scan
of every document of the user's cases; this revision gives SQLite its full-text index, an FTS5 table.

`search_fts` holds one row per search document: its id (`document_id`) and a copy of its `terms`. Search asks
`search_fts.terms MATCH …` and joins back by `search_documents.id IN (SELECT document_id …)`. Not an
external-content table keyed by the rowid of search_documents: that table's key is a UUID, so its rowid is an
implicit one, which VACUUM may renumber, and the index would silently point at the wrong documents. The document
id is an indexed column (not UNINDEXED) so that the triggers find a document's row by `document_id MATCH` through
the index; an unindexed column could only be found by reading the whole table, once per changed document.
Searches always filter on the `terms` column, so a query can never match a document id.

Tokenizer: `ascii`, with `_` as a token character. `terms` is already tokenised (casefile.names.search_terms:
lowercased `\\w+` words and name keys, single-spaced), and the queries are made by the same function, so FTS5 must
only split at the spaces and change nothing: `ascii` treats every non-ASCII character (Arabic letters included) as
part of a token and splits only at ASCII characters that are not letters or digits, of which `terms` holds only
the space; `unicode61` would fold and strip diacritics by its own tables, which could differ from casefile.names
and from PostgreSQL.

Triggers on `search_documents` keep the table in step with every insert, update of `terms` and delete, whichever
code makes it (the indexer's flush listener, `search reindex`, the cascade from a deleted case). A later revision
that rebuilds `search_documents` (batch mode on SQLite copies it into a new table and drops the old one, and with
it these triggers) must create the triggers again.

Shadow tables: FTS5 keeps its data in ordinary tables (search_fts_data, _idx, _content, _docsize, _config), which
the models do not declare. That is why 0006 did without FTS5; now migrations/env.py tells autogenerate (and so
`alembic check`) to ignore exactly these names, and tests/test_migrations.py accepts exactly them besides the
models' tables, so any other stray table is still caught. The copy of `terms` in search_fts_content roughly
doubles the space the tokens take; a contentless table would avoid that, but cannot delete rows before SQLite 3.43.

On PostgreSQL this revision does nothing: 0006's generated tsvector and GIN index are already its full-text index.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("CREATE VIRTUAL TABLE search_fts USING fts5(document_id, terms, tokenize = \"ascii tokenchars '_'\")")
    op.execute("INSERT INTO search_fts (document_id, terms) SELECT id, terms FROM search_documents")
    op.execute(
        "CREATE TRIGGER search_fts_insert AFTER INSERT ON search_documents BEGIN "
        "INSERT INTO search_fts (document_id, terms) VALUES (new.id, new.terms); END"
    )
    op.execute(
        "CREATE TRIGGER search_fts_update AFTER UPDATE OF id, terms ON search_documents BEGIN "
        # The FTS5 row of the document, found through the full-text index (an id is one token: 32 hex digits).
        """DELETE FROM search_fts WHERE document_id MATCH '"' || replace(old.id, '"', '""') || '"'; """
        "INSERT INTO search_fts (document_id, terms) VALUES (new.id, new.terms); END"
    )
    op.execute(
        "CREATE TRIGGER search_fts_delete AFTER DELETE ON search_documents BEGIN "
        """DELETE FROM search_fts WHERE document_id MATCH '"' || replace(old.id, '"', '""') || '"'; END"""
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for trigger in ("search_fts_delete", "search_fts_update", "search_fts_insert"):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    op.execute("DROP TABLE IF EXISTS search_fts")
