"""Evidence links over JSON, calling the same services as the HTML views."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask.typing import ResponseReturnValue
from flask_login import current_user

from casefile.api.core import created, fields_of, json_body, only_fields, page_body, page_params, route
from casefile.api.schemas import UUID, string
from casefile.auth.gate import Access, require_in_case
from casefile.db import db_session
from casefile.evidence.models import EvidenceItem
from casefile.links import services
from casefile.links.forms import find_targets, link_targets
from casefile.links.models import EvidenceLink
from casefile.links.schemas import LINK, LINK_CREATE, LINK_TARGET_CHOICE
from casefile.search.services import MAX_QUERY_LENGTH

ID = [{"name": "id", "in": "path", "required": True, "schema": UUID}]


def link_json(link: EvidenceLink) -> dict[str, Any]:
    return {
        "id": str(link.id),
        "target_type": link.target_type,
        "target_id": str(link.target_id),
        "stance": link.stance.value,
        "note": link.note,
        "element_code": link.element_code,
        "target_label": services.link_label(link),
    }


@route(
    "/evidence/{id}/links",
    "POST",
    summary="Link the item to an incident, actor, relation, involvement or charge element",
    tag="evidence",
    request_schema=LINK_CREATE,
    response=LINK,
    status=201,
    params=ID,
    errors=(401, 403, 404, 422),
)
def create_link(id: str) -> ResponseReturnValue:
    s = db_session()
    item = require_in_case(s, current_user, EvidenceItem, id, Access.WRITE)
    data = only_fields(json_body(), fields_of(LINK_CREATE))
    link = services.link_evidence(
        s,
        item,
        current_user,
        data.get("target_type"),
        data.get("target_id"),
        data.get("stance"),
        data.get("note", ""),
        data.get("element_code"),
    )
    return created(link_json(link))


@route(
    "/evidence/{id}/links/{link_id}",
    "DELETE",
    summary="Remove a link: recorded as `unlinked` in the ledger; the link row stays, marked removed, and is no longer "
    "listed",
    tag="evidence",
    status=204,
    params=[*ID, {"name": "link_id", "in": "path", "required": True, "schema": UUID}],
    errors=(401, 403, 404),
)
def remove_link(id: str, link_id: str) -> ResponseReturnValue:
    s = db_session()
    item = require_in_case(s, current_user, EvidenceItem, id, Access.WRITE)
    services.unlink(s, item, current_user, link_id)
    return "", 204


@route(
    "/evidence/{id}/link-targets",
    "GET",
    summary="What the item can be linked to (incidents, actors, relations, involvements, charge elements), found by "
    'words as search finds them ("alkani" finds al-Kani); every target without q. For those who may link',
    tag="evidence",
    response=LINK_TARGET_CHOICE,
    paginated=True,
    params=[
        *ID,
        {
            "name": "q",
            "in": "query",
            "required": False,
            "description": "Words to find; every word must match.",
            "schema": string(maxLength=MAX_QUERY_LENGTH),
        },
    ],
    errors=(401, 403, 404, 422),
)
def list_link_targets(id: str) -> ResponseReturnValue:
    s = db_session()
    item = require_in_case(s, current_user, EvidenceItem, id, Access.WRITE)
    page, per_page = page_params()
    found = find_targets(link_targets(s, item.case), request.args.get("q"))
    shown = found[(page - 1) * per_page : page * per_page]
    return jsonify(page_body([t.to_json() for t in shown], page, per_page, len(found)))
