"""Issue 22 items 2 and 3. Identity reveals can be audited: who, when and why, read from the custody ledger, on the
witness page and in `GET /witnesses/{id}` (`reveals`), never the identity itself. The case's witness list in the API
carries each witness's statements, as the witness record and page do, in a fixed number of queries."""

from __future__ import annotations

from io import BytesIO
from typing import Any

from flask import Flask
from sqlalchemy import select

from casefile.custody.models import CustodyEntry
from casefile.db import session_scope
from casefile.witnesses.schemas import WITNESS

from support import Api, counting_queries, validate
from witness_support import ARABIC, NAME, PHONE, World, finished, web_client


def reveal_entries(app: Flask) -> list[CustodyEntry]:
    with app.app_context(), session_scope() as s:
        return list(
            s.scalars(select(CustodyEntry).where(CustodyEntry.action == "identity_revealed").order_by(CustodyEntry.seq))
        )


def assert_no_identity(text: str) -> None:
    for secret in (NAME, PHONE, ARABIC):
        assert secret not in text


# --- item 2: reveals ------------------------------------------------------------------------------------------------


def test_reveals_are_listed_in_the_api_with_who_when_and_why(world: World) -> None:
    assert world.owner_api.get(f"/witnesses/{world.wid}").get_json()["reveals"] == []
    page = world.owner_web.post(f"/witnesses/{world.wid}/reveal", data={"reason": "preparing the ICC interview"})
    assert page.status_code == 200
    api_reveal = world.owner_api.get(
        f"/witnesses/{world.wid}", query_string={"reveal": "true", "reason": "court filing"}
    )
    assert api_reveal.status_code == 200
    # The response to a reveal already lists it.
    assert [r["reason"] for r in api_reveal.get_json()["reveals"]] == ["court filing", "preparing the ICC interview"]

    entries = reveal_entries(world.app)
    assert len(entries) == 2

    # A reviewer without the identity permission audits them: newest first, who, when and why; no identity.
    reviewer = world.member("reviewer", identities=False)
    response = world.api(reviewer).get(f"/witnesses/{world.wid}")
    assert response.status_code == 200
    body = response.get_json()
    validate(WITNESS, body)
    assert "identity" not in body
    assert body["reveals"] == [
        {"at": e.at.isoformat(), "by": world.owner.email, "reason": e.details["reason"], "seq": e.seq}
        for e in reversed(entries)
    ]
    assert_no_identity(response.get_data(as_text=True))
    # Reading the audit trail is not itself a reveal.
    assert len(reveal_entries(world.app)) == 2


def test_the_witness_page_shows_the_reveal_log_to_members(world: World) -> None:
    assert "Nobody has revealed this identity." in world.owner_web.get(f"/witnesses/{world.wid}").get_data(as_text=True)
    world.owner_web.post(f"/witnesses/{world.wid}/reveal", data={"reason": "<b>checking</b> the address"})
    (entry,) = reveal_entries(world.app)

    reviewer = world.member("reviewer", identities=False)
    page = web_client(world.app, reviewer).get(f"/witnesses/{world.wid}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    log = text[text.index('id="reveal-log"') :]
    log = log[: log.index("</table>")]
    assert f"{world.owner.email.split('@')[0]} (investigator)" in log  # a name and a role, not an id or an email
    assert "&lt;b&gt;checking&lt;/b&gt; the address" in log  # escaped, as everything users write
    assert entry.at.strftime("%Y-%m-%d %H:%M:%S") in log
    assert f"#{entry.seq}" in log
    assert_no_identity(text)


def test_reveals_of_one_witness_are_not_listed_on_another(world: World) -> None:
    other = world.owner_api.post(f"/cases/{world.case_id}/witnesses", json={"full_name": "Second Witness-Test"})
    assert other.status_code == 201
    other_id = other.get_json()["id"]
    world.owner_api.get(f"/witnesses/{world.wid}", query_string={"reveal": "true", "reason": "court filing"})
    assert [r["reason"] for r in world.owner_api.get(f"/witnesses/{world.wid}").get_json()["reveals"]] == [
        "court filing"
    ]
    assert world.owner_api.get(f"/witnesses/{other_id}").get_json()["reveals"] == []


def test_a_refused_reveal_is_not_listed(world: World) -> None:
    member = world.member("investigator", identities=False)
    assert world.api(member).get(f"/witnesses/{world.wid}?reveal=true&reason=curious").status_code == 403
    assert world.owner_api.get(f"/witnesses/{world.wid}?reveal=true&reason=").status_code == 422
    assert world.owner_api.get(f"/witnesses/{world.wid}").get_json()["reveals"] == []


# --- item 3: statements in the case's witness list ------------------------------------------------------------------


def add_statement(api: Api, case_id: Any, witness_id: str, title: str, interview_date: str) -> dict[str, Any]:
    data = {
        "title": title,
        "witness_id": witness_id,
        "interview_date": interview_date,
        "interviewer": "Investigator A",
        "file": (BytesIO(f"{title}\n".encode()), "statement.txt"),
        "on_duplicate": "copy",  # some tests record the same statement file for several witnesses
    }
    response = finished(api.post(f"/cases/{case_id}/evidence", data=data, content_type="multipart/form-data"))
    assert response.status_code == 201, response.get_data(as_text=True)[:300]
    return response.get_json()


def test_the_case_list_carries_each_witness_s_statements(world: World) -> None:
    later = add_statement(world.owner_api, world.case_id, world.wid, "Second interview", "2020-07-20")
    earlier = add_statement(world.owner_api, world.case_id, world.wid, "First interview", "2020-07-14")
    one = world.owner_api.get(f"/witnesses/{world.wid}").get_json()
    listed = world.owner_api.get(f"/cases/{world.case_id}/witnesses").get_json()["items"]
    assert [w["id"] for w in listed] == [world.wid]
    # The same statements, in the same (interview) order, as the witness's own record.
    assert listed[0]["statements"] == one["statements"]
    assert [s["ern"] for s in listed[0]["statements"]] == [earlier["ern"], later["ern"]]
    assert listed[0]["statements"][0]["interview_date"] == "2020-07-14"


def test_the_case_list_of_witnesses_takes_a_fixed_number_of_queries(world: World) -> None:
    add_statement(world.owner_api, world.case_id, world.wid, "Statement", "2020-07-14")
    url = f"/cases/{world.case_id}/witnesses"
    world.owner_api.get(url)  # warm up
    with counting_queries(world.app) as few:
        assert world.owner_api.get(url).status_code == 200

    for n in range(3):
        created = world.owner_api.post(f"/cases/{world.case_id}/witnesses", json={"full_name": f"Witness {n}-Test"})
        for day in (14, 15):
            add_statement(world.owner_api, world.case_id, created.get_json()["id"], f"S{n}", f"2020-07-{day}")
    with counting_queries(world.app) as many:
        response = world.owner_api.get(url)
    assert sum(len(w["statements"]) for w in response.get_json()["items"]) == 7
    assert len(many) == len(few), many
