"""Field intake routes of the JSON API: the forms a case offers phones, device credentials, and the review queue.
(The phones themselves speak OpenRosa at /openrosa/cases/{id}: protocol.py.)"""

from __future__ import annotations

from flask import jsonify, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from casefile.api.core import fields_of, json_body, only_fields, paginate, route
from casefile.api.schemas import UUID, enum_of
from casefile.auth.gate import Access, require_case
from casefile.components import blob_store, field_cipher
from casefile.db import db_session
from casefile.errors import ValidationFailed
from casefile.fieldintake import jobs, services, xlsform
from casefile.fieldintake.models import SubmissionState
from casefile.fieldintake.schemas import (
    CREDENTIAL,
    CREDENTIAL_CREATE,
    CREDENTIAL_CREATED,
    FORM,
    FORM_CREATE,
    REJECT,
    SUBMISSION,
    SUBMISSION_ACCEPTED,
)
from casefile.fieldintake.views import server_address
from casefile.jobs.api import one_job_json

ID = [{"name": "id", "in": "path", "required": True, "schema": UUID}]


@route(
    "/cases/{id}/field-forms",
    "GET",
    summary="The forms the case offers phones (OpenRosa form list), newest first",
    tag="field intake",
    response=FORM,
    params=ID,
    paginated=True,
    errors=(401, 404, 422),
)
def list_field_forms(id: str) -> ResponseReturnValue:
    s = db_session()
    case = require_case(s, current_user, id)
    return paginate(s, services.forms_query(case), services.form_json)


@route(
    "/cases/{id}/field-forms",
    "POST",
    summary="Offer a form to the case's phones: Casefile's field report, or the case's own XLSForm (converted with "
    "pyxform); with encryption (the default) Casefile makes the key pair and keeps the private key",
    tag="field intake",
    request_schema=FORM_CREATE,
    request_kind="multipart",
    response=FORM,
    status=201,
    params=ID,
    errors=(401, 403, 404, 409, 413, 422),
)
def create_field_form(id: str) -> ResponseReturnValue:
    only_fields(request.form, fields_of(FORM_CREATE))
    encrypted = request.form.get("encrypted", "true").strip().lower()
    if encrypted not in ("true", "false"):
        raise ValidationFailed("Give true or false.", field="encrypted")
    s = db_session()
    case = require_case(s, current_user, id, Access.WRITE)
    upload = request.files.get("xlsform")
    source = None
    if upload is not None and upload.filename:
        source = (services.read_part(upload, xlsform.MAX_XLSFORM_BYTES, "xlsform"), upload.filename)
    form = services.create_form(
        s, blob_store(), field_cipher(), case, current_user, xlsform_file=source, encrypted=encrypted == "true"
    )
    return jsonify(services.form_json(form)), 201


@route(
    "/field-forms/{id}/withdraw",
    "POST",
    summary="Stop offering a form to phones (submissions of it are still received)",
    tag="field intake",
    response=FORM,
    params=ID,
    errors=(401, 403, 404),
)
def withdraw_field_form(id: str) -> ResponseReturnValue:
    s = db_session()
    form = services.form_in_case(s, current_user, id, Access.WRITE)
    return jsonify(services.form_json(services.withdraw_form(s, current_user, form)))


@route(
    "/cases/{id}/device-credentials",
    "POST",
    summary="A login for one of your phones on this case (HTTP Digest, or Basic over HTTPS): the password is in "
    "this answer only",
    tag="field intake",
    request_schema=CREDENTIAL_CREATE,
    response=CREDENTIAL_CREATED,
    status=201,
    params=ID,
    errors=(401, 403, 404, 422),
)
def create_device_credential(id: str) -> ResponseReturnValue:
    s = db_session()
    case = require_case(s, current_user, id, Access.WRITE)
    data = only_fields(json_body(), fields_of(CREDENTIAL_CREATE))
    credential, secret = services.create_credential(s, field_cipher(), case, current_user, data.get("label"))
    return jsonify(services.credential_json(credential, server_address(case), secret=secret)), 201


@route(
    "/cases/{id}/device-credentials",
    "GET",
    summary="Your phones' logins on this case (never their passwords)",
    tag="field intake",
    response=CREDENTIAL,
    params=ID,
    paginated=True,
    errors=(401, 404, 422),
)
def list_device_credentials(id: str) -> ResponseReturnValue:
    s = db_session()
    case = require_case(s, current_user, id)
    address = server_address(case)
    return paginate(s, services.credentials_query(case, current_user), lambda c: services.credential_json(c, address))


@route(
    "/device-credentials/{id}/revoke",
    "POST",
    summary="Revoke one of your phones' logins: it can no longer send or fetch forms",
    tag="field intake",
    response=CREDENTIAL,
    params=ID,
)
def revoke_device_credential(id: str) -> ResponseReturnValue:
    s = db_session()
    credential = services.revoke_credential(s, current_user, services.own_credential(s, current_user, id))
    return jsonify(services.credential_json(credential, server_address(credential.case)))


@route(
    "/cases/{id}/field-submissions",
    "GET",
    summary="What the case's phones sent, newest first (?state=pending for the review queue)",
    tag="field intake",
    response=SUBMISSION,
    params=[*ID, {"name": "state", "in": "query", "required": False, "schema": enum_of(SubmissionState)}],
    paginated=True,
    errors=(401, 404, 422),
)
def list_field_submissions(id: str) -> ResponseReturnValue:
    s = db_session()
    case = require_case(s, current_user, id)
    return paginate(s, services.submissions_query(case, request.args.get("state")), services.submission_json)


@route(
    "/field-submissions/{id}",
    "GET",
    summary="One submission: its answers, files (SHA-256 as received and as decrypted) and review",
    tag="field intake",
    response=SUBMISSION,
    params=ID,
)
def get_field_submission(id: str) -> ResponseReturnValue:
    s = db_session()
    return jsonify(services.submission_json(services.submission_in_case(s, current_user, id)))


@route(
    "/field-submissions/{id}/accept",
    "POST",
    summary="Accept a submission awaiting review into the case: a job records each file as an evidence item",
    tag="field intake",
    response=SUBMISSION_ACCEPTED,
    status=202,
    params=ID,
    errors=(401, 403, 404, 409),
)
def accept_field_submission(id: str) -> ResponseReturnValue:
    s = db_session()
    submission = services.submission_in_case(s, current_user, id, Access.WRITE)
    job = jobs.accept(s, submission, current_user)
    body = {**services.submission_json(submission), "job": one_job_json(job)}
    return jsonify(body), 202, {"Location": url_for("api.get_field_submission", id=submission.id)}


@route(
    "/field-submissions/{id}/reject",
    "POST",
    summary="Reject a submission awaiting review, saying why: it and its files are kept, never evidence",
    tag="field intake",
    request_schema=REJECT,
    response=SUBMISSION,
    params=ID,
    errors=(401, 403, 404, 409, 422),
)
def reject_field_submission(id: str) -> ResponseReturnValue:
    s = db_session()
    submission = services.submission_in_case(s, current_user, id, Access.WRITE)
    data = only_fields(json_body(), fields_of(REJECT))
    services.reject(s, submission, current_user, data.get("reason"))
    return jsonify(services.submission_json(submission))
