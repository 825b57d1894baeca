"""Linking and unlinking from an evidence item's page; both return to the item."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from casefile.auth.forms import ConfirmForm
from casefile.auth.gate import Access, require_in_case
from casefile.db import db_session
from casefile.errors import ValidationFailed
from casefile.evidence.models import EvidenceItem
from casefile.links import services
from casefile.links.forms import LinkForm

bp = Blueprint("links", __name__)
# Evidence lists and item pages name each link's target.
bp.add_app_template_global(services.link_label, "link_label")


@bp.post("/evidence/<item_id>/links")
def add_link(item_id: str) -> Response:
    s = db_session()
    item = require_in_case(s, current_user, EvidenceItem, item_id, Access.WRITE)
    form = LinkForm()
    if not form.validate_on_submit():
        abort(400)
    target_type, _sep, rest = (form.target.data or "").partition(":")
    target_id, _sep, element = rest.partition(":")
    try:
        services.link_evidence(
            s, item, current_user, target_type, target_id, form.stance.data, form.note.data, element or None
        )
    except ValidationFailed as error:
        flash(error.message, "error")
    else:
        flash(_("Link saved."), "info")
    return redirect(url_for("evidence.show", item_id=item.id))


@bp.post("/evidence/<item_id>/links/<link_id>/remove")
def remove_link(item_id: str, link_id: str) -> Response:
    s = db_session()
    item = require_in_case(s, current_user, EvidenceItem, item_id, Access.WRITE)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    services.unlink(s, item, current_user, link_id)
    flash(_("Link removed."), "info")
    return redirect(url_for("evidence.show", item_id=item.id))
