"""The index follows the data (casefile.search.indexer): creations, edits, merges and deletions are reflected in the
same transaction, a rolled-back transaction leaves no trace, and `search reindex` rebuilds it from scratch."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import delete, func, select

from casefile.actors.models import Actor
from casefile.auth.models import User
from casefile.cases.models import Incident
from casefile.db import session_scope
from casefile.search import services
from casefile.search.indexer import reindex_all
from casefile.search.models import SearchDocument

from search_support import Team, found, search_json
from support import Account


def documents(app: Flask) -> int:
    with app.app_context(), session_scope() as s:
        return s.scalar(select(func.count()).select_from(SearchDocument)) or 0


def test_renamed_actor_is_found_by_its_new_name_only(team: Callable[..., Team]) -> None:
    t = team()
    actor = t.actor("Ahmed Zaid", aliases=["أحمد زايد"])
    assert found(t.search("Ahmed")) == {("actor", "Ahmed Zaid")}
    response = t.api.patch(f"/actors/{actor['id']}", json={"name": "Salem Fathi", "aliases": []})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert t.search("Ahmed")["total"] == 0
    assert t.search("أحمد")["total"] == 0
    assert found(t.search("Salem Fathi")) == {("actor", "Salem Fathi")}
    assert found(t.search("سالم فتحي")) == {("actor", "Salem Fathi")}  # by name key: slm fth


def test_edited_incident_and_evidence_are_reindexed(team: Callable[..., Team]) -> None:
    t = team()
    incident = t.incident("Shelling of Abu Salim", place_name="Tripoli")
    item = t.evidence("Satellite image")
    changed = t.api.patch(f"/incidents/{incident['id']}", json={"title": "Shelling", "place_name": "Tarhouna"})
    assert changed.status_code == 200
    assert t.search("Salim")["total"] == 0
    assert found(t.search("ترهونة")) == {("incident", "Shelling")}
    assert t.api.patch(f"/evidence/{item['id']}", json={"title": "Drone footage"}).status_code == 200
    assert t.search("satellite")["total"] == 0
    assert found(t.search("drone")) == {("evidence", f"{item['ern']} — Drone footage")}


def test_merged_duplicate_leaves_the_index_and_lives_on_as_an_alias(team: Callable[..., Team]) -> None:
    t = team()
    keep = t.actor("Mohamed al-Kani")
    duplicate = t.actor("Muhammad Kani Tarhuni")
    response = t.api.post(f"/actors/{keep['id']}/merge", json={"duplicate_id": duplicate["id"]})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert found(t.search("Tarhuni")) == {("actor", "Mohamed al-Kani")}
    assert [i["object_id"] for i in t.search("Tarhuni")["items"]] == [keep["id"]]


def test_deleted_objects_leave_the_index(app: Flask, team: Callable[..., Team]) -> None:
    t = team()
    incident = t.incident("Tarhouna prison")
    actor = t.actor("Kaniyat militia")
    assert t.search("Tarhouna")["total"] == 1 and t.search("Kaniyat")["total"] == 1
    with app.app_context(), session_scope() as s:
        s.delete(s.get(Incident, uuid.UUID(incident["id"])))
        s.delete(s.get(Actor, uuid.UUID(actor["id"])))
    assert t.search("Tarhouna")["total"] == 0
    assert t.search("Kaniyat")["total"] == 0
    assert documents(app) == 0


def test_a_rolled_back_transaction_leaves_no_trace(app: Flask, team: Callable[..., Team]) -> None:
    t = team()
    with pytest.raises(RuntimeError), app.app_context(), session_scope() as s:
        s.add(Incident(case_id=t.case_id, title="Never committed"))
        s.flush()
        user = s.get(User, t.account.id)
        assert user is not None
        assert services.search(s, user, "committed")[1].value == 1  # visible inside its own transaction
        raise RuntimeError("abort")
    assert t.search("committed")["total"] == 0
    assert documents(app) == 0


def everything(t: Team) -> set[tuple[str, str]]:
    queries = ("tarhuna", "al-Kani", "TRH-00001", "W-0001", "keeper")
    return {(i["object_type"], i["object_id"]) for q in queries for i in t.search(q)["items"]}


def test_reindex_rebuilds_the_index(app: Flask, team: Callable[..., Team]) -> None:
    t = team()
    t.incident("Tarhouna mass graves")
    t.actor("محمد الكاني")
    t.evidence("Photo")
    t.witness("Zubaida Qarawi")
    keeper, merged = t.actor("Keeper"), t.actor("Kani duplicate")
    assert t.api.post(f"/actors/{keeper['id']}/merge", json={"duplicate_id": merged["id"]}).status_code == 200
    before = everything(t)
    assert len(before) == 5
    with app.app_context(), session_scope() as s:
        s.execute(delete(SearchDocument))
    assert t.search("tarhuna")["total"] == 0

    result = app.test_cli_runner().invoke(args=["search", "reindex"])
    assert result.exit_code == 0, result.output
    assert "actor: 2, evidence: 1, incident: 1, witness: 1" in result.output
    assert everything(t) == before
    with app.app_context(), session_scope() as s:
        assert reindex_all(s) == {"incident": 1, "actor": 2, "evidence": 1, "witness": 1}
    assert documents(app) == 5
    assert t.search("Zubaida")["total"] == 0


def test_the_demo_case_is_searchable_as_loaded(
    app: Flask, add_member: Callable[..., None], api_for: Callable[..., tuple[Any, Account]]
) -> None:
    from casefile.cases.models import Case
    from casefile.demo import DEMO_REFERENCE, load_demo

    with app.app_context(), session_scope() as s:
        assert load_demo(s, app)
        case_id = s.scalar(select(Case.id).where(Case.reference == DEMO_REFERENCE))
    api, account = api_for("investigator")
    assert search_json(api, "al-Kani")["total"] == 0  # not a member yet
    add_member(case_id, account, "reviewer")
    actors = {i["title"] for i in search_json(api, "الكانى", type="actor")["items"]}
    assert "Mohamed al-Kani" in actors
    assert search_json(api, "ترهونه", type="incident")["total"] >= 1
