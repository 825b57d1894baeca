"""Witnesses, consent and statements over JSON, calling the same services as the HTML views."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import jsonify, request
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from casefile.api.core import created, fields_of, json_body, only_fields, paginate, route
from casefile.api.schemas import UUID
from casefile.auth.gate import Access, require_case, require_in_case
from casefile.db import db_session
from casefile.evidence.models import EvidenceItem
from casefile.witnesses import services
from casefile.witnesses.models import Statement, Witness
from casefile.witnesses.schemas import CONSENT, CONSENT_CREATE, WITNESS, WITNESS_CREATE

ID = [{"name": "id", "in": "path", "required": True, "schema": UUID}]

REVEAL = [
    {"name": "reveal", "in": "query", "required": False, "schema": {"type": "string", "enum": ["true", "false"]}},
    {"name": "reason", "in": "query", "required": False, "schema": {"type": "string", "maxLength": 500}},
]


def consent_json(record: Any) -> dict[str, Any]:
    return {
        "id": str(record.id),
        "purpose": record.purpose.value,
        "granted": record.granted,
        "recorded_on": record.recorded_on.isoformat(),
        "how_recorded": record.how_recorded,
        "note": record.note,
        "created_at": record.created_at.isoformat(),
    }


def reveal_json(reveal: services.IdentityReveal) -> dict[str, Any]:
    return {"at": reveal.at.isoformat(), "by": reveal.by, "reason": reveal.reason, "seq": reveal.seq}


def witness_json(witness: Witness, statements: Sequence[Statement] | None = None) -> dict[str, Any]:
    """`statements` in interview order; by default the witness's own, which the caller has loaded."""
    if statements is None:
        statements = services.interview_order(witness.statements)
    current = services.current_consents(witness)
    return {
        "id": str(witness.id),
        "case_id": str(witness.case_id),
        "code": witness.code,
        "risk_level": witness.risk_level.value,
        "consent": {purpose.value: (record.granted if record else None) for purpose, record in current.items()},
        "consent_history": [consent_json(r) for r in witness.consents],
        "statements": [
            {
                "evidence_id": str(st.evidence_id),
                "ern": st.evidence.ern,
                "title": st.evidence.title,
                "interview_date": st.interview_date.isoformat() if st.interview_date else None,
                "interview_place": st.interview_place,
                "interviewer": st.interviewer,
                "language": st.language,
                "interpreter": st.interpreter,
            }
            for st in statements
        ],
        "created_at": witness.created_at.isoformat(),
    }


@route(
    "/cases/{id}/witnesses",
    "GET",
    summary="Witnesses of a case (pseudonyms only)",
    tag="witnesses",
    response=WITNESS,
    params=ID,
    paginated=True,
    errors=(401, 404, 422),
)
def list_witnesses(id: str) -> ResponseReturnValue:
    s = db_session()
    case = require_case(s, current_user, id)
    stmt = (
        select(Witness)
        .where(Witness.case_id == case.id)
        .order_by(Witness.number)
        .options(
            selectinload(Witness.consents),
            # Only what a statement's summary shows: not the items' extracted text.
            selectinload(Witness.statements)
            .selectinload(Statement.evidence)
            .load_only(EvidenceItem.ern, EvidenceItem.title, EvidenceItem.number),
        )
    )
    return paginate(s, stmt, witness_json)


@route(
    "/cases/{id}/witnesses",
    "POST",
    summary="Register a witness (the identity is stored encrypted)",
    tag="witnesses",
    request_schema=WITNESS_CREATE,
    response=WITNESS,
    status=201,
    params=ID,
    errors=(401, 403, 404, 422),
)
def create_witness(id: str) -> ResponseReturnValue:
    s = db_session()
    case = require_case(s, current_user, id, Access.WRITE)
    data = only_fields(json_body(), fields_of(WITNESS_CREATE))
    witness = services.create_witness(s, services.field_cipher(), case, current_user, data)
    return created(witness_json(witness, statements=[]))


@route(
    "/witnesses/{id}",
    "GET",
    summary="One witness; the identity only on an explicit, permitted reveal",
    tag="witnesses",
    response=WITNESS,
    params=ID + REVEAL,
    errors=(401, 403, 404, 422),
)
def get_witness(id: str) -> ResponseReturnValue:
    s = db_session()
    reveal = request.args.get("reveal", "false").lower() == "true"
    witness = require_in_case(s, current_user, Witness, id, Access.IDENTITIES if reveal else Access.READ)
    body = witness_json(witness, services.statements_of(s, witness))
    if reveal:
        body["identity"] = services.reveal_identity(
            s, services.field_cipher(), witness, current_user, request.args.get("reason", "")
        )
    # Read after a reveal, so the response lists the reveal it has just made.
    body["reveals"] = [reveal_json(r) for r in services.identity_reveals(s, witness)]
    return jsonify(body)


@route(
    "/witnesses/{id}/consents",
    "POST",
    summary="Record consent for a purpose, or its withdrawal",
    tag="witnesses",
    request_schema=CONSENT_CREATE,
    response=CONSENT,
    status=201,
    params=ID,
    errors=(401, 403, 404, 422),
)
def add_consent(id: str) -> ResponseReturnValue:
    s = db_session()
    witness = require_in_case(s, current_user, Witness, id, Access.WRITE)
    data = only_fields(json_body(), fields_of(CONSENT_CREATE))
    return created(consent_json(services.record_consent(s, witness, current_user, data)))
