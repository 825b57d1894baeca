"""Linking and unlinking from an evidence item's page (both return to the item) and from a charge's element matrix
(back to the element's row), and the pickers' suggestions as JSON for the page's script: what an item can be linked
to, and the items of a case. The suggestions are for those who may link (members who may write), like the forms."""

from __future__ import annotations

import uuid

from flask import Blueprint, abort, flash, jsonify, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from casefile.auth.forms import ConfirmForm
from casefile.auth.gate import Access, require_case, require_in_case
from casefile.db import db_session
from casefile.errors import ValidationFailed
from casefile.evidence.models import EvidenceItem
from casefile.legal.models import Charge
from casefile.links import services
from casefile.links.forms import ElementLinkForm, LinkForm, evidence_choices, find_targets, link_targets

bp = Blueprint("links", __name__)
# Evidence lists and item pages name each link's target.
bp.add_app_template_global(services.link_label, "link_label")
# Custody trails name a linked element by its code only: shown in words.
bp.add_app_template_global(services.element_label, "element_label")
# The pickers' suggestions: a few at a time (the script asks again as the words change).
SUGGESTED = 30


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


@bp.get("/evidence/<item_id>/link-targets")
def link_target_suggestions(item_id: str) -> Response:
    """What the item can be linked to that the words `q` find (every target without words), for the picker."""
    s = db_session()
    item = require_in_case(s, current_user, EvidenceItem, item_id, Access.WRITE)
    found = find_targets(link_targets(s, item.case), request.args.get("q"))
    return jsonify({"items": [t.to_json() for t in found[:SUGGESTED]], "total": len(found)})


@bp.get("/cases/<case_id>/evidence-choices")
def evidence_suggestions(case_id: str) -> Response:
    """The case's items the words `q` find (its newest without words), each with why it matched, for the matrix's
    evidence picker."""
    s = db_session()
    case = require_case(s, current_user, case_id, Access.WRITE)
    found = evidence_choices(s, current_user, case, request.args.get("q"))
    return jsonify({"items": [c.to_json() for c in found], "total": len(found)})


def _item_of(session: Session, value: str | None) -> EvidenceItem | None:
    try:
        return session.get(EvidenceItem, uuid.UUID(str(value)))
    except ValueError:
        return None


@bp.post("/charges/<charge_id>/links")
def link_to_element(charge_id: str) -> Response:
    """A matrix row's "link evidence": the chosen item linked to that element, through the same service (and so the
    same custody entry) as the item page's form."""
    s = db_session()
    charge = require_in_case(s, current_user, Charge, charge_id, Access.WRITE)
    form = ElementLinkForm()
    if not form.validate_on_submit():
        abort(400)
    element = form.element.data or ""
    back = url_for("actors.show_charge", charge_id=charge.id, _anchor=f"element-{element}" if element else None)
    try:
        item = _item_of(s, form.evidence.data)
        if item is None or item.case_id != charge.case_id:
            raise ValidationFailed(_("Choose an evidence item of this case."), field="evidence")
        services.link_evidence(
            s, item, current_user, "charge_element", charge.id, form.stance.data, form.note.data, element
        )
    except ValidationFailed as error:
        flash(error.message, "error")
    else:
        flash(_("%(ern)s linked to the element.", ern=item.ern), "info")
    return redirect(back)
