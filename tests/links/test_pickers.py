"""The searchable pickers (issue #19): the item page's "Evidence of" and the element matrix's "link evidence".

Each picker is a <select> that a GET search narrows on the server (the page without JavaScript) and a JSON endpoint
the page's script asks as one types (static/picker.js). Both are for those who may link: members who may write
(non-members 404, reviewers 403). Targets are offered in words and in full (an element's whole text, never cut), found
by the search's own matching ("alkani" finds al-Kani), and user text is escaped wherever it is shown. The matrix's
"link evidence" links through the same service as the item page, so the link has its custody entry.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from casefile.api.schemas import page_of
from casefile.custody.models import CustodyEntry
from casefile.db import session_scope
from casefile.legal.catalogue import load_catalogue
from casefile.links.models import EvidenceLink, Stance
from casefile.links.schemas import LINK_TARGET_CHOICE

from support import Account, Api, csrf_token, login, upload, validate

SCRIPT = '<script>alert("x")</script>'
ELEMENT = "rome-25-3-b.e1"  # ordering (art. 25(3)(b)): "The accused was in a position of authority over…"


def _world(api: Api) -> dict[str, Any]:
    case = api.post("/cases", json={"reference": "PCK", "title": "Pickers"}).get_json()["id"]
    incident = api.post(f"/cases/{case}/incidents", json={"title": f"Prison executions {SCRIPT}"}).get_json()["id"]
    suspect = api.post(
        f"/cases/{case}/actors", json={"kind": "person", "name": "Mohamed al-Kani", "confirm_new": True}
    ).get_json()["id"]
    other = api.post(
        f"/cases/{case}/actors", json={"kind": "armed_group", "name": "Kaniyat militia", "confirm_new": True}
    ).get_json()["id"]
    relation = {"source_actor_id": suspect, "target_actor_id": other, "relation": "commands"}
    api.post(f"/cases/{case}/actor-relations", json=relation)
    charge = api.post(
        f"/cases/{case}/charges",
        json={"suspect_id": suspect, "offence_code": "rome-7-1-a", "mode_code": "rome-25-3-b", "incident_ids": []},
    ).get_json()["id"]
    item = upload(api, case, b"Statement of a witness", "statement.txt")["id"]
    api.patch(f"/evidence/{item}", json={"title": f"Statement {SCRIPT}", "description": "Seen at the Kaniyat camp."})
    return {"case": case, "incident": incident, "suspect": suspect, "charge": charge, "item": item}


def _offered(page: str) -> list[str]:
    form = re.search(r'<select id="target" name="target">(.*?)</select>', page, re.S)
    assert form is not None, "no target select on the page"
    return re.findall(r'<option[^>]*value="([^"]+)"', form.group(1))


def test_the_item_page_narrows_its_targets_without_javascript(
    client: FlaskClient, api_for: Callable[..., tuple[Api, Account]]
) -> None:
    api, account = api_for("legal")
    w = _world(api)
    login(client, account)
    page = client.get(f"/evidence/{w['item']}").get_data(as_text=True)
    everything = _offered(page)
    assert f"incident:{w['incident']}" in everything and f"actor:{w['suspect']}" in everything
    # The picker's script, same-origin, and the search form that works without it.
    assert re.search(r'<script src="/static/picker\.js"', page)
    assert 'id="link-search"' in page and "data-picker" in page
    # Targets in words and whole: the relation's word, the element's full text, no raw code as a label.
    element_text = load_catalogue().element(ELEMENT).text
    assert element_text in page.replace("&#39;", "'")
    assert "Mohamed al-Kani commands Kaniyat militia" in page
    assert "Charge: Mohamed al-Kani, Murder" in page
    # Stored markup is text on the page.
    assert SCRIPT not in page and "&lt;script&gt;" in page

    found = _offered(client.get(f"/evidence/{w['item']}", query_string={"q": "alkani"}).get_data(as_text=True))
    assert f"actor:{w['suspect']}" in found and f"incident:{w['incident']}" not in found
    ordering = _offered(
        client.get(f"/evidence/{w['item']}", query_string={"q": "position authority"}).get_data(as_text=True)
    )
    assert ordering == [f"charge_element:{w['charge']}:{ELEMENT}"]
    nothing = client.get(f"/evidence/{w['item']}", query_string={"q": "zzzqqq"}).get_data(as_text=True)
    assert "Nothing found for these words." in nothing and 'name="target"' not in nothing
    too_long = client.get(f"/evidence/{w['item']}", query_string={"q": "x" * 300})
    assert too_long.status_code == 200 and "The search is too long" in too_long.get_data(as_text=True)


def test_the_link_target_suggestions_are_json_for_writers_only(
    app: Flask, client: FlaskClient, api_for: Callable[..., tuple[Api, Account]], add_member: Callable[..., None]
) -> None:
    api, account = api_for("legal")
    w = _world(api)
    login(client, account)
    url = f"/evidence/{w['item']}/link-targets"
    body = client.get(url, query_string={"q": "al-Kānī"}).get_json()
    values = {i["value"] for i in body["items"]}
    assert f"actor:{w['suspect']}" in values
    (element,) = client.get(url, query_string={"q": "position authority"}).get_json()["items"]
    assert element["target_type"] == "charge_element" and element["element_code"] == ELEMENT
    assert element["text"].endswith(load_catalogue().element(ELEMENT).text)  # whole, never cut
    (incident,) = client.get(url, query_string={"q": "executions"}).get_json()["items"]
    assert incident["text"] == f"Prison executions {SCRIPT}"  # JSON is data: the script escapes it (textContent)
    assert client.get(url, query_string={"q": "x" * 300}).status_code == 422

    _reviewer_api, reviewer = api_for("reviewer")
    add_member(w["case"], reviewer, "reviewer")
    as_reviewer = app.test_client()
    login(as_reviewer, reviewer)
    assert as_reviewer.get(url).status_code == 403
    page = as_reviewer.get(f"/evidence/{w['item']}").get_data(as_text=True)
    assert "data-picker" not in page
    _outsider_api, outsider = api_for("legal")
    as_outsider = app.test_client()
    login(as_outsider, outsider)
    assert as_outsider.get(url).status_code == 404
    assert as_outsider.get(f"/cases/{w['case']}/evidence-choices").status_code == 404


def test_the_api_lists_link_targets_by_words(api_for: Callable[..., tuple[Api, Account]]) -> None:
    api, _account = api_for("legal")
    w = _world(api)
    response = api.get(f"/evidence/{w['item']}/link-targets", query_string={"q": "الكاني"})
    assert response.status_code == 200
    body = response.get_json()
    validate(page_of(LINK_TARGET_CHOICE), body)
    assert f"actor:{w['suspect']}" in {i["value"] for i in body["items"]}
    everything = api.get(f"/evidence/{w['item']}/link-targets", query_string={"per_page": 2}).get_json()
    assert len(everything["items"]) == 2 and everything["total"] > 2
    assert api.get(f"/evidence/{w['item']}/link-targets", query_string={"q": "x" * 300}).status_code == 422
    assert api.get(f"/evidence/{uuid.uuid4()}/link-targets").status_code == 404
    # What it offers is what POST /links takes.
    chosen = api.get(f"/evidence/{w['item']}/link-targets", query_string={"q": "position authority"}).get_json()
    target = chosen["items"][0]
    linked = api.post(
        f"/evidence/{w['item']}/links",
        json={k: target[k] for k in ("target_type", "target_id", "element_code")},
    )
    assert linked.status_code == 201, linked.get_data(as_text=True)
    assert linked.get_json()["target_label"].startswith(
        "Mohamed al-Kani, Murder as a crime against humanity — The accused was in a position of authority"
    )


def test_the_matrix_links_an_item_to_an_element(
    app: Flask, client: FlaskClient, api_for: Callable[..., tuple[Api, Account]], add_member: Callable[..., None]
) -> None:
    api, account = api_for("legal")
    w = _world(api)
    login(client, account)
    page = client.get(f"/charges/{w['charge']}").get_data(as_text=True)
    assert f'id="link-{ELEMENT}"' in page and "Link evidence" in page
    assert f'action="/charges/{w["charge"]}/links"' in page
    assert SCRIPT not in page

    # Without JavaScript: the row's search narrows its items (the row is opened).
    searched = client.get(f"/charges/{w['charge']}", query_string={"element": ELEMENT, "q": "kaniyat camp"})
    html = searched.get_data(as_text=True)
    row = re.search(rf'<details class="link-evidence" id="link-{re.escape(ELEMENT)}" open>(.*?)</details>', html, re.S)
    assert row is not None and f'<option value="{w["item"]}">' in row.group(1)
    nothing = client.get(f"/charges/{w['charge']}", query_string={"element": ELEMENT, "q": "zzzqqq"})
    assert "Nothing found for these words." in nothing.get_data(as_text=True)

    # The picker's JSON: found by words of the description, with why.
    body = client.get(f"/cases/{w['case']}/evidence-choices", query_string={"q": "kaniyat"}).get_json()
    (choice,) = body["items"]
    assert choice["value"] == w["item"] and choice["title"] == f"Statement {SCRIPT}"
    assert choice["snippet"]["field"] == "description"
    start, end = choice["snippet"]["highlights"][0]
    assert choice["snippet"]["text"][start:end] == "Kaniyat"
    newest = client.get(f"/cases/{w['case']}/evidence-choices").get_json()
    assert [c["value"] for c in newest["items"]] == [w["item"]]
    assert client.get(f"/cases/{w['case']}/evidence-choices", query_string={"q": "x" * 300}).status_code == 422

    token = csrf_token(page)
    saved = client.post(
        f"/charges/{w['charge']}/links",
        data={"csrf_token": token, "element": ELEMENT, "evidence": w["item"], "stance": "supports", "note": "Order"},
    )
    assert saved.status_code == 302 and saved.headers["Location"] == f"/charges/{w['charge']}#element-{ELEMENT}"
    with app.app_context(), session_scope() as s:
        (link,) = s.scalars(select(EvidenceLink).where(EvidenceLink.evidence_id == uuid.UUID(w["item"])))
        assert (str(link.charge_id), link.element_code, link.stance) == (w["charge"], ELEMENT, Stance.SUPPORTS)
        entry = s.scalars(
            select(CustodyEntry).where(CustodyEntry.evidence_id == link.evidence_id, CustodyEntry.action == "linked")
        ).one()
        assert entry.details["element"] == ELEMENT and entry.details["note"] == "Order"
    shown = client.get(f"/charges/{w['charge']}").get_data(as_text=True)
    row_html = re.search(rf'<tr class="status-[a-z]+" id="element-{re.escape(ELEMENT)}">(.*?)</tr>', shown, re.S)
    assert row_html is not None and f'href="/evidence/{w["item"]}"' in row_html.group(1)

    # Refused with a message, nothing linked: another element's code, a bad item, another case's item, no CSRF.
    other_case = api.post("/cases", json={"reference": "PCO", "title": "Other"}).get_json()["id"]
    their_item = upload(api, other_case, b"elsewhere", "elsewhere.txt")["id"]
    for data in (
        {"element": "rome-8-2-c-iv.e1", "evidence": w["item"]},
        {"element": ELEMENT, "evidence": "not-a-uuid"},
        {"element": ELEMENT, "evidence": their_item},
    ):
        refused = client.post(f"/charges/{w['charge']}/links", data={"csrf_token": token, "stance": "supports", **data})
        assert refused.status_code == 302, data
        assert "flash-error" in client.get(refused.headers["Location"]).get_data(as_text=True), data
    bad_stance = {"csrf_token": token, "element": ELEMENT, "evidence": w["item"], "stance": "maybe"}
    assert client.post(f"/charges/{w['charge']}/links", data=bad_stance).status_code == 400
    with app.app_context(), session_scope() as s:
        assert len(s.scalars(select(EvidenceLink).where(EvidenceLink.charge_id == uuid.UUID(w["charge"]))).all()) == 1

    _reviewer_api, reviewer = api_for("reviewer")
    add_member(w["case"], reviewer, "reviewer")
    as_reviewer = app.test_client()
    login(as_reviewer, reviewer)
    reviewer_page = as_reviewer.get(f"/charges/{w['charge']}").get_data(as_text=True)
    assert "Link evidence</summary>" not in reviewer_page
    assert as_reviewer.get(f"/cases/{w['case']}/evidence-choices").status_code == 403
    refused = as_reviewer.post(f"/charges/{w['charge']}/links", data={"element": ELEMENT, "evidence": w["item"]})
    assert refused.status_code == 403


def test_links_are_named_in_words_not_codes(client: FlaskClient, api_for: Callable[..., tuple[Api, Account]]) -> None:
    api, account = api_for("legal")
    w = _world(api)
    api.post(
        f"/evidence/{w['item']}/links",
        json={"target_type": "charge_element", "target_id": w["charge"], "element_code": ELEMENT},
    )
    login(client, account)
    page = client.get(f"/evidence/{w['item']}").get_data(as_text=True)
    links = re.search(r"<h2>Links</h2>(.*?)</table>", page, re.S)
    assert links is not None
    assert "charge_element" not in links.group(1) and ELEMENT not in links.group(1)
    assert "element of a charge" in links.group(1)
    assert load_catalogue().element(ELEMENT).text in links.group(1).replace("&#39;", "'")


def test_the_custody_trail_shows_changes_and_links_in_words(
    client: FlaskClient, api_for: Callable[..., tuple[Api, Account]]
) -> None:
    """Not `changes: {'classification': …}` nor `charge_element rome-…`: fields and elements named, before → after."""
    api, account = api_for("legal")
    w = _world(api)
    api.patch(f"/evidence/{w['item']}", json={"classification": "under_seal", "title": "Statement <b>two</b>"})
    api.post(
        f"/evidence/{w['item']}/links",
        json={"target_type": "charge_element", "target_id": w["charge"], "element_code": ELEMENT, "stance": "context"},
    )
    login(client, account)
    for path in (f"/evidence/{w['item']}", f"/evidence/{w['item']}/custody"):
        page = client.get(path).get_data(as_text=True)
        trail = re.search(r'<table class="list" id="custody-trail">(.*?)</table>', page, re.S)
        assert trail is not None, path
        html = trail.group(1)
        assert "{'" not in html and "&#39;from&#39;" not in html and "{&#39;" not in html, path
        assert "charge_element" not in html and ELEMENT not in html, path
        changes = re.findall(r'<dl class="changes">(.*?)</dl>', html, re.S)
        assert changes, path
        text = re.sub(r"<[^>]+>", "", " ".join(changes))
        assert "Classification" in text and "Under seal" in text, text
        assert "Title" in text and "Statement &lt;b&gt;two&lt;/b&gt;" in text, text
        assert "element of a charge" in html and "in a position of authority" in html and "Context" in html, path
