"""Hash-chained custody ledger: canonical encoding, entry hashing and streaming verification.

This module is copied verbatim into the standalone verifier that recipients run, so it
must import nothing but the Python standard library (and not ``merkle`` either).  It is
kept importable on Python 3.8+ for the same reason: a recipient's machine is not ours.

Entry layout (every value JSON-serialisable)::

    seq, at, actor, action, case_id, evidence_id, sha256, details, prev_hash, entry_hash

``entry_hash`` = hex SHA-256 of the canonical encoding of every other field of the entry;
``prev_hash`` = the previous entry's ``entry_hash`` (``GENESIS_HASH`` for seq 1).

Note that a chain on its own cannot reveal the deletion of its *newest* entries: compare
the final count/head hash with a signed tree head (see ``merkle``) for that.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

GENESIS_HASH = "0" * 64

# The fields the ledger writes, in documentation order (hashing sorts keys anyway).
ENTRY_FIELDS = (
    "seq",
    "at",
    "actor",
    "action",
    "case_id",
    "evidence_id",
    "sha256",
    "details",
    "prev_hash",
    "entry_hash",
)

# One shared encoder: json.dumps() with non-default options builds a fresh JSONEncoder on
# every call, which is a measurable share of per-entry verification cost.  Skipping the
# circular-reference bookkeeping saves ~7% more; ledger data (parsed JSON/DB rows) cannot be
# circular, and an in-memory cycle still fails, as RecursionError instead of ValueError.
_ENCODER = json.JSONEncoder(
    sort_keys=True,
    separators=(",", ":"),
    ensure_ascii=False,
    allow_nan=False,
    check_circular=False,
)
_encode = _ENCODER.encode
_sha256 = hashlib.sha256

# What a hostile or corrupt entry can make the encoder raise (UnicodeEncodeError for lone
# surrogates is a ValueError; absurd nesting is a RecursionError).
_ENCODING_ERRORS = (TypeError, ValueError, RecursionError)


def canonical_bytes(obj: Any) -> bytes:
    """Sorted-key, compact, UTF-8 JSON; NaN/Infinity are rejected with ValueError.

    Byte-for-byte identical to ``json.dumps(obj, sort_keys=True, separators=(",", ":"),
    ensure_ascii=False, allow_nan=False).encode("utf-8")``.  Non-JSON types raise
    TypeError, lone surrogates ValueError, self-referencing containers RecursionError.
    """
    return _encode(obj).encode("utf-8")


def canonical_text(obj: Any) -> str:
    """``canonical_bytes`` before UTF-8 encoding: what the application stores a ledger entry's ``details`` as, so a
    verifier can hash the stored text without parsing and re-encoding it (casefile.custody.ledger.body_reader)."""
    return _encode(obj)


def entry_hash(fields: Mapping[str, Any]) -> str:
    """Hex SHA-256 over the canonical encoding of ``fields`` without any ``entry_hash`` key."""
    body = dict(fields)
    body.pop("entry_hash", None)
    return _sha256(_encode(body).encode("utf-8")).hexdigest()


def seal_entry(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Return a copy of ``fields`` with ``entry_hash`` (re)computed."""
    body = dict(fields)
    body.pop("entry_hash", None)
    body["entry_hash"] = _sha256(_encode(body).encode("utf-8")).hexdigest()
    return body


def format_timestamp(moment: datetime) -> str:
    """The ledger's ``at`` format: UTC, microseconds, explicit ``+00:00`` offset.

    Naive datetimes are refused because guessing their zone would silently change hashes.
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("timestamp must be timezone-aware")
    # timezone.utc rather than datetime.UTC (3.11+): recipients may run an older Python.
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")  # noqa: UP017


@dataclass(frozen=True)
class ChainProblem:
    """One integrity problem found while verifying a chain.

    ``kind`` is one of: ``hash_mismatch``, ``broken_link``, ``bad_genesis``, ``gap``,
    ``duplicate_seq``, ``out_of_order``, ``malformed``.
    """

    seq: int | None
    kind: str
    message: str
    expected: str | None = None
    found: str | None = None


@dataclass(frozen=True)
class ChainResult:
    """Summary returned by ``ChainVerifier.finish()``."""

    count: int  # entries fed, including faulty ones
    last_seq: int | None  # seq of the last in-sequence entry (None if there was none)
    head_hash: str  # prev_hash the next entry must carry (start_prev_hash if no entries)
    problem_count: int

    @property
    def ok(self) -> bool:
        return self.problem_count == 0


def _show(value: Any) -> str | None:
    """Render a stored value for a problem report without losing what was actually there."""
    if value is None or isinstance(value, str):
        return value
    return repr(value)


class ChainVerifier:
    """Incremental verifier: ``feed`` entries in seq order (in any batch sizes), then ``finish``.

    Memory is constant: only the previous entry's hash and seq are remembered.
    After a problem the verifier resynchronises on the entry it was given, so one
    tampered entry produces one report rather than a cascade.
    """

    __slots__ = ("_count", "_last_seq", "_next", "_prev", "_problems", "_start_prev", "_start_seq")

    def __init__(self, start_prev_hash: str = GENESIS_HASH, start_seq: int = 1) -> None:
        if not isinstance(start_prev_hash, str):
            raise TypeError("start_prev_hash must be a hex string")
        if type(start_seq) is not int:
            raise TypeError("start_seq must be an int")
        self._start_prev = start_prev_hash
        self._start_seq = start_seq
        self._prev = start_prev_hash
        self._next = start_seq
        self._last_seq: int | None = None
        self._count = 0
        self._problems = 0

    @property
    def count(self) -> int:
        return self._count

    @property
    def head_hash(self) -> str:
        return self._prev

    @property
    def next_seq(self) -> int:
        return self._next

    @property
    def problem_count(self) -> int:
        return self._problems

    def feed(self, entry: Mapping[str, Any]) -> list[ChainProblem]:
        """Check one entry; return its problems (usually an empty list)."""
        return self._check(entry) or []

    def check(self, entry: Mapping[str, Any]) -> list[ChainProblem] | None:
        """As ``feed``, but None for an entry in order: no list is made on the hot path of a long walk."""
        return self._check(entry)

    def accept(self, seq: int, prev_hash: str, entry_hash: str) -> bool:
        """The hot path for a reader that has itself found the entry's canonical encoding to hash to `entry_hash`:
        if the entry is the next in order and links to the last, count it, move on and return True; otherwise change
        nothing and return False, and the caller then `check`s the entry, which says what is wrong."""
        if type(seq) is int and seq == self._next and prev_hash == self._prev:
            self._count += 1
            self._next = seq + 1
            self._prev = entry_hash
            self._last_seq = seq
            return True
        return False

    def feed_many(self, entries: Iterable[Mapping[str, Any]]) -> list[ChainProblem]:
        """Check a batch of entries; return all their problems in order."""
        found: list[ChainProblem] = []
        check = self._check
        for entry in entries:
            problems = check(entry)
            if problems:
                found.extend(problems)
        return found

    def finish(self) -> ChainResult:
        """Snapshot of the verification so far (feeding may continue afterwards)."""
        return ChainResult(self._count, self._last_seq, self._prev, self._problems)

    def _check(self, entry: Mapping[str, Any]) -> list[ChainProblem] | None:
        # Hot path: one dict copy, one encode, one hash and a few comparisons.  Anything
        # unusual is handed to _diagnose, which may be slow because it runs rarely.
        self._count += 1
        if type(entry) is not dict and not isinstance(entry, Mapping):
            return self._not_an_object(entry)
        try:
            body = dict(entry)
            stored = body.pop("entry_hash", None)
            computed = _sha256(_encode(body).encode("utf-8")).hexdigest()
        except _ENCODING_ERRORS as exc:
            return self._diagnose(entry, None, None, exc)
        seq = body.get("seq")
        if computed == stored and type(seq) is int and seq == self._next and body.get("prev_hash") == self._prev:
            self._next = seq + 1
            self._prev = stored
            self._last_seq = seq
            return None
        return self._diagnose(body, stored, computed, None)

    def _diagnose(
        self, entry: Mapping[str, Any], stored: Any, computed: str | None, error: BaseException | None
    ) -> list[ChainProblem]:
        # ``computed`` is None when the entry could not be encoded (``error`` says why); then
        # ``stored`` is looked up here.
        problems: list[ChainProblem] = []
        stored_seq = entry.get("seq")
        # None unless the stored seq is exactly an int (True or another int subclass is not a seq).
        seq: int | None = stored_seq if type(stored_seq) is int else None
        prev = entry.get("prev_hash")
        if computed is None:
            stored = entry.get("entry_hash")

        label = f"entry {seq}" if seq is not None else f"record #{self._count} (seq {stored_seq!r})"
        report_seq = seq
        in_sequence = True  # does this entry advance the chain?
        check_link = True

        if error is not None:
            problems.append(
                ChainProblem(
                    report_seq,
                    "malformed",
                    f"{label}: cannot be canonically encoded ({type(error).__name__}: {error})",
                )
            )

        if seq is None:
            problems.append(
                ChainProblem(
                    None,
                    "malformed",
                    f"{label}: seq must be an integer, expected {self._next}",
                    str(self._next),
                    repr(stored_seq),
                )
            )
            effective_seq = self._next  # assume it sits where it should and keep checking
        elif seq > self._next:
            first, last = self._next, seq - 1
            missing = f"entry {first} missing" if first == last else f"entries {first}–{last} missing"
            after = (
                f"entry {seq} follows entry {self._last_seq}"
                if self._last_seq is not None
                else f"the first entry supplied is {seq}"
            )
            problems.append(ChainProblem(seq, "gap", f"{missing} ({after})", str(self._next), str(seq)))
            # The prev_hash of the entry after a hole necessarily points into the hole; a
            # separate broken_link report would only restate the gap.
            check_link = False
            effective_seq = seq
        elif seq < self._next:
            in_sequence = False
            if seq == self._last_seq:
                problems.append(
                    ChainProblem(
                        seq,
                        "duplicate_seq",
                        f"entry {seq}: sequence number {seq} appears again",
                        str(self._next),
                        str(seq),
                    )
                )
            else:
                after = f"entry {self._last_seq}" if self._last_seq is not None else "the start"
                problems.append(
                    ChainProblem(
                        seq,
                        "out_of_order",
                        f"entry {seq}: appears after {after}; expected entry {self._next}",
                        str(self._next),
                        str(seq),
                    )
                )
            effective_seq = seq
        else:
            effective_seq = seq

        if computed is not None:
            if not isinstance(stored, str):
                problems.append(
                    ChainProblem(
                        report_seq,
                        "malformed",
                        f"{label}: entry_hash missing or not a string, expected {computed}",
                        computed,
                        _show(stored),
                    )
                )
            elif stored != computed:
                problems.append(
                    ChainProblem(
                        report_seq,
                        "hash_mismatch",
                        f"{label}: entry_hash expected {computed} found {stored}",
                        computed,
                        stored,
                    )
                )

        if in_sequence and check_link and prev != self._prev:
            if self._last_seq is None and self._start_seq == 1 and self._start_prev == GENESIS_HASH:
                problems.append(
                    ChainProblem(
                        report_seq,
                        "bad_genesis",
                        f"{label}: prev_hash of the first entry expected {GENESIS_HASH} (genesis) found {_show(prev)}",
                        GENESIS_HASH,
                        _show(prev),
                    )
                )
            else:
                of = f"entry_hash of entry {self._last_seq}" if self._last_seq is not None else "the starting hash"
                problems.append(
                    ChainProblem(
                        report_seq,
                        "broken_link",
                        f"{label}: prev_hash expected {self._prev} ({of}) found {_show(prev)}",
                        self._prev,
                        _show(prev),
                    )
                )

        if in_sequence:
            self._next = effective_seq + 1
            self._last_seq = effective_seq
            # Link the next entry to what this entry *claims* to be: a lone tampered entry
            # then yields one hash_mismatch, not a mismatch plus a broken link after it.
            if isinstance(stored, str):
                self._prev = stored
            elif computed is not None:
                self._prev = computed
        self._problems += len(problems)
        return problems

    def _not_an_object(self, entry: Any) -> list[ChainProblem]:
        # Nothing to check or link to; skip it without disturbing the chain state.
        self._problems += 1
        return [
            ChainProblem(
                None,
                "malformed",
                f"record #{self._count}: not a JSON object but {type(entry).__name__}",
                None,
                type(entry).__name__,
            )
        ]


def verify_chain(
    entries: Iterable[Mapping[str, Any]],
    start_prev_hash: str = GENESIS_HASH,
    start_seq: int = 1,
) -> Iterator[ChainProblem]:
    """Stream over ``entries`` (in seq order) and yield every problem found.

    Constant memory, so ``entries`` may be a generator over millions of rows.  To verify
    a tail only, pass the ``entry_hash`` and ``seq`` that precede it.
    """
    verifier = ChainVerifier(start_prev_hash, start_seq)
    check = verifier._check
    for entry in entries:
        problems = check(entry)
        if problems:
            yield from problems
