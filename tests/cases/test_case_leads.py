"""Case leads: a per-membership right to manage the case's members without being an administrator. The creator of
a case is its first lead; a lead (or an administrator) makes others leads; a lead may not hand out the identity
permission they lack; reviewers are never leads. From the API and from the members page (with its picker)."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient

from casefile.auth.models import Membership
from casefile.db import session_scope

from support import Account, Api, login


def members(api: Api, case_id: str) -> dict[str, dict]:
    response = api.get(f"/cases/{case_id}/members")
    assert response.status_code == 200, response.get_data(as_text=True)
    return {m["email"]: m for m in response.get_json()["items"]}


def test_the_creator_leads_and_a_lead_manages_members_over_the_api(
    api_for: Callable[..., tuple[Api, Account]], make_user: Callable[..., Account]
) -> None:
    lead_api, lead = api_for("investigator")
    case_id = lead_api.post("/cases", {"reference": "LEAD", "title": "Lead test"}).get_json()["id"]
    assert members(lead_api, case_id)[lead.email]["lead"] is True

    colleague_api, colleague = api_for("investigator")
    added = lead_api.post(f"/cases/{case_id}/members", {"email": colleague.email, "role": "investigator"})
    assert added.status_code == 201, added.get_data(as_text=True)
    assert added.get_json()["lead"] is False
    # A member who is not a lead manages nothing.
    third = make_user("legal")
    refused = colleague_api.post(f"/cases/{case_id}/members", {"email": third.email, "role": "legal"})
    assert refused.status_code == 403
    assert "leads" in refused.get_json()["error"]["message"]
    assert colleague_api.delete(f"/cases/{case_id}/members/{lead.id}").status_code == 403

    # The lead makes the colleague a lead too; the colleague then adds and removes a member.
    promoted = lead_api.post(
        f"/cases/{case_id}/members", {"email": colleague.email, "role": "investigator", "lead": True}
    )
    assert promoted.status_code == 201 and promoted.get_json()["lead"] is True
    assert colleague_api.post(f"/cases/{case_id}/members", {"email": third.email, "role": "legal"}).status_code == 201
    assert third.email in members(lead_api, case_id)
    assert colleague_api.delete(f"/cases/{case_id}/members/{third.id}").status_code == 204
    assert third.email not in members(lead_api, case_id)
    assert colleague_api.delete(f"/cases/{case_id}/members/{third.id}").status_code == 404
    # Changing a member's role without naming `lead` keeps the right.
    kept = lead_api.post(f"/cases/{case_id}/members", {"email": colleague.email, "role": "legal"})
    assert kept.get_json()["lead"] is True

    # Outside the case a lead is nobody.
    other_api, _other = api_for("investigator")
    other_case = other_api.post("/cases", {"reference": "OTHER", "title": "Other"}).get_json()["id"]
    assert lead_api.post(f"/cases/{other_case}/members", {"email": third.email, "role": "legal"}).status_code == 404


def test_leads_cannot_give_what_they_lack_and_reviewers_never_lead(
    api_for: Callable[..., tuple[Api, Account]], make_user: Callable[..., Account]
) -> None:
    lead_api, _lead = api_for("investigator")
    case_id = lead_api.post("/cases", {"reference": "IDS", "title": "Identities"}).get_json()["id"]
    newcomer = make_user("investigator")
    # The creator joins without the identity permission: they cannot grant it.
    refused = lead_api.post(
        f"/cases/{case_id}/members", {"email": newcomer.email, "role": "investigator", "can_view_identities": True}
    )
    assert refused.status_code == 422 and "can_view_identities" in refused.get_json()["error"]["fields"]
    admin_api, _admin = api_for("admin")
    granted = admin_api.post(
        f"/cases/{case_id}/members", {"email": newcomer.email, "role": "investigator", "can_view_identities": True}
    )
    assert granted.status_code == 201 and granted.get_json()["can_view_identities"] is True
    # A lead may keep a permission someone already has while changing their role.
    assert (
        lead_api.post(
            f"/cases/{case_id}/members", {"email": newcomer.email, "role": "legal", "can_view_identities": True}
        ).status_code
        == 201
    )

    reviewer = make_user("reviewer")
    no_lead = lead_api.post(f"/cases/{case_id}/members", {"email": reviewer.email, "role": "reviewer", "lead": True})
    assert no_lead.status_code == 422 and "lead" in no_lead.get_json()["error"]["fields"]
    promoted = admin_api.post(f"/cases/{case_id}/members", {"email": newcomer.email, "role": "legal", "lead": True})
    assert promoted.get_json()["lead"] is True
    demoted = admin_api.post(f"/cases/{case_id}/members", {"email": newcomer.email, "role": "reviewer"})
    assert demoted.get_json()["lead"] is False  # a reviewer only reads


def test_the_members_page_for_a_lead_has_the_picker(
    app: Flask, client: FlaskClient, make_user: Callable[..., Account], make_case: Callable[..., uuid.UUID]
) -> None:
    lead = make_user("investigator")
    case_id = make_case(lead, "PAGE")
    someone = make_user("legal", email="amal.legal@example.org")
    login(client, lead)
    page = client.get(f"/cases/{case_id}/members").get_data(as_text=True)
    assert 'list="people"' in page and '<option value="amal.legal@example.org">' in page
    added = client.post(f"/cases/{case_id}/members", data={"email": someone.email, "role": "legal", "lead": "y"})
    assert added.status_code == 302
    page = client.get(f"/cases/{case_id}/members").get_data(as_text=True)
    assert page.count(">lead<") == 2
    removed = client.post(f"/cases/{case_id}/members/{someone.id}/remove")
    assert removed.status_code == 302
    members_table = client.get(f"/cases/{case_id}/members").get_data(as_text=True).split("</table>")[0]
    assert someone.email not in members_table

    member = make_user("investigator")
    with app.app_context(), session_scope() as s:
        s.add(Membership(case_id=case_id, user_id=member.id, role="investigator"))
    other = app.test_client()
    login(other, member)
    page = other.get(f"/cases/{case_id}/members").get_data(as_text=True)
    assert 'list="people"' not in page and "Save member" not in page
    assert other.post(f"/cases/{case_id}/members", data={"email": lead.email, "role": "reviewer"}).status_code == 403
