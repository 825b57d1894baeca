"""Imports over JSON, calling the same services and jobs as the pages."""

from __future__ import annotations

from flask import jsonify, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from casefile.api.core import fields_of, json_body, only_fields, page_params, paginate, route
from casefile.api.schemas import UUID, enum_of
from casefile.auth.gate import Access, require_case, require_in_case
from casefile.db import db_session
from casefile.errors import ValidationFailed
from casefile.evidence.services import count
from casefile.evidence.uploads import uploaded_part
from casefile.intake import export as exporting
from casefile.intake import services, tus_http
from casefile.intake.jobs import submit_export, submit_preview, submit_run
from casefile.intake.models import CaseExport, Import, RowStatus
from casefile.intake.schemas import (
    EXPORT,
    EXPORT_ACCEPTED,
    EXPORT_CREATE,
    IMPORT,
    IMPORT_ACCEPTED,
    IMPORT_DETAIL,
    IMPORT_UPLOAD,
    UPLOAD,
)
from casefile.jobs.api import one_job_json
from casefile.jobs.models import Job
from casefile.web_downloads import send_download

ID = [{"name": "id", "in": "path", "required": True, "schema": UUID}]
FIELDS = {"kind", "date_order"}


def one_import(imp: Import) -> dict:
    return services.import_json(imp, services.counts_of(db_session(), imp))


def accepted(imp: Import, job: Job) -> ResponseReturnValue:
    payload = {**one_import(imp), "job": one_job_json(job)}
    return jsonify(payload), 202, {"Location": url_for("api.get_import", id=imp.id)}


@route(
    "/cases/{id}/imports",
    "GET",
    summary="Imports into a case, newest first",
    tag="imports",
    response=IMPORT,
    params=ID,
    paginated=True,
    errors=(401, 404, 422),
)
def list_imports(id: str) -> ResponseReturnValue:
    s = db_session()
    case = require_case(s, current_user, id)
    stmt = select(Import).where(Import.case_id == case.id).order_by(Import.created_at.desc())
    stmt = stmt.options(selectinload(Import.created_by))
    return paginate(s, stmt, serialise_page=lambda imports: services.imports_json(s, imports))


@route(
    "/cases/{id}/imports",
    "POST",
    summary="Import files (a ZIP with a CSV/XLSX manifest), incidents or actors (a manifest): answers at once; a job "
    "previews every row (created / duplicate / refused, with the reason) and writes nothing else; then "
    "POST /imports/{id}/run",
    tag="imports",
    request_schema=IMPORT_UPLOAD,
    request_kind="multipart",
    response=IMPORT_ACCEPTED,
    status=202,
    params=ID,
    errors=(401, 403, 404, 413, 422),
)
def create_import(id: str) -> ResponseReturnValue:
    # The files stream into the blob store while the request is parsed, before any database work.
    archive, manifest = uploaded_part("archive"), uploaded_part("manifest")
    unknown = sorted(str(name) for name in set(request.form) - FIELDS)
    if unknown:
        raise ValidationFailed(f"Unknown field(s): {', '.join(unknown)[:200]}.", field=unknown[0][:50])
    s = db_session()
    case = require_case(s, current_user, id, Access.WRITE)
    imp = services.create_import(
        s,
        case,
        current_user,
        request.form.get("kind"),
        archive=archive,
        manifest=manifest,
        date_order=request.form.get("date_order"),
    )
    return accepted(imp, submit_preview(s, imp, case, current_user))


@route(
    "/imports/{id}",
    "GET",
    summary="One import with its rows (paginated: ?page, ?per_page; ?status= to filter)",
    tag="imports",
    response=IMPORT_DETAIL,
    params=[*ID, {"name": "status", "in": "query", "required": False, "schema": enum_of(RowStatus)}],
    errors=(401, 404, 422),
)
def get_import(id: str) -> ResponseReturnValue:
    s = db_session()
    imp = require_in_case(s, current_user, Import, id)
    page, per_page = page_params()
    stmt = services.rows_query(imp, request.args.get("status"))
    total = count(s, stmt)
    rows = s.scalars(stmt.limit(per_page).offset((page - 1) * per_page))
    payload = {
        **one_import(imp),
        "rows": [services.row_json(r) for r in rows],
        "rows_page": {"page": page, "per_page": per_page, "total": total},
    }
    return jsonify(payload)


@route(
    "/imports/{id}/run",
    "POST",
    summary="Run a previewed import (or continue one that stopped): a job creates the rows planned create",
    tag="imports",
    response=IMPORT_ACCEPTED,
    status=202,
    params=ID,
    errors=(401, 403, 404, 409),
)
def run_import(id: str) -> ResponseReturnValue:
    s = db_session()
    imp = require_in_case(s, current_user, Import, id, Access.WRITE)
    return accepted(imp, submit_run(s, imp, current_user))


@route(
    "/imports/{id}/discard",
    "POST",
    summary="Discard a previewed import: nothing is created",
    tag="imports",
    response=IMPORT,
    params=ID,
    errors=(401, 403, 404, 409),
)
def discard_import(id: str) -> ResponseReturnValue:
    s = db_session()
    imp = require_in_case(s, current_user, Import, id, Access.WRITE)
    services.discard(s, imp, current_user)
    return jsonify(one_import(imp))


@route(
    "/imports/{id}/report",
    "GET",
    summary="The import's report: every row with its status and reason (CSV)",
    tag="imports",
    response={"type": "string", "x-content-type": "text/csv"},
    params=ID,
)
def import_report(id: str) -> ResponseReturnValue:
    s = db_session()
    imp = require_in_case(s, current_user, Import, id)
    return services.report_response(s, imp)


# --- resumable uploads (tus 1.0) -----------------------------------------------------------------------------

TUS_HEADERS = [
    {"name": "Tus-Resumable", "in": "header", "required": True, "schema": {"type": "string", "enum": ["1.0.0"]}},
]


@route(
    "/cases/{id}/uploads",
    "OPTIONS",
    summary="tus 1.0 discovery: versions, extensions (creation, checksum, termination, expiration), maximum size",
    tag="uploads",
    status=204,
    params=ID,
    errors=(401, 404),
)
def upload_options(id: str) -> ResponseReturnValue:
    return tus_http.options(id)


@route(
    "/cases/{id}/uploads",
    "POST",
    summary="Create a resumable upload (tus creation): Upload-Length, and the evidence fields as Upload-Metadata "
    "(base64 values: filename, title, kind, description, collected_at, source, classification, sha256, witness_id, "
    "incident_ids, on_duplicate, …), all checked now; then PATCH the bytes to the Location",
    tag="uploads",
    status=201,
    params=ID
    + TUS_HEADERS
    + [
        {
            "name": "Upload-Length",
            "in": "header",
            "required": True,
            "schema": {"type": "string", "pattern": "^[0-9]+$"},
        },
        {"name": "Upload-Metadata", "in": "header", "required": False, "schema": {"type": "string"}},
    ],
    errors=(401, 403, 404, 409, 412, 413, 422),
)
@tus_http.no_automatic_options
def create_upload(id: str) -> ResponseReturnValue:
    return tus_http.create(id, lambda upload: url_for("api.upload_status", id=upload.id, _external=True))


@route(
    "/uploads/{id}",
    "GET",
    summary="A resumable upload: received bytes, state, and the evidence item once recorded (HEAD: the tus offset)",
    tag="uploads",
    response=UPLOAD,
    params=ID,
)
def upload_status(id: str) -> ResponseReturnValue:
    return tus_http.status(id)


@route(
    "/uploads/{id}",
    "PATCH",
    summary="Send bytes of a resumable upload from Upload-Offset (tus); Upload-Checksum (sha1, sha256, md5) optional. "
    "After the last byte a job records the file as evidence: follow GET /uploads/{id}",
    tag="uploads",
    request_schema={"type": "string", "format": "binary"},
    request_kind="binary",
    status=204,
    params=ID
    + TUS_HEADERS
    + [
        {
            "name": "Upload-Offset",
            "in": "header",
            "required": True,
            "schema": {"type": "string", "pattern": "^[0-9]+$"},
        },
        {"name": "Upload-Checksum", "in": "header", "required": False, "schema": {"type": "string"}},
    ],
    errors=(400, 401, 404, 409, 410, 412, 413, 415, 422, 423, 460),
)
def upload_bytes(id: str) -> ResponseReturnValue:
    return tus_http.patch(id)


@route(
    "/uploads/{id}",
    "DELETE",
    summary="Give up a resumable upload (tus termination): its bytes are deleted",
    tag="uploads",
    status=204,
    params=ID + TUS_HEADERS,
    errors=(401, 404, 409, 410),
)
def terminate_upload(id: str) -> ResponseReturnValue:
    return tus_http.delete(id)


# --- exports -----------------------------------------------------------------------------------------------------


@route(
    "/cases/{id}/exports",
    "POST",
    summary="Export the case's data (XLSX, or a ZIP of CSV files): answers at once with the export and the job that "
    "makes it; classification respected, witnesses by pseudonym only; written to the custody ledger",
    tag="exports",
    request_schema=EXPORT_CREATE,
    response=EXPORT_ACCEPTED,
    status=202,
    params=ID,
    errors=(401, 404, 422),
)
def create_export(id: str) -> ResponseReturnValue:
    s = db_session()
    case = require_case(s, current_user, id)
    data = only_fields(json_body(), fields_of(EXPORT_CREATE))
    export = exporting.request_export(s, case, current_user, data.get("format"), data.get("max_classification"))
    job = submit_export(s, export, case, current_user)
    payload = {**exporting.export_json(export), "job": one_job_json(job)}
    return jsonify(payload), 202, {"Location": url_for("api.get_export", id=export.id)}


@route(
    "/cases/{id}/exports",
    "GET",
    summary="Exports of a case, newest first",
    tag="exports",
    response=EXPORT,
    params=ID,
    paginated=True,
    errors=(401, 404, 422),
)
def list_exports(id: str) -> ResponseReturnValue:
    s = db_session()
    case = require_case(s, current_user, id)
    stmt = select(CaseExport).where(CaseExport.case_id == case.id).order_by(CaseExport.created_at.desc())
    return paginate(s, stmt, exporting.export_json)


@route("/exports/{id}", "GET", summary="One export", tag="exports", response=EXPORT, params=ID)
def get_export(id: str) -> ResponseReturnValue:
    return jsonify(exporting.export_json(require_in_case(db_session(), current_user, CaseExport, id)))


@route(
    "/exports/{id}/download",
    "GET",
    summary="The export's file (recorded in the custody ledger); 409 until it is ready",
    tag="exports",
    response={"type": "string", "format": "binary", "x-content-type": "application/octet-stream"},
    params=ID,
    errors=(401, 404, 409),
)
def download_export(id: str) -> ResponseReturnValue:
    s = db_session()
    export = require_in_case(s, current_user, CaseExport, id)
    return send_download(exporting.download(s, export, current_user))
