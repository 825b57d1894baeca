"""Protected witness identities (DESIGN §2 Witness, §6): pseudonym codes everywhere, the identity only on an
explicit, reasoned reveal by a member holding the case's identity permission, and each reveal exactly one custody
entry that names the witness code and the reason, never the person."""

from __future__ import annotations

import html
import json
import threading
import uuid
from collections.abc import Callable
from io import BytesIO
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from casefile.custody.models import CustodyEntry
from casefile.db import session_scope
from casefile.evidence.models import EvidenceItem
from casefile.witnesses.models import Statement, Witness

from support import Account, Api
from witness_support import ARABIC, IDENTITY, NAME, PHONE, World, web_client

# Opening the identity edit form is an explicit, recorded reveal (a POST).
OPEN_EDIT = {"step": "open", "reason": "editing the identity"}

SECRETS = (NAME, PHONE, ARABIC, "Zubaida", "Qarawi", "5550199")
# What the web forms send in the tests that are not about the date of birth (see test_web_forms_accept_a_date_of_birth).
FORM_IDENTITY = {"full_name": NAME, "other_names": ARABIC, "contact": PHONE}

# --- helpers --------------------------------------------------------------------------------------------------------


def body_texts(response: Any) -> list[str]:
    """Every form a secret could take in a response: raw, HTML-unescaped, and JSON decoded (jsonify escapes
    non-ASCII characters as \\uXXXX, so a raw substring check alone would miss an Arabic name)."""
    raw = response.get_data(as_text=True)
    texts = [raw, html.unescape(raw)]
    if response.is_json:
        texts.append(json.dumps(response.get_json(), ensure_ascii=False))
    texts.extend(str(v) for v in response.headers.values())
    return texts


def assert_no_identity(response: Any, secrets: tuple[str, ...] = SECRETS) -> None:
    for text in body_texts(response):
        for secret in secrets:
            assert secret not in text, f"{secret!r} leaked in {response.request.path} ({response.status_code})"


def shows_identity(response: Any) -> bool:
    return any(NAME in t and PHONE in t and ARABIC in t for t in body_texts(response))


def register_api(api: Api, case_id: Any, identity: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    response = api.post(f"/cases/{case_id}/witnesses", json={**(identity or IDENTITY), **extra})
    assert response.status_code == 201, response.get_data(as_text=True)[:500]
    assert_no_identity(response)
    return response.get_json()


def reveals(app: Flask) -> list[CustodyEntry]:
    with app.app_context(), session_scope() as s:
        entries = list(
            s.scalars(select(CustodyEntry).where(CustodyEntry.action == "identity_revealed").order_by(CustodyEntry.seq))
        )
        s.expunge_all()
    return entries


def ledger_size(app: Flask) -> int:
    with app.app_context(), session_scope() as s:
        return s.scalar(select(func.count()).select_from(CustodyEntry)) or 0


def assert_entry_safe(entry: CustodyEntry) -> None:
    dumped = json.dumps(entry.details, ensure_ascii=False)
    for secret in SECRETS:
        assert secret not in dumped, entry.details


# --- registration and pseudonyms ------------------------------------------------------------------------------------


def test_codes_are_assigned_in_order_per_case_via_form_and_api(
    app: Flask, make_user: Callable[..., Account], make_case, add_member, api_for
) -> None:
    owner = make_user("investigator")
    first_case = make_case(owner, "ONE")
    second_case = make_case(owner, "TWO")
    client = web_client(app, owner)
    api, _ = api_for(account=owner)

    form = client.post(f"/cases/{first_case}/witnesses/new", data={**FORM_IDENTITY, "risk_level": "high"})
    assert form.status_code == 302, form.get_data(as_text=True)[:500]
    assert_no_identity(form)
    page = client.get(form.headers["Location"])
    assert page.status_code == 200
    assert "W-0001" in page.get_data(as_text=True)
    assert_no_identity(page)

    via_api = register_api(api, first_case, risk_level="extreme")
    assert via_api["code"] == "W-0002"
    assert via_api["risk_level"] == "extreme"
    assert "identity" not in via_api
    other = register_api(api, second_case)
    assert other["code"] == "W-0001"
    third = client.post(f"/cases/{first_case}/witnesses/new", data={"full_name": "Someone Else"})
    assert third.status_code == 302

    with app.app_context(), session_scope() as s:
        rows = s.execute(select(Witness.case_id, Witness.code, Witness.risk_level).order_by(Witness.created_at)).all()
    assert [(c, code, risk.value) for c, code, risk in rows] == [
        (first_case, "W-0001", "high"),
        (first_case, "W-0002", "extreme"),
        (second_case, "W-0001", "medium"),
        (first_case, "W-0003", "medium"),
    ]
    listing = api.get(f"/cases/{first_case}/witnesses").get_json()
    assert [w["code"] for w in listing["items"]] == ["W-0001", "W-0002", "W-0003"]
    # Registering is not a reveal.
    assert reveals(app) == []


def test_concurrent_registrations_get_unique_gapless_codes(world: World) -> None:
    token_holders = [world.api_for(account=world.owner)[0] for _ in range(6)]
    results: list[Any] = []
    errors: list[BaseException] = []

    def register(api: Api) -> None:
        try:
            for n in range(3):
                response = api.post(f"/cases/{world.case_id}/witnesses", json={"full_name": f"Concurrent {n}"})
                results.append((response.status_code, response.get_json()))
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=register, args=(api,)) for api in token_holders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert [status for status, _body in results] == [201] * 18, results
    codes = sorted(body["code"] for _status, body in results)
    assert codes == [f"W-{n:04d}" for n in range(2, 20)]  # W-0001 is the world's witness


def test_web_forms_accept_a_date_of_birth(world: World) -> None:
    """The register and edit forms have a date-of-birth field (a WTForms DateField, which yields a `date`); a
    witness registered or edited with a date of birth must be saved, not refused with "Must be text."."""
    client = web_client(world.app, world.owner)
    created = client.post(f"/cases/{world.case_id}/witnesses/new", data={**IDENTITY, "risk_level": "high"})
    assert created.status_code == 302, "registering with a date of birth was refused"
    assert_no_identity(created)
    # Editing a witness whose identity has a date of birth re-submits the pre-filled date.
    wid = world.witness["id"]
    assert client.post(f"/witnesses/{wid}/identity", data=OPEN_EDIT).status_code == 200
    saved = client.post(f"/witnesses/{wid}/identity", data={**IDENTITY, "date_of_birth": "1985-04-03"})
    assert saved.status_code == 302, "editing with a date of birth was refused"
    revealed = world.owner_api.get(f"/witnesses/{wid}", query_string={"reveal": "true", "reason": "check"})
    assert revealed.get_json()["identity"]["date_of_birth"] == "1985-04-03"


def test_registration_refuses_bad_input_without_echoing_the_identity(
    app: Flask, make_user: Callable[..., Account], make_case, api_for
) -> None:
    owner = make_user("investigator")
    case_id = make_case(owner, "BAD")
    api, _ = api_for(account=owner)
    for payload in (
        {**IDENTITY, "risk_level": "apocalyptic"},
        {**IDENTITY, "date_of_birth": "02/03/1984"},
        {**IDENTITY, "full_name": ""},
        {**IDENTITY, "nickname": "x"},
        {**IDENTITY, "contact": PHONE * 100},
    ):
        response = api.post(f"/cases/{case_id}/witnesses", json=payload)
        assert response.status_code == 422, (payload, response.status_code)
        assert_no_identity(response)
    with app.app_context(), session_scope() as s:
        assert s.scalar(select(func.count()).select_from(Witness)) == 0


def test_reviewer_cannot_register_a_witness(world: World) -> None:
    reviewer = world.member("reviewer", identities=True)
    response = world.api(reviewer).post(f"/cases/{world.case_id}/witnesses", json=IDENTITY)
    assert response.status_code == 403
    page = web_client(world.app, reviewer).post(f"/cases/{world.case_id}/witnesses/new", data=IDENTITY)
    assert page.status_code == 403
    assert_no_identity(page)


# --- members without the permission ---------------------------------------------------------------------------------


def test_member_without_permission_sees_no_identity_and_cannot_reveal(world: World) -> None:
    investigator = world.member("investigator", identities=False)
    client = web_client(world.app, investigator)
    wid = world.witness["id"]
    before = ledger_size(world.app)

    page = client.get(f"/witnesses/{wid}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "W-0001" in text
    assert f"/witnesses/{wid}/reveal" not in text
    assert 'name="reason"' not in text
    assert_no_identity(page)

    refused = client.post(f"/witnesses/{wid}/reveal", data={"reason": "curious"})
    assert refused.status_code == 403
    assert_no_identity(refused)
    edit = client.post(f"/witnesses/{wid}/identity", data=OPEN_EDIT)
    assert edit.status_code == 403
    assert_no_identity(edit)
    edit_post = client.post(f"/witnesses/{wid}/identity", data={"full_name": "Overwritten"})
    assert edit_post.status_code == 403

    api = world.api(investigator)
    for query in ("?reveal=true&reason=x", "?reveal=TRUE&reason=x", "?reveal=true"):
        response = api.get(f"/witnesses/{wid}{query}")
        assert response.status_code == 403, query
        assert response.get_json()["error"]["code"] == "forbidden"
        assert_no_identity(response)
    plain = api.get(f"/witnesses/{wid}")
    assert plain.status_code == 200
    assert "identity" not in plain.get_json()
    assert_no_identity(plain)

    assert reveals(world.app) == []
    assert ledger_size(world.app) == before


@pytest.mark.parametrize("identities", [True, False])
def test_reviewer_reveals_only_with_the_identity_permission(world: World, identities: bool) -> None:
    reviewer = world.member("reviewer", identities=identities)
    client = web_client(world.app, reviewer)
    wid = world.witness["id"]
    page = client.get(f"/witnesses/{wid}")
    assert page.status_code == 200
    assert (f"/witnesses/{wid}/reveal" in page.get_data(as_text=True)) is identities
    assert_no_identity(page)

    web = client.post(f"/witnesses/{wid}/reveal", data={"reason": "audit of the file"})
    api = world.api(reviewer).get(f"/witnesses/{wid}", query_string={"reveal": "true", "reason": "audit"})
    if identities:
        assert web.status_code == 200
        assert shows_identity(web)
        assert api.status_code == 200
        assert api.get_json()["identity"]["full_name"] == NAME
        assert len(reveals(world.app)) == 2
    else:
        assert web.status_code == 403
        assert api.status_code == 403
        assert_no_identity(web)
        assert_no_identity(api)
        assert reveals(world.app) == []
    # Read-only all the same: the identity permission does not make a reviewer a writer.
    assert client.post(f"/witnesses/{wid}/identity", data=OPEN_EDIT).status_code == 403
    assert client.post(f"/witnesses/{wid}/consent", data={"purpose": "share_icc", "granted": "true"}).status_code == 403
    assert len(reveals(world.app)) == (2 if identities else 0)


# --- members with the permission ------------------------------------------------------------------------------------


@pytest.mark.parametrize("reason", ["", "   ", "\t\n"])
def test_reveal_requires_a_reason(world: World, reason: str) -> None:
    client = web_client(world.app, world.owner)
    wid = world.witness["id"]
    before = ledger_size(world.app)

    page = client.post(f"/witnesses/{wid}/reveal", data={"reason": reason})
    assert page.status_code == 422
    assert_no_identity(page)
    missing = client.post(f"/witnesses/{wid}/reveal", data={})
    assert missing.status_code == 422
    assert_no_identity(missing)

    for query in ({"reveal": "true", "reason": reason}, {"reveal": "true"}):
        response = world.owner_api.get(f"/witnesses/{wid}", query_string=query)
        assert response.status_code == 422, query
        assert "identity" not in response.get_json()
        assert_no_identity(response)

    assert reveals(world.app) == []
    assert ledger_size(world.app) == before


def test_reveal_with_a_reason_shows_the_identity_and_writes_one_entry(world: World) -> None:
    client = web_client(world.app, world.owner)
    wid = world.witness["id"]
    before = ledger_size(world.app)

    page = client.post(f"/witnesses/{wid}/reveal", data={"reason": "preparing the ICC interview"})
    assert page.status_code == 200
    assert shows_identity(page)
    assert "1984-03-02" in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"

    (entry,) = reveals(world.app)
    assert ledger_size(world.app) == before + 1
    assert entry.details["witness"] == "W-0001"
    assert entry.details["reason"] == "preparing the ICC interview"
    assert entry.actor == f"user:{world.owner.id}"
    assert entry.case_id == uuid.UUID(world.witness["case_id"])
    assert entry.evidence_id is None
    assert_entry_safe(entry)

    # The next plain visit shows the pseudonym again: a reveal is for one response only.
    again = client.get(f"/witnesses/{wid}")
    assert again.status_code == 200
    assert_no_identity(again)
    assert len(reveals(world.app)) == 1


def test_api_reveal_returns_the_identity_and_writes_one_entry(world: World) -> None:
    wid = world.witness["id"]
    before = ledger_size(world.app)
    response = world.owner_api.get(f"/witnesses/{wid}", query_string={"reveal": "true", "reason": "court filing"})
    assert response.status_code == 200
    body = response.get_json()
    assert body["identity"] == {
        "full_name": NAME,
        "other_names": ARABIC,
        "contact": PHONE,
        "date_of_birth": "1984-03-02",
        "address": "",
        "notes": "",
    }
    assert response.headers["Cache-Control"] == "no-store"
    (entry,) = reveals(world.app)
    assert ledger_size(world.app) == before + 1
    assert entry.details == {"witness": "W-0001", "reason": "court filing"}
    assert_entry_safe(entry)

    # Without reveal=true nothing is revealed and nothing is recorded, whatever else is asked.
    for query in ({}, {"reveal": "false", "reason": "x"}, {"reveal": "1", "reason": "x"}, {"reason": "x"}):
        plain = world.owner_api.get(f"/witnesses/{wid}", query_string=query)
        assert plain.status_code == 200
        assert "identity" not in plain.get_json()
        assert_no_identity(plain)
    assert len(reveals(world.app)) == 1


def test_lists_never_carry_the_identity_even_for_permitted_members(world: World) -> None:
    listing = world.owner_api.get(f"/cases/{world.case_id}/witnesses")
    assert listing.status_code == 200
    assert_no_identity(listing)
    assert all("identity" not in item for item in listing.get_json()["items"])
    page = web_client(world.app, world.owner).get(f"/cases/{world.case_id}/witnesses")
    assert page.status_code == 200
    assert "W-0001" in page.get_data(as_text=True)
    assert_no_identity(page)
    assert reveals(world.app) == []


def test_the_identity_edit_form_cannot_be_opened_by_a_get(world: World) -> None:
    """Opening the edit form reveals the identity, so it takes a POST with the CSRF token: no link, prefetch
    or image tag can cause a reveal."""
    client = web_client(world.app, world.owner)
    assert client.get(f"/witnesses/{world.witness['id']}/identity").status_code == 405
    assert reveals(world.app) == []


def test_editing_the_identity_records_the_prefill_as_a_reveal(world: World) -> None:
    client = web_client(world.app, world.owner)
    wid = world.witness["id"]

    form = client.post(f"/witnesses/{wid}/identity", data=OPEN_EDIT)
    assert form.status_code == 200
    assert shows_identity(form)
    (entry,) = reveals(world.app)
    assert entry.details["witness"] == "W-0001"
    assert entry.details["reason"]
    assert_entry_safe(entry)

    new_phone = "+218-92-5550777"
    saved = client.post(
        f"/witnesses/{wid}/identity", data={**FORM_IDENTITY, "contact": new_phone, "address": "Tarhouna, district 3"}
    )
    assert saved.status_code == 302
    assert_no_identity(saved)
    # Saving is not another reveal; the change itself is recorded without its content.
    assert len(reveals(world.app)) == 1
    with world.app.app_context(), session_scope() as s:
        changes = list(s.scalars(select(CustodyEntry).where(CustodyEntry.action == "metadata_changed")))
        assert len(changes) == 1
        assert changes[0].details == {"witness": "W-0001", "changed": "protected identity"}
        ciphertext = s.scalar(select(Witness.identity_ciphertext).where(Witness.id == uuid.UUID(wid)))
    assert new_phone not in ciphertext and "Tarhouna" not in ciphertext
    revealed = world.owner_api.get(f"/witnesses/{wid}", query_string={"reveal": "true", "reason": "check the edit"})
    assert revealed.get_json()["identity"]["contact"] == new_phone
    assert revealed.get_json()["identity"]["address"] == "Tarhouna, district 3"

    # A refused edit changes nothing and records nothing more.
    bad = client.post(f"/witnesses/{wid}/identity", data={**FORM_IDENTITY, "full_name": ""})
    assert bad.status_code == 422
    assert len(reveals(world.app)) == 2
    again = world.owner_api.get(f"/witnesses/{wid}", query_string={"reveal": "true", "reason": "after refusal"})
    assert again.get_json()["identity"]["contact"] == new_phone


def test_investigator_with_permission_but_reviewer_role_cannot_edit(world: World) -> None:
    reviewer = world.member("reviewer", identities=True)
    client = web_client(world.app, reviewer)
    wid = world.witness["id"]
    assert client.post(f"/witnesses/{wid}/identity", data=OPEN_EDIT).status_code == 403
    assert client.post(f"/witnesses/{wid}/identity", data={"full_name": "Changed"}).status_code == 403
    # Refused before anything was decrypted: no reveal was recorded.
    assert reveals(world.app) == []


# --- isolation ------------------------------------------------------------------------------------------------------


def test_non_member_gets_404_everywhere(world: World) -> None:
    outsider = world.make_user("investigator")
    client = web_client(world.app, outsider)
    api = world.api(outsider)
    wid = world.witness["id"]
    before = ledger_size(world.app)
    responses = [
        client.get(f"/witnesses/{wid}"),
        client.post(f"/witnesses/{wid}/reveal", data={"reason": "x"}),
        client.post(f"/witnesses/{wid}/identity", data=OPEN_EDIT),
        client.post(f"/witnesses/{wid}/identity", data={"full_name": "x"}),
        client.post(f"/witnesses/{wid}/consent", data={"purpose": "share_icc", "granted": "true", "how_recorded": "x"}),
        client.post(f"/witnesses/{wid}/risk", data={"risk_level": "low"}),
        client.get(f"/cases/{world.case_id}/witnesses"),
        client.get(f"/cases/{world.case_id}/witnesses/new"),
        client.post(f"/cases/{world.case_id}/witnesses/new", data={"full_name": "x"}),
        api.get(f"/witnesses/{wid}"),
        api.get(f"/witnesses/{wid}?reveal=true&reason=x"),
        api.get(f"/cases/{world.case_id}/witnesses"),
        api.post(f"/cases/{world.case_id}/witnesses", json={"full_name": "x"}),
        api.post(f"/witnesses/{wid}/consents", json={"purpose": "share_icc", "granted": True, "how_recorded": "x"}),
    ]
    for response in responses:
        assert response.status_code == 404, (response.request.method, response.request.path, response.status_code)
        assert_no_identity(response)
        assert "W-0001" not in response.get_data(as_text=True)
    # Even an admin outside the case: membership decides, not the global role.
    admin = world.make_user("admin")
    assert web_client(world.app, admin).post(f"/witnesses/{wid}/reveal", data={"reason": "x"}).status_code == 404
    assert world.api(admin).get(f"/witnesses/{wid}?reveal=true&reason=x").status_code == 404
    assert reveals(world.app) == []
    assert ledger_size(world.app) == before


def test_unknown_or_malformed_witness_ids_are_404(world: World) -> None:
    client = web_client(world.app, world.owner)
    for wid in (str(uuid.uuid4()), "not-a-uuid", "1"):
        assert client.get(f"/witnesses/{wid}").status_code == 404
        assert client.post(f"/witnesses/{wid}/reveal", data={"reason": "x"}).status_code == 404
        assert world.owner_api.get(f"/witnesses/{wid}?reveal=true&reason=x").status_code == 404


def test_membership_removed_means_no_more_reveals(world: World) -> None:
    member = world.member("investigator", identities=True)
    api = world.api(member)
    wid = world.witness["id"]
    assert api.get(f"/witnesses/{wid}?reveal=true&reason=first").status_code == 200
    world.add_member(world.case_id, member, "investigator", identities=False)
    assert api.get(f"/witnesses/{wid}?reveal=true&reason=second").status_code == 403
    assert len(reveals(world.app)) == 1


# --- statements must belong to the same case ------------------------------------------------------------------------


def _counts(app: Flask) -> tuple[int, int, int, int]:
    with app.app_context(), session_scope() as s:
        blobs = len(list(app.extensions["casefile_blobs"].iter_hashes()))
        return (
            s.scalar(select(func.count()).select_from(EvidenceItem)) or 0,
            s.scalar(select(func.count()).select_from(Statement)) or 0,
            s.scalar(select(func.count()).select_from(CustodyEntry)) or 0,
            blobs,
        )


def test_another_cases_witness_is_refused_in_a_web_upload(world: World, make_case) -> None:
    other_case = make_case(world.owner, "OTH")
    foreign = register_api(world.owner_api, other_case)
    client = web_client(world.app, world.owner)
    before = _counts(world.app)
    for witness_id in (foreign["id"], str(uuid.uuid4()), "not-a-uuid"):
        response = client.post(
            f"/cases/{world.case_id}/evidence/upload",
            data={
                "file": (BytesIO(b"statement text " + witness_id.encode()), "statement.txt"),
                "title": "Statement",
                "classification": "confidential",
                "witness_id": witness_id,
                "interview_date": "2020-07-14",
            },
            content_type="multipart/form-data",
        )
        assert response.status_code == 422, (witness_id, response.status_code)
    assert _counts(world.app) == before


def test_another_cases_witness_is_refused_in_an_api_upload(world: World, make_case) -> None:
    """POST /api/v1/cases/{id}/evidence documents `witness_id` (casefile/api/schemas.py); a witness of another case
    must be refused like an unknown one, and nothing stored."""
    other_case = make_case(world.owner, "OTH")
    foreign = register_api(world.owner_api, other_case)
    before = _counts(world.app)
    for witness_id in (foreign["id"], str(uuid.uuid4()), "not-a-uuid"):
        response = world.owner_api.post(
            f"/cases/{world.case_id}/evidence",
            data={
                "file": (BytesIO(b"statement text " + witness_id.encode()), "statement.txt"),
                "title": "Statement",
                "witness_id": witness_id,
                "interview_date": "2020-07-14",
            },
            content_type="multipart/form-data",
        )
        response.close()
        assert response.status_code == 422, (witness_id, response.status_code, response.get_data(as_text=True)[:300])
        assert response.get_json()["error"]["fields"].keys() == {"witness_id"}
    assert _counts(world.app) == before
