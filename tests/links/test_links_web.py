"""Linking from the evidence item page (casefile/links/views.py): the form offers every target of the case, a
charge element is linked as "charge_element:<charge>:<element>", each link and unlink is a custody entry, a bad
choice is refused with a message and records nothing, and another case's item is not found."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from casefile.custody.models import CustodyEntry
from casefile.db import session_scope
from casefile.links.models import EvidenceLink, Stance

from support import Account, Api, login, upload


def _world(api: Api) -> dict[str, Any]:
    """A case with an incident, a suspect, a charge against them and one evidence item."""
    case = api.post("/cases", json={"reference": "LNK", "title": "Links"}).get_json()["id"]
    incident = api.post(f"/cases/{case}/incidents", json={"title": "Prison executions"}).get_json()["id"]
    suspect = api.post(
        f"/cases/{case}/actors", json={"kind": "person", "name": "Mohamed al-Kani", "confirm_new": True}
    ).get_json()["id"]
    charge = api.post(
        f"/cases/{case}/charges",
        json={"suspect_id": suspect, "offence_code": "rome-7-1-a", "mode_code": "rome-25-3-b", "incident_ids": []},
    ).get_json()["id"]
    item = upload(api, case, b"Statement of a witness", "statement.txt")["id"]
    return {"case": case, "incident": incident, "suspect": suspect, "charge": charge, "item": item}


def _links(app: Flask, item_id: str) -> list[EvidenceLink]:
    with app.app_context(), session_scope() as s:
        return list(s.scalars(select(EvidenceLink).where(EvidenceLink.evidence_id == uuid.UUID(item_id))))


def _custody(app: Flask, item_id: str, action: str) -> list[dict[str, Any]]:
    with app.app_context(), session_scope() as s:
        entries = s.scalars(
            select(CustodyEntry)
            .where(CustodyEntry.evidence_id == uuid.UUID(item_id), CustodyEntry.action == action)
            .order_by(CustodyEntry.seq)
        )
        return [dict(e.details) for e in entries]


def test_the_item_page_links_to_a_charge_element_and_unlinks(
    app: Flask, client: FlaskClient, api_for: Callable[..., tuple[Api, Account]]
) -> None:
    api, account = api_for("legal")
    w = _world(api)
    login(client, account)
    page = client.get(f"/evidence/{w['item']}").get_data(as_text=True)
    offered = set(re.findall(r'<option[^>]*value="([^"]+)"', page))
    element = f"charge_element:{w['charge']}:rome-7-1-a.e1"
    assert {f"incident:{w['incident']}", f"actor:{w['suspect']}", element} <= offered
    assert f'action="/evidence/{w["item"]}/links"' in page

    saved = client.post(
        f"/evidence/{w['item']}/links", data={"target": element, "stance": "contradicts", "note": "Alibi."}
    )
    assert saved.status_code == 302 and saved.headers["Location"] == f"/evidence/{w['item']}"
    (link,) = _links(app, w["item"])
    assert (str(link.charge_id), link.element_code, link.stance) == (w["charge"], "rome-7-1-a.e1", Stance.CONTRADICTS)
    assert _custody(app, w["item"], "linked")[-1] == {
        "target_type": "charge_element",
        "target_id": w["charge"],
        "element": "rome-7-1-a.e1",
        "stance": "contradicts",
        "note": "Alibi.",
    }
    matrix = api.get(f"/charges/{w['charge']}/matrix").get_json()
    (row,) = [e for e in matrix["elements"] if e["code"] == "rome-7-1-a.e1"]
    assert [r["evidence_id"] for r in row["contradicting"]] == [w["item"]]

    page = client.get(f"/evidence/{w['item']}").get_data(as_text=True)
    assert "rome-7-1-a.e1" in page  # the link's label
    assert f'action="/evidence/{w["item"]}/links/{link.id}/remove"' in page
    removed = client.post(f"/evidence/{w['item']}/links/{link.id}/remove")
    assert removed.status_code == 302 and removed.headers["Location"] == f"/evidence/{w['item']}"
    assert _links(app, w["item"]) == []
    assert _custody(app, w["item"], "unlinked")[-1]["element"] == "rome-7-1-a.e1"


def test_a_bad_choice_is_refused_with_a_message_and_records_nothing(
    app: Flask, client: FlaskClient, api_for: Callable[..., tuple[Api, Account]]
) -> None:
    api, account = api_for("legal")
    w = _world(api)
    other = api.post("/cases", json={"reference": "OTH", "title": "Other"}).get_json()["id"]
    their_incident = api.post(f"/cases/{other}/incidents", json={"title": "Elsewhere"}).get_json()["id"]
    login(client, account)
    for target in (
        f"charge_element:{w['charge']}:rome-8-2-c-iv.e1",  # an element of another offence
        f"incident:{their_incident}",  # another case's incident
        "incident:not-a-uuid",
        "planet:1",
        "",
    ):
        response = client.post(f"/evidence/{w['item']}/links", data={"target": target, "stance": "supports"})
        assert response.status_code == 302, target
        flashed = client.get(f"/evidence/{w['item']}").get_data(as_text=True)
        assert "flash-error" in flashed and "Link saved." not in flashed, target
    assert _links(app, w["item"]) == []
    assert _custody(app, w["item"], "linked") == []


def test_links_of_another_case_are_not_found(
    app: Flask, client: FlaskClient, api_for: Callable[..., tuple[Api, Account]]
) -> None:
    api, _owner = api_for("legal")
    w = _world(api)
    link = api.post(
        f"/evidence/{w['item']}/links", json={"target_type": "incident", "target_id": w["incident"]}
    ).get_json()
    _outsider_api, outsider = api_for("legal")
    login(client, outsider)
    assert client.post(f"/evidence/{w['item']}/links", data={"target": f"incident:{w['incident']}"}).status_code == 404
    assert client.post(f"/evidence/{w['item']}/links/{link['id']}/remove").status_code == 404
    assert len(_links(app, w["item"])) == 1
