"""The case activity feed in the JSON API: the same filters and query as the Activity tab."""

from __future__ import annotations

from flask import request
from flask.typing import ResponseReturnValue
from flask_login import current_user

from casefile.activity import services
from casefile.activity.schemas import ACTIVITY, FILTERS
from casefile.api.core import paginate, route
from casefile.api.schemas import UUID
from casefile.auth.gate import require_case
from casefile.db import db_session


@route(
    "/cases/{id}/activity",
    "GET",
    summary="What changed in the case, by whom and when, each field before and after; newest first",
    tag="activity",
    response=ACTIVITY,
    params=[{"name": "id", "in": "path", "required": True, "schema": UUID}, *FILTERS],
    paginated=True,
    errors=(401, 404, 422),
)
def case_activity(id: str) -> ResponseReturnValue:
    s = db_session()
    case = require_case(s, current_user, id)
    return paginate(s, services.feed_query(case, services.parse_filter(request.args)), services.activity_json)
