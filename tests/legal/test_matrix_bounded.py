"""The element matrix on the charge's page and in the API stays bounded however much evidence a charge gathers: each
element lists its first (oldest) links of each stance, and counts them all from one aggregate query (verified items
included); a removed link is in neither. Dossiers and exports still list everything (matrix without `first`)."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from casefile.db import session_scope
from casefile.legal import services as legal
from casefile.legal.models import Charge
from casefile.links.models import Stance

from support import Account, Api, login, upload

ELEMENT = "rome-7-1-a.e1"


def test_the_matrix_lists_the_first_links_and_counts_them_all(
    app: Flask, client: FlaskClient, api_for: Callable[..., tuple[Api, Account]], monkeypatch: pytest.MonkeyPatch
) -> None:
    api, account = api_for("legal")
    case = api.post("/cases", json={"reference": "BND", "title": "Bounded"}).get_json()["id"]
    suspect = api.post(f"/cases/{case}/actors", json={"kind": "person", "name": "Abdelrahim al-Kani"}).get_json()["id"]
    charge_id = api.post(
        f"/cases/{case}/charges", json={"suspect_id": suspect, "offence_code": "rome-7-1-a"}
    ).get_json()["id"]
    items = [upload(api, case, f"report {n}".encode(), f"report-{n}.txt") for n in range(7)]
    links = []
    for n, item in enumerate(items):
        stance = "contradicts" if n == 6 else "supports"
        body = {"target_type": "charge_element", "target_id": charge_id, "element_code": ELEMENT, "stance": stance}
        made = api.post(f"/evidence/{item['id']}/links", json=body)
        assert made.status_code == 201
        links.append(made.get_json())
    assert api.delete(f"/evidence/{items[5]['id']}/links/{links[5]['id']}").status_code in (200, 204)
    with app.app_context(), session_scope() as s:
        from casefile.evidence.models import EvidenceItem

        for item in items[:2]:  # two supporting items verified (by whatever route: the count reads the column)
            found = s.get(EvidenceItem, uuid.UUID(item["id"]))
            assert found is not None
            found.verification_status = "verified"

    with app.app_context(), session_scope() as s:
        charge = s.get(Charge, uuid.UUID(charge_id))
        assert charge is not None
        [row] = [r for r in legal.matrix(s, charge, first=3) if r.element.code == ELEMENT]
        assert row.counts == {Stance.SUPPORTS: 5, Stance.CONTRADICTS: 1}  # the removed link is not counted
        assert [link.evidence.ern for link in row.supporting] == [i["ern"] for i in items[:3]]  # oldest first
        assert row.verified == 2 and row.status == "contested"
        [whole] = [r for r in legal.matrix(s, charge) if r.element.code == ELEMENT]
        assert len(whole.supporting) == 5 and whole.counts == row.counts and whole.verified == 2

    monkeypatch.setattr("casefile.legal.api.LISTED_PER_ELEMENT", 3)
    [element] = [e for e in api.get(f"/charges/{charge_id}/matrix").get_json()["elements"] if e["code"] == ELEMENT]
    assert element["counts"] == {"supporting": 5, "contradicting": 1, "context": 0}
    assert len(element["supporting"]) == 3 and element["verified_supporting"] == 2

    monkeypatch.setattr("casefile.actors.views.SHOWN_PER_ELEMENT", 3)
    login(client, account)
    page = client.get(f"/charges/{charge_id}").get_data(as_text=True)
    row_html = page.split(f'id="element-{ELEMENT}"')[1].split("</tr>")[0]
    supporting_cell = row_html.split("<td>")[2]  # after the element's own cell (with its link form)
    assert "and 2 more" in supporting_cell and "2 of 5 verified" in row_html
    assert items[3]["ern"] not in supporting_cell and items[0]["ern"] in supporting_cell
