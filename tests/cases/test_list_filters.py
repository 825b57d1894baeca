"""Structured filters of the incident and evidence lists, in the pages and the API."""

from __future__ import annotations

from io import BytesIO


def _world(api):
    case = api.post("/cases", json={"reference": "FLT", "title": "Filters"}).get_json()
    cid = case["id"]
    early = api.post(
        f"/cases/{cid}/incidents",
        json={
            "title": "Detentions 2019",
            "start_date": "2019-03-01",
            "end_date": "2019-09-30",
            "date_precision": "month",
            "violation_types": ["arbitrary_detention"],
        },
    ).get_json()
    late = api.post(
        f"/cases/{cid}/incidents",
        json={
            "title": "Graves June 2020",
            "start_date": "2020-06-01",
            "date_precision": "month",
            "violation_types": ["killing", "mass_grave"],
        },
    ).get_json()
    militia = api.post(f"/cases/{cid}/actors", json={"kind": "armed_group", "name": "Kaniyat"}).get_json()
    api.post(
        f"/cases/{cid}/involvements",
        json={"incident_id": early["id"], "actor_id": militia["id"], "degree": "direct_perpetrator"},
    )
    return cid, early, late, militia


def titles(response) -> list[str]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return [i["title"] for i in response.get_json()["items"]]


def test_incident_filters_in_the_api(api_for) -> None:
    api, _account = api_for("investigator")
    cid, _early, _late, militia = _world(api)
    assert titles(api.get(f"/cases/{cid}/incidents?from=2020-01-01")) == ["Graves June 2020"]
    # A period overlapping the 2019 detentions finds them even though they started before it.
    assert titles(api.get(f"/cases/{cid}/incidents?from=2019-06-01&to=2019-12-31")) == ["Detentions 2019"]
    assert titles(api.get(f"/cases/{cid}/incidents?violation_type=mass_grave")) == ["Graves June 2020"]
    assert titles(api.get(f"/cases/{cid}/incidents?actor={militia['id']}")) == ["Detentions 2019"]
    assert titles(api.get(f"/cases/{cid}/incidents?actor={militia['id']}&violation_type=killing")) == []
    assert api.get(f"/cases/{cid}/incidents?from=June").status_code == 422
    assert api.get(f"/cases/{cid}/incidents?violation_type=genocide").status_code == 422
    assert api.get(f"/cases/{cid}/incidents?actor=nope").status_code == 422


def test_incident_filters_in_the_case_page(client, api_for, app) -> None:
    from support import login

    api, account = api_for("investigator")
    cid, _early, _late, militia = _world(api)
    login(client, account)
    html = client.get(f"/cases/{cid}?violation_type=mass_grave").get_data(as_text=True)
    assert "Graves June 2020" in html and "Detentions 2019" not in html
    html = client.get(f"/cases/{cid}?actor={militia['id']}").get_data(as_text=True)
    assert "Detentions 2019" in html and "Graves June 2020" not in html
    bad = client.get(f"/cases/{cid}?from=yesterday")
    assert bad.status_code == 200 and "YYYY-MM-DD" in bad.get_data(as_text=True)


def test_evidence_filters_by_linked_actor_and_collection_period(api_for) -> None:
    api, _account = api_for("investigator")
    cid, _early, _late, militia = _world(api)

    def upload(title: str, collected_at: str) -> dict:
        response = api.post(
            f"/cases/{cid}/evidence",
            data={"file": (BytesIO(title.encode()), "note.txt"), "title": title, "collected_at": collected_at},
            content_type="multipart/form-data",
        )
        assert response.status_code == 201, response.get_data(as_text=True)
        return response.get_json()

    first = upload("June note", "2020-06-10T09:00:00Z")
    upload("July note", "2020-07-02T18:30:00Z")
    api.post(f"/evidence/{first['id']}/links", json={"target_type": "actor", "target_id": militia["id"]})
    assert titles(api.get(f"/cases/{cid}/evidence?actor={militia['id']}")) == ["June note"]
    # Evidence of what the actor did is linked to the deed: through an involvement or a relation of theirs.
    second = api.get(f"/cases/{cid}/evidence").get_json()["items"][1]
    involvement = api.get(f"/cases/{cid}/involvements").get_json()["items"][0]
    linked = api.post(
        f"/evidence/{second['id']}/links", json={"target_type": "involvement", "target_id": involvement["id"]}
    )
    assert linked.status_code == 201
    assert titles(api.get(f"/cases/{cid}/evidence?actor={militia['id']}")) == ["June note", "July note"]
    leader = api.post(f"/cases/{cid}/actors", json={"kind": "person", "name": "Mohamed al-Kani"}).get_json()
    assert titles(api.get(f"/cases/{cid}/evidence?actor={leader['id']}")) == []
    relation = api.post(
        f"/cases/{cid}/actor-relations",
        json={"source_actor_id": leader["id"], "target_actor_id": militia["id"], "relation": "commands"},
    ).get_json()
    api.post(f"/evidence/{first['id']}/links", json={"target_type": "actor_relation", "target_id": relation["id"]})
    assert titles(api.get(f"/cases/{cid}/evidence?actor={leader['id']}")) == ["June note"]
    assert titles(api.get(f"/cases/{cid}/evidence?collected_from=2020-07-01")) == ["July note"]
    # A date-only upper bound includes that whole day.
    assert titles(api.get(f"/cases/{cid}/evidence?collected_to=2020-07-02")) == ["June note", "July note"]
    assert titles(api.get(f"/cases/{cid}/evidence?collected_to=2020-07-01")) == ["June note"]
    assert api.get(f"/cases/{cid}/evidence?collected_from=soon").status_code == 422


def test_incident_and_actor_pages_list_their_linked_evidence(app, client, make_user, add_member) -> None:
    """In the demo, the detentions note is linked to the militia's involvement at the prison and al-Kani's statement
    to the relation "al-Kani commands the militia": both show on the militia's page, the statement on al-Kani's, with
    what they are linked to, and the evidence filter agrees."""
    import re as _re

    from sqlalchemy import select

    from casefile.actors.models import Actor
    from casefile.cases.models import Incident
    from casefile.db import session_scope

    from support import load_demo, login

    case_id = load_demo(app)
    reader = make_user("reviewer")
    add_member(case_id, reader, "reviewer")
    with app.app_context(), session_scope() as s:
        actors = {a.name: a.id for a in s.scalars(select(Actor).where(Actor.case_id == case_id))}
        prison = s.scalar(select(Incident.id).where(Incident.case_id == case_id, Incident.title.contains("prison")))
    login(client, reader)

    def linked(path: str) -> list[str]:
        html = client.get(path).get_data(as_text=True)
        table = (
            html.split('id="linked-evidence"', 1)[1].split("</table>", 1)[0] if 'id="linked-evidence"' in html else ""
        )
        return sorted(_re.findall(r'<td dir="auto">([^<]+)</td>\s*<td><span class="badge stance-supports">', table))

    militia = next(i for n, i in actors.items() if n.startswith("Kaniyat"))
    leader = next(
        i for n, i in actors.items() if "Kani" in n and n != next(n for n in actors if n.startswith("Kaniyat"))
    )
    assert linked(f"/actors/{militia}") == ["Field note on detentions at the prison", "Statement of W-0001"]
    assert linked(f"/actors/{leader}") == ["Statement of W-0001"]
    listed = client.get(f"/cases/{case_id}/evidence?actor={militia}").get_data(as_text=True)
    assert "Field note on detentions at the prison" in listed and "Statement of W-0001" in listed
    assert prison is not None
    assert "Field note on detentions at the prison" in linked(f"/incidents/{prison}")
