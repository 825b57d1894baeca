"""Why a search result matched: the words of its stored text that the query found, marked, in a short excerpt.

Both databases search normalised tokens (search/models.py), so neither engine's own snippet function (FTS5's
`snippet()`, PostgreSQL's `ts_headline`) can show the text as it was written: the index holds "kn" and "al kani", not
"al-Kani". The excerpt is therefore made here, from the object's own columns (only those that are indexed: a
witness by pseudonym, never the protected identity), with the same tokenizer and the same parsed query as the
search itself (casefile.names.search_terms, services.parse_query). So it is the same on SQLite and PostgreSQL, and a
word is marked exactly when it is what made the document match: "alkani" marks "al-Kani" and "الكاني" through their
name key, "ترهون" marks "ترهونة" as a prefix.

A snippet is plain text plus the [start, end) offsets (in characters, i.e. Unicode code points) of its marked
words. HTML is only ever made by `Snippet.html`, which escapes every piece of stored text before it adds `<mark>`:
a title holding markup is shown as that text, never run.

`matches` answers the same question for a short text (a link target's label in the pickers): does the query find it?
"""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from markupsafe import Markup, escape
from sqlalchemy import select
from sqlalchemy.orm import Session

from casefile.actors.models import Actor
from casefile.auth.models import User
from casefile.cases.models import Incident
from casefile.custody.actions import Action
from casefile.custody.ledger import Draft, record_custody_many
from casefile.evidence.models import EvidenceItem
from casefile.names import search_terms
from casefile.paging import Count
from casefile.search import services
from casefile.search.models import ObjectType
from casefile.search.services import SearchResult, Term, Word
from casefile.witnesses.models import Witness

# About how many characters an excerpt shows, and how much of it comes before the first marked word.
EXCERPT_LENGTH = 200
LEAD = 60
MAX_MARKS = 20
# A stored text is read this far at most for its first match (an evidence file's text can be 200 000 characters).
SCAN_LIMIT = 200_000
# A written word: letters and digits (with Arabic and Latin combining marks and tatweel), joined by the hyphens,
# apostrophes and dots that occur inside names, ERNs and file names (al-Kani, Sa'id, TRH-00042, notes.txt).
_LETTERS = "\\w\u0300-\u036f\u064b-\u065f\u0670\u0640"
_CHUNK = re.compile(f"[{_LETTERS}]+(?:[-\u2010-\u2015'’ʿʾ.][{_LETTERS}]+)*")


@dataclass(frozen=True)
class Snippet:
    """An excerpt of a stored text, the field it comes from, and where the query's words are in it."""

    text: str
    field: str
    marks: tuple[tuple[int, int], ...]
    # The excerpt starts after the beginning of the field's text, or stops before its end.
    cut_start: bool = False
    cut_end: bool = False

    def html(self) -> Markup:
        """The excerpt with each found word in <mark>, every piece of stored text escaped first."""
        out: list[str] = [Markup("…") if self.cut_start else Markup("")]
        at = 0
        for start, end in self.marks:
            out.append(escape(self.text[at:start]))
            out.append(Markup("<mark>") + escape(self.text[start:end]) + Markup("</mark>"))
            at = end
        out.append(escape(self.text[at:]))
        if self.cut_end:
            out.append(Markup("…"))
        return Markup("").join(out)

    def to_json(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "field": self.field,
            "highlights": [[start, end] for start, end in self.marks],
            "truncated_start": self.cut_start,
            "truncated_end": self.cut_end,
        }


@lru_cache(maxsize=65_536)
def _chunk_terms(chunk: str) -> frozenset[str]:
    return frozenset(search_terms(chunk))


def _satisfied(term: Term, tokens: frozenset[str]) -> bool:
    if term.token in tokens:
        return True
    return term.prefix and any(t.startswith(term.token) for t in tokens)


def _alternatives(words: Sequence[Word]) -> list[tuple[Term, ...]]:
    return [alternative for word in words for alternative in word]


def _chunk_hit(tokens: frozenset[str], alternatives: list[tuple[Term, ...]]) -> bool:
    """A written word is marked when it alone holds every part of one way of reading a typed word."""
    return any(all(_satisfied(term, tokens) for term in alternative) for alternative in alternatives)


def _trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    """The span without the punctuation around the word ("(al-Kani)," marks al-Kani)."""
    while start < end and not text[start].isalnum():
        start += 1
    while end > start and not (text[end - 1].isalnum() or _is_mark(text[end - 1])):
        end -= 1
    return start, end


def _is_mark(ch: str) -> bool:
    return "\u0300" <= ch <= "\u036f" or "\u064b" <= ch <= "\u065f" or ch == "\u0670"


def find_marks(text: str, words: Sequence[Word], limit: int = MAX_MARKS) -> list[tuple[int, int]]:
    """The spans of `text`'s written words that the query finds, in order (at most `limit`)."""
    alternatives = _alternatives(words)
    spans: list[tuple[int, int]] = []
    for match in _CHUNK.finditer(text, 0, min(len(text), SCAN_LIMIT)):
        if _chunk_hit(_chunk_terms(match.group()), alternatives):
            start, end = _trimmed(text, match.start(), match.end())
            if start < end:
                spans.append((start, end))
                if len(spans) >= limit:
                    break
    return spans


def matches(words: Sequence[Word], text: str) -> bool:
    """Whether the query finds `text` by the search's own rule: every typed word matches in one of its readings."""
    tokens = frozenset(search_terms(text))
    return all(any(all(_satisfied(term, tokens) for term in alternative) for alternative in word) for word in words)


def excerpt(text: str, field: str, words: Sequence[Word], length: int = EXCERPT_LENGTH) -> Snippet | None:
    """The part of `text` around its first found word, with every found word in it marked; None if none is."""
    flat = " ".join(text.split())
    first = find_marks(flat, words, limit=1)
    if not first:
        return None
    start = 0
    if len(flat) > length and first[0][0] > LEAD:
        start = flat.rfind(" ", 0, first[0][0] - LEAD) + 1
    end = len(flat)
    if end - start > length:
        end = flat.rfind(" ", start, start + length)
        if end <= first[0][1]:
            end = min(len(flat), max(first[0][1], start + length))
    part = flat[start:end]
    return Snippet(part, field, tuple(find_marks(part, words)), start > 0, end < len(flat))


def whole(text: str, field: str, words: Sequence[Word]) -> Snippet:
    """A short text (a title) in full, its found words marked."""
    return Snippet(text, field, tuple(find_marks(text, words)))


# The indexed columns of each type (search/indexer.py), in the order a snippet is looked for: the ones shown as
# the result's title last, so that the snippet says what else matched. Aliases are a list, shown joined.
FIELDS: dict[str, tuple[type[Any], tuple[str, ...], tuple[str, ...]]] = {
    ObjectType.INCIDENT.value: (Incident, ("description", "place_name"), ("title",)),
    ObjectType.ACTOR.value: (Actor, ("aliases", "description"), ("name",)),
    ObjectType.EVIDENCE.value: (
        EvidenceItem,
        ("description", "source", "original_filename", "text_content"),
        ("ern", "title"),
    ),
    ObjectType.WITNESS.value: (Witness, (), ("code",)),  # the pseudonym only, as indexed
}


def _field_text(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "; ".join(str(v) for v in value if v)
    return str(value or "")


def snippets_for(
    session: Session, keys: Iterable[tuple[str, uuid.UUID]], words: Sequence[Word]
) -> dict[tuple[str, uuid.UUID], Snippet]:
    """For each (object type, id), the excerpt of its first indexed field with a found word; the title's own
    fields come last, so a result found by its title alone gets its title, marked. One query per type."""
    by_type: dict[str, list[uuid.UUID]] = defaultdict(list)
    for object_type, object_id in keys:
        by_type[object_type].append(object_id)
    out: dict[tuple[str, uuid.UUID], Snippet] = {}
    for object_type, ids in by_type.items():
        model, body, title = FIELDS[object_type]
        columns = [getattr(model, name) for name in (*body, *title)]
        for row in session.execute(select(model.id, *columns).where(model.id.in_(ids))):
            for name in (*body, *title):
                found = excerpt(_field_text(getattr(row, name)), name, words)
                if found is not None:
                    out[(object_type, row.id)] = found
                    break
    return out


def search(session: Session, user: User, query: str | None, **options: Any) -> tuple[list[SearchResult], Count]:
    """services.search, each result with its snippet and its title's found words marked (the page and the API)."""
    results, total = services.search(session, user, query, **options)
    words = services.parse_query(query)
    found = snippets_for(session, [(r.object_type, r.object_id) for r in results], words)
    shown = [
        replace(
            r,
            snippet=found.get((r.object_type, r.object_id)),
            title_snippet=whole(r.title, "title", words),
        )
        for r in results
    ]
    record_text_reads(session, user, shown)
    return shown, total


def record_text_reads(session: Session, user: User, results: Sequence[SearchResult]) -> None:
    """An excerpt of an evidence file's own text is a read of the file, as its text on the item page is: each such
    result gets a `viewed` entry (via search), all in one append."""
    ids = [
        r.object_id
        for r in results
        if r.object_type == ObjectType.EVIDENCE.value and r.snippet is not None and r.snippet.field == "text_content"
    ]
    if not ids:
        return
    rows = session.execute(
        select(EvidenceItem.id, EvidenceItem.case_id, EvidenceItem.sha256).where(EvidenceItem.id.in_(ids))
    )
    record_custody_many(
        session,
        [Draft(user, Action.VIEWED, case_id, item_id, sha256, {"via": "search"}) for item_id, case_id, sha256 in rows],
    )
