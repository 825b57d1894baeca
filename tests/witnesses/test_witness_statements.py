"""Statements and key rotation (DESIGN §2 Witness, §6): a file ingested for a witness becomes one of their
statements (a testimony with the circumstances of the interview, linked in the custody ledger), listed in interview
order with its derivatives; `flask keys rotate-fields` re-encrypts every identity under the first key, all or
nothing, and a wrong key yields a clear error, never garbage."""

from __future__ import annotations

import base64
import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from io import BytesIO
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from casefile import create_app
from casefile.auth import services as auth_services
from casefile.auth.models import User
from casefile.config import Settings
from casefile.custody.models import CustodyEntry
from casefile.db import session_scope
from casefile.evidence.models import EvidenceItem
from casefile.witnesses.crypto import key_fingerprint
from casefile.witnesses.models import Statement, Witness

from support import Account, Api
from witness_support import ARABIC, NAME, PHONE, World, finished, web_client

OLD_KEY = b"k" * 32  # the fixture's key (tests/conftest.py)
INTERVIEWS = [
    # Sent in this order on purpose: the later interview first.
    {"interview_date": "2020-07-20", "interview_place": "Misrata", "interviewer": "Investigator B",
     "language": "Arabic", "interpreter": "Interpreter Y"},
    {"interview_date": "2020-07-14", "interview_place": "Tripoli", "interviewer": "Investigator A",
     "language": "Tamazight", "interpreter": "Interpreter X"},
]  # fmt: skip

# --- helpers --------------------------------------------------------------------------------------------------------


def api_upload(api: Api, path: str, content: bytes, name: str, **fields: Any) -> Any:
    return finished(
        api.post(path, data={**fields, "file": (BytesIO(content), name)}, content_type="multipart/form-data")
    )


def token_for(app: Flask, account: Account) -> str:
    with app.app_context(), session_scope() as s:
        user = s.get(User, account.id)
        assert user is not None
        return auth_services.create_api_token(s, user)


@contextmanager
def app_with(settings: Settings, *keys: bytes) -> Iterator[Flask]:
    """A second instance of the application on the same database and blob store, with other field keys."""
    other = create_app(settings.with_overrides(field_keys=tuple(keys)))
    try:
        yield other
    finally:
        other.extensions["casefile_db"].dispose()


def ciphertexts(app: Flask) -> dict[str, str]:
    with app.app_context(), session_scope() as s:
        return {str(w.id): w.identity_ciphertext for w in s.scalars(select(Witness))}


def linked_entries(app: Flask) -> list[tuple[uuid.UUID | None, str | None, dict[str, Any]]]:
    with app.app_context(), session_scope() as s:
        return [
            (e.evidence_id, e.sha256, e.details)
            for e in s.scalars(select(CustodyEntry).where(CustodyEntry.action == "linked").order_by(CustodyEntry.seq))
        ]


def check_statements(world: World, items: list[dict[str, Any]], translation: dict[str, Any]) -> None:
    """What every statement path must leave behind, whichever way the files came in."""
    later, earlier = items
    with world.app.app_context(), session_scope() as s:
        kinds = {str(i.id): i.kind.value for i in s.scalars(select(EvidenceItem))}
        rows = {str(st.evidence_id): st for st in s.scalars(select(Statement))}
        s.expunge_all()
    assert kinds[later["id"]] == kinds[earlier["id"]] == "testimony"
    assert kinds[translation["id"]] != "testimony" or translation["id"] not in rows
    assert set(rows) == {later["id"], earlier["id"]}
    for item, interview in zip(items, INTERVIEWS, strict=True):
        row = rows[item["id"]]
        assert str(row.witness_id) == world.wid
        assert row.interview_date.isoformat() == interview["interview_date"]
        assert row.interview_place == interview["interview_place"]
        assert row.interviewer == interview["interviewer"]
        assert row.language == interview["language"]
        assert row.interpreter == interview["interpreter"]

    # The API lists them in interview order, whatever the order of ingest.
    body = world.owner_api.get(f"/witnesses/{world.wid}").get_json()
    assert [st["ern"] for st in body["statements"]] == [earlier["ern"], later["ern"]]
    assert [st["interview_date"] for st in body["statements"]] == ["2020-07-14", "2020-07-20"]
    assert body["statements"][0]["interviewer"] == "Investigator A"
    assert body["statements"][0]["language"] == "Tamazight"
    assert body["statements"][0]["interpreter"] == "Interpreter X"
    assert "identity" not in body

    # Each statement is linked to the witness in the ledger, by pseudonym, with the file's hash.
    linked = [entry for entry in linked_entries(world.app) if entry[2].get("target_type") == "witness"]
    assert sorted((str(e), sha, d["target_id"]) for e, sha, d in linked) == sorted(
        (item["id"], item["sha256"], "W-0001") for item in items
    )


def check_witness_page(world: World, items: list[dict[str, Any]], translation: dict[str, Any]) -> None:
    later, earlier = items
    page = web_client(world.app, world.owner).get(f"/witnesses/{world.wid}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    table = text[text.index('id="statements"') :]
    assert table.index("2020-07-14") < table.index("2020-07-20")
    assert table.index(earlier["ern"]) < table.index(later["ern"])
    for word in ("Investigator A", "Investigator B", "Tamazight", "Interpreter X", "Tripoli", "Misrata"):
        assert word in table, word
    # The translation is listed with the statement it derives from.
    rows = re.findall(r"<tr>(.*?)</tr>", table, flags=re.S)
    (earlier_row,) = [r for r in rows if earlier["ern"] in r]
    assert translation["ern"] in earlier_row
    assert NAME not in text and PHONE not in text


# --- statements -------------------------------------------------------------------------------------------------------


def test_statements_through_the_api(world: World) -> None:
    """POST /api/v1/cases/{id}/evidence documents witness_id and the interview fields (casefile/api/schemas.py)."""
    items = []
    for number, interview in enumerate(INTERVIEWS, start=1):
        response = api_upload(
            world.owner_api,
            f"/cases/{world.case_id}/evidence",
            f"Statement {number} of W-0001.\n".encode(),
            f"statement-{number}.txt",
            kind="photo",  # a statement is a testimony whatever kind is sent
            title=f"Statement {number}",
            witness_id=world.wid,
            **interview,
        )
        assert response.status_code == 201, response.get_data(as_text=True)[:300]
        assert response.get_json()["kind"] == "testimony"
        items.append(response.get_json())
    translation = api_upload(
        world.owner_api,
        f"/evidence/{items[1]['id']}/derivatives",
        b"English translation of statement 2.\n",
        "statement-2-en.txt",
        derivation="translation",
    )
    assert translation.status_code == 201, translation.get_data(as_text=True)[:300]
    check_statements(world, items, translation.get_json())
    check_witness_page(world, items, translation.get_json())


def test_statements_through_the_upload_form(world: World) -> None:
    client = web_client(world.app, world.owner)
    for number, interview in enumerate(INTERVIEWS, start=1):
        response = finished(
            client.post(
                f"/cases/{world.case_id}/evidence/upload",
                data={
                    "file": (BytesIO(f"Statement {number} of W-0001.\n".encode()), f"statement-{number}.txt"),
                    "kind": "photo",
                    "title": f"Statement {number}",
                    "classification": "confidential",
                    "witness_id": world.wid,
                    **interview,
                },
                content_type="multipart/form-data",
            )
        )
        assert response.status_code == 302, response.get_data(as_text=True)[:300]
    listed = world.owner_api.get(f"/cases/{world.case_id}/evidence").get_json()["items"]
    by_title = {i["title"]: i for i in listed}
    items = [by_title["Statement 1"], by_title["Statement 2"]]
    assert [i["kind"] for i in items] == ["testimony", "testimony"]
    translation = api_upload(
        world.owner_api,
        f"/evidence/{items[1]['id']}/derivatives",
        b"English translation of statement 2.\n",
        "statement-2-en.txt",
        derivation="translation",
    )
    assert translation.status_code == 201
    check_statements(world, items, translation.get_json())
    check_witness_page(world, items, translation.get_json())

    # The item page says whose statement it is, by pseudonym.
    item_page = client.get(f"/evidence/{items[1]['id']}")
    assert item_page.status_code == 200
    assert "W-0001" in item_page.get_data(as_text=True)
    assert NAME not in item_page.get_data(as_text=True)


def test_bad_interview_details_store_nothing(world: World) -> None:
    client = web_client(world.app, world.owner)

    def counts() -> tuple[int, int, int]:
        with world.app.app_context(), session_scope() as s:
            return (
                s.scalar(select(func.count()).select_from(EvidenceItem)) or 0,
                s.scalar(select(func.count()).select_from(Statement)) or 0,
                len(list(world.app.extensions["casefile_blobs"].iter_hashes())),
            )

    before = counts()
    for bad in ({"interview_date": "20/07/2020"}, {"interviewer": "x" * 201}, {"interview_place": "p" * 301}):
        response = finished(
            client.post(
                f"/cases/{world.case_id}/evidence/upload",
                data={
                    "file": (BytesIO(b"A statement.\n"), "statement.txt"),
                    "title": "Statement",
                    "classification": "confidential",
                    "witness_id": world.wid,
                    **bad,
                },
                content_type="multipart/form-data",
            )
        )
        assert response.status_code == 422, (bad, response.status_code)
    assert counts() == before


# --- key rotation ---------------------------------------------------------------------------------------------------


def reveal(client: FlaskClient, token: str, wid: str) -> Any:
    return client.get(
        f"/api/v1/witnesses/{wid}",
        headers={"Authorization": f"Bearer {token}"},
        query_string={"reveal": "true", "reason": "rotation check"},
    )


def test_rotation_re_encrypts_under_the_new_key(
    world: World, settings: Settings, make_case, api_for, make_user, add_member
) -> None:
    other_case = make_case(world.owner, "ROT")
    add_member(other_case, world.owner, "investigator", identities=True)
    second = world.owner_api.post(f"/cases/{other_case}/witnesses", json={"full_name": ARABIC, "contact": "+218-00"})
    assert second.status_code == 201
    before = ciphertexts(world.app)
    assert len(before) == 2
    assert all(c.startswith(f"v1:{key_fingerprint(OLD_KEY)}:") for c in before.values())
    token = token_for(world.app, world.owner)

    new_key = os.urandom(32)
    with app_with(settings, new_key, OLD_KEY) as rotated:
        result = rotated.test_cli_runner().invoke(args=["keys", "rotate-fields"])
        assert result.exit_code == 0, result.output
        assert key_fingerprint(new_key) in result.output
        assert "Re-encrypted 2 protected identities" in result.output, result.output
        assert "(2 were under an older key)" in result.output, result.output
        after = ciphertexts(world.app)
        assert after.keys() == before.keys()
        for wid, token_text in after.items():
            assert token_text.startswith(f"v1:{key_fingerprint(new_key)}:"), token_text[:40]
            assert token_text != before[wid]
            assert NAME not in token_text and ARABIC not in token_text
        response = reveal(rotated.test_client(), token, world.wid)
        assert response.status_code == 200
        assert response.get_json()["identity"]["full_name"] == NAME
        assert response.get_json()["identity"]["contact"] == PHONE
        assert reveal(rotated.test_client(), token, second.get_json()["id"]).get_json()["identity"]["full_name"] == (
            ARABIC
        )
        # Running it again is harmless: nothing left under an older key.
        again = rotated.test_cli_runner().invoke(args=["keys", "rotate-fields"])
        assert again.exit_code == 0, again.output
        assert "(0 were under an older key)" in again.output, again.output
        assert all(c.startswith(f"v1:{key_fingerprint(new_key)}:") for c in ciphertexts(world.app).values())

    # The old key can now be retired.
    with app_with(settings, new_key) as retired:
        response = reveal(retired.test_client(), token, world.wid)
        assert response.status_code == 200
        assert response.get_json()["identity"]["full_name"] == NAME


def test_rotation_with_a_wrong_key_changes_nothing_and_reveals_no_garbage(
    world: World, settings: Settings, add_member
) -> None:
    before = ciphertexts(world.app)
    token = token_for(world.app, world.owner)
    wrong = os.urandom(32)
    with app_with(settings, wrong) as broken:
        result = broken.test_cli_runner().invoke(args=["keys", "rotate-fields"])
        assert result.exit_code != 0
        assert key_fingerprint(OLD_KEY) in result.output, result.output
        assert "CASEFILE_FIELD_KEYS" in result.output
        assert "Nothing was changed" in result.output
        assert "Traceback" not in result.output
        assert NAME not in result.output
        assert ciphertexts(world.app) == before

        api_response = reveal(broken.test_client(), token, world.wid)
        page = web_client(broken, world.owner).post(f"/witnesses/{world.wid}/reveal", data={"reason": "rotation"})
        for response in (api_response, page):
            text = response.get_data(as_text=True)
            assert response.status_code >= 400, (response.status_code, text[:300])
            assert NAME not in text and PHONE not in text and "1984-03-02" not in text
            assert "Traceback" not in text and "FieldKeyError" not in text
        assert api_response.is_json
        assert "identity" not in api_response.get_json()
        # Nobody saw anything, so no reveal is recorded.
        with world.app.app_context(), session_scope() as s:
            assert (
                s.scalar(
                    select(func.count()).select_from(CustodyEntry).where(CustodyEntry.action == "identity_revealed")
                )
                == 0
            )
    assert ciphertexts(world.app) == before
    # The right key still reveals the untouched identity.
    assert (
        world.owner_api.get(f"/witnesses/{world.wid}?reveal=true&reason=after").get_json()["identity"]["full_name"]
        == NAME
    )


def test_rotation_is_all_or_nothing(world: World, settings: Settings) -> None:
    """W-0001 is under the fixture key, W-0002 under a second key; a rotation that holds only the first key
    re-encrypts W-0001 in its transaction, then fails on W-0002 and must leave both exactly as they were."""
    token = token_for(world.app, world.owner)
    second_key = os.urandom(32)
    with app_with(settings, second_key, OLD_KEY) as other:
        response = other.test_client().post(
            f"/api/v1/cases/{world.case_id}/witnesses",
            headers={"Authorization": f"Bearer {token}"},
            json={"full_name": "Second Witness-Test"},
        )
        assert response.status_code == 201
        assert response.get_json()["code"] == "W-0002"
    before = ciphertexts(world.app)
    assert sorted(c.split(":")[1] for c in before.values()) == sorted(
        [key_fingerprint(OLD_KEY), key_fingerprint(second_key)]
    )
    with app_with(settings, os.urandom(32), OLD_KEY) as partial:
        result = partial.test_cli_runner().invoke(args=["keys", "rotate-fields"])
        assert result.exit_code != 0
        assert key_fingerprint(second_key) in result.output
    assert ciphertexts(world.app) == before


def test_field_keys_come_from_configuration(settings: Settings) -> None:
    from casefile.config import parse_field_keys

    new, old = os.urandom(32), OLD_KEY
    value = f"{base64.b64encode(new).decode()}, {base64.b64encode(old).decode()}"
    assert parse_field_keys(value) == (new, old)
    for bad in ("not base64!", base64.b64encode(b"short").decode(), " , "):
        with pytest.raises(ValueError, match="CASEFILE_FIELD_KEYS"):
            parse_field_keys(bad)
