from __future__ import annotations

from flask.testing import FlaskClient


def _case(client: FlaskClient, logged_in, make_case) -> str:
    owner = logged_in("investigator")
    return str(make_case(owner, "INC"))


def test_incidents_listed_by_date_with_honest_precision(client: FlaskClient, logged_in, make_case) -> None:
    case_id = _case(client, logged_in, make_case)
    for data in (
        {"title": "Later, approximate", "start_date": "2019-03-01", "date_precision": "approximate"},
        {"title": "Undated"},
        {"title": "Graves found", "start_date": "2020-06-01", "date_precision": "month"},
        {"title": "Earliest exact", "start_date": "2015-02-14", "date_precision": "day"},
    ):
        payload = {"date_precision": "day", "location_precision": "unknown", **data}
        assert client.post(f"/cases/{case_id}/incidents/new", data=payload).status_code == 302
    html = client.get(f"/cases/{case_id}").get_data(as_text=True)
    order = [html.index(t) for t in ("Earliest exact", "Later, approximate", "Graves found", "Undated")]
    assert order == sorted(order)
    assert "June 2020" in html and "approx. 2019" in html and "14 February 2015" in html
    assert "1 June 2020" not in html  # month precision never shows a made-up day


def test_end_before_start_and_out_of_range_coordinates(client: FlaskClient, logged_in, make_case) -> None:
    case_id = _case(client, logged_in, make_case)
    base = {"title": "x", "date_precision": "day", "location_precision": "exact"}
    bad_dates = client.post(
        f"/cases/{case_id}/incidents/new", data={**base, "start_date": "2020-06-05", "end_date": "2020-06-01"}
    )
    assert bad_dates.status_code == 422
    assert "cannot be before the start date" in bad_dates.get_data(as_text=True)
    bad_lat = client.post(f"/cases/{case_id}/incidents/new", data={**base, "latitude": "91", "longitude": "13"})
    assert bad_lat.status_code == 422
    assert "between -90 and 90" in bad_lat.get_data(as_text=True)
    assert "No incidents recorded yet." in client.get(f"/cases/{case_id}").get_data(as_text=True)


def test_edit_incident(client: FlaskClient, logged_in, make_case) -> None:
    case_id = _case(client, logged_in, make_case)
    created = client.post(
        f"/cases/{case_id}/incidents/new",
        data={
            "title": "Prison",
            "date_precision": "year",
            "start_date": "2019-01-01",
            "location_precision": "vicinity",
            "violation_types": ["summary_execution", "torture"],
            "latitude": "32.43",
            "longitude": "13.63",
        },
    )
    url = created.headers["Location"]
    html = client.get(url).get_data(as_text=True)
    assert "Summary execution" in html and "Torture" in html and "32.43000" in html
    edited = client.post(
        url + "/edit",
        data={
            "title": "Prison (renamed)",
            "date_precision": "year",
            "start_date": "2019-01-01",
            "location_precision": "vicinity",
            "violation_types": ["torture"],
        },
    )
    assert edited.status_code == 302
    html = client.get(url).get_data(as_text=True)
    assert "Prison (renamed)" in html and "Summary execution" not in html


def test_unknown_violation_type_refused(client: FlaskClient, logged_in, make_case) -> None:
    case_id = _case(client, logged_in, make_case)
    response = client.post(
        f"/cases/{case_id}/incidents/new",
        data={
            "title": "x",
            "date_precision": "day",
            "location_precision": "unknown",
            "violation_types": ["genocide!"],
        },
    )
    assert response.status_code == 422
