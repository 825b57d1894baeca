"""The legal catalogue, charges and their element matrix over JSON."""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from casefile.api.core import created, fields_of, json_body, only_fields, paginate, route
from casefile.api.schemas import UUID
from casefile.auth.gate import Access, require_case, require_in_case
from casefile.db import db_session
from casefile.legal import services as legal
from casefile.legal.catalogue import load_catalogue
from casefile.legal.models import Charge
from casefile.legal.schemas import CHARGE, CHARGE_CREATE, FRAMEWORKS, MATRIX
from casefile.links.models import Stance

ID = [{"name": "id", "in": "path", "required": True, "schema": UUID}]


def charge_json(c: Charge) -> dict[str, Any]:
    return {
        "id": str(c.id),
        "case_id": str(c.case_id),
        "suspect_id": str(c.suspect_id),
        "offence_code": c.offence_code,
        "mode_code": c.mode_code,
        "incident_ids": [str(i.id) for i in c.incidents],
        "note": c.note,
        "created_at": c.created_at.isoformat(),
    }


@route(
    "/legal/frameworks",
    "GET",
    summary="The legal catalogue: frameworks, offences, modes, elements",
    tag="legal",
    response=FRAMEWORKS,
    errors=(401,),
)
def frameworks() -> ResponseReturnValue:
    return jsonify(load_catalogue().to_dict())


@route(
    "/cases/{id}/charges",
    "GET",
    summary="Charges of a case",
    tag="legal",
    response=CHARGE,
    params=ID,
    paginated=True,
    errors=(401, 404, 422),
)
def list_charges(id: str) -> ResponseReturnValue:
    s = db_session()
    case = require_case(s, current_user, id)
    stmt = (
        select(Charge)
        .where(Charge.case_id == case.id)
        .order_by(Charge.created_at)
        .options(selectinload(Charge.incidents))
    )
    return paginate(s, stmt, charge_json)


@route(
    "/cases/{id}/charges",
    "POST",
    summary="Charge a suspect with an offence under a mode of liability",
    tag="legal",
    request_schema=CHARGE_CREATE,
    response=CHARGE,
    status=201,
    params=ID,
    errors=(401, 403, 404, 422),
)
def create_charge(id: str) -> ResponseReturnValue:
    s = db_session()
    case = require_case(s, current_user, id, Access.WRITE)
    data = only_fields(json_body(), fields_of(CHARGE_CREATE))
    return created(charge_json(legal.create_charge(s, case, data)))


# Each element lists its first (oldest) links of each stance; `counts` gives them all (a bounded answer however much
# evidence a charge gathers).
LISTED_PER_ELEMENT = 100


def matrix_json(session: Any, charge: Charge) -> dict[str, Any]:
    def refs(links: list[Any]) -> list[dict[str, Any]]:
        return [
            {
                "evidence_id": str(link.evidence_id),
                "ern": link.evidence.ern,
                "title": link.evidence.title,
                "note": link.note,
                "verification_status": link.evidence.verification_status,
            }
            for link in links
        ]

    rows = legal.matrix(session, charge, first=LISTED_PER_ELEMENT)
    return {
        "charge": charge_json(charge),
        "elements": [
            {
                "code": r.element.code,
                "group": r.group,
                "text": r.element.text,
                "reference": r.element.reference,
                "status": r.status,
                "verified_supporting": r.verified,
                "counts": {
                    "supporting": r.counts.get(Stance.SUPPORTS, 0),
                    "contradicting": r.counts.get(Stance.CONTRADICTS, 0),
                    "context": r.counts.get(Stance.CONTEXT, 0),
                },
                "supporting": refs(r.supporting),
                "contradicting": refs(r.contradicting),
                "context": refs(r.context),
            }
            for r in rows
        ],
        "gaps": legal.gap_count(rows),
        "paths": [
            {
                "established": p.established,
                "hops": [
                    {
                        "kind": h.kind,
                        "label": h.label,
                        "from": h.from_label,
                        "to": h.to_label,
                        "supporting": h.supporting,
                        "contradicting": h.contradicting,
                        "supported": h.supported,
                    }
                    for h in p.hops
                ],
            }
            for p in legal.link_analysis(session, charge)
        ],
    }


@route(
    "/charges/{id}/matrix",
    "GET",
    summary="Every element with its supporting and contradicting evidence, "
    "the gaps, and the paths from suspect to incidents",
    tag="legal",
    response=MATRIX,
    params=ID,
)
def charge_matrix(id: str) -> ResponseReturnValue:
    s = db_session()
    charge = require_in_case(s, current_user, Charge, id)
    return jsonify(matrix_json(s, charge))
