"""The field intake fixture: a case with an incident, the standard form offered, and a phone with its device
credential, served over real HTTP (the live server)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from odk_phone import Field, Phone
from support import Account, Api


def offer(api: Api, case_id: uuid.UUID, *, encrypted: bool) -> dict[str, Any]:
    response = api.post(
        f"/cases/{case_id}/field-forms",
        data={"encrypted": "true" if encrypted else "false"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def phone_for(api: Api, case_id: uuid.UUID, base: str, label: str = "Field phone 1") -> tuple[Phone, dict[str, Any]]:
    response = api.post(f"/cases/{case_id}/device-credentials", json={"label": label})
    assert response.status_code == 201, response.get_data(as_text=True)
    made = response.get_json()
    assert made["server_url"].endswith(f"/openrosa/cases/{case_id}")
    return Phone(f"{base}/openrosa/cases/{case_id}", made["username"], made["password"]), made


@pytest.fixture
def field(
    app: Flask, live_server: str, api_for: Callable[..., tuple[Api, Account]], make_case: Callable[..., uuid.UUID]
) -> Callable[..., Field]:
    def make(*, encrypted: bool = False) -> Field:
        api, account = api_for("investigator")
        case_id = make_case(account, f"F{uuid.uuid4().hex[:4].upper()}")
        incident = api.post(f"/cases/{case_id}/incidents", json={"title": "Tarhouna, Al-Rabt landfill"}).get_json()
        form = offer(api, case_id, encrypted=encrypted)
        phone, credential = phone_for(api, case_id, live_server)
        return Field(api, account, case_id, incident["id"], form, phone, credential)

    return make
