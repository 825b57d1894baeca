"""Verification on the item page: its section (verification_context, shown by evidence/views.py) and its two
forms. Same services as the API."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import Session

from casefile.auth.gate import Access, require_in_case
from casefile.auth.models import User
from casefile.db import db_session
from casefile.errors import CasefileError
from casefile.evidence.models import EvidenceItem
from casefile.labels import word_for
from casefile.verification import services
from casefile.verification.forms import CheckForm, StatusForm
from casefile.verification.models import VerificationStatus

bp = Blueprint("verification", __name__)


def verification_context(session: Session, item: EvidenceItem, user: User) -> dict[str, Any]:
    return {
        "verification_checks": services.checks_of(session, item),
        "check_form": CheckForm(formdata=None),
        "status_form": StatusForm(formdata=None).offer(services.allowed_moves(item, user)),
        "own_item": services.is_own(item, user),
    }


def _back(item: EvidenceItem) -> ResponseReturnValue:
    return redirect(url_for("evidence.show", item_id=item.id, _anchor="verification"), 303)


@bp.post("/evidence/<item_id>/verification/checks")
def record_check(item_id: str) -> ResponseReturnValue:
    s = db_session()
    item = require_in_case(s, current_user, EvidenceItem, item_id, Access.WRITE)
    form = CheckForm()
    if not form.validate_on_submit():
        flash(" ".join(e for errors in form.errors.values() for e in errors), "error")
        return _back(item)
    try:
        services.record_check(s, item, current_user, form.data)
    except CasefileError as error:
        flash(error.message, "error")
        return _back(item)
    flash(_("Check recorded."), "success")
    return _back(item)


@bp.post("/evidence/<item_id>/verification/status")
def set_status(item_id: str) -> ResponseReturnValue:
    s = db_session()
    item = require_in_case(s, current_user, EvidenceItem, item_id, Access.WRITE)
    form = StatusForm().offer(VerificationStatus)
    if not form.validate_on_submit():
        flash(" ".join(e for errors in form.errors.values() for e in errors), "error")
        return _back(item)
    try:
        services.set_status(s, item, current_user, form.status.data, form.reason.data)
    except CasefileError as error:
        if error.status == 403:
            raise  # the four-eyes refusal is a 403, on the page as in the API
        flash(error.message, "error")
        return _back(item)
    status = word_for(item.verification_status, "verification_status", _)
    flash(_("The verification is now %(status)s.", status=status), "success")
    return _back(item)
