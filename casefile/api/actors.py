"""Actors, relations, involvements, the legal catalogue, charges and their matrix over JSON."""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from casefile.actors import services
from casefile.actors.models import Actor, ActorRelation, Involvement
from casefile.api import schemas as sc
from casefile.api.core import created, json_body, only_fields, paginate, route
from casefile.auth.gate import Access, require_case, require_in_case
from casefile.db import db_session
from casefile.legal import services as legal
from casefile.legal.catalogue import load_catalogue
from casefile.legal.models import Charge

ID = [{"name": "id", "in": "path", "required": True, "schema": sc.UUID}]


def actor_json(actor: Actor, duplicates: list[services.Candidate] | None = None) -> dict[str, Any]:
    return {
        "id": str(actor.id),
        "case_id": str(actor.case_id),
        "kind": actor.kind.value,
        "name": actor.name,
        "aliases": list(actor.aliases),
        "description": actor.description,
        "date_of_birth": actor.date_of_birth,
        "nationality": actor.nationality,
        "identifiers": list(actor.identifiers),
        "merged_into_id": str(actor.merged_into_id) if actor.merged_into_id else None,
        "created_at": actor.created_at.isoformat(),
        "possible_duplicates": [
            {"id": str(c.actor.id), "name": c.actor.name, "score": c.score, "matched": c.matched}
            for c in duplicates or []
        ],
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


def charge_json(c: Charge) -> dict[str, Any]:
    return {
        "id": str(c.id),
        "case_id": str(c.case_id),
        "suspect_id": str(c.suspect_id),
        "offence_code": c.offence_code,
        "mode_code": c.mode_code,
        "incident_ids": [str(i.id) for i in c.incidents],
        "note": c.note,
        "created_at": c.created_at.isoformat(),
    }


@route(
    "/cases/{id}/actors",
    "GET",
    summary="Actors of a case (merged duplicates excluded)",
    tag="actors",
    response=sc.ACTOR,
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
    summary="Add an actor; the response proposes likely duplicates",
    tag="actors",
    request_schema=sc.ACTOR_CREATE,
    response=sc.ACTOR,
    status=201,
    params=ID,
    errors=(401, 403, 404, 422),
)
def create_actor(id: str) -> ResponseReturnValue:
    s = db_session()
    case = require_case(s, current_user, id, Access.WRITE)
    data = only_fields(json_body(), set(sc.ACTOR_CREATE["properties"]))
    actor = services.create_actor(s, case, current_user, data)
    duplicates = services.likely_duplicates(s, case, actor.name, list(actor.aliases), exclude=actor.id)
    return created(actor_json(actor, duplicates))


@route("/actors/{id}", "GET", summary="One actor", tag="actors", response=sc.ACTOR, params=ID)
def get_actor(id: str) -> ResponseReturnValue:
    return jsonify(actor_json(require_in_case(db_session(), current_user, Actor, id)))


@route(
    "/actors/{id}",
    "PATCH",
    summary="Change an actor",
    tag="actors",
    request_schema=sc.ACTOR_PATCH,
    response=sc.ACTOR,
    params=ID,
    errors=(401, 403, 404, 422),
)
def patch_actor(id: str) -> ResponseReturnValue:
    s = db_session()
    actor = require_in_case(s, current_user, Actor, id, Access.WRITE)
    data = only_fields(json_body(), set(sc.ACTOR_PATCH["properties"]))
    return jsonify(actor_json(services.update_actor(s, actor, data)))


@route(
    "/actors/{id}/merge",
    "POST",
    summary="Merge another actor (duplicate_id) into this one",
    tag="actors",
    request_schema={
        "type": "object",
        "properties": {"duplicate_id": sc.UUID},
        "required": ["duplicate_id"],
        "additionalProperties": False,
    },
    response=sc.ACTOR,
    params=ID,
    errors=(401, 403, 404, 422),
)
def merge_actor(id: str) -> ResponseReturnValue:
    s = db_session()
    keep = require_in_case(s, current_user, Actor, id, Access.WRITE)
    data = only_fields(json_body(), {"duplicate_id"})
    duplicate = services.actor_in_case(s, keep.case, data.get("duplicate_id"), "duplicate_id")
    return jsonify(actor_json(services.merge_actors(s, keep, duplicate, current_user)))


@route(
    "/cases/{id}/actor-relations",
    "GET",
    summary="Relations between the case's actors",
    tag="actors",
    response=sc.RELATION,
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
    request_schema=sc.RELATION_CREATE,
    response=sc.RELATION,
    status=201,
    params=ID,
    errors=(401, 403, 404, 422),
)
def create_relation(id: str) -> ResponseReturnValue:
    s = db_session()
    case = require_case(s, current_user, id, Access.WRITE)
    data = only_fields(json_body(), set(sc.RELATION_CREATE["properties"]))
    return created(relation_json(services.create_relation(s, case, data)))


@route(
    "/cases/{id}/involvements",
    "GET",
    summary="Involvements of actors in incidents",
    tag="actors",
    response=sc.INVOLVEMENT,
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
    request_schema=sc.INVOLVEMENT_CREATE,
    response=sc.INVOLVEMENT,
    status=201,
    params=ID,
    errors=(401, 403, 404, 422),
)
def create_involvement(id: str) -> ResponseReturnValue:
    s = db_session()
    case = require_case(s, current_user, id, Access.WRITE)
    data = only_fields(json_body(), set(sc.INVOLVEMENT_CREATE["properties"]))
    return created(involvement_json(services.create_involvement(s, case, data)))


@route(
    "/legal/frameworks",
    "GET",
    summary="The legal catalogue: frameworks, offences, modes, elements",
    tag="legal",
    response=sc.FRAMEWORKS,
    errors=(401,),
)
def frameworks() -> ResponseReturnValue:
    return jsonify(load_catalogue().to_dict())


@route(
    "/cases/{id}/charges",
    "GET",
    summary="Charges of a case",
    tag="legal",
    response=sc.CHARGE,
    params=ID,
    paginated=True,
    errors=(401, 404, 422),
)
def list_charges(id: str) -> ResponseReturnValue:
    s = db_session()
    case = require_case(s, current_user, id)
    stmt = (
        select(Charge)
        .where(Charge.case_id == case.id)
        .order_by(Charge.created_at)
        .options(selectinload(Charge.incidents))
    )
    return paginate(s, stmt, charge_json)


@route(
    "/cases/{id}/charges",
    "POST",
    summary="Charge a suspect with an offence under a mode of liability",
    tag="legal",
    request_schema=sc.CHARGE_CREATE,
    response=sc.CHARGE,
    status=201,
    params=ID,
    errors=(401, 403, 404, 422),
)
def create_charge(id: str) -> ResponseReturnValue:
    s = db_session()
    case = require_case(s, current_user, id, Access.WRITE)
    data = only_fields(json_body(), set(sc.CHARGE_CREATE["properties"]))
    return created(charge_json(legal.create_charge(s, case, data)))


def matrix_json(session: Any, charge: Charge) -> dict[str, Any]:
    def refs(links: list[Any]) -> list[dict[str, Any]]:
        return [
            {
                "evidence_id": str(link.evidence_id),
                "ern": link.evidence.ern,
                "title": link.evidence.title,
                "note": link.note,
            }
            for link in links
        ]

    rows = legal.matrix(session, charge)
    return {
        "charge": charge_json(charge),
        "elements": [
            {
                "code": r.element.code,
                "group": r.group,
                "text": r.element.text,
                "reference": r.element.reference,
                "status": r.status,
                "supporting": refs(r.supporting),
                "contradicting": refs(r.contradicting),
                "context": refs(r.context),
            }
            for r in rows
        ],
        "gaps": sum(1 for r in rows if r.status == "gap"),
        "paths": [
            {
                "established": p.established,
                "hops": [
                    {
                        "kind": h.kind,
                        "label": h.label,
                        "from": h.from_label,
                        "to": h.to_label,
                        "supporting": h.supporting,
                        "contradicting": h.contradicting,
                        "supported": h.supported,
                    }
                    for h in p.hops
                ],
            }
            for p in legal.link_analysis(session, charge)
        ],
    }


@route(
    "/charges/{id}/matrix",
    "GET",
    summary="Every element with its supporting and contradicting evidence, "
    "the gaps, and the paths from suspect to incidents",
    tag="legal",
    response=sc.MATRIX,
    params=ID,
)
def charge_matrix(id: str) -> ResponseReturnValue:
    s = db_session()
    charge = require_in_case(s, current_user, Charge, id)
    return jsonify(matrix_json(s, charge))
