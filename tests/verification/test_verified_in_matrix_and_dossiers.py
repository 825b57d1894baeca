"""The element matrix counts, per element, how much of its supporting evidence is verified (page and API); a
dossier profile that takes verified evidence only leaves the rest out, saying so for each item."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient

from casefile.cases.models import Case
from casefile.db import session_scope
from casefile.dossier.planner import plan_dossier
from casefile.dossier.profiles import load_profiles

from support import Account, Api, login, upload

GEO = {"area": "geolocation", "outcome": "confirmed", "method": "Matched against imagery"}


def test_the_matrix_counts_verified_support_and_a_profile_can_require_it(
    app: Flask,
    client: FlaskClient,
    api_for: Callable[..., tuple[Api, Account]],
    make_case: Callable[..., uuid.UUID],
    add_member: Callable[..., None],
) -> None:
    api, owner = api_for("investigator")
    case_id = make_case(owner, "MTX")
    lawyer_api, lawyer = api_for("legal")
    add_member(case_id, lawyer, "legal")
    suspect = api.post(f"/cases/{case_id}/actors", json={"kind": "person", "name": "A. Commander"}).get_json()
    charge = api.post(
        f"/cases/{case_id}/charges", json={"suspect_id": suspect["id"], "offence_code": "rome-7-1-a"}
    ).get_json()
    element = api.get(f"/charges/{charge['id']}/matrix").get_json()["elements"][0]["code"]
    items = [upload(api, case_id, f"exhibit {n}".encode(), f"e{n}.txt") for n in (1, 2)]
    for item in items:
        linked = api.post(
            f"/evidence/{item['id']}/links",
            json={
                "target_type": "charge_element",
                "target_id": charge["id"],
                "element_code": element,
                "stance": "supports",
            },
        )
        assert linked.status_code == 201, linked.get_data(as_text=True)

    def counted() -> int:
        row = next(
            e for e in lawyer_api.get(f"/charges/{charge['id']}/matrix").get_json()["elements"] if e["code"] == element
        )
        return int(row["verified_supporting"])

    assert counted() == 0
    lawyer_api.post(f"/evidence/{items[0]['id']}/verification/checks", json=GEO)
    assert (
        lawyer_api.post(f"/evidence/{items[0]['id']}/verification/status", json={"status": "verified"}).status_code
        == 200
    )
    assert counted() == 1
    login(client, lawyer)
    page = client.get(f"/charges/{charge['id']}").get_data(as_text=True)
    assert 'data-verified="1"' in page and "1 of 2 verified" in page

    with app.app_context(), session_scope() as s:
        case = s.get(Case, case_id)
        strict = dataclasses.replace(load_profiles()["generic"], verified_only=True)
        plan = plan_dossier(s, case, strict, [i["id"] for i in items])
        assert [str(i.id) for i in plan.included] == [items[0]["id"]]
        [(left_out, reasons)] = plan.excluded
        assert str(left_out.id) == items[1]["id"]
        assert reasons == ["not verified (new), and this profile takes verified evidence only"]
        lenient = plan_dossier(s, case, load_profiles()["generic"], [i["id"] for i in items])
        assert len(lenient.included) == 2
