"""Custody trails, hand-overs and verification over JSON, calling the same services as the HTML views."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask.typing import ResponseReturnValue
from flask_login import current_user

from casefile.api.core import created, json_body, only_fields, paginate, route
from casefile.api.schemas import UUID
from casefile.auth.gate import Access, require_in_case
from casefile.custody import ledger
from casefile.custody.schemas import CUSTODY_ENTRY, TRANSFER_CREATE, VERIFY_REPORT
from casefile.custody.services import record_transfer
from casefile.custody.verification import verify_for_current_user
from casefile.db import db_session
from casefile.evidence.models import EvidenceItem

ID = [{"name": "id", "in": "path", "required": True, "schema": UUID}]


def custody_json(entry: Any) -> dict[str, Any]:
    fields = ledger.entry_fields(entry)
    return fields


@route(
    "/evidence/{id}/custody",
    "GET",
    summary="The item's custody trail",
    tag="custody",
    response=CUSTODY_ENTRY,
    params=ID,
    paginated=True,
    errors=(401, 404, 422),
)
def get_custody(id: str) -> ResponseReturnValue:
    from sqlalchemy import select

    from casefile.custody.models import CustodyEntry

    s = db_session()
    item = require_in_case(s, current_user, EvidenceItem, id)
    stmt = select(CustodyEntry).where(CustodyEntry.evidence_id == item.id).order_by(CustodyEntry.seq)
    return paginate(s, stmt, custody_json)


@route(
    "/evidence/{id}/custody",
    "POST",
    summary="Record a hand-over (from, to, purpose)",
    tag="custody",
    request_schema=TRANSFER_CREATE,
    response=CUSTODY_ENTRY,
    status=201,
    params=ID,
    errors=(401, 403, 404, 422),
)
def post_custody(id: str) -> ResponseReturnValue:
    s = db_session()
    item = require_in_case(s, current_user, EvidenceItem, id, Access.WRITE)
    data = only_fields(json_body(), set(TRANSFER_CREATE["properties"]))
    return created(custody_json(record_transfer(s, item, current_user, data)))


@route(
    "/custody/verify",
    "GET",
    summary="Verify the ledger and the fixity of a case's files",
    tag="custody",
    response=VERIFY_REPORT,
    params=[{"name": "case_id", "in": "query", "required": False, "schema": UUID}],
    errors=(401, 404, 422),
)
def verify() -> ResponseReturnValue:
    return jsonify(verify_for_current_user(request.args.get("case_id")).to_dict())
