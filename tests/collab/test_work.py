"""Who is doing what: work given to a member of the case (an item, incident or charge, due when), each person's
"my work", and notifications in the app and by e-mail — sent through a real SMTP server (aiosmtpd) started here.
A notification only ever reaches a member of its case, and its e-mail names no title, person or comment."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Callable, Iterator
from email import message_from_bytes
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from flask.testing import FlaskClient

from casefile.config import Settings

from support import Account, Api, build_dossier_now, login, run_queued_jobs, upload

GEO = {"area": "geolocation", "outcome": "confirmed", "method": "Matched against imagery"}


class Inbox:
    """What the SMTP server received: (envelope recipients, message)."""

    def __init__(self) -> None:
        self.mail: list[tuple[list[str], Any]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.mail.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
        return "250 OK"


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    handler = Inbox()
    with socket.socket() as probe:  # a free port (aiosmtpd checks it is up by connecting to the one it is given)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


@pytest.fixture
def settings(settings: Settings, inbox: tuple[Inbox, int]) -> Settings:
    _handler, port = inbox
    return settings.with_overrides(
        smtp_url=f"smtp://127.0.0.1:{port}", smtp_from="casefile@ngo.example", base_url="https://casefile.ngo.example"
    )


@pytest.fixture
def team(
    api_for: Callable[..., tuple[Api, Account]], make_case: Callable[..., uuid.UUID], add_member: Callable[..., None]
) -> dict[str, Any]:
    lead_api, lead = api_for("investigator")
    case_id = make_case(lead, "WRK", title="Secret case title 4b1e")
    member_api, member = api_for("investigator")
    add_member(case_id, member, "investigator")
    item = upload(lead_api, case_id, b"a field photo", "Truck near the Kaniyat camp.txt")
    return {"case_id": case_id, "lead": (lead_api, lead), "member": (member_api, member), "item": item}


def test_work_is_given_notified_and_mailed_without_its_content(
    app: Flask, team: dict[str, Any], inbox: tuple[Inbox, int]
) -> None:
    handler, _port = inbox
    lead_api, lead = team["lead"]
    member_api, member = team["member"]
    given = lead_api.post(
        f"/cases/{team['case_id']}/assignments",
        json={
            "target_type": "evidence",
            "target_id": team["item"]["id"],
            "assignee_id": str(member.id),
            "due_on": "2026-12-20",
            "note": "Geolocate the water tower",
        },
    )
    assert given.status_code == 201, given.get_data(as_text=True)
    mine = member_api.get("/me/assignments").get_json()["items"]
    assert [(a["target_label"], a["due_on"]) for a in mine] == [
        ("TRH-00001 Truck near the Kaniyat camp.txt".replace("TRH", "WRK"), "2026-12-20")
    ]
    [note] = member_api.get("/notifications?unread=true").get_json()["items"]
    assert note["kind"] == "assigned" and "Geolocate" not in note["text"] and "due 2026-12-20" in note["text"]
    assert note["link"] == f"/evidence/{team['item']['id']}"

    run_queued_jobs(app)  # the mail job
    [(to, message)] = handler.mail
    assert to == [member.email] and message["From"] == "casefile@ngo.example"
    assert message["Subject"] == "Casefile WRK: you have new work"
    body = message.get_payload(decode=True).decode()
    assert f"https://casefile.ngo.example/evidence/{team['item']['id']}" in body
    for secret in ("Kaniyat", "Secret case title", "Geolocate", lead.email):
        assert secret not in body and secret not in message["Subject"]

    assert member_api.post(f"/notifications/{note['id']}/read").get_json()["read_at"]
    assert member_api.get("/notifications?unread=true").get_json()["items"] == []
    done = member_api.post(f"/assignments/{given.get_json()['id']}/done")
    assert done.status_code == 200 and done.get_json()["done_at"]
    assert member_api.get("/me/assignments").get_json()["items"] == []


def test_verification_changes_and_pending_releases_are_notified(
    app: Flask,
    team: dict[str, Any],
    inbox: tuple[Inbox, int],
    api_for: Callable[..., tuple[Api, Account]],
    add_member: Callable[..., None],
) -> None:
    lead_api, _lead = team["lead"]
    member_api, _member = team["member"]
    item = team["item"]
    assert member_api.post(f"/evidence/{item['id']}/verification/checks", json=GEO).status_code == 201
    moved = member_api.post(f"/evidence/{item['id']}/verification/status", json={"status": "verified"})
    assert moved.status_code == 200, moved.get_data(as_text=True)
    [told] = lead_api.get("/notifications").get_json()["items"]
    assert told["kind"] == "status_changed" and told["text"].endswith("set the verification of WRK-00001 to verified.")
    # The uploader's own moves notify nobody.
    assert member_api.get("/notifications").get_json()["items"] == []

    # A dossier built by one legal member waits for another's approval: the other legal members are told.
    assert lead_api.patch(f"/evidence/{item['id']}", {"classification": "public"}).status_code == 200
    builder_api, builder = api_for("legal")
    add_member(team["case_id"], builder, "legal")
    second_api, second = api_for("legal")
    add_member(team["case_id"], second, "legal")
    dossier = build_dossier_now(
        builder_api,
        app,
        team["case_id"],
        {"profile": "generic", "title": "For the panel", "evidence_ids": [item["id"]]},
        approve=False,
    )
    [waiting] = second_api.get("/notifications").get_json()["items"]
    assert waiting["kind"] == "release_pending" and waiting["link"] == f"/dossiers/{dossier['id']}"
    assert waiting["text"] == "The dossier “For the panel” awaits your approval."
    assert builder_api.get("/notifications").get_json()["items"] == []  # not the one who built it


def test_nobody_outside_the_case_is_notified_or_sees_its_work(
    app: Flask,
    team: dict[str, Any],
    api_for: Callable[..., tuple[Api, Account]],
    inbox: tuple[Inbox, int],
) -> None:
    handler, _port = inbox
    lead_api, _lead = team["lead"]
    outsider_api, outsider = api_for("investigator")
    refused = lead_api.post(
        f"/cases/{team['case_id']}/assignments",
        json={"target_type": "evidence", "target_id": team["item"]["id"], "assignee_id": str(outsider.id)},
    )
    assert refused.status_code == 422 and "assignee_id" in refused.get_json()["error"]["fields"]
    assert outsider_api.get(f"/cases/{team['case_id']}/assignments").status_code == 404
    assert outsider_api.get("/notifications").get_json()["items"] == []
    assert outsider_api.get("/me/assignments").get_json()["items"] == []
    run_queued_jobs(app)
    assert handler.mail == []
    other_case_item = upload(
        outsider_api,
        uuid.UUID(str(outsider_api.post("/cases", {"reference": "OTH", "title": "x"}).get_json()["id"])),
        b"x",
        "x.txt",
    )
    wrong = lead_api.post(
        f"/cases/{team['case_id']}/assignments",
        json={"target_type": "evidence", "target_id": other_case_item["id"], "assignee_id": str(team["member"][1].id)},
    )
    assert wrong.status_code == 422 and "target_id" in wrong.get_json()["error"]["fields"]


def test_reviewers_see_the_work_and_give_none(
    team: dict[str, Any], api_for: Callable[..., tuple[Api, Account]], add_member: Callable[..., None]
) -> None:
    reviewer_api, reviewer = api_for("reviewer")
    add_member(team["case_id"], reviewer, "reviewer")
    assert reviewer_api.get(f"/cases/{team['case_id']}/assignments").status_code == 200
    given = reviewer_api.post(
        f"/cases/{team['case_id']}/assignments",
        json={"target_type": "evidence", "target_id": team["item"]["id"], "assignee_id": str(reviewer.id)},
    )
    assert given.status_code == 403


def test_the_pages(app: Flask, client: FlaskClient, team: dict[str, Any]) -> None:
    _lead_api, lead = team["lead"]
    member_api, member = team["member"]
    login(client, lead)
    page = client.get(f"/cases/{team['case_id']}/work").get_data(as_text=True)
    assert f'value="evidence:{team["item"]["id"]}"' in page and member.email.split("@")[0] in page
    given = client.post(
        f"/cases/{team['case_id']}/work",
        data={"target": f"evidence:{team['item']['id']}", "assignee_id": str(member.id), "note": "<b>check</b>"},
    )
    assert given.status_code == 303
    listed = client.get(f"/cases/{team['case_id']}/work").get_data(as_text=True)
    assert "&lt;b&gt;check&lt;/b&gt;" in listed and "<b>check</b>" not in listed
    bad = client.post(f"/cases/{team['case_id']}/work", data={"target": "evidence:nope", "assignee_id": str(member.id)})
    assert bad.status_code == 422
    other = app.test_client()
    login(other, member)
    home = other.get("/work").get_data(as_text=True)
    assert 'id="unread-count">1<' in home and "Truck near the Kaniyat camp.txt" in home
    [note] = member_api.get("/notifications").get_json()["items"]
    opened = other.post(f"/notifications/{note['id']}/read")
    assert opened.status_code == 303 and opened.headers["Location"] == f"/evidence/{team['item']['id']}"
    assert 'id="unread-count"' not in other.get("/work").get_data(as_text=True)
    [mine] = member_api.get("/me/assignments").get_json()["items"]
    assert other.post(f"/assignments/{mine['id']}/done").status_code == 303  # from "My work"
    assert member_api.get("/me/assignments").get_json()["items"] == []
    assert "Nothing is waiting for you." in other.get("/work").get_data(as_text=True)
