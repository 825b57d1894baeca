"""The import wizard: upload (archive and manifest), the preview a person reads before anything is written, the
run with its progress, and the report. Same services and jobs as the API."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from casefile.auth.gate import Access, require_case, require_in_case
from casefile.cases.models import Case
from casefile.cases.views import apply_error, case_context
from casefile.db import db_session
from casefile.errors import Conflict, ValidationFailed
from casefile.evidence.services import count
from casefile.evidence.uploads import uploaded_part
from casefile.intake import export as exporting
from casefile.intake import services, tus_http
from casefile.intake.forms import ExportForm, ImportForm
from casefile.intake.jobs import submit_export, submit_preview, submit_run
from casefile.intake.models import CaseExport, Import, RowStatus
from casefile.jobs.models import Job
from casefile.web_downloads import send_download

bp = Blueprint("imports", __name__)
# Files at least this large are sent from the upload page in resumable (tus) pieces.
RESUMABLE_FROM = 4 * 1024 * 1024


@bp.app_context_processor
def upload_settings() -> dict[str, int]:
    return {"resumable_from": RESUMABLE_FROM}


ROWS_PER_PAGE = 200
IMPORTS_SHOWN = 50


@bp.get("/cases/<case_id>/imports")
def imports(case_id: str) -> ResponseReturnValue:
    s = db_session()
    return _page(require_case(s, current_user, case_id), ImportForm())


@bp.post("/cases/<case_id>/imports")
def create(case_id: str) -> ResponseReturnValue:
    s = db_session()
    case = require_case(s, current_user, case_id, Access.WRITE)
    form = ImportForm()
    if form.validate_on_submit():
        try:
            imp = services.create_import(
                s,
                case,
                current_user,
                form.kind.data,
                archive=uploaded_part("archive"),
                manifest=uploaded_part("manifest"),
                date_order=form.date_order.data,
            )
            submit_preview(s, imp, case, current_user)
            return redirect(url_for("imports.show", import_id=imp.id), 303)
        except ValidationFailed as error:
            apply_error(form, error)
    return _page(case, form), 422


def _page(case: Case, form: ImportForm) -> str:
    s = db_session()
    recent = s.scalars(
        select(Import)
        .where(Import.case_id == case.id)
        .options(selectinload(Import.created_by))
        .order_by(Import.created_at.desc())
        .limit(IMPORTS_SHOWN)
    )
    exports = s.scalars(
        select(CaseExport)
        .where(CaseExport.case_id == case.id)
        .order_by(CaseExport.created_at.desc())
        .limit(IMPORTS_SHOWN)
    )
    return render_template(
        "intake/imports.html",
        form=form,
        export_form=ExportForm(),
        imports=list(recent),
        exports=list(exports),
        **case_context(case),
    )


@bp.get("/imports/<import_id>")
def show(import_id: str) -> ResponseReturnValue:
    s = db_session()
    imp = require_in_case(s, current_user, Import, import_id)
    status = request.args.get("status") or None
    try:
        page = max(1, int(request.args.get("page", 1)))
        stmt = services.rows_query(imp, status)
    except (ValueError, ValidationFailed):
        return redirect(url_for("imports.show", import_id=imp.id))
    total = count(s, stmt)
    rows = list(s.scalars(stmt.limit(ROWS_PER_PAGE).offset((page - 1) * ROWS_PER_PAGE)))
    job = s.get(Job, imp.job_id) if imp.job_id else None
    return render_template(
        "intake/import.html",
        imp=imp,
        job=job,
        rows=rows,
        counts=services.counts_of(s, imp),
        status=status,
        statuses=[st.value for st in RowStatus],
        page=page,
        pages=max(1, -(-total // ROWS_PER_PAGE)),
        **case_context(imp.case),
    )


@bp.post("/imports/<import_id>/run")
def run(import_id: str) -> ResponseReturnValue:
    s = db_session()
    imp = require_in_case(s, current_user, Import, import_id, Access.WRITE)
    try:
        submit_run(s, imp, current_user)
    except Conflict as error:
        flash(error.message, "error")
    return redirect(url_for("imports.show", import_id=imp.id), 303)


@bp.post("/imports/<import_id>/discard")
def discard(import_id: str) -> ResponseReturnValue:
    s = db_session()
    imp = require_in_case(s, current_user, Import, import_id, Access.WRITE)
    try:
        services.discard(s, imp, current_user)
        flash(_("The import was discarded: nothing was created."), "success")
    except Conflict as error:
        flash(error.message, "error")
    return redirect(url_for("imports.imports", case_id=imp.case_id), 303)


@bp.get("/imports/<import_id>/report")
def report(import_id: str) -> ResponseReturnValue:
    s = db_session()
    return services.report_response(s, require_in_case(s, current_user, Import, import_id))


# --- resumable uploads from the upload page (tus; the CSRF token travels in the X-CSRFToken header) -------------


@bp.post("/cases/<case_id>/uploads")
def create_upload(case_id: str) -> ResponseReturnValue:
    return tus_http.create(case_id, lambda upload: url_for("imports.upload_status", upload_id=upload.id))


@bp.get("/uploads/<upload_id>")
def upload_status(upload_id: str) -> ResponseReturnValue:
    return tus_http.status(upload_id)


@bp.patch("/uploads/<upload_id>")
def upload_bytes(upload_id: str) -> ResponseReturnValue:
    return tus_http.patch(upload_id)


@bp.delete("/uploads/<upload_id>")
def terminate_upload(upload_id: str) -> ResponseReturnValue:
    return tus_http.delete(upload_id)


# --- exports -----------------------------------------------------------------------------------------------------


@bp.post("/cases/<case_id>/exports")
def create_export(case_id: str) -> ResponseReturnValue:
    s = db_session()
    case = require_case(s, current_user, case_id)
    form = ExportForm()
    if not form.validate_on_submit():
        flash(_("Check the form for errors."), "error")
        return redirect(url_for("imports.imports", case_id=case.id), 303)
    export = exporting.request_export(s, case, current_user, form.format.data, form.max_classification.data)
    submit_export(s, export, case, current_user)
    return redirect(url_for("imports.show_export", export_id=export.id), 303)


@bp.get("/exports/<export_id>")
def show_export(export_id: str) -> ResponseReturnValue:
    s = db_session()
    export = require_in_case(s, current_user, CaseExport, export_id)
    job = s.get(Job, export.job_id) if export.job_id else None
    return render_template("intake/export.html", export=export, job=job, **case_context(export.case))


@bp.get("/exports/<export_id>/download")
def download_export(export_id: str) -> ResponseReturnValue:
    s = db_session()
    export = require_in_case(s, current_user, CaseExport, export_id)
    try:
        return send_download(exporting.download(s, export, current_user))
    except Conflict as error:
        flash(error.message, "error")
        return redirect(url_for("imports.show_export", export_id=export.id), 303)
