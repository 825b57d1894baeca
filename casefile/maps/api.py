"""The case map over JSON: GeoJSON from the same service as the page."""

from __future__ import annotations

from flask import jsonify, request
from flask.typing import ResponseReturnValue
from flask_login import current_user

from casefile.api.core import route
from casefile.api.schemas import DATE, UUID
from casefile.auth.gate import require_case
from casefile.cases.schemas import VIOLATION_TYPE
from casefile.db import db_session
from casefile.maps import services
from casefile.maps.schemas import CASE_MAP

MAP_FILTERS = [
    {"name": "from", "in": "query", "required": False, "schema": DATE},
    {"name": "to", "in": "query", "required": False, "schema": DATE},
    {"name": "violation_type", "in": "query", "required": False, "schema": VIOLATION_TYPE},
]


@route(
    "/cases/{id}/map",
    "GET",
    summary="The case map as GeoJSON: incidents (point and the radius their location precision allows) and evidence "
    "with a GPS position in its own metadata (flagged where it disagrees with a linked incident); filter by period "
    "and violation type",
    tag="cases",
    response=CASE_MAP,
    params=[{"name": "id", "in": "path", "required": True, "schema": UUID}, *MAP_FILTERS],
    errors=(401, 404, 422),
)
def case_map(id: str) -> ResponseReturnValue:
    s = db_session()
    case = require_case(s, current_user, id)
    found = services.case_map(s, case, services.parse_filter(request.args))
    response = jsonify(services.feature_collection(found))
    response.mimetype = "application/geo+json"
    return response
