"""Issue 22 item 5: without `evidence_ids` a dossier considers every item of the case and takes the default
selection (what is linked to an incident, actor, relation, involvement or charge element, and witness statements).
Every item considered is in `included` or in `excluded` with its reasons in words, for every profile; an item linked
to nothing is never left out silently, nor counted as withheld from the recipient."""

from __future__ import annotations

import json
import uuid
import zipfile
from collections.abc import Callable
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from casefile.cases.models import Case
from casefile.db import session_scope
from casefile.dossier.planner import plan_dossier
from casefile.dossier.profiles import load_profiles
from casefile.dossier.schemas import DOSSIER_CREATE, DOSSIER_PLAN

from support import Account, Api, approve_release, login, run_queued_jobs, upload, validate

PROFILES = sorted(load_profiles())
NOT_SELECTED = "not in the default selection"


class Scene:
    """A case with a public item linked to an incident, a public item linked to nothing, a secret item linked to
    nothing, and a witness statement whose witness consented to every purpose."""

    def __init__(self, api: Api, account: Account, case_id: uuid.UUID) -> None:
        self.api, self.account, self.case_id = api, account, case_id
        incident = api.post(f"/cases/{case_id}/incidents", json={"title": "Prison executions"}).get_json()
        self.linked = self.item(b"linked exhibit\n", "linked.txt", "public")
        link = {"target_type": "incident", "target_id": incident["id"], "stance": "supports"}
        assert api.post(f"/evidence/{self.linked['id']}/links", json=link).status_code == 201
        self.loose = self.item(b"an exhibit linked to nothing\n", "loose.txt", "public")
        self.loose_secret = self.item(b"a secret exhibit linked to nothing\n", "loose-secret.txt", "secret")

        witness = api.post(f"/cases/{case_id}/witnesses", json={"full_name": "Planner Witness-Test"}).get_json()
        for purpose in ("internal_analysis", "share_icc", "share_un", "share_sanctions", "publication"):
            body = {"purpose": purpose, "granted": True, "how_recorded": "signed form"}
            assert api.post(f"/witnesses/{witness['id']}/consents", json=body).status_code == 201
        data = {"title": "Statement", "witness_id": witness["id"], "file": (BytesIO(b"statement\n"), "s.txt")}
        response = api.post(f"/cases/{case_id}/evidence", data=data, content_type="multipart/form-data")
        response.close()
        response.request.input_stream.close()
        assert response.status_code == 201
        self.statement = response.get_json()
        self.classify(self.statement, "public")

    def item(self, content: bytes, name: str, classification: str) -> dict[str, Any]:
        item = upload(self.api, self.case_id, content, name)
        self.classify(item, classification)
        return item

    def classify(self, item: dict[str, Any], classification: str) -> None:
        response = self.api.patch(f"/evidence/{item['id']}", json={"classification": classification})
        assert response.status_code == 200, response.get_data(as_text=True)[:300]

    def erns(self) -> set[str]:
        return {i["ern"] for i in (self.linked, self.loose, self.loose_secret, self.statement)}

    def preview(self, profile: str, **body: Any) -> dict[str, Any]:
        response = self.api.post(f"/cases/{self.case_id}/dossiers/preview", json={"profile": profile, **body})
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
        plan = response.get_json()
        validate(DOSSIER_PLAN, plan)
        return plan


@pytest.fixture
def scene(api_for: Callable[..., tuple[Api, Account]], make_case: Callable[..., uuid.UUID]) -> Scene:
    api, account = api_for("investigator")
    return Scene(api, account, make_case(account, "SEL"))


def reasons_of(plan: dict[str, Any], ern: str) -> str:
    (entry,) = [e for e in plan["excluded"] if e["ern"] == ern]
    assert entry["reasons"] and all(isinstance(r, str) and r.strip() for r in entry["reasons"])
    return "; ".join(entry["reasons"])


@pytest.mark.parametrize("profile", PROFILES)
def test_every_item_considered_is_included_or_excluded_with_reasons(scene: Scene, profile: str) -> None:
    plan = scene.preview(profile)
    included = [i["ern"] for i in plan["included"]]
    excluded = [e["ern"] for e in plan["excluded"]]
    assert not set(included) & set(excluded)
    assert sorted(included + excluded) == sorted(scene.erns()), "an item was left out silently"

    assert scene.linked["ern"] in included and scene.statement["ern"] in included
    assert NOT_SELECTED in reasons_of(plan, scene.loose["ern"])
    secret = reasons_of(plan, scene.loose_secret["ern"])
    assert NOT_SELECTED in secret and "classified secret" in secret


def test_an_item_chosen_explicitly_is_considered_under_the_profile_rules(scene: Scene) -> None:
    ids = [scene.loose["id"], scene.loose_secret["id"]]
    plan = scene.preview("generic", evidence_ids=ids)
    assert [i["ern"] for i in plan["included"]] == [scene.loose["ern"]]
    assert [e["ern"] for e in plan["excluded"]] == [scene.loose_secret["ern"]]
    assert NOT_SELECTED not in reasons_of(plan, scene.loose_secret["ern"])


def test_items_outside_the_default_selection_are_not_counted_as_withheld(app: Flask, scene: Scene) -> None:
    with app.app_context(), session_scope() as s:
        case = s.get(Case, scene.case_id)
        assert case is not None
        plan = plan_dossier(s, case, load_profiles()["generic"], None)
        assert len(plan.excluded) == 2
        assert plan.withheld_count == 0
        chosen = plan_dossier(s, case, load_profiles()["generic"], [scene.loose_secret["id"]])
        assert chosen.withheld_count == 1


def test_a_built_dossier_lists_the_unselected_items_as_excluded(app: Flask, scene: Scene, tmp_path: Path) -> None:
    response = scene.api.post(f"/cases/{scene.case_id}/dossiers", json={"profile": "generic", "title": "Selection"})
    assert response.status_code == 202, response.get_data(as_text=True)[:300]
    assert response.get_json()["status"] == "building"
    run_queued_jobs(app)  # the build job, in this process
    dossier = scene.api.get(f"/dossiers/{response.get_json()['id']}").get_json()
    assert dossier["status"] == "ready", dossier["error"]
    assert {i["ern"] for i in dossier["included"]} == {scene.linked["ern"], scene.statement["ern"]}
    excluded = {e["ern"]: " ".join(e["reasons"]) for e in dossier["excluded"]}
    assert set(excluded) == {scene.loose["ern"], scene.loose_secret["ern"]}
    assert NOT_SELECTED in excluded[scene.loose["ern"]]
    # The recipient is told of nothing withheld: the two were never part of this dossier's selection.
    approve_release(app, dossier["id"])
    download = scene.api.get(f"/dossiers/{dossier['id']}/download")
    assert download.status_code == 200
    path = tmp_path / "dossier.zip"
    path.write_bytes(download.get_data())
    download.close()
    with zipfile.ZipFile(path) as bag:
        (name,) = [n for n in bag.namelist() if n.endswith("data/dossier.json")]
        assert json.loads(bag.read(name))["withheld_count"] == 0


def test_the_default_selection_is_documented(client: FlaskClient, scene: Scene) -> None:
    assert NOT_SELECTED.split()[-2] in DOSSIER_CREATE["description"]  # "default selection"
    assert "linked to nothing" in DOSSIER_CREATE["description"]
    spec = client.get("/api/v1/openapi.json").get_json()
    operation = spec["paths"]["/cases/{id}/dossiers"]["post"]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    assert "default selection" in schema["description"]
    login(client, scene.account)
    page = client.get(f"/cases/{scene.case_id}/dossiers").get_data(as_text=True)
    hint = page.split('id="default-selection"', 1)[1].split("</p>", 1)[0]
    assert "default selection" in hint and "witness statement" in hint
