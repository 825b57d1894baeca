"""Web capture routes of the JSON API."""

from __future__ import annotations

from flask import jsonify, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from casefile.api.core import fields_of, json_body, only_fields, paginate, route
from casefile.api.schemas import UUID
from casefile.auth.gate import Access, require_case, require_in_case
from casefile.capture import services
from casefile.capture.jobs import submit_capture
from casefile.capture.models import WebCapture
from casefile.capture.schemas import CAPTURE, CAPTURE_ACCEPTED, CAPTURE_CREATE
from casefile.components import field_cipher, settings
from casefile.db import db_session
from casefile.jobs.api import one_job_json

ID = [{"name": "id", "in": "path", "required": True, "schema": UUID}]


@route(
    "/cases/{id}/captures",
    "POST",
    summary="Capture a web page as evidence: answers at once with the capture and the job that loads the page in a "
    "headless browser and records a WACZ archive, a full-page screenshot, a PDF print, the TLS chain and the page's "
    "media, each an evidence item; only public addresses (or networks an administrator allowed)",
    tag="captures",
    request_schema=CAPTURE_CREATE,
    response=CAPTURE_ACCEPTED,
    status=202,
    params=ID,
    errors=(401, 403, 404, 422),
)
def create_capture(id: str) -> ResponseReturnValue:
    s = db_session()
    case = require_case(s, current_user, id, Access.WRITE)
    data = only_fields(json_body(), fields_of(CAPTURE_CREATE))
    capture, job = submit_capture(s, settings(), field_cipher(), case, current_user, data)
    payload = {**services.capture_json(s, capture), "job": one_job_json(job)}
    return jsonify(payload), 202, {"Location": url_for("api.get_capture", id=capture.id)}


@route(
    "/cases/{id}/captures",
    "GET",
    summary="Web captures of a case, newest first",
    tag="captures",
    response=CAPTURE,
    params=ID,
    paginated=True,
    errors=(401, 404, 422),
)
def list_captures(id: str) -> ResponseReturnValue:
    s = db_session()
    case = require_case(s, current_user, id)
    return paginate(s, services.captures_query(case), serialise_page=lambda page: services.captures_json(s, page))


@route(
    "/captures/{id}",
    "GET",
    summary="One web capture: what was asked, what the browser received, its evidence items and trusted timestamps",
    tag="captures",
    response=CAPTURE,
    params=ID,
)
def get_capture(id: str) -> ResponseReturnValue:
    s = db_session()
    return jsonify(services.capture_json(s, require_in_case(s, current_user, WebCapture, id)))
