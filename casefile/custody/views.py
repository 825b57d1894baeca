"""The reviewers' verification page: run a verification and read the result."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, request
from flask_login import current_user
from sqlalchemy import func, select

from casefile.auth.forms import ConfirmForm
from casefile.auth.gate import member_case_ids, require_case
from casefile.cases.services import cases_for
from casefile.custody.ledger import head
from casefile.custody.models import Checkpoint
from casefile.custody.services import run_verification
from casefile.db import db_session, get_database
from casefile.evidence.content import blob_store

bp = Blueprint("custody", __name__)


def _overview() -> dict[str, object]:
    s = db_session()
    return {
        "head": head(s),
        "checkpoint": s.scalar(select(Checkpoint).order_by(Checkpoint.tree_size.desc()).limit(1)),
        "checkpoints": s.scalar(select(func.count()).select_from(Checkpoint)),
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
    case_id = request.form.get("case_id") or None
    # As in the API: reads happen outside the write transaction; fixity entries are appended at the end.
    with get_database().read_sessionmaker() as read_session:
        if case_id:
            case_ids = {require_case(read_session, current_user, case_id).id}
        else:
            case_ids = set(read_session.scalars(member_case_ids(current_user)))
        report = run_verification(
            db_session(),
            read_session,
            blob_store(),
            current_app.extensions["casefile_key"],
            current_user,
            case_ids=case_ids,
        )
    return render_template("custody/verify.html", report=report, **_overview())
