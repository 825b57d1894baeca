"""Verification routes of the JSON API."""

from __future__ import annotations

from flask import jsonify
from flask.typing import ResponseReturnValue
from flask_login import current_user

from casefile.api.core import fields_of, json_body, only_fields, route
from casefile.api.schemas import UUID
from casefile.auth.gate import Access, require_in_case
from casefile.db import db_session
from casefile.evidence.models import EvidenceItem
from casefile.verification import services
from casefile.verification.schemas import CHECK, CHECK_CREATE, STATUS_CHANGE, VERIFICATION

ID = [{"name": "id", "in": "path", "required": True, "schema": UUID}]


@route(
    "/evidence/{id}/verification",
    "GET",
    summary="An item's verification: its status, every check (phase, area, outcome, method, notes, who, when) and "
    "whether you may conclude it verified (never the item's uploader or collector)",
    tag="verification",
    response=VERIFICATION,
    params=ID,
)
def get_verification(id: str) -> ResponseReturnValue:
    s = db_session()
    item = require_in_case(s, current_user, EvidenceItem, id)
    return jsonify(services.verification_json(s, item, current_user))


@route(
    "/evidence/{id}/verification/checks",
    "POST",
    summary="Record a check of the item (a custody entry); a new item's verification begins with it",
    tag="verification",
    request_schema=CHECK_CREATE,
    response=CHECK,
    status=201,
    params=ID,
    errors=(401, 403, 404, 422),
)
def create_verification_check(id: str) -> ResponseReturnValue:
    s = db_session()
    item = require_in_case(s, current_user, EvidenceItem, id, Access.WRITE)
    data = only_fields(json_body(), fields_of(CHECK_CREATE))
    return jsonify(services.check_json(services.record_check(s, item, current_user, data))), 201


@route(
    "/evidence/{id}/verification/status",
    "POST",
    summary="Move the item's verification (a custody entry): in_verification, or from there verified, disputed or "
    "unverifiable (with a reason); 403 when the item's uploader or collector would verify it (four eyes)",
    tag="verification",
    request_schema=STATUS_CHANGE,
    response=VERIFICATION,
    params=ID,
    errors=(401, 403, 404, 409, 422),
)
def change_verification_status(id: str) -> ResponseReturnValue:
    s = db_session()
    item = require_in_case(s, current_user, EvidenceItem, id, Access.WRITE)
    data = only_fields(json_body(), fields_of(STATUS_CHANGE))
    services.set_status(s, item, current_user, data.get("status"), data.get("reason"))
    return jsonify(services.verification_json(s, item, current_user))
