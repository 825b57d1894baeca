from __future__ import annotations

from flask.testing import FlaskClient

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def test_create_case_from_the_form(client: FlaskClient, logged_in) -> None:
    logged_in("investigator")
    response = client.post("/cases/new", data={"reference": "TRH", "title": "Tarhouna", "status": "open"})
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Tarhouna" in page
    assert "TRH" in client.get("/").get_data(as_text=True)


def test_bad_references_are_refused_with_a_message(client: FlaskClient, logged_in) -> None:
    logged_in("investigator")
    for reference in ("trh", "T R", "T", "TOO-LONG-REFERENCE-X", "TRH/1"):
        response = client.post("/cases/new", data={"reference": reference, "title": "x", "status": "open"})
        assert response.status_code == 422, reference
        assert "capital letters" in response.get_data(as_text=True) or "Field cannot be longer" in response.get_data(
            as_text=True
        )


def test_duplicate_reference(client: FlaskClient, logged_in) -> None:
    logged_in("investigator")
    assert client.post("/cases/new", data={"reference": "DUP", "title": "one", "status": "open"}).status_code == 302
    again = client.post("/cases/new", data={"reference": "DUP", "title": "two", "status": "open"})
    assert again.status_code == 422
    assert "already exists" in again.get_data(as_text=True)


def test_script_in_every_text_field_is_rendered_inert(client: FlaskClient, logged_in) -> None:
    logged_in("investigator")
    response = client.post(
        "/cases/new",
        data={
            "reference": "XSS",
            "title": XSS,
            "situation": XSS,
            "summary": XSS,
            "status": "open",
        },
    )
    case_url = response.headers["Location"]
    incident = client.post(
        case_url + "/incidents/new",
        data={
            "title": XSS,
            "description": XSS,
            "place_name": XSS,
            "victim_count_source": XSS,
            "date_precision": "day",
            "location_precision": "unknown",
        },
    )
    assert incident.status_code == 302
    for url in (case_url, incident.headers["Location"], "/", incident.headers["Location"] + "/edit"):
        html = client.get(url).get_data(as_text=True)
        assert "<script>alert" not in html and "<img src=x" not in html, url
        assert "&lt;script&gt;" in html, url


def test_edit_case_keeps_reference(client: FlaskClient, logged_in, make_case) -> None:
    owner = logged_in("legal")
    case_id = make_case(owner, "EDT")
    response = client.post(
        f"/cases/{case_id}/edit",
        data={
            "reference": "CHANGED",
            "title": "New title",
            "summary": "s",
            "situation": "",
            "status": "referred",
        },
    )
    assert response.status_code == 302
    page = client.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "New title" in page and "EDT" in page and "referred" in page


def test_reviewer_cannot_create_or_edit(client: FlaskClient, logged_in, make_user, make_case, add_member) -> None:
    owner = make_user("investigator")
    case_id = make_case(owner, "REV")
    reviewer = logged_in("reviewer")
    add_member(case_id, reviewer, "reviewer")
    assert client.post("/cases/new", data={"reference": "NEW", "title": "x", "status": "open"}).status_code == 403
    assert client.get(f"/cases/{case_id}").status_code == 200
    assert client.post(f"/cases/{case_id}/edit", data={"title": "x", "status": "open"}).status_code == 403
    response = client.post(f"/cases/{case_id}/incidents/new", data={"title": "x"})
    assert response.status_code == 403
    assert "read-only" in response.get_data(as_text=True)


def test_non_member_gets_404_everywhere(client: FlaskClient, logged_in, make_user, make_case, app) -> None:
    from casefile.cases.models import Case
    from casefile.cases.services import create_incident
    from casefile.db import session_scope

    owner = make_user("investigator")
    case_id = make_case(owner, "SECRET", title="Secret case")
    with app.app_context(), session_scope() as s:
        incident_id = create_incident(s, s.get(Case, case_id), {"title": "hidden"}).id
    logged_in("investigator")
    for url in (
        f"/cases/{case_id}",
        f"/cases/{case_id}/edit",
        f"/cases/{case_id}/members",
        f"/incidents/{incident_id}",
        f"/incidents/{incident_id}/edit",
        "/cases/not-a-uuid",
    ):
        response = client.get(url)
        assert response.status_code == 404, url
        assert "Secret case" not in response.get_data(as_text=True)
    assert client.post(f"/incidents/{incident_id}/edit", data={"title": "pwned"}).status_code == 404
    assert "SECRET" not in client.get("/").get_data(as_text=True)
