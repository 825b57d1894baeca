"""Why a result matched (issue #19): a snippet of its stored text with the found words marked, on the page (<mark>,
stored text escaped first) and in the API (plain text with character offsets). The same on SQLite and PostgreSQL:
the snippet is made from the object's own columns with the search's own tokenizer, so "alkani", "Al Kani",
"al‑Kānī" and "الكاني" all find al-Kani and mark the words that made it match."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient

from casefile.search import snippets
from casefile.search.services import parse_query

from search_support import Team, found
from support import login

KANI = "Mohamed al-Kani"
ARABIC = "محمد الكاني"
SCRIPT = '<script>alert("x")</script>'
DESCRIPTION = (
    "Killings in Tarhouna under the Kaniyat militia, whose leader (al-Kani) ordered the detentions at the prison. "
    + "Residents gave accounts of the checkpoints. " * 12
    + f"Later reports name {ARABIC} again. {SCRIPT}"
)


@pytest.fixture
def corpus(team: Callable[..., Team]) -> dict[str, Any]:
    t = team("SNP")
    return {
        "team": t,
        "kani": t.actor(KANI, aliases=[ARABIC]),
        "incident": t.incident(f"Prison executions {SCRIPT}", description=DESCRIPTION, place_name="ترهونة"),
        "item": t.evidence(f"Field note {SCRIPT}", content=b"Interview: the guards answered to Al Kani."),
    }


def _marked(snippet: dict[str, Any]) -> list[str]:
    return [snippet["text"][start:end] for start, end in snippet["highlights"]]


@pytest.mark.parametrize("query", ["alkani", "Al Kani", "al‑Kānī", "الكاني", "AL-KANI", "Elkani"])
def test_every_spelling_finds_al_kani_with_a_marked_snippet(corpus: dict[str, Any], query: str) -> None:
    t: Team = corpus["team"]
    body = t.search(query, per_page=50)
    assert ("actor", KANI) in found(body)
    by_title = {item["title"]: item for item in body["items"]}
    actor = by_title[KANI]
    # The actor matched by name and alias: the alias is the snippet (what else matched), the name is marked.
    assert actor["snippet"]["field"] == "aliases"
    assert _marked(actor["snippet"]) == ["الكاني"]
    assert [KANI[s:e] for s, e in actor["title_highlights"]] == ["al-Kani"]
    incident = by_title[f"Prison executions {SCRIPT}"]
    assert incident["snippet"]["field"] == "description"
    assert "al-Kani" in _marked(incident["snippet"])
    assert incident["snippet"]["truncated_end"] is True and len(incident["snippet"]["text"]) <= 220
    evidence = [i for i in body["items"] if i["object_type"] == "evidence"]
    assert evidence and evidence[0]["snippet"]["field"] == "text_content"
    assert "Kani" in _marked(evidence[0]["snippet"])


def test_offsets_are_characters_and_the_text_is_as_stored(corpus: dict[str, Any]) -> None:
    t: Team = corpus["team"]
    body = t.search("ترهونه")
    (incident,) = [i for i in body["items"] if i["object_type"] == "incident"]
    assert incident["snippet"]["field"] in ("description", "place_name")
    assert "ترهونة" in _marked(incident["snippet"]) or "Tarhouna" in _marked(incident["snippet"])
    # A snippet later in a long text starts with an ellipsis flag, and keeps the script as text (the API is data).
    body = t.search("الكاني checkpoints")
    (incident,) = [i for i in body["items"] if i["object_type"] == "incident"]
    assert set(_marked(incident["snippet"])) >= {"al-Kani"}


def test_the_page_marks_found_words_and_escapes_stored_markup(client: FlaskClient, corpus: dict[str, Any]) -> None:
    t: Team = corpus["team"]
    login(client, t.account)
    html = client.get("/search", query_string={"q": "alkani"}).get_data(as_text=True)
    assert "<script>alert" not in html
    assert re.search(r'<a href="/actors/[0-9a-f-]{36}">Mohamed <mark>al-Kani</mark></a>', html)
    snippets_shown = re.findall(r'<p class="snippet" dir="auto">(.*?)</p>', html, re.S)
    assert any("<mark>al-Kani</mark>" in s for s in snippets_shown)
    assert any("<mark>الكاني</mark>" in s for s in snippets_shown)
    # Marks are the only markup a snippet adds: every other < is escaped stored text.
    for shown in snippets_shown:
        assert re.sub(r"</?mark>|<span class=\"hint\">[^<]*</span>", "", shown).count("<") == 0, shown
    html = client.get("/search", query_string={"q": "alert"}).get_data(as_text=True)
    assert "<script>alert" not in html
    assert "executions &lt;script&gt;<mark>alert</mark>(&#34;x&#34;)&lt;/script&gt;</a>" in html


def test_html_of_a_snippet_escapes_then_marks() -> None:
    words = parse_query("kani")
    snippet = snippets.excerpt('<b onclick="x">al-Kani</b> & <i>friends</i>', "description", words)
    assert snippet is not None
    assert str(snippet.html()) == (
        "&lt;b onclick=&#34;x&#34;&gt;<mark>al-Kani</mark>&lt;/b&gt; &amp; &lt;i&gt;friends&lt;/i&gt;"
    )
    assert snippets.excerpt("nothing here", "description", words) is None


def test_long_texts_are_cut_around_the_first_found_word() -> None:
    words = parse_query("kani")
    text = "word " * 400 + "al-Kani " + "tail " * 400
    snippet = snippets.excerpt(text, "text_content", words)
    assert snippet is not None and snippet.cut_start and snippet.cut_end
    assert len(snippet.text) <= snippets.EXCERPT_LENGTH
    (span,) = snippet.marks
    assert snippet.text[span[0] : span[1]] == "al-Kani"
    assert str(snippet.html()).startswith("…") and str(snippet.html()).endswith("…")


def test_an_excerpt_of_a_files_text_is_a_read_in_its_custody_trail(app: Any, corpus: dict[str, Any]) -> None:
    """Search showing part of an evidence file's own text reads the file: a `viewed` entry via search; a result
    shown by its title alone is not a read of the file."""
    from support import ledger

    t: Team = corpus["team"]
    item = corpus["item"]

    def reads() -> list[Any]:
        return [e for e in ledger(app) if str(e.evidence_id) == item["id"] and e.details.get("via") == "search"]

    t.search("guards", per_page=50)
    [entry] = reads()
    assert entry.action == "viewed" and entry.actor == f"user:{t.account.id}" and entry.sha256 == item["sha256"]
    t.search("Field note", per_page=50)  # found by its title: the file's text is not shown
    assert len(reads()) == 1
