"""ProofMode bundles over JSON: the same services and job as the page."""

from __future__ import annotations

from flask import jsonify, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from casefile.api.core import route
from casefile.api.schemas import UUID
from casefile.auth.gate import Access, require_case
from casefile.components import settings
from casefile.db import db_session
from casefile.errors import ValidationFailed
from casefile.evidence.uploads import uploaded_part
from casefile.jobs.api import one_job_json
from casefile.provenance import services
from casefile.provenance.jobs import submit_import
from casefile.provenance.schemas import BUNDLE_ACCEPTED, BUNDLE_UPLOAD

ID = [{"name": "id", "in": "path", "required": True, "schema": UUID}]
FIELDS = set(BUNDLE_UPLOAD["properties"]) - {"bundle"}


@route(
    "/cases/{id}/proofmode-bundles",
    "POST",
    summary="Import a ProofMode bundle (the ZIP ProofMode shares): checked at once from its file list (not a ZIP, "
    "unsafe names, no proof or no media: 422); a job then imports each photo or video as an item with the bundle's "
    "other files as its proof_file derivatives, verifies the OpenPGP signatures with the bundle's key, the proof's "
    "SHA-256 and the OpenTimestamps proof, and records the outcome: a bundle that does not verify is imported with "
    "its problems stated (GET /evidence/{id}: provenance)",
    tag="provenance",
    request_schema=BUNDLE_UPLOAD,
    request_kind="multipart",
    response=BUNDLE_ACCEPTED,
    status=202,
    params=ID,
    errors=(401, 403, 404, 413, 422),
)
def create_proofmode_bundle(id: str) -> ResponseReturnValue:
    # The bundle streams into the blob store while the request is parsed, before any database work.
    upload = uploaded_part("bundle")
    unknown = sorted(str(name) for name in set(request.form) - FIELDS)
    if unknown:
        raise ValidationFailed(f"Unknown field(s): {', '.join(unknown)[:200]}.", field=unknown[0][:50])
    s = db_session()
    case = require_case(s, current_user, id, Access.WRITE)
    data = {**request.form.to_dict(), "incident_ids": incident_ids()}
    bundle = services.accept_bundle(s, case, upload, data, settings().max_upload_bytes)
    job = submit_import(s, case, current_user, bundle)
    payload = {
        "bundle": {"name": bundle.name, "sha256": bundle.sha256, "media": bundle.media},
        "job_id": str(job.id),
        "job": one_job_json(job),
    }
    return jsonify(payload), 202, {"Location": url_for("api.get_job", id=job.id)}


def incident_ids() -> list[str]:
    return [part.strip() for raw in request.form.getlist("incident_ids") for part in raw.split(",") if part.strip()]
