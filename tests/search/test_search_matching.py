"""What search finds (casefile.search): Arabic spelling variants, transliterations, ERNs and pseudonyms, and never
a witness's protected identity. The suite runs on SQLite and on PostgreSQL (CASEFILE_TEST_DB), and the exact
expected results below are the same for both: the engines must agree, result for result."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from casefile.db import session_scope
from casefile.search.models import SearchDocument

from search_support import Team, found

KANI = "محمد الكاني"
HAFTAR = "خليفة حفتر"
TARHOUNA = "Tarhouna mass graves"
SIRTE = "Sirte airstrike"


@pytest.fixture
def corpus(team: Callable[..., Team]) -> dict[str, Any]:
    t = team("TRH")
    made = {
        "kani": t.actor(KANI),
        "commander": t.actor("Brigade commander", aliases=["الكاني"]),
        "haftar": t.actor(HAFTAR, aliases=["Khalifa Haftar"]),
        "militia": t.actor("Kaniyat militia", aliases=["الكانيات", "Kaniyet"], kind="armed_group"),
        "tarhouna": t.incident(TARHOUNA, description="Bodies found in June 2020.", place_name="ترهونة"),
        "sirte": t.incident(SIRTE, place_name="سرت"),
        "prison": t.incident("Executions at the prison", description="Detainees of the Kaniyat were killed."),
        "photo": t.evidence("Photo of the grave site", description="Taken near the agricultural project."),
        "report": t.evidence("Autopsy report", source="General Authority for the Search and Identification"),
        "witness": t.witness("Zubaida Qarawi"),
    }
    return {"team": t, **made}


# query → exactly what it must find, as (type, title); identical on SQLite and PostgreSQL.
EXPECTED = {
    # Alef maqsura for yaa, diacritics, Latin transliterations, the article alone, and a first name.
    "الكانى": {("actor", KANI), ("actor", "Brigade commander"), ("actor", "Kaniyat militia")},
    "الكَانِي": {("actor", KANI), ("actor", "Brigade commander"), ("actor", "Kaniyat militia")},
    "al-Kani": {("actor", KANI), ("actor", "Brigade commander")},
    # "Kani" is also the start of "Kaniyat", in the militia's name and the prison incident's description.
    "Al Kani": {
        ("actor", KANI),
        ("actor", "Brigade commander"),
        ("actor", "Kaniyat militia"),
        ("incident", "Executions at the prison"),
    },
    "Mohammed al-Kani": {("actor", KANI)},
    # The article run together with the name, as people type it.
    "alkani": {("actor", KANI), ("actor", "Brigade commander")},
    "Elkani": {("actor", KANI), ("actor", "Brigade commander")},
    "Mohamed Alkani": {("actor", KANI)},
    "محمد الكانى": {("actor", KANI)},
    # Taa marbuta and haa, and transliterations of the place.
    "ترهونه": {("incident", TARHOUNA)},
    "ترهونة": {("incident", TARHOUNA)},
    "tarhuna": {("incident", TARHOUNA)},
    "TARHOUNA": {("incident", TARHOUNA)},
    "Ṭarhūna graves": {("incident", TARHOUNA)},
    # Every word must match.
    "Tarhouna Sirte": set(),
    "Kaniyat": {("actor", "Kaniyat militia"), ("incident", "Executions at the prison")},
    "Haftar": {("actor", HAFTAR)},
    "حفتر": {("actor", HAFTAR)},
    # ERNs, exactly, and by their start.
    "TRH-00001": {("evidence", "TRH-00001 — Photo of the grave site")},
    "trh-00002": {("evidence", "TRH-00002 — Autopsy report")},
    "TRH-0000": {("evidence", "TRH-00001 — Photo of the grave site"), ("evidence", "TRH-00002 — Autopsy report")},
    "autopsy": {("evidence", "TRH-00002 — Autopsy report")},
    "identification": {("evidence", "TRH-00002 — Autopsy report")},
    "notes.txt": {("evidence", "TRH-00001 — Photo of the grave site"), ("evidence", "TRH-00002 — Autopsy report")},
    # The pseudonym, never the protected identity.
    "W-0001": {("witness", "W-0001")},
    "Zubaida": set(),
    "Qarawi": set(),
    "Zubaida Qarawi": set(),
}


def test_every_query_finds_exactly_what_it_should(corpus: dict[str, Any]) -> None:
    t: Team = corpus["team"]
    outcome = {q: found(t.search(q, per_page=50)) for q in EXPECTED}
    wrong = {q: (got, EXPECTED[q]) for q, got in outcome.items() if got != EXPECTED[q]}
    assert not wrong, wrong


def test_results_carry_their_case_and_where_they_lead(corpus: dict[str, Any]) -> None:
    t: Team = corpus["team"]
    by_type = {item["object_type"]: item for item in t.search("TRH-00001 notes")["items"]}
    assert set(by_type) == {"evidence"}
    item = by_type["evidence"]
    assert item["object_id"] == corpus["photo"]["id"]
    assert item["case_id"] == str(t.case_id) and item["case_reference"] == "TRH"
    assert item["url"] == f"/evidence/{corpus['photo']['id']}"
    assert item["api_url"] == f"/api/v1/evidence/{corpus['photo']['id']}"
    targets = {
        "incident": (t.search("ترهونة"), corpus["tarhouna"]["id"], "/incidents/"),
        "actor": (t.search("حفتر"), corpus["haftar"]["id"], "/actors/"),
        "witness": (t.search("W-0001"), corpus["witness"]["id"], "/witnesses/"),
    }
    for kind, (body, object_id, prefix) in targets.items():
        [item] = body["items"]
        assert item["object_type"] == kind
        assert item["url"] == prefix + object_id
        assert item["api_url"] == "/api/v1" + prefix + object_id


def test_results_are_listed_by_type(corpus: dict[str, Any]) -> None:
    t: Team = corpus["team"]
    t.incident("Kaniyat checkpoint")
    types = [item["object_type"] for item in t.search("Kaniyat")["items"]]
    assert types == sorted(types, key=("incident", "actor", "evidence", "witness").index)
    assert types[0] == "incident" and types[-1] == "actor"


def test_type_filter(corpus: dict[str, Any]) -> None:
    t: Team = corpus["team"]
    assert found(t.search("Kaniyat", type="incident")) == {("incident", "Executions at the prison")}
    assert found(t.search("Kaniyat", type="actor,incident")) == EXPECTED["Kaniyat"]
    assert found(t.search("Kaniyat", type=["actor", "witness"])) == {("actor", "Kaniyat militia")}


def test_protected_identity_is_never_indexed_nor_found(
    app: Flask, corpus: dict[str, Any], api_for: Callable[..., Any], add_member: Callable[..., None]
) -> None:
    t: Team = corpus["team"]
    permitted, permitted_account = api_for("investigator")
    add_member(t.case_id, permitted_account, "investigator", identities=True)
    plain, plain_account = api_for("investigator")
    add_member(t.case_id, plain_account, "investigator", identities=False)
    for api in (t.api, permitted, plain):
        for q in ("Zubaida", "zubaida qarawi", "Qarawi", "زبيدة"):
            response = api.get("/search", query_string={"q": q})
            assert response.status_code == 200
            assert response.get_json()["total"] == 0, q
        witness = api.get("/search", query_string={"q": "W-0001"}).get_json()["items"]
        assert [(w["object_type"], w["title"]) for w in witness] == [("witness", "W-0001")]
    with app.app_context(), session_scope() as s:
        stored = s.execute(select(SearchDocument.title, SearchDocument.terms)).all()
    assert stored
    for title, terms in stored:
        for secret in ("zubaida", "qarawi", "zbd"):
            assert secret not in title.casefold() and secret not in terms.split(), (title, terms)
