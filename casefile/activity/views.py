"""The case's Activity tab: what changed, by whom, when, with each field before and after; filterable by kind of
object, action, person, dates, or one object (the "History" links of incidents, actors and charges)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, render_template, request, url_for
from flask_login import current_user

from casefile.activity import services
from casefile.activity.models import Activity, ActivityAction, SubjectKind
from casefile.auth.gate import require_case
from casefile.auth.services import members_of
from casefile.cases.views import case_context
from casefile.db import db_session
from casefile.errors import ValidationFailed
from casefile.web import page_arg

bp = Blueprint("activity", __name__)
PER_PAGE = 50
# The page of each kind of object that has one: (endpoint, its id argument).
PAGES = {
    SubjectKind.CASE: ("cases.show_case", "case_id"),
    SubjectKind.INCIDENT: ("cases.show_incident", "incident_id"),
    SubjectKind.ACTOR: ("actors.show_actor", "actor_id"),
    SubjectKind.CHARGE: ("actors.show_charge", "charge_id"),
    SubjectKind.EVIDENCE: ("evidence.show", "item_id"),
    SubjectKind.WITNESS: ("witnesses.show", "witness_id"),
    SubjectKind.DOSSIER: ("dossiers.show", "dossier_id"),
}


def _link(row: Activity) -> str | None:
    page = PAGES.get(row.subject_type)
    if page is None:
        return None
    args: dict[str, Any] = {page[1]: row.subject_id}
    return url_for(page[0], **args)


@bp.get("/cases/<case_id>/activity")
def case_activity(case_id: str) -> str:
    s = db_session()
    case = require_case(s, current_user, case_id)
    try:
        flt = services.parse_filter(request.args)
    except ValidationFailed as error:
        flash(error.message, "error")
        flt = services.ActivityFilter()
    page = page_arg()
    # One more row than shown says whether there is a next page, without counting the whole feed.
    rows = list(s.scalars(services.feed_query(case, flt).limit(PER_PAGE + 1).offset((page - 1) * PER_PAGE)))

    def page_url(n: int) -> str:
        args: dict[str, Any] = {**flt.args(), "page": n}
        return url_for("activity.case_activity", case_id=case.id, **args)

    return render_template(
        "activity/feed.html",
        rows=rows[:PER_PAGE],
        page=page,
        newer=page_url(page - 1) if page > 1 else None,
        older=page_url(page + 1) if len(rows) > PER_PAGE else None,
        flt=flt,
        members=[m.user for m in members_of(s, case)],
        subject_kinds=list(SubjectKind),
        actions=list(ActivityAction),
        shown=services.shown,
        who=services.who,
        link_of=_link,
        **case_context(case),
    )
