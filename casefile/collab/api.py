"""Assignment and notification routes of the JSON API."""

from __future__ import annotations

from flask import jsonify, request
from flask.typing import ResponseReturnValue
from flask_login import current_user

from casefile.api.core import fields_of, json_body, only_fields, paginate, route
from casefile.api.schemas import UUID, enum_of
from casefile.auth.gate import require_case
from casefile.collab import comments, services
from casefile.collab.models import CommentedKind
from casefile.collab.schemas import (
    ASSIGNMENT,
    ASSIGNMENT_CREATE,
    COMMENT,
    COMMENT_CREATE,
    COMMENT_EDIT,
    NOTIFICATION,
)
from casefile.db import db_session

ID = [{"name": "id", "in": "path", "required": True, "schema": UUID}]


@route(
    "/cases/{id}/assignments",
    "GET",
    summary="The case's work: who was given which item, incident or charge, due when; open first",
    tag="work",
    response=ASSIGNMENT,
    params=ID,
    paginated=True,
    errors=(401, 404, 422),
)
def list_assignments(id: str) -> ResponseReturnValue:
    s = db_session()
    case = require_case(s, current_user, id)
    return paginate(s, services.case_assignments(case), services.assignment_json)


@route(
    "/cases/{id}/assignments",
    "POST",
    summary="Give a member of the case work on an item, incident or charge (they are notified)",
    tag="work",
    request_schema=ASSIGNMENT_CREATE,
    response=ASSIGNMENT,
    status=201,
    params=ID,
    errors=(401, 403, 404, 422),
)
def create_assignment(id: str) -> ResponseReturnValue:
    s = db_session()
    case = require_case(s, current_user, id)
    data = only_fields(json_body(), fields_of(ASSIGNMENT_CREATE))
    return jsonify(services.assignment_json(services.assign(s, case, current_user, data))), 201


@route(
    "/assignments/{id}/done",
    "POST",
    summary="Mark work done (its assignee, or a member who may write)",
    tag="work",
    response=ASSIGNMENT,
    params=ID,
    errors=(401, 403, 404),
)
def complete_assignment(id: str) -> ResponseReturnValue:
    s = db_session()
    assignment = services.assignment_in_case(s, current_user, id)
    return jsonify(services.assignment_json(services.complete(s, assignment, current_user)))


@route(
    "/me/assignments",
    "GET",
    summary="My open work, in the cases I belong to, soonest due first",
    tag="work",
    response=ASSIGNMENT,
    paginated=True,
    errors=(401, 422),
)
def my_assignments() -> ResponseReturnValue:
    s = db_session()
    return paginate(s, services.my_assignments(s, current_user), services.assignment_json)


@route(
    "/notifications",
    "GET",
    summary="My notifications, newest first (?unread=true for the unread only)",
    tag="work",
    response=NOTIFICATION,
    params=[{"name": "unread", "in": "query", "required": False, "schema": {"type": "string", "enum": ["true"]}}],
    paginated=True,
    errors=(401, 422),
)
def list_notifications() -> ResponseReturnValue:
    s = db_session()
    unread = request.args.get("unread") == "true"
    return paginate(s, services.notifications_of(current_user, unread_only=unread), services.notification_json)


@route(
    "/notifications/{id}/read",
    "POST",
    summary="Mark one of my notifications read",
    tag="work",
    response=NOTIFICATION,
    params=ID,
)
def read_notification(id: str) -> ResponseReturnValue:
    s = db_session()
    notification = services.own_notification(s, current_user, id)
    return jsonify(services.notification_json(services.mark_read(s, notification)))


@route(
    "/cases/{id}/comments",
    "GET",
    summary="Comments of the case's members, oldest first (?target_type=&target_id= for one item, incident, actor or "
    "charge), each with its earlier texts",
    tag="work",
    response=COMMENT,
    params=[
        *ID,
        {
            "name": "target_type",
            "in": "query",
            "required": False,
            "schema": enum_of(CommentedKind),
        },
        {"name": "target_id", "in": "query", "required": False, "schema": UUID},
    ],
    paginated=True,
    errors=(401, 404, 422),
)
def list_comments(id: str) -> ResponseReturnValue:
    s = db_session()
    case = require_case(s, current_user, id)
    stmt = comments.case_comments(case, request.args.get("target_type"), request.args.get("target_id"))
    return paginate(s, stmt, comments.comment_json)


@route(
    "/cases/{id}/comments",
    "POST",
    summary="Comment on an item, incident, actor or charge of the case; members named with @ are notified",
    tag="work",
    request_schema=COMMENT_CREATE,
    response=COMMENT,
    status=201,
    params=ID,
    errors=(401, 403, 404, 422),
)
def create_comment(id: str) -> ResponseReturnValue:
    s = db_session()
    case = require_case(s, current_user, id)
    data = only_fields(json_body(), fields_of(COMMENT_CREATE))
    return jsonify(comments.comment_json(comments.add(s, case, current_user, data))), 201


@route(
    "/comments/{id}",
    "PATCH",
    summary="Edit your comment (its earlier text is kept in its history)",
    tag="work",
    request_schema=COMMENT_EDIT,
    response=COMMENT,
    params=ID,
    errors=(401, 403, 404, 422),
)
def edit_comment(id: str) -> ResponseReturnValue:
    s = db_session()
    comment = comments.comment_in_case(s, current_user, id)
    data = only_fields(json_body(), fields_of(COMMENT_EDIT))
    return jsonify(comments.comment_json(comments.edit(s, comment, current_user, data.get("body"))))
