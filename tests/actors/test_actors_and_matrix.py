"""Actors (duplicates across scripts, merge), the element-proof matrix and the link analysis (issue 5)."""

from __future__ import annotations

import re
from io import BytesIO

from sqlalchemy import select

from casefile.custody.models import CustodyEntry
from casefile.db import session_scope

from support import login


def _case(api) -> str:
    return api.post("/cases", json={"reference": "ACT", "title": "Actors"}).get_json()["id"]


def _actor(api, cid: str, name: str, kind: str = "person", aliases: list[str] | None = None) -> dict:
    # Created past the likely-duplicate check (tests/actors/test_actor_duplicates.py tests the check itself).
    body = {"kind": kind, "name": name, "aliases": aliases or [], "confirm_new": True}
    response = api.post(f"/cases/{cid}/actors", json=body)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def _evidence(api, cid: str, title: str) -> str:
    response = api.post(
        f"/cases/{cid}/evidence",
        data={"file": (BytesIO(title.encode()), "e.txt"), "title": title},
        content_type="multipart/form-data",
    )
    assert response.status_code == 201
    return response.get_json()["id"]


def test_likely_duplicates_are_proposed_across_spellings_and_scripts(api_for) -> None:
    api, _ = api_for("investigator")
    cid = _case(api)
    kani = _actor(api, cid, "Mohamed al-Kani", aliases=["al-Kana"])
    kaniyat = _actor(api, cid, "Kaniyat", "armed_group")
    for spelling in ("Mohammed Al Kani", "محمد الكاني"):
        proposed = _actor(api, cid, spelling)["possible_duplicates"]
        assert kani["id"] in [p["id"] for p in proposed], spelling
    assert kaniyat["id"] in [p["id"] for p in _actor(api, cid, "Kaniyet", "armed_group")["possible_duplicates"]]
    unrelated = _actor(api, cid, "Khalifa Haftar")["possible_duplicates"]
    assert kani["id"] not in [p["id"] for p in unrelated]


def test_the_form_shows_duplicates_before_creating(client, api_for) -> None:
    api, account = api_for("investigator")
    cid = _case(api)
    _actor(api, cid, "Mohamed al-Kani")
    login(client, account)
    first = client.post(f"/cases/{cid}/actors/new", data={"kind": "person", "name": "محمد الكاني"})
    assert first.status_code == 409 and "Mohamed al-Kani" in first.get_data(as_text=True)
    confirmed = client.post(
        f"/cases/{cid}/actors/new", data={"kind": "person", "name": "محمد الكاني", "confirm_new": "y"}
    )
    assert confirmed.status_code == 302


def test_identification_fields_from_the_api_and_the_form(client, api_for) -> None:
    """What a sanctions submission identifies a target by: date and place of birth, nationality, identifiers."""
    api, account = api_for("investigator")
    cid = _case(api)
    body = {
        "kind": "person",
        "name": "Mohamed al-Kani",
        "date_of_birth": "circa 1977",
        "place_of_birth": "Tarhouna, Libya",
        "nationality": "Libyan",
        "identifiers": [{"type": "passport", "value": "X123"}],
        "confirm_new": True,
    }
    created = api.post(f"/cases/{cid}/actors", json=body)
    assert created.status_code == 201, created.get_data(as_text=True)
    actor = created.get_json()
    assert (actor["place_of_birth"], actor["date_of_birth"]) == ("Tarhouna, Libya", "circa 1977")
    assert api.post(f"/cases/{cid}/actors", json={**body, "place_of_birth": "x" * 201}).status_code == 422
    login(client, account)
    edited = client.post(
        f"/actors/{actor['id']}/edit",
        data={"kind": "person", "name": "Mohamed al-Kani", "place_of_birth": "ترهونة، ليبيا", "nationality": "Libyan"},
    )
    assert edited.status_code == 302, edited.get_data(as_text=True)[:500]
    page = client.get(f"/actors/{actor['id']}").get_data(as_text=True)
    assert "ترهونة، ليبيا" in page
    assert api.get(f"/actors/{actor['id']}").get_json()["place_of_birth"] == "ترهونة، ليبيا"


def test_merge_keeps_every_link_and_is_audited(app, api_for) -> None:
    api, _ = api_for("investigator")
    cid = _case(api)
    keep = _actor(api, cid, "Mohamed al-Kani")
    dup = _actor(api, cid, "محمد الكاني", aliases=["al-Kana"])
    militia = _actor(api, cid, "Kaniyat", "armed_group")
    incident = api.post(f"/cases/{cid}/incidents", json={"title": "Prison"}).get_json()
    relation = api.post(
        f"/cases/{cid}/actor-relations",
        json={"source_actor_id": dup["id"], "target_actor_id": militia["id"], "relation": "commands"},
    ).get_json()
    api.post(
        f"/cases/{cid}/involvements",
        json={"incident_id": incident["id"], "actor_id": dup["id"], "degree": "gave_orders"},
    )
    item = _evidence(api, cid, "Statement")
    api.post(f"/evidence/{item}/links", json={"target_type": "actor", "target_id": dup["id"]})
    merged = api.post(f"/actors/{keep['id']}/merge", json={"duplicate_id": dup["id"]})
    assert merged.status_code == 200, merged.get_data(as_text=True)
    assert {"محمد الكاني", "al-Kana"} <= set(merged.get_json()["aliases"])
    relations = api.get(f"/cases/{cid}/actor-relations").get_json()["items"]
    assert [r["source_actor_id"] for r in relations if r["id"] == relation["id"]] == [keep["id"]]
    involvements = api.get(f"/cases/{cid}/involvements").get_json()["items"]
    assert {i["actor_id"] for i in involvements} == {keep["id"]}
    links = api.get(f"/evidence/{item}").get_json()["links"]
    assert [link["target_id"] for link in links] == [keep["id"]]
    names = [a["name"] for a in api.get(f"/cases/{cid}/actors").get_json()["items"]]
    assert "محمد الكاني" not in names  # the duplicate is folded away, its row kept
    assert api.get(f"/actors/{dup['id']}").get_json()["merged_into_id"] == keep["id"]
    with app.app_context(), session_scope() as s:
        (entry,) = s.scalars(select(CustodyEntry).where(CustodyEntry.action == "actors_merged")).all()
        assert entry.details["merged"]["name"] == "محمد الكاني" and entry.details["kept"]["id"] == keep["id"]
    again = api.post(f"/actors/{keep['id']}/merge", json={"duplicate_id": dup["id"]})
    assert again.status_code == 422


def _charge_world(api) -> dict:
    cid = _case(api)
    haftar = _actor(api, cid, "Khalifa Haftar")
    laaf = _actor(api, cid, "LAAF", "armed_group")
    kaniyat = _actor(api, cid, "Kaniyat", "armed_group")
    incident = api.post(f"/cases/{cid}/incidents", json={"title": "Prison executions"}).get_json()
    commands = api.post(
        f"/cases/{cid}/actor-relations",
        json={"source_actor_id": haftar["id"], "target_actor_id": laaf["id"], "relation": "commands"},
    ).get_json()
    subordinate = api.post(
        f"/cases/{cid}/actor-relations",
        json={"source_actor_id": kaniyat["id"], "target_actor_id": laaf["id"], "relation": "subordinate_unit_of"},
    ).get_json()
    involvement = api.post(
        f"/cases/{cid}/involvements",
        json={"incident_id": incident["id"], "actor_id": kaniyat["id"], "degree": "direct_perpetrator"},
    ).get_json()
    charge = api.post(
        f"/cases/{cid}/charges",
        json={
            "suspect_id": haftar["id"],
            "offence_code": "rome-7-1-a",
            "mode_code": "rome-28-a",
            "incident_ids": [incident["id"]],
        },
    ).get_json()
    return {"cid": cid, "charge": charge, "commands": commands, "subordinate": subordinate, "involvement": involvement}


def _rows(api, charge_id: str) -> dict[str, dict]:
    body = api.get(f"/charges/{charge_id}/matrix").get_json()
    return {e["code"]: e for e in body["elements"]}


def test_matrix_lists_every_element_and_computes_gaps(api_for) -> None:
    from casefile.legal.catalogue import load_catalogue

    api, _ = api_for("legal")
    w = _charge_world(api)
    rows = _rows(api, w["charge"]["id"])
    catalogue = load_catalogue()
    expected = [e.code for e in catalogue.offence("rome-7-1-a").all_elements]
    expected += [e.code for e in catalogue.mode("rome-28-a").elements]
    assert list(rows) == expected  # contextual, offence and mode elements, in order
    assert all(r["status"] == "gap" for r in rows.values())
    item = _evidence(api, w["cid"], "Witness statement")
    api.post(
        f"/evidence/{item}/links",
        json={"target_type": "charge_element", "target_id": w["charge"]["id"], "element_code": "rome-28-a.e1"},
    )
    assert _rows(api, w["charge"]["id"])["rome-28-a.e1"]["status"] == "supported"
    contra = _evidence(api, w["cid"], "Exculpatory order")
    api.post(
        f"/evidence/{contra}/links",
        json={
            "target_type": "charge_element",
            "target_id": w["charge"]["id"],
            "element_code": "rome-28-a.e1",
            "stance": "contradicts",
        },
    )
    row = _rows(api, w["charge"]["id"])["rome-28-a.e1"]
    assert row["status"] == "contested" and [c["evidence_id"] for c in row["contradicting"]] == [contra]
    bad = api.post(
        f"/evidence/{item}/links",
        json={"target_type": "charge_element", "target_id": w["charge"]["id"], "element_code": "rome-8-2-c-iv.e1"},
    )
    assert bad.status_code == 422  # an element of another offence


def test_unlinking_reopens_the_gap(client, api_for) -> None:
    api, account = api_for("legal")
    w = _charge_world(api)
    item = _evidence(api, w["cid"], "Statement")
    link = api.post(
        f"/evidence/{item}/links",
        json={"target_type": "charge_element", "target_id": w["charge"]["id"], "element_code": "rome-7-1-a.e1"},
    ).get_json()
    assert _rows(api, w["charge"]["id"])["rome-7-1-a.e1"]["status"] == "supported"
    login(client, account)
    assert client.post(f"/evidence/{item}/links/{link['id']}/remove").status_code == 302
    assert _rows(api, w["charge"]["id"])["rome-7-1-a.e1"]["status"] == "gap"


def test_link_analysis_finds_the_multi_hop_path_and_flags_the_unsupported_hop(client, api_for) -> None:
    api, account = api_for("legal")
    w = _charge_world(api)
    item = _evidence(api, w["cid"], "Order of battle")
    api.post(f"/evidence/{item}/links", json={"target_type": "actor_relation", "target_id": w["commands"]["id"]})
    api.post(f"/evidence/{item}/links", json={"target_type": "involvement", "target_id": w["involvement"]["id"]})
    (path,) = api.get(f"/charges/{w['charge']['id']}/matrix").get_json()["paths"]
    assert [(h["from"], h["to"]) for h in path["hops"]] == [
        ("Khalifa Haftar", "LAAF"),
        ("Kaniyat", "LAAF"),
        ("Kaniyat", "Prison executions"),
    ]
    assert [h["supported"] for h in path["hops"]] == [True, False, True]
    assert path["established"] is False
    login(client, account)
    html = client.get(f"/charges/{w['charge']['id']}").get_data(as_text=True)
    assert "unsupported hop" in html
    # Evidence for the Kaniyat–LAAF link establishes the whole path.
    api.post(f"/evidence/{item}/links", json={"target_type": "actor_relation", "target_id": w["subordinate"]["id"]})
    (path,) = api.get(f"/charges/{w['charge']['id']}/matrix").get_json()["paths"]
    assert path["established"] is True


def test_command_chart_is_safe_svg(client, api_for) -> None:
    from xml.dom.minidom import parseString

    api, account = api_for("investigator")
    cid = _case(api)
    a = _actor(api, cid, '<script>alert("x")</script>')
    b = _actor(api, cid, "Kaniyat", "armed_group")
    api.post(
        f"/cases/{cid}/actor-relations",
        json={"source_actor_id": a["id"], "target_actor_id": b["id"], "relation": "commands"},
    )
    login(client, account)
    response = client.get(f"/cases/{cid}/chart.svg")
    assert response.mimetype == "image/svg+xml"
    svg = response.get_data(as_text=True)
    assert "<script" not in svg
    parseString(svg.encode())  # noqa: S318 - our own output; checks it is well-formed
    assert re.search(r'class="[^"]*unsupported', svg)
    page = client.get(f"/cases/{cid}/chart").get_data(as_text=True)
    assert "<script>alert" not in page
