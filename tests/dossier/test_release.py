"""Release takes two people: a built dossier is approved by a legal member of the case who did not build it before
anyone can download it; approval and download are ledgered."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from flask import Flask

from casefile.custody.actions import Action

from support import Account, Api, build_dossier_now, case_for_a_dossier, ledger


def test_a_second_legal_member_approves_before_anyone_downloads(
    app: Flask,
    api_for: Callable[..., tuple[Api, Account]],
    add_member: Callable[..., None],
) -> None:
    builder_api, builder = api_for("legal")
    case = case_for_a_dossier(builder_api, "REL")
    dossier = build_dossier_now(builder_api, app, case["id"], {"profile": "generic"}, approve=False)
    assert dossier["status"] == "ready" and dossier["released"] is False
    path = f"/dossiers/{dossier['id']}"

    waiting = builder_api.get(f"{path}/download")
    assert waiting.status_code == 409 and "awaits approval" in waiting.get_json()["error"]["message"]
    own = builder_api.post(f"{path}/approve")
    assert own.status_code == 403
    assert (
        own.get_json()["error"]["message"] == "You built this dossier: a second legal member must approve its release."
    )

    investigator_api, investigator = api_for("investigator")
    add_member(case["id"], investigator, "investigator")
    reviewer_api, reviewer = api_for("reviewer")
    add_member(case["id"], reviewer, "reviewer")
    outsider_api, _outsider = api_for("legal")
    for who, status in ((investigator_api, 403), (reviewer_api, 403), (outsider_api, 404)):
        assert who.post(f"{path}/approve").status_code == status
    assert builder_api.get(path).get_json()["released"] is False

    approver_api, approver = api_for("legal")
    add_member(case["id"], approver, "legal")
    before = len(ledger(app))
    approved = approver_api.post(f"{path}/approve")
    assert approved.status_code == 200, approved.get_data(as_text=True)
    body = approved.get_json()
    assert body["released"] is True and body["approved_by_id"] == str(approver.id) and body["approved_at"]
    [entry] = ledger(app)[before:]
    assert entry.action == Action.RELEASE_APPROVED and entry.actor == f"user:{approver.id}"
    assert entry.details == {"dossier": dossier["id"], "dossier_sha256": dossier["sha256"]}
    assert approver_api.post(f"{path}/approve").status_code == 409  # once

    download = builder_api.get(f"{path}/download")
    assert download.status_code == 200 and len(download.get_data()) == dossier["size"]
    download.close()  # the streamed file
    assert [e.action for e in ledger(app)[before + 1 :]] == [Action.DOWNLOADED, Action.DOWNLOAD_COMPLETED]
    assert uuid.UUID(body["approved_by_id"]) == approver.id and builder.id != approver.id


def test_a_dossier_still_building_cannot_be_approved(
    app: Flask, api_for: Callable[..., tuple[Api, Account]], add_member: Callable[..., None]
) -> None:
    builder_api, _builder = api_for("legal")
    case = case_for_a_dossier(builder_api, "BLD")
    accepted = builder_api.post(f"/cases/{case['id']}/dossiers", json={"profile": "generic"}).get_json()
    approver_api, approver = api_for("legal")
    add_member(case["id"], approver, "legal")
    refused = approver_api.post(f"/dossiers/{accepted['id']}/approve")
    assert refused.status_code == 409 and "has been built" in refused.get_json()["error"]["message"]
