"""Dossiers over JSON, calling the same services as the HTML views."""

from __future__ import annotations

from flask import jsonify, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import select

from casefile.api.core import fields_of, json_body, only_fields, paginate, route
from casefile.api.schemas import UUID
from casefile.auth.gate import Access, require_case, require_in_case
from casefile.db import db_session
from casefile.dossier import services
from casefile.dossier.builder import DossierRequest
from casefile.dossier.jobs import submit_build
from casefile.dossier.models import Dossier
from casefile.dossier.schemas import DOSSIER, DOSSIER_ACCEPTED, DOSSIER_CREATE, DOSSIER_PLAN
from casefile.errors import ValidationFailed
from casefile.jobs.api import one_job_json
from casefile.web_downloads import send_download

ID = [{"name": "id", "in": "path", "required": True, "schema": UUID}]


def _request(data: dict) -> DossierRequest:
    for name in ("evidence_ids", "target_ids", "charge_ids"):
        if data.get(name) is not None and not isinstance(data[name], list):
            raise ValidationFailed(f"{name} must be a list.", field=name)
    if not isinstance(data.get("analysis", False), bool):
        raise ValidationFailed("analysis must be true or false.", field="analysis")
    return DossierRequest(
        profile=data.get("profile"),
        title=data.get("title"),
        evidence_ids=data.get("evidence_ids"),
        language=data.get("language"),
        target_ids=data.get("target_ids"),
        charge_ids=data.get("charge_ids"),
        analysis=bool(data.get("analysis", False)),
        cover_letter=data.get("cover_letter"),
        narrative=data.get("narrative"),
    )


@route(
    "/cases/{id}/dossiers",
    "GET",
    summary="Dossiers built for a case",
    tag="dossiers",
    response=DOSSIER,
    params=ID,
    paginated=True,
    errors=(401, 404, 422),
)
def list_dossiers(id: str) -> ResponseReturnValue:
    s = db_session()
    case = require_case(s, current_user, id)
    stmt = select(Dossier).where(Dossier.case_id == case.id).order_by(Dossier.created_at.desc())
    return paginate(s, stmt, services.dossier_json)


@route(
    "/cases/{id}/dossiers/preview",
    "POST",
    summary="What a dossier would include and exclude, and why",
    tag="dossiers",
    request_schema=DOSSIER_CREATE,
    response=DOSSIER_PLAN,
    params=ID,
    errors=(401, 404, 422),
)
def preview_dossier(id: str) -> ResponseReturnValue:
    s = db_session()
    case = require_case(s, current_user, id)
    data = only_fields(json_body(), fields_of(DOSSIER_CREATE))
    return jsonify(services.plan_json(services.preview(s, case, _request(data))))


@route(
    "/cases/{id}/dossiers",
    "POST",
    summary="Build a signed BagIt dossier for a recipient profile: answers at once with the dossier (building) "
    "and the job that builds it; follow the job at GET /jobs/{id}, then download when the dossier is ready",
    tag="dossiers",
    request_schema=DOSSIER_CREATE,
    response=DOSSIER_ACCEPTED,
    status=202,
    params=ID,
    errors=(401, 403, 404, 409, 422),
)
def create_dossier(id: str) -> ResponseReturnValue:
    s = db_session()
    case = require_case(s, current_user, id, Access.WRITE)
    data = only_fields(json_body(), fields_of(DOSSIER_CREATE))
    dossier, job = submit_build(s, case, current_user, _request(data))
    response = jsonify({**services.dossier_json(dossier), "job": one_job_json(job)})
    response.status_code = 202
    response.headers["Location"] = url_for("api.get_dossier", id=dossier.id)
    return response


@route(
    "/dossiers/{id}",
    "GET",
    summary="One dossier: its SHA-256, what it includes and what it excluded",
    tag="dossiers",
    response=DOSSIER,
    params=ID,
)
def get_dossier(id: str) -> ResponseReturnValue:
    return jsonify(services.dossier_json(require_in_case(db_session(), current_user, Dossier, id)))


@route(
    "/dossiers/{id}/approve",
    "POST",
    summary="Approve a built dossier's release (a legal member of the case who did not build it; recorded in the "
    "custody ledger): until then it cannot be downloaded",
    tag="dossiers",
    response=DOSSIER,
    params=ID,
    errors=(401, 403, 404, 409),
)
def approve_dossier(id: str) -> ResponseReturnValue:
    s = db_session()
    dossier = require_in_case(s, current_user, Dossier, id)
    return jsonify(services.dossier_json(services.approve(s, dossier, current_user)))


@route(
    "/dossiers/{id}/download",
    "GET",
    summary="The dossier ZIP (recorded in the custody ledger); 409 until the dossier is ready and approved",
    tag="dossiers",
    response={"type": "string", "format": "binary", "x-content-type": "application/octet-stream"},
    params=ID,
    errors=(401, 404, 409),
)
def download_dossier(id: str) -> ResponseReturnValue:
    s = db_session()
    dossier = require_in_case(s, current_user, Dossier, id)
    return send_download(services.dossier_download(s, dossier, current_user))
