"""The case map page: a GET form of filters, the map (drawn by casefile/static/map.js from the page's own table, no
inline script) and, below it, every feature as a table with links, which is the page without JavaScript."""

from __future__ import annotations

from flask import Blueprint, render_template, request, url_for
from flask_login import current_user

from casefile.auth.gate import require_case
from casefile.cases.services import format_incident_date
from casefile.cases.thesaurus import VIOLATION_TYPES
from casefile.cases.views import case_context
from casefile.components import settings
from casefile.db import db_session
from casefile.errors import ValidationFailed
from casefile.maps import services

bp = Blueprint("maps", __name__)

BASEMAP = {
    "land": "map/ne_50m_land.geojson",
    "borders": "map/ne_50m_borders.geojson",
    "places": "map/ne_110m_places.geojson",
}


@bp.get("/cases/<case_id>/map")
def case_map(case_id: str) -> tuple[str, int]:
    s = db_session()
    case = require_case(s, current_user, case_id)
    error: ValidationFailed | None = None
    found: services.CaseMap | None = None
    try:
        found = services.case_map(s, case, services.parse_filter(request.args))
    except ValidationFailed as bad:
        error = bad  # shown by the field; nothing is drawn for a filter that means nothing
    configured = settings()
    return render_template(
        "maps/map.html",
        found=found,
        error=error,
        args=request.args,
        violation_types=VIOLATION_TYPES,
        format_date=format_incident_date,
        tiles=configured.map_tiles,
        attribution=configured.map_attribution,
        basemap={name: url_for("static", filename=path) for name, path in BASEMAP.items()},
        **case_context(case),
    ), 422 if error else 200
