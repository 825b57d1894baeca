"""Comments on items, incidents, actors and charges: members only (not in search), @mentions notify the members
named and nobody else, an edit by its author keeps the earlier text, and text is shown escaped."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from support import Account, Api, login, upload


@pytest.fixture
def team(
    api_for: Callable[..., tuple[Api, Account]], make_case: Callable[..., uuid.UUID], add_member: Callable[..., None]
) -> dict[str, Any]:
    author_api, author = api_for("investigator")
    case_id = make_case(author, "CMT")
    colleague_api, colleague = api_for("legal")
    add_member(case_id, colleague, "legal")
    item = upload(author_api, case_id, b"an exhibit", "exhibit.txt")
    incident = author_api.post(f"/cases/{case_id}/incidents", json={"title": "Night of 5 June"}).get_json()
    return {
        "case_id": case_id,
        "item": item,
        "incident": incident,
        "author": (author_api, author),
        "colleague": (colleague_api, colleague),
    }


def test_mentions_notify_members_only_and_edits_keep_history(
    team: dict[str, Any], api_for: Callable[..., tuple[Api, Account]]
) -> None:
    author_api, _author = team["author"]
    colleague_api, colleague = team["colleague"]
    outsider_api, outsider = api_for("investigator")
    handle, stranger = colleague.email.split("@")[0], outsider.email.split("@")[0]
    made = author_api.post(
        f"/cases/{team['case_id']}/comments",
        json={
            "target_type": "evidence",
            "target_id": team["item"]["id"],
            "body": f"@{handle} the shadows say afternoon; @{stranger} should not hear of this. zebrafinch",
        },
    )
    assert made.status_code == 201, made.get_data(as_text=True)
    comment = made.get_json()
    [told] = colleague_api.get("/notifications").get_json()["items"]
    assert told["kind"] == "mentioned" and told["link"].endswith(f"#comment-{comment['id']}")
    assert "shadows" not in told["text"]  # the notification says who, not what
    assert outsider_api.get("/notifications").get_json()["items"] == []
    assert outsider_api.get(f"/cases/{team['case_id']}/comments").status_code == 404
    assert outsider_api.get("/search?q=zebrafinch").get_json()["items"] == []
    assert author_api.get("/search?q=zebrafinch").get_json()["items"] == []  # comments are never indexed

    assert colleague_api.patch(f"/comments/{comment['id']}", {"body": "mine now"}).status_code == 403
    edited = author_api.patch(f"/comments/{comment['id']}", {"body": "Afternoon, by the shadows."})
    assert edited.status_code == 200
    body = edited.get_json()
    assert body["edited_at"] and [h["body"] for h in body["history"]] == [comment["body"]]
    listed = colleague_api.get(
        f"/cases/{team['case_id']}/comments?target_type=evidence&target_id={team['item']['id']}"
    ).get_json()["items"]
    assert [c["body"] for c in listed] == ["Afternoon, by the shadows."]
    assert (
        author_api.post(
            f"/cases/{team['case_id']}/comments",
            json={"target_type": "incident", "target_id": team["item"]["id"], "body": "x"},
        ).status_code
        == 422
    )  # the id is not an incident of the case
    assert (
        author_api.post(
            f"/cases/{team['case_id']}/comments",
            json={"target_type": "evidence", "target_id": team["item"]["id"], "body": " "},
        ).status_code
        == 422
    )


def test_reviewers_read_comments_and_write_none(
    team: dict[str, Any], api_for: Callable[..., tuple[Api, Account]], add_member: Callable[..., None]
) -> None:
    reviewer_api, reviewer = api_for("reviewer")
    add_member(team["case_id"], reviewer, "reviewer")
    assert reviewer_api.get(f"/cases/{team['case_id']}/comments").status_code == 200
    refused = reviewer_api.post(
        f"/cases/{team['case_id']}/comments",
        json={"target_type": "incident", "target_id": team["incident"]["id"], "body": "a reviewer's note"},
    )
    assert refused.status_code == 403


def test_the_pages(app: Flask, client: FlaskClient, team: dict[str, Any]) -> None:
    _author_api, author = team["author"]
    login(client, author)
    for kind, target, page in (
        ("evidence", team["item"]["id"], f"/evidence/{team['item']['id']}"),
        ("incident", team["incident"]["id"], f"/incidents/{team['incident']['id']}"),
    ):
        posted = client.post(
            f"/cases/{team['case_id']}/comments",
            data={"target_type": kind, "target_id": target, "body": "<script>alert(1)</script> seen twice"},
        )
        assert posted.status_code == 303 and posted.headers["Location"].startswith(page)
        html = client.get(page).get_data(as_text=True)
        assert "&lt;script&gt;alert(1)&lt;/script&gt; seen twice" in html and "<script>alert(1)" not in html
    comment_id = html.split('id="comment-', 1)[1].split('"', 1)[0]
    assert client.post(f"/comments/{comment_id}/edit", data={"body": "Seen three times."}).status_code == 303
    html = client.get(f"/incidents/{team['incident']['id']}").get_data(as_text=True)
    assert "Seen three times." in html and "Earlier versions (1)" in html
