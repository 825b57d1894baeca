"""Appending to the custody ledger, and reading it back.

Appends are serialised so the chain never forks under concurrent writers: on PostgreSQL the head row is
locked with SELECT … FOR UPDATE under READ COMMITTED (measured: no forks; advisory locks forked under
REPEATABLE READ); on SQLite every transaction starts with BEGIN IMMEDIATE (see casefile.db), which
already gives one writer at a time. The lock is held until the request commits, so the ledger write is
done last in a service, after everything that can fail.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from json.encoder import encode_basestring
from typing import TYPE_CHECKING, Any, Final, Literal, Protocol, TypeAlias

from sqlalchemy import ColumnElement, Row, String, Text, cast, func, literal, select, type_coerce
from sqlalchemy.orm import Session

from casefile.custody.actions import Action
from casefile.custody.chain import ENTRY_FIELDS, GENESIS_HASH, entry_hash, format_timestamp
from casefile.custody.models import CustodyEntry, LedgerHead
from casefile.custody.subtrees import store_completed
from casefile.db import utcnow

if TYPE_CHECKING:
    from casefile.evidence.models import EvidenceItem

HEAD_ID = 1
SYSTEM: Final = "system"


class Person(Protocol):
    """Someone acting in person: a `casefile.auth.models.User` (the ledger needs only the id, not auth)."""

    @property
    def id(self) -> uuid.UUID: ...


# Who an entry names: a person, or the instance itself (SYSTEM, or None for work no person started).
Actor: TypeAlias = Person | Literal["system"] | None


def actor_name(actor: Actor) -> str:
    """`user:<uuid>` for a person, `system` for the instance itself."""
    if actor is None or actor == SYSTEM:
        return SYSTEM
    return f"user:{actor.id}"


def entry_fields(entry: CustodyEntry | Row[Any]) -> dict[str, Any]:
    """The hashed form of an entry (an ORM object or a plain row); `chain.entry_hash(entry_fields(e))`
    equals `e.entry_hash` while the entry is intact."""
    return {
        "seq": entry.seq,
        "at": format_timestamp(entry.at),
        "actor": entry.actor,
        "action": entry.action,
        "case_id": str(entry.case_id) if entry.case_id else None,
        "evidence_id": str(entry.evidence_id) if entry.evidence_id else None,
        "sha256": entry.sha256,
        "details": entry.details,
        "prev_hash": entry.prev_hash,
        "entry_hash": entry.entry_hash,
    }


def lock_head(session: Session) -> LedgerHead:
    # populate_existing: a head loaded earlier in this session must not shadow the row just locked.
    head = session.scalar(
        select(LedgerHead).where(LedgerHead.id == HEAD_ID).with_for_update().execution_options(populate_existing=True)
    )
    if head is None:
        # The migration creates the head row, so concurrent first appends all find it and queue on its lock;
        # this only serves databases built without migrations (tools, benchmarks).
        head = LedgerHead(id=HEAD_ID, seq=0, entry_hash=GENESIS_HASH)
        session.add(head)
        session.flush()
    return head


@dataclass(frozen=True)
class Draft:
    """An entry to append (record_custody_many): everything but its place in the chain."""

    actor: Actor
    action: Action | str
    case_id: uuid.UUID | None
    evidence_id: uuid.UUID | None = None
    sha256: str | None = None
    details: Mapping[str, Any] | None = None


def record_custody(
    session: Session,
    *,
    actor: Actor,
    action: Action | str,
    case_id: uuid.UUID | None,
    evidence_id: uuid.UUID | None = None,
    sha256: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> CustodyEntry:
    """Append one entry to the ledger (flushes; the caller's transaction commits it)."""
    return record_custody_many(session, [Draft(actor, action, case_id, evidence_id, sha256, details)])[0]


def record_custody_many(session: Session, drafts: Sequence[Draft]) -> list[CustodyEntry]:
    """Append entries in order under one lock of the head and one flush: the same chain as one record_custody
    call each, in a fraction of the time (a verification's fixity results hold the lock that much less)."""
    head = lock_head(session)
    seq, prev_hash = head.seq, head.entry_hash
    entries: list[CustodyEntry] = []
    for draft in drafts:
        seq += 1
        fields: dict[str, Any] = {
            "seq": seq,
            "at": format_timestamp(utcnow()),
            "actor": actor_name(draft.actor),
            "action": str(Action(draft.action)),
            "case_id": str(draft.case_id) if draft.case_id else None,
            "evidence_id": str(draft.evidence_id) if draft.evidence_id else None,
            "sha256": draft.sha256,
            "details": dict(draft.details or {}),
            "prev_hash": prev_hash,
        }
        prev_hash = entry_hash(fields)
        entries.append(
            CustodyEntry(
                seq=seq,
                at=datetime.fromisoformat(fields["at"]),
                actor=fields["actor"],
                action=fields["action"],
                case_id=draft.case_id,
                evidence_id=draft.evidence_id,
                sha256=draft.sha256,
                details=fields["details"],
                prev_hash=fields["prev_hash"],
                entry_hash=prev_hash,
            )
        )
    session.add_all(entries)
    # Entries first, then the head: the database lets the head advance only to an entry that exists (0015).
    session.flush()
    store_completed(session, head.seq, seq)  # the Merkle subtrees these entries complete, under the same lock
    head.seq, head.entry_hash = seq, prev_hash
    session.flush()
    return entries


def record_item_event(
    session: Session, item: EvidenceItem, actor: Actor, action: Action | str, details: Mapping[str, Any] | None = None
) -> CustodyEntry:
    """An entry about one evidence item, carrying the item's SHA-256 at this moment."""
    return record_custody(
        session,
        actor=actor,
        action=action,
        case_id=item.case_id,
        evidence_id=item.id,
        sha256=item.sha256,
        details=details,
    )


def trail_page(session: Session, evidence_id: uuid.UUID, page: int, per_page: int) -> tuple[list[CustodyEntry], int]:
    """One page of an item's trail, oldest first, and the total number of entries."""
    where = CustodyEntry.evidence_id == evidence_id
    total = session.scalar(select(func.count()).select_from(CustodyEntry).where(where)) or 0
    rows = session.scalars(
        select(CustodyEntry).where(where).order_by(CustodyEntry.seq).limit(per_page).offset((page - 1) * per_page)
    )
    return list(rows), total


def recent_trail(session: Session, evidence_id: uuid.UUID, limit: int) -> tuple[list[CustodyEntry], int]:
    """The newest `limit` entries of an item's trail in seq order, and the total number of entries."""
    where = CustodyEntry.evidence_id == evidence_id
    total = session.scalar(select(func.count()).select_from(CustodyEntry).where(where)) or 0
    rows = session.scalars(select(CustodyEntry).where(where).order_by(CustodyEntry.seq.desc()).limit(limit))
    return sorted(rows, key=lambda e: e.seq), total


def entry_rows(
    session: Session,
    *,
    after: int = 0,
    up_to: int | None = None,
    case_ids: Collection[uuid.UUID] | None = None,
    batch: int = 10_000,
    extra: Sequence[ColumnElement[Any]] = (),
    outerjoin: tuple[Any, Any] | None = None,
) -> Iterator[Sequence[Sequence[Any]]]:
    """Every entry (those after `after`, up to `up_to`, of `case_ids`) in seq order as a plain row of ENTRY_FIELDS
    read as text (see `_hashed_columns`), then the `extra` columns (of a table joined with `outerjoin`, say), in
    keyset-paginated batches (no ORM identity map), so a ten-million-entry ledger is walked in constant memory. Put a
    row in hashed form with `fields_reader`, or hash it as stored with `body_reader`."""
    table = CustodyEntry.__table__
    columns = [*_hashed_columns(session.get_bind().dialect.name), *extra]
    last = after
    while True:
        stmt = select(*columns).select_from(table)
        if outerjoin is not None:
            stmt = stmt.outerjoin(*outerjoin)
        stmt = stmt.where(table.c.seq > last).order_by(table.c.seq).limit(batch)
        if up_to is not None:
            stmt = stmt.where(table.c.seq <= up_to)
        if case_ids is not None:
            stmt = stmt.where(table.c.case_id.in_(list(case_ids)))
        rows = session.connection().execute(stmt).all()  # Core: the ORM's row handling costs a microsecond a row
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def iter_entry_fields(
    session: Session, *, after: int = 0, up_to: int | None = None, batch: int = 10_000
) -> Iterator[dict[str, Any]]:
    """Every entry's hashed fields in seq order (see entry_rows)."""
    fields_of = fields_reader(session)
    for rows in entry_rows(session, after=after, up_to=up_to, batch=batch):
        for row in rows:
            yield fields_of(row)


def fields_reader(session: Session) -> Callable[[Sequence[Any]], dict[str, Any]]:
    """A function from a row of `entry_rows` to the entry's fields in hashed form (ENTRY_FIELDS).

    UUIDs and timestamps are read as text and put in their hashed form, and `details` is parsed from its stored text:
    the typed path (UUID objects, datetimes, the JSON type) costs three times as much per entry as the hashing it
    feeds (measured with bench.verify). An entry whose stored text is not what the application writes (a hand-edited
    row) then simply fails its hash: a `details` that is not JSON stays a string."""
    return _fields_of if session.get_bind().dialect.name == "postgresql" else _sqlite_fields_of


def body_reader(session: Session) -> Callable[[Sequence[Any]], bytes | None]:
    """A function from a row of `entry_rows` to the canonical encoding of the entry without its `entry_hash` (the bytes
    that hash covers) if its stored `details` is canonical JSON text, as the application writes it (casefile.db);
    None for a row with a value the application never writes (not a string where it writes one, a lone surrogate).

    The stored `details` is used as it is, not parsed: a row whose text hashes to its `entry_hash` this way is exactly
    one that `fields_reader` and `chain.entry_hash` would find intact (every other value is a quoted JSON string or an
    int, so the text can only match if `details` is the canonical text itself), and a row that does not must be
    looked at through `fields_reader` (details stored before canonical writing; or tampering)."""
    return _body if session.get_bind().dialect.name == "postgresql" else _sqlite_body


_decode_json = json.JSONDecoder().decode


def _fields_of(row: Sequence[Any]) -> dict[str, Any]:
    """A row of `_hashed_columns` on PostgreSQL, which renders every value in its hashed form."""
    fields = dict(zip(ENTRY_FIELDS, row, strict=False))  # the row may go on with extra columns
    fields["details"] = _details(fields["details"])
    return fields


def _sqlite_fields_of(row: Sequence[Any]) -> dict[str, Any]:
    """A row of `_hashed_columns` on SQLite, which keeps a timestamp as 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC) and a UUID
    as 32 hex digits: put in their hashed form here, where it costs a microsecond less a row than SQL's substr()."""
    seq, at, actor, action, case_id, evidence_id, sha256, details, prev_hash, entry_hash_, *_ = row
    return {
        "seq": seq,
        "at": _sqlite_at(at),
        "actor": actor,
        "action": action,
        "case_id": _dashed(case_id),
        "evidence_id": _dashed(evidence_id),
        "sha256": sha256,
        "details": _details(details),
        "prev_hash": prev_hash,
        "entry_hash": entry_hash_,
    }


def _body(row: Sequence[Any]) -> bytes | None:
    """`body_reader` on PostgreSQL. Keys in sorted order, as the canonical encoding has them."""
    seq, at, actor, action, case_id, evidence_id, sha256, details, prev_hash, *_ = row
    if type(seq) is not int or not (details is None or type(details) is str):
        return None
    try:
        return (
            f'{{"action":{_quote(action)},"actor":{_quote(actor)},"at":{_quote(at)},'
            f'"case_id":{"null" if case_id is None else _quote(case_id)},'
            f'"details":{"null" if details is None else details},'
            f'"evidence_id":{"null" if evidence_id is None else _quote(evidence_id)},'
            f'"prev_hash":{_quote(prev_hash)},"seq":{seq},"sha256":{"null" if sha256 is None else _quote(sha256)}}}'
        ).encode()
    except (TypeError, UnicodeEncodeError):  # not a string where the application writes one; a lone surrogate
        return None


def _sqlite_body(row: Sequence[Any]) -> bytes | None:
    """`body_reader` on SQLite: `_body` of the values `_sqlite_fields_of` puts in hashed form."""
    seq, at, actor, action, case_id, evidence_id, sha256, details, prev_hash, *_ = row
    return _body(
        (seq, _sqlite_at(at), actor, action, _dashed(case_id), _dashed(evidence_id), sha256, details, prev_hash)
    )


_quote = encode_basestring  # the JSON string token of a str, as the canonical encoder writes it (TypeError otherwise)


def _sqlite_at(at: Any) -> Any:
    """`format_timestamp` of SQLite's stored 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC); anything else is left as it is."""
    return f"{at[:10]}T{at[11:]}+00:00" if type(at) is str and len(at) == 26 else at


def _dashed(hex_: Any) -> Any:
    """`str(uuid)` of 32 stored hex digits; anything else is left as it is (and fails its entry's hash)."""
    if type(hex_) is str and len(hex_) == 32:
        return f"{hex_[:8]}-{hex_[8:12]}-{hex_[12:16]}-{hex_[16:20]}-{hex_[20:]}"
    return hex_


def _details(text: Any) -> Any:
    if text is None:
        return None
    try:
        return _decode_json(text)
    except ValueError:  # kept as text: the entry cannot hash to its stored value, and verification names it
        return text


def _hashed_columns(dialect: str) -> list[ColumnElement[Any]]:
    """The columns of ENTRY_FIELDS as plain text (no type processing): on PostgreSQL already in their hashed form,
    `str(uuid)` (lower-case, dashed) and `format_timestamp(at)` (UTC, microseconds, `+00:00`); on SQLite as stored,
    for `_sqlite_fields_of`."""
    c = CustodyEntry.__table__.c
    if dialect == "postgresql":
        at = func.to_char(func.timezone("UTC", c.at), literal('YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'))
        return [
            c.seq,
            type_coerce(at, String),
            c.actor,
            c.action,
            type_coerce(cast(c.case_id, Text), String),
            type_coerce(cast(c.evidence_id, Text), String),
            c.sha256,
            cast(c.details, Text),
            c.prev_hash,
            c.entry_hash,
        ]
    return [
        c.seq,
        type_coerce(c.at, String),
        c.actor,
        c.action,
        type_coerce(c.case_id, String),
        type_coerce(c.evidence_id, String),
        c.sha256,
        type_coerce(c.details, Text),
        c.prev_hash,
        c.entry_hash,
    ]


def head(session: Session) -> LedgerHead | None:
    return session.get(LedgerHead, HEAD_ID)
