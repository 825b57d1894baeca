"""The tus protocol's HTTP side, shared by the API (/api/v1, Bearer token) and the upload page (session cookie,
CSRF token in the X-CSRFToken header): each function answers one request for the current user."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response, jsonify, request
from flask_login import current_user

from casefile import components
from casefile.auth.gate import Access, require_case
from casefile.db import db_session, get_database
from casefile.evidence.models import EvidenceItem
from casefile.intake import tus
from casefile.intake.jobs import submit_finish
from casefile.intake.models import ResumableUpload


def _with_tus(response: Response, headers: dict[str, str] | None = None) -> Response:
    response.headers.update(headers or {"Tus-Resumable": tus.VERSION})
    return response


def options(case_id: str) -> Response:
    require_case(db_session(), current_user, case_id)
    return _with_tus(Response(status=204), tus.options_headers())


def create(case_id: str, location: Callable[[ResumableUpload], str]) -> Response:
    s = db_session()
    case = require_case(s, current_user, case_id, Access.WRITE)
    upload = tus.create(s, case, current_user, request.headers)
    response = Response(status=201)
    response.headers["Location"] = location(upload)
    return _with_tus(response, tus.headers_of(upload))


def status(upload_id: str) -> Response:
    """HEAD: the offset to resume from (tus); GET: the upload as JSON, with the item once it is recorded."""
    s = db_session()
    upload = tus.load(s, current_user, upload_id)
    if request.method == "HEAD":
        if upload.state.value in ("expired", "terminated"):
            return _with_tus(Response(status=410))
        return _with_tus(Response(status=200), tus.headers_of(upload))
    item = s.get(EvidenceItem, upload.evidence_id) if upload.evidence_id else None
    return _with_tus(jsonify(tus.upload_json(upload, item)), tus.headers_of(upload))


def patch(upload_id: str) -> Response:
    # The bytes are received with no database transaction open (on SQLite a write transaction would block every
    # other writer for as long as the bytes take) and stored as a part in the blob store; then one short
    # transaction confirms the part and moves the offset, if no other request moved it meanwhile.
    store = components.blob_store()
    with get_database().read_sessionmaker() as rs:
        upload = tus.load(rs, current_user, upload_id, Access.WRITE)
    part = tus.append(store, upload, request.headers, request.stream)
    s = db_session()
    current = tus.load(s, current_user, upload.id, Access.WRITE)
    if part.name is not None:
        try:
            if tus.record_part(s, current, part):
                submit_finish(s, current, current.case, current_user)
            s.commit()
        except BaseException:
            s.rollback()
            store.delete_part(part.name)  # never confirmed: nothing names it
            raise
    return _with_tus(Response(status=204), tus.headers_of(current))


def delete(upload_id: str) -> Response:
    s = db_session()
    names = tus.terminate(s, tus.load(s, current_user, upload_id, Access.WRITE))
    s.commit()
    tus.delete_parts(components.blob_store(), names)
    return _with_tus(Response(status=204))


def no_automatic_options(view: Any) -> Any:
    """This route answers OPTIONS itself (tus discovery): Flask must not add its own."""
    view.provide_automatic_options = False
    return view
