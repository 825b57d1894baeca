"""Actors, relations and involvements over JSON, calling the same services as the HTML views."""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import select

from casefile.actors import services
from casefile.actors.models import Actor, ActorRelation, Involvement
from casefile.actors.schemas import (
    ACTOR,
    ACTOR_CREATE,
    ACTOR_PATCH,
    INVOLVEMENT,
    INVOLVEMENT_CREATE,
    RELATION,
    RELATION_CREATE,
)
from casefile.api.core import created, fields_of, json_body, only_fields, paginate, route
from casefile.api.schemas import UUID
from casefile.auth.gate import Access, require_case, require_in_case
from casefile.db import db_session
from casefile.web import api_error

ID = [{"name": "id", "in": "path", "required": True, "schema": UUID}]


def candidate_json(candidate: services.Candidate) -> dict[str, Any]:
    return {
        "id": str(candidate.actor.id),
        "name": candidate.actor.name,
        "score": candidate.score,
        "matched": candidate.matched,
    }


def actor_json(actor: Actor, duplicates: list[services.Candidate] | None = None) -> dict[str, Any]:
    """`duplicates`: the actor's possible duplicates where the caller has looked them up (one actor at a time;
    lists leave them empty rather than compare every actor of a page with every actor of the case)."""
    return {
        "id": str(actor.id),
        "case_id": str(actor.case_id),
        "kind": actor.kind.value,
        "name": actor.name,
        "aliases": list(actor.aliases),
        "description": actor.description,
        "date_of_birth": actor.date_of_birth,
        "place_of_birth": actor.place_of_birth,
        "nationality": actor.nationality,
        "identifiers": list(actor.identifiers),
        "merged_into_id": str(actor.merged_into_id) if actor.merged_into_id else None,
        "created_at": actor.created_at.isoformat(),
        "possible_duplicates": [candidate_json(c) for c in duplicates or []],
    }


def relation_json(r: ActorRelation) -> dict[str, Any]:
    return {
        "id": str(r.id),
        "case_id": str(r.case_id),
        "source_actor_id": str(r.source_actor_id),
        "target_actor_id": str(r.target_actor_id),
        "relation": r.relation.value,
        "valid_from": r.valid_from.isoformat() if r.valid_from else None,
        "valid_to": r.valid_to.isoformat() if r.valid_to else None,
        "confidence": r.confidence.value,
        "note": r.note,
    }


def involvement_json(v: Involvement) -> dict[str, Any]:
    return {
        "id": str(v.id),
        "case_id": str(v.case_id),
        "incident_id": str(v.incident_id),
        "actor_id": str(v.actor_id),
        "degree": v.degree.value,
        "mode_of_liability": v.mode_of_liability,
        "status": v.status.value,
        "note": v.note,
    }


@route(
    "/cases/{id}/actors",
    "GET",
    summary="Actors of a case (merged duplicates excluded)",
    tag="actors",
    response=ACTOR,
    params=ID,
    paginated=True,
    errors=(401, 404, 422),
)
def list_actors(id: str) -> ResponseReturnValue:
    s = db_session()
    case = require_case(s, current_user, id)
    stmt = select(Actor).where(Actor.case_id == case.id, Actor.merged_into_id.is_(None)).order_by(Actor.name)
    return paginate(s, stmt, actor_json)


@route(
    "/cases/{id}/actors",
    "POST",
    summary="Add an actor; one that reads like an actor already in the case needs confirm_new (else 409)",
    tag="actors",
    request_schema=ACTOR_CREATE,
    response=ACTOR,
    status=201,
    params=ID,
    errors=(401, 403, 404, 409, 422),
)
def create_actor(id: str) -> ResponseReturnValue:
    s = db_session()
    case = require_case(s, current_user, id, Access.WRITE)
    data = only_fields(json_body(), fields_of(ACTOR_CREATE))
    confirm_new = services.parse_flag(data.pop("confirm_new", None), "confirm_new")
    try:
        actor = services.create_actor(s, case, current_user, data, confirm_new=confirm_new)
    except services.LikelyDuplicates as refused:
        return api_error(
            refused.status,
            refused.code,
            refused.message,
            possible_duplicates=[candidate_json(c) for c in refused.candidates],
        )
    # Created anyway: the response still names the actors it was confirmed to differ from.
    return created(actor_json(actor, services.possible_duplicates(s, actor)))


@route(
    "/actors/{id}", "GET", summary="One actor, with its possible duplicates", tag="actors", response=ACTOR, params=ID
)
def get_actor(id: str) -> ResponseReturnValue:
    s = db_session()
    actor = require_in_case(s, current_user, Actor, id)
    return jsonify(actor_json(actor, services.possible_duplicates(s, actor)))


@route(
    "/actors/{id}",
    "PATCH",
    summary="Change an actor",
    tag="actors",
    request_schema=ACTOR_PATCH,
    response=ACTOR,
    params=ID,
    errors=(401, 403, 404, 422),
)
def patch_actor(id: str) -> ResponseReturnValue:
    s = db_session()
    actor = require_in_case(s, current_user, Actor, id, Access.WRITE)
    data = only_fields(json_body(), fields_of(ACTOR_PATCH))
    services.update_actor(s, actor, data)
    return jsonify(actor_json(actor, services.possible_duplicates(s, actor)))


@route(
    "/actors/{id}/merge",
    "POST",
    summary="Merge another actor (duplicate_id) into this one",
    tag="actors",
    request_schema={
        "type": "object",
        "properties": {"duplicate_id": UUID},
        "required": ["duplicate_id"],
        "additionalProperties": False,
    },
    response=ACTOR,
    params=ID,
    errors=(401, 403, 404, 422),
)
def merge_actor(id: str) -> ResponseReturnValue:
    s = db_session()
    keep = require_in_case(s, current_user, Actor, id, Access.WRITE)
    data = only_fields(json_body(), {"duplicate_id"})
    duplicate = services.actor_in_case(s, keep.case, data.get("duplicate_id"), "duplicate_id")
    services.merge_actors(s, keep, duplicate, current_user)
    return jsonify(actor_json(keep, services.possible_duplicates(s, keep)))


@route(
    "/cases/{id}/actor-relations",
    "GET",
    summary="Relations between the case's actors",
    tag="actors",
    response=RELATION,
    params=ID,
    paginated=True,
    errors=(401, 404, 422),
)
def list_relations(id: str) -> ResponseReturnValue:
    s = db_session()
    case = require_case(s, current_user, id)
    stmt = select(ActorRelation).where(ActorRelation.case_id == case.id).order_by(ActorRelation.created_at)
    return paginate(s, stmt, relation_json)


@route(
    "/cases/{id}/actor-relations",
    "POST",
    summary="Relate two actors (e.g. commands, member_of)",
    tag="actors",
    request_schema=RELATION_CREATE,
    response=RELATION,
    status=201,
    params=ID,
    errors=(401, 403, 404, 422),
)
def create_relation(id: str) -> ResponseReturnValue:
    s = db_session()
    case = require_case(s, current_user, id, Access.WRITE)
    data = only_fields(json_body(), fields_of(RELATION_CREATE))
    return created(relation_json(services.create_relation(s, case, data)))


@route(
    "/cases/{id}/involvements",
    "GET",
    summary="Involvements of actors in incidents",
    tag="actors",
    response=INVOLVEMENT,
    params=ID,
    paginated=True,
    errors=(401, 404, 422),
)
def list_involvements(id: str) -> ResponseReturnValue:
    s = db_session()
    case = require_case(s, current_user, id)
    stmt = select(Involvement).where(Involvement.case_id == case.id).order_by(Involvement.created_at)
    return paginate(s, stmt, involvement_json)


@route(
    "/cases/{id}/involvements",
    "POST",
    summary="Record an actor's involvement in an incident",
    tag="actors",
    request_schema=INVOLVEMENT_CREATE,
    response=INVOLVEMENT,
    status=201,
    params=ID,
    errors=(401, 403, 404, 422),
)
def create_involvement(id: str) -> ResponseReturnValue:
    s = db_session()
    case = require_case(s, current_user, id, Access.WRITE)
    data = only_fields(json_body(), fields_of(INVOLVEMENT_CREATE))
    return created(involvement_json(services.create_involvement(s, case, data)))
