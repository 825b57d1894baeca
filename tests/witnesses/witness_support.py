"""Set-ups the witness tests share: a case whose owner may see protected identities, a witness registered in it
with a protected identity, members with or without that permission, and logged-in web clients.

Kept out of conftest.py so test modules can import these names by a unique module name (`conftest` is ambiguous
when several test folders have one); tests/witnesses/conftest.py turns them into fixtures.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import cached_property
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from support import Account, Api, login

# One protected identity for the witness every `world` registers: Latin and Arabic script, a phone number and a
# date of birth, so a leak of any field in any script can be looked for.
NAME = "Zubaida Qarawi-Test"
PHONE = "+218-91-5550199"
ARABIC = "زبيدة القراوي"
IDENTITY = {"full_name": NAME, "other_names": ARABIC, "contact": PHONE, "date_of_birth": "1984-03-02"}


def web_client(app: Flask, account: Account) -> FlaskClient:
    client = app.test_client()
    login(client, account)
    return client


def finished(response: Any) -> Any:
    """Close an upload's response and request stream (an unclosed file would fail the run as a warning)."""
    response.close()
    response.request.input_stream.close()
    return response


class WitnessCase:
    """A case whose owner, an investigator, may see protected identities, with the owner's API and web clients."""

    def __init__(
        self,
        app: Flask,
        make_user: Callable[..., Account],
        make_case: Callable[..., uuid.UUID],
        add_member: Callable[..., None],
        api_for: Callable[..., tuple[Api, Account]],
    ) -> None:
        self.app = app
        self.make_user = make_user
        self.add_member = add_member
        self.api_for = api_for
        self.owner = make_user("investigator")
        self.case_id = make_case(self.owner, "WIT")
        add_member(self.case_id, self.owner, "investigator", identities=True)
        self.owner_api, _ = api_for(account=self.owner)

    @cached_property
    def owner_web(self) -> FlaskClient:
        return web_client(self.app, self.owner)

    def member(self, role: str = "investigator", identities: bool = False) -> Account:
        """A new user who is a member of the case, with or without the permission to see identities."""
        account = self.make_user(role)
        self.add_member(self.case_id, account, role, identities=identities)
        return account

    def api(self, account: Account) -> Api:
        return self.api_for(account=account)[0]


class World(WitnessCase):
    """A `WitnessCase` with one witness (W-0001) registered over the API with `IDENTITY`."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        created = self.owner_api.post(f"/cases/{self.case_id}/witnesses", json=IDENTITY)
        assert created.status_code == 201, created.get_data(as_text=True)[:500]
        self.witness: dict[str, Any] = created.get_json()
        self.wid: str = self.witness["id"]
