"""The consent register is evidence of what a dossier may contain: every decision recorded is a custody entry (with
the pseudonym code, never the protected identity), and the database refuses to change or remove a record on both
engines (revision 0010, the same triggers as the ledger's in revision 0002)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import DBAPIError

from casefile import migrate
from casefile.custody.models import CustodyEntry
from casefile.db import session_scope
from casefile.witnesses.models import ConsentRecord

from support import Account, Api, login

NAME = "Consent Custody Witness-Name"
CONTACT = "+218 91 555 0199"


class World:
    def __init__(self, app: Flask, owner: Account, api: Api) -> None:
        self.app, self.owner, self.api = app, owner, api


@pytest.fixture
def world(app: Flask, make_user, make_case, api_for) -> tuple[World, str, uuid.UUID]:
    owner = make_user("investigator")
    case_id = make_case(owner, "CCU")
    api, _ = api_for(account=owner)
    created = api.post(f"/cases/{case_id}/witnesses", json={"full_name": NAME, "contact": CONTACT})
    assert created.status_code == 201
    return World(app, owner, api), created.get_json()["id"], case_id


def consent_entries(app: Flask) -> list[dict[str, Any]]:
    with app.app_context(), session_scope() as s:
        rows = s.scalars(
            select(CustodyEntry).where(CustodyEntry.action == "consent_recorded").order_by(CustodyEntry.seq)
        )
        return [{"actor": e.actor, "case_id": e.case_id, "evidence_id": e.evidence_id, **e.details} for e in rows]


def consent_ids(app: Flask) -> list[uuid.UUID]:
    with app.app_context(), session_scope() as s:
        return list(s.scalars(select(ConsentRecord.id).order_by(ConsentRecord.created_at)))


def test_recording_consent_through_the_api_writes_one_custody_entry(world: tuple[World, str, uuid.UUID]) -> None:
    w, wid, case_id = world
    assert consent_entries(w.app) == []
    response = w.api.post(
        f"/witnesses/{wid}/consents",
        json={"purpose": "share_icc", "granted": True, "recorded_on": "2020-07-14", "how_recorded": "signed form"},
    )
    assert response.status_code == 201
    (entry,) = consent_entries(w.app)
    assert entry == {
        "actor": f"user:{w.owner.id}",
        "case_id": case_id,
        "evidence_id": None,
        "witness": "W-0001",
        "consent_id": response.get_json()["id"],
        "purpose": "share_icc",
        "granted": True,
        "recorded_on": "2020-07-14",
        "how_recorded": "signed form",
    }
    assert NAME not in json.dumps(entry, default=str) and CONTACT not in json.dumps(entry, default=str)


def test_recording_consent_through_the_form_writes_one_entry_and_a_refusal_writes_none(
    world: tuple[World, str, uuid.UUID],
) -> None:
    w, wid, _ = world
    web = w.app.test_client()
    login(web, w.owner)
    form = {"purpose": "publication", "granted": "false", "recorded_on": "2020-07-15", "how_recorded": "phone call"}
    assert web.post(f"/witnesses/{wid}/consent", data=form).status_code == 302
    assert [(e["purpose"], e["granted"], e["witness"]) for e in consent_entries(w.app)] == [
        ("publication", False, "W-0001")
    ]
    # A refused (invalid) record leaves neither a record nor an entry.
    assert web.post(f"/witnesses/{wid}/consent", data={**form, "how_recorded": ""}).status_code == 422
    assert len(consent_entries(w.app)) == 1 and len(consent_ids(w.app)) == 1


REFUSED = (
    "UPDATE witness_consents SET granted = NOT granted",
    "UPDATE witness_consents SET how_recorded = 'forged' WHERE purpose = 'share_icc'",
    "DELETE FROM witness_consents WHERE purpose = 'share_icc'",
    "DELETE FROM witness_consents",
)


def test_the_database_refuses_update_and_delete_of_consent_records(
    world: tuple[World, str, uuid.UUID], raw_engine: Engine
) -> None:
    w, wid, _ = world
    for purpose, granted in (("share_icc", True), ("share_un", False)):
        body = {"purpose": purpose, "granted": granted, "how_recorded": "signed form"}
        assert w.api.post(f"/witnesses/{wid}/consents", json=body).status_code == 201
    before = w.api.get(f"/witnesses/{wid}").get_json()["consent_history"]

    statements = list(REFUSED)
    if raw_engine.dialect.name == "postgresql":
        statements.append("TRUNCATE witness_consents")
    for statement in statements:
        with pytest.raises(DBAPIError) as caught, raw_engine.begin() as conn:
            conn.execute(text(statement))
        assert "append-only" in str(caught.value), statement

    assert w.api.get(f"/witnesses/{wid}").get_json()["consent_history"] == before
    # Appending stays possible: the register grows.
    body = {"purpose": "share_icc", "granted": False, "how_recorded": "withdrawn by phone"}
    assert w.api.post(f"/witnesses/{wid}/consents", json=body).status_code == 201
    assert len(consent_ids(w.app)) == 3


def test_revision_0010_adds_and_removes_the_triggers(
    world: tuple[World, str, uuid.UUID], raw_engine: Engine, database_url: str
) -> None:
    w, wid, _ = world
    body = {"purpose": "share_icc", "granted": True, "how_recorded": "signed form"}
    assert w.api.post(f"/witnesses/{wid}/consents", json=body).status_code == 201
    w.app.extensions["casefile_db"].dispose()  # no pooled connection in the way of the DDL

    migrate.downgrade(database_url, "0009")
    try:
        # Without the revision the row can be edited (which is what 0010 exists to stop).
        with raw_engine.begin() as conn:
            conn.execute(text("UPDATE witness_consents SET how_recorded = 'edited'"))
    finally:
        migrate.upgrade(database_url)
    with pytest.raises(DBAPIError) as caught, raw_engine.begin() as conn:
        conn.execute(text("UPDATE witness_consents SET how_recorded = 'edited again'"))
    assert "append-only" in str(caught.value)
    with raw_engine.connect() as conn:
        assert conn.execute(text("SELECT how_recorded FROM witness_consents")).scalar_one() == "edited"
