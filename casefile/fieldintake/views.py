"""Field intake pages: what the case offers phones (its forms and the address to enter), the person's device
credentials, and the review queue where submissions are accepted into the case or rejected. Same services as the
API and the OpenRosa side."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from casefile.auth.gate import Access, require_case
from casefile.cases.models import Case
from casefile.cases.views import apply_error, case_context
from casefile.components import blob_store, field_cipher
from casefile.db import db_session
from casefile.errors import CasefileError
from casefile.fieldintake import jobs, services, xlsform
from casefile.fieldintake.forms import CredentialForm, OfferForm, RejectForm
from casefile.fieldintake.models import SubmissionState
from casefile.jobs.models import Job

bp = Blueprint("fieldintake", __name__)

SHOWN = 200


def server_address(case: Case) -> str:
    """What a person enters in ODK Collect as the server: the form list and submission live under it."""
    return url_for("openrosa.form_list", case_id=case.id, _external=True).rsplit("/", 1)[0]


def _page(
    case: Case,
    *,
    offer: OfferForm | None = None,
    credential: CredentialForm | None = None,
    created: tuple | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    s = db_session()
    state = request.args.get("state", "pending")
    try:
        submissions = list(s.scalars(services.submissions_query(case, state or None).limit(SHOWN)))
    except CasefileError as error:
        flash(error.message, "error")
        state, submissions = "", list(s.scalars(services.submissions_query(case).limit(SHOWN)))
    body = render_template(
        "fieldintake/intake.html",
        offer=offer or OfferForm(formdata=None),
        credential_form=credential or CredentialForm(formdata=None),
        forms=list(s.scalars(services.forms_query(case))),
        credentials=list(s.scalars(services.credentials_query(case, current_user))),
        submissions=submissions,
        state=state,
        states=[st.value for st in SubmissionState],
        address=server_address(case),
        created=created,
        **case_context(case),
    )
    return body, status


@bp.get("/cases/<case_id>/field")
def field_intake(case_id: str) -> ResponseReturnValue:
    return _page(require_case(db_session(), current_user, case_id))


@bp.post("/cases/<case_id>/field/forms")
def offer_form(case_id: str) -> ResponseReturnValue:
    s = db_session()
    case = require_case(s, current_user, case_id, Access.WRITE)
    form = OfferForm()
    if form.validate_on_submit():
        upload = form.xlsform.data
        try:
            source = None
            if upload is not None and upload.filename:
                source = (services.read_part(upload, xlsform.MAX_XLSFORM_BYTES, "xlsform"), upload.filename)
            offered = services.create_form(
                s, blob_store(), field_cipher(), case, current_user, xlsform_file=source, encrypted=form.encrypted.data
            )
            flash(
                _(
                    "Phones of this case now get %(title)s, version %(version)s.",
                    title=offered.title,
                    version=offered.version,
                ),
                "success",
            )
            return redirect(url_for("fieldintake.field_intake", case_id=case.id), 303)
        except CasefileError as error:
            apply_error(form, error)
    return _page(case, offer=form, status=422)


@bp.post("/field-forms/<form_pk>/withdraw")
def withdraw_form(form_pk: str) -> ResponseReturnValue:
    s = db_session()
    form = services.form_in_case(s, current_user, form_pk, Access.WRITE)
    services.withdraw_form(s, current_user, form)
    flash(_("Phones no longer get %(title)s.", title=form.title), "success")
    return redirect(url_for("fieldintake.field_intake", case_id=form.case_id), 303)


@bp.post("/cases/<case_id>/field/credentials")
def create_credential(case_id: str) -> ResponseReturnValue:
    s = db_session()
    case = require_case(s, current_user, case_id, Access.WRITE)
    form = CredentialForm()
    if not form.validate_on_submit():
        return _page(case, credential=form, status=422)
    credential, secret = services.create_credential(s, field_cipher(), case, current_user, form.label.data)
    # Shown once, on this answer only: the secret is never displayed again.
    return _page(case, created=(credential, secret))


@bp.post("/device-credentials/<credential_id>/revoke")
def revoke_credential(credential_id: str) -> ResponseReturnValue:
    s = db_session()
    credential = services.own_credential(s, current_user, credential_id)
    services.revoke_credential(s, current_user, credential)
    flash(_("%(label)s can no longer send to Casefile.", label=credential.label), "success")
    return redirect(url_for("fieldintake.field_intake", case_id=credential.case_id), 303)


@bp.get("/field-submissions/<submission_id>")
def show_submission(
    submission_id: str, reject_form: RejectForm | None = None, status: int = 200
) -> ResponseReturnValue:
    s = db_session()
    submission = services.submission_in_case(s, current_user, submission_id)
    job = s.get(Job, submission.job_id) if submission.job_id else None
    body = render_template(
        "fieldintake/submission.html",
        submission=submission,
        job=job,
        reject_form=reject_form or RejectForm(),
        reviewable=submission.state in services.REVIEWABLE,
        **case_context(submission.case),
    )
    return body, status


@bp.post("/field-submissions/<submission_id>/accept")
def accept_submission(submission_id: str) -> ResponseReturnValue:
    s = db_session()
    submission = services.submission_in_case(s, current_user, submission_id, Access.WRITE)
    jobs.accept(s, submission, current_user)
    flash(_("Accepted: its files are being recorded as evidence."), "success")
    return redirect(url_for("fieldintake.show_submission", submission_id=submission.id), 303)


@bp.post("/field-submissions/<submission_id>/reject")
def reject_submission(submission_id: str) -> ResponseReturnValue:
    s = db_session()
    submission = services.submission_in_case(s, current_user, submission_id, Access.WRITE)
    form = RejectForm()
    if form.validate_on_submit():
        try:
            services.reject(s, submission, current_user, form.reason.data)
            flash(_("Rejected. The submission and its files are kept with the reason."), "success")
            return redirect(url_for("fieldintake.show_submission", submission_id=submission.id), 303)
        except CasefileError as error:
            apply_error(form, error)
    return show_submission(submission_id, reject_form=form, status=422)
