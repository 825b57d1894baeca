"""The gaps of a charge are counted once (casefile.legal.services.gap_count) and the API and the charge page show
that count; a matrix limited to some evidence items (what a dossier includes) counts only their links."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient

from casefile.db import session_scope
from casefile.legal import services as legal
from casefile.legal.models import Charge

from support import Account, Api, login, upload


def test_gaps_are_counted_once_and_limited_to_the_given_evidence(
    app: Flask, client: FlaskClient, api_for: Callable[..., tuple[Api, Account]]
) -> None:
    api, account = api_for("legal")
    case = api.post("/cases", json={"reference": "GAP", "title": "Gaps"}).get_json()["id"]
    suspect = api.post(
        f"/cases/{case}/actors", json={"kind": "person", "name": "Khalifa Haftar", "confirm_new": True}
    ).get_json()["id"]
    charge_id = api.post(
        f"/cases/{case}/charges", json={"suspect_id": suspect, "offence_code": "rome-7-1-a", "mode_code": "rome-28-a"}
    ).get_json()["id"]
    supporting = upload(api, case, b"Bodies recovered", "report.txt")["id"]
    contradicting = upload(api, case, b"Alibi", "alibi.txt")["id"]
    for item, stance in ((supporting, "supports"), (contradicting, "contradicts")):
        link = {"target_type": "charge_element", "target_id": charge_id, "element_code": "rome-7-1-a.e1"}
        assert api.post(f"/evidence/{item}/links", json={**link, "stance": stance}).status_code == 201

    with app.app_context(), session_scope() as s:
        charge = s.get(Charge, uuid.UUID(charge_id))
        assert charge is not None
        elements = len(legal.charge_elements(charge))
        rows = legal.matrix(s, charge)
        status = {r.element.code: r.status for r in rows}
        assert status["rome-7-1-a.e1"] == "contested"
        assert legal.gap_count(rows) == elements - 1 == legal.gap_counts(s, [charge])[charge.id]
        # Without the supporting item, e1 is a gap again: its contradicting evidence does not prove it.
        only_contra = legal.matrix(s, charge, evidence_ids={uuid.UUID(contradicting)})
        assert {r.element.code: r.status for r in only_contra}["rome-7-1-a.e1"] == "gap"
        assert legal.gap_count(only_contra) == elements
        assert legal.gap_count(legal.matrix(s, charge, evidence_ids=set())) == elements

    assert api.get(f"/charges/{charge_id}/matrix").get_json()["gaps"] == elements - 1
    login(client, account)
    page = client.get(f"/charges/{charge_id}").get_data(as_text=True)
    assert re.search(rf"\b{elements - 1} element\(s\) without supporting evidence", page)
