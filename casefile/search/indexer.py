"""Keeping the search index current.

Why a Session event, when every other write in Casefile is an explicit service call? The index is derived data,
like a cache: it holds nothing that is not already in the incident, actor, evidence and witness rows, it can be
rebuilt from them at any time (`reindex_all`, `flask --app app search reindex`), and a stale or missing entry
loses nobody's evidence. What matters is that it never drifts from the rows, and an `after_flush` listener sees
every ORM write of those rows, whichever service, view, CLI command or demo loader made it, in the same
transaction, so a rolled-back request rolls back its index changes too. Asking every service to remember an
index call would be the way to drift.

Custody is the opposite case and stays explicit: a custody entry is itself evidence, says who did what and why,
and must be written deliberately by the service that knows that, never inferred from a flush.

What is indexed: incidents (title, description, place name); actors (name, aliases, description), except merged
duplicates, which live on as aliases of the actor they became; evidence items (ERN, title, description, source,
original file name, and the text of the file where it has one); witnesses by their pseudonym code ONLY. A witness's
protected identity is ciphertext and must never reach the index, so no field of it is ever read here. Evidence
files themselves are never read here, which would mean blob-store I/O (possibly S3) inside a database flush: their
text is extracted once at ingest (evidence/text.py) into `EvidenceItem.text_content`, and indexed from there.

Only `search_documents` is written here. Each engine's full-text index follows it inside the database: the
generated tsvector column on PostgreSQL, and on SQLite the FTS5 table `search_fts`, which triggers on
`search_documents` keep in step (migration 0008).

Not seen: Core-level bulk `update()`/`delete()` statements on these tables bypass the unit of work. None of the
services uses them on indexed columns today; `reindex_all` repairs the index if one ever does.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Connection, Table, delete, event, inspect, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, UOWTransaction

from casefile.actors.models import Actor
from casefile.cases.models import Incident
from casefile.db import utcnow
from casefile.evidence.models import EvidenceItem
from casefile.names import search_terms
from casefile.search.models import TITLE_LENGTH, TYPE_WEIGHT, ObjectType, SearchDocument, search_fts
from casefile.witnesses.models import Witness

# PostgreSQL refuses a tsvector over 1 MB. The searchable fields are bounded (50 000 characters at most, and an
# evidence file's text 200 000), and tokens are de-duplicated, so few documents reach this cap; a very long file
# text may, and its last distinct words are then not searchable. The file text comes last, so that is all it
# can cost: the item's own fields are always indexed.
MAX_TERMS_LENGTH = 200_000
BATCH = 500


@dataclass(frozen=True)
class Indexed:
    """How one model becomes a search document."""

    model: type[Any]
    object_type: ObjectType
    # Columns the document is made of: a change to any of them re-indexes the object.
    fields: tuple[str, ...]
    # (title, searchable texts), or None when the object must not be in the index.
    document: Callable[[Any], tuple[str, list[str]] | None]
    # Rows per page of `reindex_all`: fewer where a row can be large (an evidence item's file text).
    batch: int = BATCH


def _incident(obj: Incident) -> tuple[str, list[str]]:
    return obj.title, [obj.title, obj.description, obj.place_name]


def _actor(obj: Actor) -> tuple[str, list[str]] | None:
    if obj.merged_into_id is not None:
        return None
    return obj.name, [obj.name, *(str(a) for a in obj.aliases or ()), obj.description]


def _evidence(obj: EvidenceItem) -> tuple[str, list[str]]:
    texts = [obj.ern, obj.title, obj.description, obj.source, obj.original_filename, obj.text_content]
    return f"{obj.ern} — {obj.title}", texts


def _witness(obj: Witness) -> tuple[str, list[str]]:
    # The pseudonym code and nothing else: the protected identity is never read, let alone indexed.
    return obj.code, [obj.code]


INDEXED: dict[type[Any], Indexed] = {
    spec.model: spec
    for spec in (
        Indexed(Incident, ObjectType.INCIDENT, ("case_id", "title", "description", "place_name"), _incident),
        Indexed(Actor, ObjectType.ACTOR, ("case_id", "name", "aliases", "description", "merged_into_id"), _actor),
        Indexed(
            EvidenceItem,
            ObjectType.EVIDENCE,
            ("case_id", "ern", "title", "description", "source", "original_filename", "text_content"),
            _evidence,
            batch=50,
        ),
        Indexed(Witness, ObjectType.WITNESS, ("case_id", "code"), _witness),
    )
}


def terms_of(texts: Iterable[str | None]) -> str:
    """The `terms` of a document: names.search_terms of its texts, single-spaced, capped in length."""
    tokens = search_terms("\n".join(t for t in texts if t))
    out: list[str] = []
    length = 0
    for token in tokens:
        length += len(token) + 1
        if length > MAX_TERMS_LENGTH + 1:
            break
        out.append(token)
    return " ".join(out)


def document_row(spec: Indexed, obj: Any) -> dict[str, Any] | None:
    """The index row of an object (or of a row with the same attribute names), None if it is not indexed."""
    made = spec.document(obj)
    if made is None:
        return None
    title, texts = made
    return {
        "id": uuid.uuid4(),
        "case_id": obj.case_id,
        "object_type": spec.object_type.value,
        "type_weight": TYPE_WEIGHT[spec.object_type],
        "object_id": obj.id,
        "title": (title or "")[:TITLE_LENGTH],
        "terms": terms_of(texts),
        "updated_at": utcnow(),
    }


def upsert(connection: Connection, rows: Sequence[dict[str, Any]]) -> None:
    if not rows:
        return
    table = cast("Table", SearchDocument.__table__)
    insert = postgresql_insert if connection.dialect.name == "postgresql" else sqlite_insert
    stmt = insert(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.object_type, table.c.object_id],
        set_={name: stmt.excluded[name] for name in ("case_id", "title", "terms", "updated_at")},
    )
    connection.execute(stmt, list(rows))


def remove(connection: Connection, keys: Iterable[tuple[str, uuid.UUID]]) -> None:
    by_type: dict[str, list[uuid.UUID]] = defaultdict(list)
    for object_type, object_id in keys:
        by_type[object_type].append(object_id)
    table = cast("Table", SearchDocument.__table__)
    for object_type, ids in by_type.items():
        for start in range(0, len(ids), BATCH):
            chunk = ids[start : start + BATCH]
            connection.execute(delete(table).where(table.c.object_type == object_type, table.c.object_id.in_(chunk)))


def _changed(obj: Any, fields: tuple[str, ...]) -> bool:
    attrs = inspect(obj).attrs
    return any(attrs[name].history.has_changes() for name in fields)


def _after_flush(session: Session, flush_context: UOWTransaction) -> None:
    """Upsert the documents of new and changed indexed objects, delete those of deleted (or merged) ones."""
    rows: dict[tuple[str, uuid.UUID], dict[str, Any]] = {}
    gone: set[tuple[str, uuid.UUID]] = set()
    for obj in session.new:
        spec = INDEXED.get(type(obj))
        if spec is not None:
            row = document_row(spec, obj)
            if row is not None:
                rows[(row["object_type"], row["object_id"])] = row
    for obj in session.dirty:
        spec = INDEXED.get(type(obj))
        if spec is None or not _changed(obj, spec.fields):
            continue
        row = document_row(spec, obj)
        if row is None:
            gone.add((spec.object_type.value, obj.id))
        else:
            rows[(row["object_type"], row["object_id"])] = row
    for obj in session.deleted:
        spec = INDEXED.get(type(obj))
        if spec is not None:
            gone.add((spec.object_type.value, obj.id))
            rows.pop((spec.object_type.value, obj.id), None)
    if rows or gone:
        connection = session.connection()
        remove(connection, gone)
        upsert(connection, list(rows.values()))


def reindex_all(session: Session) -> dict[str, int]:
    """Rebuild the whole index from the case tables, in the session's transaction. Returns counts per type."""
    session.flush()
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        # SQLite's FTS5 table follows search_documents through triggers (migration 0008), which delete and insert
        # its rows below. Emptying it first also removes any row that drifted from its document, so a rebuild
        # leaves both tables exactly as the case tables say.
        connection.execute(delete(search_fts))
    connection.execute(delete(cast("Table", SearchDocument.__table__)))
    counts: dict[str, int] = {}
    for spec in INDEXED.values():
        model = spec.model
        columns = [model.id, *(getattr(model, name) for name in dict.fromkeys(spec.fields))]
        counts[spec.object_type.value] = 0
        last: uuid.UUID | None = None
        while True:
            # Keyset pages: constant memory, and no cursor left open across the writes.
            stmt = select(*columns).order_by(model.id).limit(spec.batch)
            if last is not None:
                stmt = stmt.where(model.id > last)
            page = session.execute(stmt).all()
            if not page:
                break
            rows = [r for r in (document_row(spec, row) for row in page) if r is not None]
            upsert(connection, rows)
            counts[spec.object_type.value] += len(rows)
            last = page[-1].id
    return counts


if not event.contains(Session, "after_flush", _after_flush):
    event.listen(Session, "after_flush", _after_flush)
