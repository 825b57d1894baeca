"""Parsing a query (casefile.search.services.parse_query): the normalisation of casefile.names, every typed word
required, a name key as the alternative way to match a word, numbers never dropped, lone articles ignored."""

from __future__ import annotations

import pytest

from casefile.errors import ValidationFailed
from casefile.search.services import Term, parse_query, parse_types, tsquery_text


def test_arabic_variants_parse_alike() -> None:
    expected = parse_query("الكاني")
    for variant in ("الكانى", "الكَانِي", "الكـــاني", "  الكاني  ", "\u200fالكاني"):
        assert parse_query(variant) == expected, variant
    assert expected == (((Term("الكاني", True),), (Term("kn", False),)),)


def test_transliteration_matches_by_name_key() -> None:
    assert parse_query("al-Kani") == (((Term("al", False), Term("kani", True)), (Term("kn", False),)),)
    # A lone article is not required: no Arabic text has it as a word of its own.
    assert parse_query("Al Kani") == parse_query("Kani")
    assert parse_query("al") == (((Term("al", False),),),)


def test_numbers_stay_required_through_the_name_key() -> None:
    assert parse_query("W-0001") == (((Term("w", False), Term("0001", True)),),)
    [word] = parse_query("TRH-00042")
    assert all(Term("00042", True) in alternative for alternative in word)


def test_tsquery_quotes_every_lexeme() -> None:
    assert tsquery_text(parse_query("ترهونة W-0001")) == "(('ترهونه':*) | ('trhn')) & (('w' & '0001':*))"
    assert tsquery_text(((((Term("it's", False)),),),)) == "(('it''s'))"
    assert tsquery_text(((((Term("a\\b", True)),),),)) == "(('a\\\\b':*))"


@pytest.mark.parametrize("query", ["", "   ", None, "...", "ً", "x" * 201, " ".join(f"w{n}" for n in range(30))])
def test_nothing_to_search_for_or_too_much_is_refused(query: str | None) -> None:
    with pytest.raises(ValidationFailed) as error:
        parse_query(query)
    assert error.value.status == 422 and error.value.field == "q"


def test_types() -> None:
    assert parse_types(None) == []
    assert parse_types("actor, incident,actor") == ["actor", "incident"]
    assert parse_types(["witness"]) == ["witness"]
    with pytest.raises(ValidationFailed):
        parse_types("dossier")
