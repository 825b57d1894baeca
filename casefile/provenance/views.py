"""The ProofMode bundle page (linked from the case's import page): the form, then the import job's page. Same
services and job as the API. An item's provenance is shown on its own page (casefile/evidence/views.py)."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from casefile.auth.gate import Access, require_case
from casefile.cases.models import Case
from casefile.cases.views import apply_error, case_context
from casefile.components import settings
from casefile.db import db_session
from casefile.errors import ValidationFailed
from casefile.evidence.uploads import uploaded_part
from casefile.provenance import services
from casefile.provenance.forms import BundleForm
from casefile.provenance.jobs import submit_import

bp = Blueprint("provenance", __name__)


def _page(case: Case, form: BundleForm) -> str:
    return render_template("provenance/bundle.html", form=form, **case_context(case))


@bp.get("/cases/<case_id>/proofmode")
def bundle_form(case_id: str) -> ResponseReturnValue:
    return _page(require_case(db_session(), current_user, case_id, Access.WRITE), BundleForm())


@bp.post("/cases/<case_id>/proofmode")
def import_bundle(case_id: str) -> ResponseReturnValue:
    s = db_session()
    case = require_case(s, current_user, case_id, Access.WRITE)
    form = BundleForm()
    if form.validate_on_submit():
        try:
            bundle = services.accept_bundle(
                s, case, uploaded_part("bundle"), form.service_data(), settings().max_upload_bytes
            )
            job = submit_import(s, case, current_user, bundle)
            return redirect(url_for("jobs.show", job_id=job.id), 303)
        except ValidationFailed as error:
            apply_error(form, error)
    return _page(case, form), 422
