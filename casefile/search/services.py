"""Searching the index: one service for the search page and the API.

A query is normalised with the same function as the indexed text (casefile.names), so Arabic with or without
diacritics, with ى or ي, ة or ه, and Latin transliterations ("al-Kani", "Tarhuna") find each other.

Matching. The query is split at white space into words as the user typed them; EVERY word must match. A typed
word matches a document when either
  * all its normalised parts occur (a part of three or more characters may be the start of a longer word, so
    "ترهون" finds "ترهونة" and "TRH-0004" finds TRH-00042), or
  * its name key occurs (names.name_key: "al-Kani" and "الكاني" both give "kn"), together with its numbers,
    which a name key leaves out (so "W-0001" never matches W-0002 through the key).
A Latin article typed as a word of its own ("Al Kani") is left out. The same rule runs as each engine's full-text
query: a tsquery against the GIN-indexed tsvector on PostgreSQL, an FTS5 MATCH against `search_fts` on SQLite
(search/models.py). Both index the tokens of `terms` exactly as names.search_terms made them, and both queries are
built from the same parsed words, so the results are the same.

User input never reaches either query language as syntax: a query is reduced to normalised `\\w+` tokens first,
and every token is then written as a quoted string (a tsquery lexeme in '…', an FTS5 string in "…"), so words
such as OR, NEAR or NOT and characters such as * " ^ : - are only ever text to look for.

Authorization is part of the query: only documents of cases the user is a member of are ever selected, counted
or paginated (auth.gate.member_case_ids), never filtered afterwards.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, Select, and_, cast, func, literal, or_, select
from sqlalchemy.dialects.postgresql import TSQUERY
from sqlalchemy.orm import Session

from casefile.auth.gate import member_case_ids, require_case
from casefile.auth.models import User
from casefile.cases.models import Case
from casefile.errors import ValidationFailed
from casefile.names import MAX_TOKEN_LENGTH, name_key, normalize
from casefile.paging import Count, bounded_count
from casefile.search.models import ObjectType, SearchDocument, search_fts

if TYPE_CHECKING:
    from casefile.search.snippets import Snippet

MAX_QUERY_LENGTH = 200
MAX_QUERY_TOKENS = 24
MAX_PER_PAGE = 200
MAX_PAGE = 10_000
PREFIX_MIN_LENGTH = 3
LATIN_ARTICLES = frozenset({"al", "el", "il", "ul"})
TYPE_ORDER = tuple(t.value for t in ObjectType)
# Search counts its matches to a thousand ("more than 1,000"): past that a count helps nobody refine a search, and
# counting a word in a tenth of a million documents would cost more than finding the page.
SEARCH_COUNT_CAP = 1_000
# SQLite: from this many full-text matches on, a page is found by walking the listing in order (_sqlite_page).
WALK_FROM = 1_000

# Where a result leads: (HTML endpoint, its id argument), and the API endpoint (argument `id`).
TARGETS = {
    ObjectType.INCIDENT.value: ("cases.show_incident", "incident_id", "api.get_incident"),
    ObjectType.ACTOR.value: ("actors.show_actor", "actor_id", "api.get_actor"),
    ObjectType.EVIDENCE.value: ("evidence.show", "item_id", "api.get_evidence"),
    ObjectType.WITNESS.value: ("witnesses.show", "witness_id", "api.get_witness"),
}


@dataclass(frozen=True)
class Term:
    token: str
    prefix: bool


# A typed word: it matches when every Term of one of its alternatives matches.
Word = tuple[tuple[Term, ...], ...]


@dataclass(frozen=True)
class SearchResult:
    object_type: str
    object_id: uuid.UUID
    case_id: uuid.UUID
    case_reference: str
    title: str
    # Why it matched (search/snippets.py, filled in by snippets.search): an excerpt of its first indexed field with a
    # found word, and its title with the found words marked.
    snippet: Snippet | None = None
    title_snippet: Snippet | None = None

    @property
    def endpoint(self) -> tuple[str, dict[str, Any]]:
        """The page of the object, for url_for."""
        endpoint, argument, _api = TARGETS[self.object_type]
        return endpoint, {argument: self.object_id}

    @property
    def api_endpoint(self) -> tuple[str, dict[str, Any]]:
        return TARGETS[self.object_type][2], {"id": self.object_id}


def _term(token: str) -> Term:
    return Term(token, len(token) >= PREFIX_MIN_LENGTH)


def _key_variants(keys: list[str], parts: list[str]) -> list[list[str]]:
    """The name keys of a typed word, and, for a Latin word written with its article run together ("alkani",
    "Elkani"), the keys without it: the article is dropped from indexed names ("al-Kani", "الكاني" give "kn")."""
    if not keys:
        return []
    variants = [keys]
    if parts and parts[0].startswith(("al", "el")) and keys[0].startswith("al") and len(keys[0]) >= 4:
        variants.append([keys[0][2:], *keys[1:]])
    return variants


def parse_query(raw: str | None) -> tuple[Word, ...]:
    """The words of a query, each with its alternatives; a ValidationFailed (422) when there is nothing to search
    for or too much."""
    text = (raw or "").strip()
    if not text:
        raise ValidationFailed(_("Type a word to search for."), field="q")
    if len(text) > MAX_QUERY_LENGTH:
        raise ValidationFailed(_("The search is too long: at most %(n)d characters.", n=MAX_QUERY_LENGTH), field="q")
    typed: list[tuple[list[str], Word]] = []
    for chunk in text.split():
        parts = [p[:MAX_TOKEN_LENGTH] for p in re.findall(r"\w+", normalize(chunk))]
        if not parts:
            continue
        alternatives = [tuple(_term(p) for p in dict.fromkeys(parts))]
        keys = [k[:MAX_TOKEN_LENGTH] for k in name_key(chunk).split()]
        numbers = [p for p in parts if any(c.isdigit() for c in p)]
        for variant in _key_variants(keys, parts):
            by_key = tuple(dict.fromkeys([*(Term(k, False) for k in variant), *(_term(n) for n in numbers)]))
            if by_key not in alternatives:
                alternatives.append(by_key)
        typed.append((parts, tuple(alternatives)))
    # "Al Kani": the article on its own would require a word no Arabic text contains.
    words = [word for parts, word in typed if not set(parts) <= LATIN_ARTICLES] or [word for _p, word in typed]
    words = list(dict.fromkeys(words))
    if not words:
        raise ValidationFailed(_("The search needs at least one letter or digit."), field="q")
    if sum(len(alt) for word in words for alt in word) > MAX_QUERY_TOKENS:
        raise ValidationFailed(_("The search has too many words; leave some out."), field="q")
    return tuple(words)


def parse_types(types: str | Iterable[str] | None) -> list[str]:
    if types is None:
        return []
    values = types.split(",") if isinstance(types, str) else list(types)
    chosen = [v.strip() for v in values if v and v.strip()]
    unknown = sorted(set(chosen) - set(TYPE_ORDER))
    if unknown:
        raise ValidationFailed(
            _("Unknown type: %(type)s. Choose from %(types)s.", type=unknown[0][:40], types=", ".join(TYPE_ORDER)),
            field="type",
        )
    return list(dict.fromkeys(chosen))


def _tsquery_lexeme(term: Term) -> str:
    quoted = "'" + term.token.replace("\\", "\\\\").replace("'", "''") + "'"
    return quoted + (":*" if term.prefix else "")


def tsquery_text(words: tuple[Word, ...]) -> str:
    """The query in PostgreSQL's tsquery syntax, lexemes quoted as they are (they are normalised already)."""
    return " & ".join(
        "(" + " | ".join("(" + " & ".join(_tsquery_lexeme(t) for t in alt) + ")" for alt in word) + ")"
        for word in words
    )


def _fts5_string(term: Term) -> str:
    # An FTS5 string: double quotes, a double quote inside doubled; `"tok"*` asks for tokens starting with tok.
    return '"' + term.token.replace('"', '""') + '"' + ("*" if term.prefix else "")


def fts5_query_text(words: tuple[Word, ...]) -> str:
    """The query in SQLite FTS5's syntax, every token a quoted string (they are normalised already)."""
    return " AND ".join(
        "(" + " OR ".join("(" + " AND ".join(_fts5_string(t) for t in alt) + ")" for alt in word) + ")"
        for word in words
    )


def match_condition(dialect: str, words: tuple[Word, ...]) -> ColumnElement[bool]:
    if dialect == "postgresql":
        return SearchDocument.search_vector.bool_op("@@")(cast(literal(tsquery_text(words)), TSQUERY))
    return SearchDocument.id.in_(_fts_matches(words))


def _fts_matches(words: tuple[Word, ...]) -> Select[Any]:
    """The ids of the documents FTS5 matches. `terms MATCH`: only that column is searched, never the document ids
    FTS5 also indexes."""
    return select(search_fts.c.document_id).where(search_fts.c.terms.match(fts5_query_text(words)))


def _sqlite_page(
    session: Session, listing: Any, scope: list[ColumnElement[bool]], words: tuple[Word, ...]
) -> tuple[Sequence[Any], Count]:
    """A page and the bounded total on SQLite, which has no planner statistics to choose as PostgreSQL does, so the
    choice is made here from the number of full-text matches (counted no further than WALK_FROM):

    * fewer: the matches are read from the FTS5 index and sorted (a handful);
    * more: the listing index is walked from its top and each document's own `terms` is tested (`terms_condition`,
      the same match as FTS5's) until the page is full: reading every match of a word in most documents first
      cost 450 ms at 100,000 documents (bench.scale --sqlite), and so did an FTS5 probe per document.

    The total is counted from the FTS5 index, each match checked against the user's cases, stopping at the cap."""
    found = _fts_matches(words)
    common = session.scalar(select(func.count()).select_from(found.limit(WALK_FROM).subquery())) == WALK_FROM
    matched = terms_condition(words) if common else SearchDocument.id.in_(found)
    rows = session.execute(listing.where(*scope, matched)).all()
    counted = found.join(SearchDocument, SearchDocument.id == search_fts.c.document_id).where(*scope)
    return rows, bounded_count(session, counted, SEARCH_COUNT_CAP)


def terms_condition(words: tuple[Word, ...]) -> ColumnElement[bool]:
    """FTS5's match of `fts5_query_text(words)` as a test of one document's `terms`: its tokens are separated by
    single spaces (names.search_terms) and FTS5's `ascii` tokenizer splits there only (migration 0008), so a token
    equals `tok` where ` tok ` occurs in the spaced terms, and starts with it where ` tok` does."""
    spaced = literal(" ") + SearchDocument.terms + literal(" ")

    def has(term: Term) -> ColumnElement[bool]:
        return func.instr(spaced, " " + term.token + ("" if term.prefix else " ")) > 0

    return and_(*(or_(*(and_(*(has(t) for t in alt)) for alt in word)) for word in words))


def search(
    session: Session,
    user: User,
    query: str | None,
    *,
    case_id: Any = None,
    types: str | Iterable[str] | None = None,
    page: int = 1,
    per_page: int = 20,
) -> tuple[list[SearchResult], Count]:
    """One page of the documents matching `query` in the user's cases (or in one of them), and the total (bounded).

    Raises ValidationFailed for an empty, content-free or too long query, an unknown type or a bad page, and
    NotFound when `case_id` is not a case the user belongs to.
    """
    words = parse_query(query)
    chosen = parse_types(types)
    if not 1 <= page <= MAX_PAGE:
        raise ValidationFailed(_("page must be between 1 and %(n)d.", n=MAX_PAGE), field="page")
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise ValidationFailed(_("per_page must be between 1 and %(n)d.", n=MAX_PER_PAGE), field="per_page")
    doc = SearchDocument
    dialect = session.get_bind().dialect.name
    # On SQLite the case is matched through an expression, which its planner cannot answer from the (case, type)
    # index: it then reads the listing index (or the full-text index) instead of every document of the case.
    case_of = doc.case_id if dialect == "postgresql" else func.coalesce(doc.case_id, doc.case_id)
    scope: list[ColumnElement[bool]] = [case_of.in_(member_case_ids(user))]
    if case_id is not None and case_id != "":
        scope.append(case_of == require_case(session, user, case_id).id)
    if chosen:
        scope.append(doc.object_type.in_(chosen))
    # The listing's order is its index's (type_weight, updated_at, id), read backwards. The total is counted apart, no
    # further than SEARCH_COUNT_CAP.
    listing = (
        select(doc.object_type, doc.object_id, doc.case_id, Case.reference, doc.title)
        .join(Case, Case.id == doc.case_id)
        .order_by(doc.type_weight.desc(), doc.updated_at.desc(), doc.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    rows: Sequence[Any]
    if dialect == "postgresql":
        # For a word in nearly every document PostgreSQL walks the listing index and stops after the page; for a rare
        # word it reads the few matches from the full-text index and sorts them.
        matched = [*scope, match_condition(dialect, words)]
        rows = session.execute(listing.where(*matched)).all()
        total = bounded_count(session, select(doc.id).where(*matched), SEARCH_COUNT_CAP)
    else:
        rows, total = _sqlite_page(session, listing, scope, words)
    results = [SearchResult(r.object_type, r.object_id, r.case_id, r.reference, r.title) for r in rows]
    return results, total
