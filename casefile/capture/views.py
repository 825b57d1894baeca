"""Web capture pages: the case's captures with the form that asks for one, and one capture with its progress, its
screenshot, what the browser received, its evidence items and its trusted timestamps. Same services as the API."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy.orm import selectinload
from wtforms.fields.choices import SelectChoice

from casefile.auth.gate import Access, require_case, require_in_case
from casefile.capture import services
from casefile.capture.forms import CaptureForm
from casefile.capture.jobs import submit_capture
from casefile.capture.models import WebCapture
from casefile.cases.models import Case
from casefile.cases.services import incidents_of
from casefile.cases.views import apply_error, case_context
from casefile.components import field_cipher, settings
from casefile.db import db_session
from casefile.errors import ValidationFailed
from casefile.jobs.models import Job

bp = Blueprint("captures", __name__)

CAPTURES_SHOWN = 100


def _form(case: Case) -> CaptureForm:
    form = CaptureForm()
    form.incident_ids.choices = [SelectChoice(str(i.id), i.title) for i in incidents_of(db_session(), case)]
    return form


def _page(case: Case, form: CaptureForm) -> str:
    s = db_session()
    captures = s.scalars(
        services.captures_query(case).options(selectinload(WebCapture.created_by)).limit(CAPTURES_SHOWN)
    )
    return render_template(
        "capture/list.html",
        form=form,
        captures=list(captures),
        timestamps_on=bool(settings().tsa_urls),
        **case_context(case),
    )


@bp.get("/cases/<case_id>/captures")
def list_captures(case_id: str) -> ResponseReturnValue:
    case = require_case(db_session(), current_user, case_id)
    return _page(case, _form(case))


@bp.post("/cases/<case_id>/captures")
def create_capture(case_id: str) -> ResponseReturnValue:
    s = db_session()
    case = require_case(s, current_user, case_id, Access.WRITE)
    form = _form(case)
    if form.validate_on_submit():
        try:
            capture, _job = submit_capture(
                s,
                settings(),
                field_cipher(),
                case,
                current_user,
                {
                    "url": form.url.data,
                    "incident_ids": form.incident_ids.data or [],
                    "note": form.note.data,
                    "cookies": form.cookies.data,
                },
            )
            return redirect(url_for("captures.show_capture", capture_id=capture.id), 303)
        except ValidationFailed as error:
            apply_error(form, error)
    return _page(case, form), 422


@bp.get("/captures/<capture_id>")
def show_capture(capture_id: str) -> ResponseReturnValue:
    s = db_session()
    capture = require_in_case(s, current_user, WebCapture, capture_id)
    job = s.get(Job, capture.job_id) if capture.job_id else None
    items = services.derivatives(s, capture)
    return render_template(
        "capture/capture.html",
        capture=capture,
        job=job,
        items=items,
        screenshot=services.screenshot_of(items),
        tokens=services.timestamps(s, capture),
        manifest_intact=services.manifest_intact(capture),
        timestamps_on=bool(settings().tsa_urls),
        **case_context(capture.case),
    )
