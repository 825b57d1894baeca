"""Witness pages. The identity is shown only on the response to an explicit, reasoned reveal."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from casefile.auth.gate import Access, allowed, case_membership, require_case, require_in_case
from casefile.cases.views import apply_error, case_context
from casefile.db import db_session
from casefile.errors import ValidationFailed
from casefile.witnesses import services
from casefile.witnesses.forms import (
    PURPOSE_LABELS,
    RISK_LABELS,
    ConsentForm,
    IdentityForm,
    RevealForm,
    RiskForm,
    WitnessForm,
)
from casefile.witnesses.models import Witness

bp = Blueprint("witnesses", __name__)


@bp.get("/cases/<case_id>/witnesses")
def list_witnesses(case_id: str) -> str:
    s = db_session()
    case = require_case(s, current_user, case_id)
    witnesses = services.witnesses_of(s, case)
    return render_template(
        "witnesses/list.html",
        witnesses=witnesses,
        consents={w.id: services.current_consents(w) for w in witnesses},
        purposes=PURPOSE_LABELS,
        risks=RISK_LABELS,
        **case_context(case),
    )


@bp.route("/cases/<case_id>/witnesses/new", methods=["GET", "POST"])
def new_witness(case_id: str) -> str | Response | tuple[str, int]:
    s = db_session()
    case = require_case(s, current_user, case_id, Access.WRITE)
    form = WitnessForm()
    if form.validate_on_submit():
        try:
            witness = services.create_witness(s, services.field_cipher(), case, current_user, form.data)
        except ValidationFailed as error:
            apply_error(form, error)
        else:
            flash(_("Witness %(code)s registered. The identity is stored encrypted.", code=witness.code), "info")
            return redirect(url_for("witnesses.show", witness_id=witness.id))
    status = 422 if form.is_submitted() else 200
    return render_template("witnesses/new.html", form=form, **case_context(case)), status


def _page(
    witness: Witness, identity: dict[str, Any] | None = None, reveal_form: RevealForm | None = None, status: int = 200
) -> tuple[str, int]:
    s = db_session()
    member = case_membership(s, current_user, witness.case)
    risk_form = RiskForm(risk_level=witness.risk_level.value)
    return render_template(
        "witnesses/witness.html",
        witness=witness,
        identity=identity,
        statements=services.statements_of(s, witness),
        reveals=services.identity_reveals(s, witness),
        reveals_shown=services.REVEALS_SHOWN,
        consents=services.current_consents(witness),
        purposes=PURPOSE_LABELS,
        risks=RISK_LABELS,
        may_reveal=allowed(current_user, member, Access.IDENTITIES),
        reveal_form=reveal_form or RevealForm(),
        consent_form=ConsentForm(),
        risk_form=risk_form,
        **case_context(witness.case),
    ), status


@bp.get("/witnesses/<witness_id>")
def show(witness_id: str) -> tuple[str, int]:
    witness = require_in_case(db_session(), current_user, Witness, witness_id)
    return _page(witness)


@bp.post("/witnesses/<witness_id>/reveal")
def reveal(witness_id: str) -> tuple[str, int]:
    s = db_session()
    witness = require_in_case(s, current_user, Witness, witness_id, Access.IDENTITIES)
    form = RevealForm()
    if not form.validate_on_submit():
        return _page(witness, reveal_form=form, status=422)
    identity = services.reveal_identity(s, services.field_cipher(), witness, current_user, form.reason.data)
    return _page(witness, identity=identity)


@bp.post("/witnesses/<witness_id>/identity")
def edit_identity(witness_id: str) -> str | Response | tuple[str, int]:
    """Two steps, both POST so that no link or prefetch can reveal an identity: `step=open` reveals the
    identity into the form (a recorded reveal); a plain submit saves it."""
    s = db_session()
    witness = require_in_case(s, current_user, Witness, witness_id, Access.IDENTITIES)
    if not allowed(current_user, case_membership(s, current_user, witness.case), Access.WRITE):
        abort(403)
    if request.form.get("step") == "open":
        if not RevealForm().validate_on_submit():
            abort(400)
        identity = services.reveal_identity(s, services.field_cipher(), witness, current_user, "editing the identity")
        born = identity.get("date_of_birth")
        form = IdentityForm(
            formdata=None, data={**identity, "date_of_birth": date.fromisoformat(born) if born else None}
        )
        return render_template("witnesses/identity.html", form=form, witness=witness, **case_context(witness.case))
    form = IdentityForm()
    if form.validate_on_submit():
        try:
            services.update_identity(s, services.field_cipher(), witness, current_user, form.data)
        except ValidationFailed as error:
            apply_error(form, error)
        else:
            flash(_("Identity of %(code)s updated.", code=witness.code), "info")
            return redirect(url_for("witnesses.show", witness_id=witness.id))
    return render_template("witnesses/identity.html", form=form, witness=witness, **case_context(witness.case)), 422


@bp.post("/witnesses/<witness_id>/consent")
def add_consent(witness_id: str) -> Response | tuple[str, int]:
    s = db_session()
    witness = require_in_case(s, current_user, Witness, witness_id, Access.WRITE)
    form = ConsentForm()
    if form.validate_on_submit():
        try:
            services.record_consent(s, witness, current_user, form.data)
        except ValidationFailed as error:
            flash(error.message, "error")
        else:
            flash(_("Consent recorded."), "info")
            return redirect(url_for("witnesses.show", witness_id=witness.id))
    else:
        flash(_("Say how the consent was recorded."), "error")
    return _page(witness, status=422)


@bp.post("/witnesses/<witness_id>/risk")
def set_risk(witness_id: str) -> Response:
    s = db_session()
    witness = require_in_case(s, current_user, Witness, witness_id, Access.WRITE)
    form = RiskForm()
    if not form.validate_on_submit():
        abort(400)
    services.set_risk(s, witness, current_user, form.risk_level.data)
    flash(_("Risk level updated."), "info")
    return redirect(url_for("witnesses.show", witness_id=witness.id))
