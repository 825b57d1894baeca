"""The reviewers' verification page: run a verification and read the result."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from casefile.auth.forms import ConfirmForm
from casefile.auth.gate import require_case
from casefile.cases.services import cases_for
from casefile.components import settings
from casefile.custody.jobs import submit_verification
from casefile.custody.ledger import head
from casefile.custody.models import Checkpoint, TimestampToken
from casefile.custody.verification import verify_for_current_user
from casefile.db import db_session

bp = Blueprint("custody", __name__)


def _overview() -> dict[str, object]:
    s = db_session()
    return {
        "head": head(s),
        "checkpoint": s.scalar(select(Checkpoint).order_by(Checkpoint.tree_size.desc()).limit(1)),
        "checkpoints": s.scalar(select(func.count()).select_from(Checkpoint)),
        "tsa_urls": settings().tsa_urls,
        "timestamps": s.scalar(select(func.count()).select_from(TimestampToken)),
        "cases": cases_for(s, current_user),
        "form": ConfirmForm(),
    }


@bp.get("/custody")
def overview() -> str:
    return render_template("custody/verify.html", report=None, **_overview())


@bp.post("/custody/verify")
def verify() -> str:
    if not ConfirmForm().validate_on_submit():
        abort(400)
    report = verify_for_current_user(request.form.get("case_id") or None)
    return render_template("custody/verify.html", report=report, **_overview())


@bp.post("/custody/verify/background")
def verify_background() -> Response:
    """The same verification as a background job: the page that follows shows its progress."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    s = db_session()
    case_id = request.form.get("case_id") or None
    case = require_case(s, current_user, case_id) if case_id else None
    job = submit_verification(s, current_user, case)
    return redirect(url_for("jobs.show", job_id=job.id))
