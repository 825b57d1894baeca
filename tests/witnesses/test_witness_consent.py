"""Consent is a register, not a flag (DESIGN §2 Witness): one record per decision and purpose, with its date and
how it was recorded; a withdrawal is a new record and history is never edited; the latest decision is the state."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from casefile.cases.models import Case
from casefile.db import session_scope
from casefile.witnesses.models import ConsentPurpose, ConsentRecord, Witness
from casefile.witnesses.services import current_consents

from support import Api
from witness_support import World, web_client

PURPOSES = ["internal_analysis", "share_icc", "share_un", "share_sanctions", "publication"]
# Two days ahead: still the future when the suite crosses midnight between collecting and running this test.
FUTURE = (date.today() + timedelta(days=2)).isoformat()


def consent_records(world: World) -> list[dict[str, Any]]:
    """The witness's consent register, oldest first, as stored."""
    with world.app.app_context(), session_scope() as s:
        rows = s.scalars(
            select(ConsentRecord)
            .where(ConsentRecord.witness_id == uuid.UUID(world.wid))
            .order_by(ConsentRecord.created_at)
        )
        return [
            {
                "id": r.id,
                "purpose": r.purpose.value,
                "granted": r.granted,
                "recorded_on": r.recorded_on.isoformat(),
                "how_recorded": r.how_recorded,
                "note": r.note,
                "recorded_by_id": r.recorded_by_id,
                "created_at": r.created_at,
            }
            for r in rows
        ]


def witness_json(world: World, api: Api | None = None) -> dict[str, Any]:
    response = (api or world.owner_api).get(f"/witnesses/{world.wid}")
    assert response.status_code == 200
    return response.get_json()


def consent(api: Api, wid: str, **body: Any) -> Any:
    return api.post(f"/witnesses/{wid}/consents", json=body)


# --- recording --------------------------------------------------------------------------------------------------------


def test_consent_per_purpose_through_the_api(world: World) -> None:
    before = witness_json(world)
    assert before["consent"] == dict.fromkeys(PURPOSES)
    assert before["consent_history"] == []
    decisions = {"internal_analysis": True, "share_icc": True, "share_un": False, "publication": False}
    for purpose, granted in decisions.items():
        response = consent(
            world.owner_api,
            world.wid,
            purpose=purpose,
            granted=granted,
            recorded_on="2020-07-14",
            how_recorded="signed form",
        )
        assert response.status_code == 201, response.get_data(as_text=True)[:300]
        body = response.get_json()
        assert body["purpose"] == purpose
        assert body["granted"] is granted
        assert body["recorded_on"] == "2020-07-14"
        assert body["how_recorded"] == "signed form"
    after = witness_json(world)
    assert after["consent"] == {**dict.fromkeys(PURPOSES), **decisions}
    assert [(c["purpose"], c["granted"]) for c in after["consent_history"]] == list(decisions.items())
    assert all(r["recorded_by_id"] == world.owner.id for r in consent_records(world))
    listed = world.owner_api.get(f"/cases/{world.case_id}/witnesses").get_json()["items"][0]
    assert listed["consent"] == after["consent"]


def test_consent_through_the_form(world: World) -> None:
    response = world.owner_web.post(
        f"/witnesses/{world.wid}/consent",
        data={
            "purpose": "share_icc",
            "granted": "true",
            "recorded_on": "2020-07-14",
            "how_recorded": "verbal consent in the recorded interview",
            "note": "interpreter present",
        },
    )
    assert response.status_code == 302, response.status_code
    assert response.headers["Location"].endswith(f"/witnesses/{world.wid}")
    refused = world.owner_web.post(
        f"/witnesses/{world.wid}/consent",
        data={"purpose": "publication", "granted": "false", "how_recorded": "signed form"},
    )
    assert refused.status_code == 302
    (icc, publication) = consent_records(world)
    assert (icc["purpose"], icc["granted"], icc["recorded_on"]) == ("share_icc", True, "2020-07-14")
    assert icc["how_recorded"] == "verbal consent in the recorded interview"
    assert icc["note"] == "interpreter present"
    # No date given: the day it was entered.
    assert (publication["purpose"], publication["granted"], publication["recorded_on"]) == (
        "publication",
        False,
        date.today().isoformat(),
    )
    page = world.owner_web.get(f"/witnesses/{world.wid}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "verbal consent in the recorded interview" in text
    assert "Consent history (2 records)" in text
    assert witness_json(world)["consent"]["share_icc"] is True
    assert witness_json(world)["consent"]["publication"] is False


def test_withdrawal_is_a_new_record_and_history_is_never_edited(world: World) -> None:
    granted = consent(
        world.owner_api,
        world.wid,
        purpose="share_icc",
        granted=True,
        recorded_on="2020-07-14",
        how_recorded="signed form",
    )
    assert granted.status_code == 201
    (first,) = consent_records(world)
    withdrawn = world.owner_web.post(
        f"/witnesses/{world.wid}/consent",
        data={
            "purpose": "share_icc",
            "granted": "false",
            "recorded_on": "2020-07-15",
            "how_recorded": "phone call, noted by the investigator",
            "note": "fears reprisals",
        },
    )
    assert withdrawn.status_code == 302
    records = consent_records(world)
    assert len(records) == 2
    assert records[0] == first, "the first record was edited"
    assert (records[1]["granted"], records[1]["recorded_on"]) == (False, "2020-07-15")
    assert records[1]["id"] != first["id"]

    body = witness_json(world)
    assert body["consent"]["share_icc"] is False
    assert [(c["granted"], c["recorded_on"]) for c in body["consent_history"]] == [
        (True, "2020-07-14"),
        (False, "2020-07-15"),
    ]
    assert body["consent_history"][0]["id"] == str(first["id"])
    assert body["consent_history"][1]["note"] == "fears reprisals"

    with world.app.app_context(), session_scope() as s:
        witness = s.get(Witness, uuid.UUID(world.wid))
        assert witness is not None
        state = current_consents(witness)
        assert state[ConsentPurpose.ICC] is not None and state[ConsentPurpose.ICC].granted is False
        assert state[ConsentPurpose.UN] is None

    # Granting again is a third record: the register only ever grows.
    again = consent(
        world.owner_api, world.wid, purpose="share_icc", granted=True, recorded_on="2020-08-01", how_recorded="new form"
    )
    assert again.status_code == 201
    assert len(consent_records(world)) == 3
    assert consent_records(world)[:2] == records
    assert witness_json(world)["consent"]["share_icc"] is True


def test_a_back_filled_older_decision_does_not_override_a_later_withdrawal(world: World) -> None:
    """The withdrawal of 15 July is entered first; the signed grant of 14 July is found in the field files and
    entered afterwards. The witness's latest decision is the withdrawal: sharing with the ICC must stay refused."""
    withdrawal = {"granted": False, "recorded_on": "2020-07-15", "how_recorded": "phone call"}
    grant = {"granted": True, "recorded_on": "2020-07-14", "how_recorded": "signed form"}
    assert consent(world.owner_api, world.wid, purpose="share_icc", **withdrawal).status_code == 201
    assert consent(world.owner_api, world.wid, purpose="share_icc", **grant).status_code == 201
    assert len(consent_records(world)) == 2
    assert witness_json(world)["consent"]["share_icc"] is False


# --- refusals ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"purpose": "share_icc", "granted": True, "recorded_on": FUTURE, "how_recorded": "form"}, "recorded_on"),
        ({"purpose": "share_icc", "granted": True, "recorded_on": "2020-02-30", "how_recorded": "form"}, "recorded_on"),
        ({"purpose": "share_icc", "granted": True, "how_recorded": ""}, "how_recorded"),
        ({"purpose": "share_icc", "granted": True, "how_recorded": "   "}, "how_recorded"),
        ({"purpose": "share_icc", "granted": True}, "how_recorded"),
        ({"purpose": "share_icc", "granted": True, "how_recorded": "x" * 301}, "how_recorded"),
        ({"purpose": "share_everyone", "granted": True, "how_recorded": "form"}, "purpose"),
        ({"granted": True, "how_recorded": "form"}, "purpose"),
        ({"purpose": "share_icc", "how_recorded": "form"}, "granted"),
        ({"purpose": "share_icc", "granted": "perhaps", "how_recorded": "form"}, "granted"),
        ({"purpose": "share_icc", "granted": True, "how_recorded": "form", "witness_id": "x"}, "witness_id"),
    ],
)
def test_api_refuses_bad_consent(world: World, body: dict[str, Any], field: str) -> None:
    response = consent(world.owner_api, world.wid, **body)
    assert response.status_code == 422, (body, response.status_code)
    error = response.get_json()["error"]
    assert error["code"] == "validation_failed"
    assert field in error.get("fields", {}), error
    assert consent_records(world) == []


@pytest.mark.parametrize(
    "data",
    [
        {"purpose": "share_icc", "granted": "true", "recorded_on": FUTURE, "how_recorded": "form"},
        {"purpose": "share_icc", "granted": "true", "how_recorded": ""},
        {"purpose": "share_icc", "granted": "true"},
        {"purpose": "share_icc", "granted": "true", "recorded_on": "yesterday", "how_recorded": "form"},
        {"purpose": "nope", "granted": "true", "how_recorded": "form"},
    ],
)
def test_form_refuses_bad_consent(world: World, data: dict[str, str]) -> None:
    response = world.owner_web.post(f"/witnesses/{world.wid}/consent", data=data)
    assert response.status_code == 422, (data, response.status_code)
    text = response.get_data(as_text=True)
    assert "W-0001" in text  # the witness page again, with the message
    assert consent_records(world) == []


def test_today_is_accepted(world: World) -> None:
    today = date.today().isoformat()
    response = consent(
        world.owner_api, world.wid, purpose="share_un", granted=True, recorded_on=today, how_recorded="form"
    )
    assert response.status_code == 201
    assert response.get_json()["recorded_on"] == today


def test_reviewer_cannot_record_consent(world: World) -> None:
    reviewer = world.member("reviewer", identities=True)
    api = world.api(reviewer)
    body = {"purpose": "share_icc", "granted": False, "how_recorded": "form"}
    response = consent(api, world.wid, **body)
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "forbidden"
    page = web_client(world.app, reviewer).post(f"/witnesses/{world.wid}/consent", data={**body, "granted": "false"})
    assert page.status_code == 403
    assert consent_records(world) == []
    # Reading the register is allowed.
    assert witness_json(world, api)["consent"]["share_icc"] is None


def test_non_member_cannot_record_or_read_consent(world: World) -> None:
    outsider = world.make_user("investigator")
    api, _ = world.api_for(account=outsider)
    assert consent(api, world.wid, purpose="share_icc", granted=True, how_recorded="form").status_code == 404
    assert api.get(f"/witnesses/{world.wid}").status_code == 404
    page = web_client(world.app, outsider).post(
        f"/witnesses/{world.wid}/consent", data={"purpose": "share_icc", "granted": "true", "how_recorded": "form"}
    )
    assert page.status_code == 404
    assert consent_records(world) == []


# --- the demonstration case -----------------------------------------------------------------------------------------


def test_demo_witnesses_have_the_documented_consent(app: Flask, make_user, add_member, api_for) -> None:
    result = app.test_cli_runner().invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    assert "Loaded" in result.output
    with app.app_context(), session_scope() as s:
        case = s.scalar(select(Case).where(Case.reference == "TRH"))
        assert case is not None
        witnesses = list(s.scalars(select(Witness).where(Witness.case_id == case.id).order_by(Witness.number)))
        assert [w.code for w in witnesses] == ["W-0001", "W-0002"]
        states = {w.code: current_consents(w) for w in witnesses}
        case_id = case.id
    assert states["W-0001"][ConsentPurpose.ICC] is not None
    assert states["W-0001"][ConsentPurpose.ICC].granted is True
    assert states["W-0002"][ConsentPurpose.ICC] is not None
    assert states["W-0002"][ConsentPurpose.ICC].granted is False

    member = make_user("legal")
    add_member(case_id, member, "legal", identities=False)
    api, _ = api_for(account=member)
    listed = {w["code"]: w for w in api.get(f"/cases/{case_id}/witnesses").get_json()["items"]}
    assert listed["W-0001"]["consent"]["share_icc"] is True
    assert listed["W-0002"]["consent"]["share_icc"] is False
    assert all("identity" not in w for w in listed.values())
    # Each demo witness gave one statement, listed on their record.
    for code in ("W-0001", "W-0002"):
        statements = api.get(f"/witnesses/{listed[code]['id']}").get_json()["statements"]
        assert len(statements) == 1
        assert statements[0]["ern"].startswith("TRH-")

    again = app.test_cli_runner().invoke(args=["demo", "load"])
    assert again.exit_code == 0, again.output
    with app.app_context(), session_scope() as s:
        assert s.scalar(select(func.count()).select_from(Witness)) == 2
