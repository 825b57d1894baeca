"""Custody trails, hand-overs and verification over JSON, calling the same services as the HTML views."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import select

from casefile.api.core import created, fields_of, json_body, only_fields, paginate, query_int, route
from casefile.api.schemas import UUID
from casefile.auth.gate import Access, require_case, require_in_case
from casefile.components import instance_key
from casefile.custody import ledger
from casefile.custody.jobs import submit_verification
from casefile.custody.models import CustodyEntry
from casefile.custody.schemas import (
    CONSISTENCY_PROOF,
    CUSTODY_ENTRY,
    PUBLISHED_TREE_HEAD,
    TRANSFER_CREATE,
    VERIFICATION_CREATE,
    VERIFY_REPORT,
)
from casefile.custody.services import record_transfer
from casefile.custody.verification import verify_for_current_user
from casefile.custody.witness import consistency, latest_tree_head
from casefile.db import db_session
from casefile.errors import NotFound, ValidationFailed
from casefile.evidence.models import EvidenceItem
from casefile.jobs.api import one_job_json
from casefile.jobs.schemas import JOB

ID = [{"name": "id", "in": "path", "required": True, "schema": UUID}]


def custody_json(entry: CustodyEntry) -> dict[str, Any]:
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
    data = only_fields(json_body(), fields_of(TRANSFER_CREATE))
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


@route(
    "/custody/verifications",
    "POST",
    summary="Start a verification with fixity as a background job (of one case, or of all your cases); follow "
    "it at GET /jobs/{id}",
    tag="custody",
    request_schema=VERIFICATION_CREATE,
    response=JOB,
    status=202,
    errors=(401, 404, 422),
)
def start_verification() -> ResponseReturnValue:
    s = db_session()
    data = only_fields(json_body(), fields_of(VERIFICATION_CREATE))
    fixity = data.get("fixity", True)
    if not isinstance(fixity, bool):
        raise ValidationFailed("fixity must be true or false.", field="fixity")
    case_id = data.get("case_id")
    if case_id is not None and not isinstance(case_id, str):
        raise ValidationFailed("case_id must be a case id.", field="case_id")
    case = require_case(s, current_user, case_id) if case_id else None
    job = submit_verification(s, current_user, case, fixity=fixity)
    response = jsonify(one_job_json(job))
    response.status_code = 202
    response.headers["Location"] = url_for("api.get_job", id=job.id)
    return response


@route(
    "/custody/tree-head",
    "GET",
    summary="The newest signed tree head of the ledger, with the public key that verifies it (keep it outside: "
    "`custody verify --against` later proves the ledger still extends it)",
    tag="custody",
    response=PUBLISHED_TREE_HEAD,
    errors=(401, 404),
)
def tree_head() -> ResponseReturnValue:
    document = latest_tree_head(db_session(), instance_key().public_pem)
    if document is None:
        raise NotFound("No checkpoint yet.")
    return jsonify(document)


@route(
    "/custody/consistency",
    "GET",
    summary="An RFC 6962 consistency proof from the ledger's first `first` entries to a signed checkpoint",
    tag="custody",
    response=CONSISTENCY_PROOF,
    params=[
        {"name": "first", "in": "query", "required": True, "schema": {"type": "integer", "minimum": 0}},
        {
            "name": "second",
            "in": "query",
            "required": False,
            "schema": {"type": "integer", "minimum": 0},
            "description": "the size of a signed checkpoint (default: the newest)",
        },
    ],
    errors=(401, 422),
)
def consistency_proof() -> ResponseReturnValue:
    first = query_int("first")
    second = query_int("second")
    if first is None:
        raise ValidationFailed("first is required.", field="first")
    return jsonify(consistency(db_session(), instance_key().public_pem, first, second))
