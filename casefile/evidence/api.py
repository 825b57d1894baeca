"""Evidence items over JSON, calling the same services as the HTML views."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask.typing import ResponseReturnValue
from flask_login import current_user
from werkzeug.datastructures import FileStorage

from casefile.api.core import created, fields_of, json_body, only_fields, paginate, route
from casefile.api.schemas import DATETIME, UUID
from casefile.auth.gate import Access, require_case, require_in_case
from casefile.components import blob_store
from casefile.custody.actions import Action
from casefile.db import db_session
from casefile.errors import NotFound, ValidationFailed
from casefile.evidence import services, similar
from casefile.evidence.content import evidence_file, preview_image
from casefile.evidence.models import Derivation, EvidenceItem, OnDuplicate
from casefile.evidence.schemas import (
    DERIVATIVE_UPLOAD,
    EVIDENCE,
    EVIDENCE_DETAIL,
    EVIDENCE_PATCH,
    EVIDENCE_UPLOAD,
    SIMILAR,
    SIMILAR_DECISION,
)
from casefile.evidence.uploads import upload_writer
from casefile.links.api import link_json
from casefile.parsing import parse_choice
from casefile.provenance.services import provenance_of
from casefile.web_downloads import send_download
from casefile.witnesses.services import receive_upload, typed_statement

ID = [{"name": "id", "in": "path", "required": True, "schema": UUID}]

FILTERS = [
    {"name": name, "in": "query", "required": False, "schema": schema}
    for name, schema in (
        ("kind", EVIDENCE["properties"]["kind"]),
        ("classification", EVIDENCE["properties"]["classification"]),
        ("incident", UUID),
        ("source_reliability", {"type": "string", "enum": ["A", "B", "C", "D", "E", "F"]}),
        ("info_credibility", {"type": "integer", "minimum": 1, "maximum": 6}),
        ("actor", UUID),
        ("collected_from", DATETIME),
        ("collected_to", DATETIME),
    )
]

FORM_FIELDS = fields_of(EVIDENCE_UPLOAD) - {"file"}


def evidence_json(item: EvidenceItem) -> dict[str, Any]:
    return {
        "id": str(item.id),
        "case_id": str(item.case_id),
        "ern": item.ern,
        "kind": item.kind.value,
        "title": item.title,
        "description": item.description,
        "source": item.source,
        "source_reliability": item.source_reliability,
        "info_credibility": item.info_credibility,
        "collected_at": item.collected_at.isoformat() if item.collected_at else None,
        "collected_precision": item.collected_precision,
        "collected_by": item.collected_by,
        "collection_place": item.collection_place,
        "original_filename": item.original_filename,
        "media_type": item.media_type,
        "size": item.size,
        "sha256": item.sha256,
        "metadata": item.extracted,
        "metadata_status": item.metadata_status,
        "derived_status": item.derived_status.value,
        "classification": item.classification.value,
        "graphic": item.graphic,
        "verification_status": item.verification_status,
        "parent_id": str(item.parent_id) if item.parent_id else None,
        "derivation": item.derivation.value if item.derivation else None,
        "copy_of_id": str(item.copy_of_id) if item.copy_of_id else None,
        "links": [link_json(link) for link in item.links],
        "created_at": item.created_at.isoformat(),
    }


def uploaded_file() -> FileStorage:
    upload = request.files.get("file")
    if upload is None:
        raise ValidationFailed("Send the file as the multipart field 'file'.", field="file")
    return upload


def form_data(extra: frozenset[str] = frozenset()) -> dict[str, Any]:
    # A hostile multipart part can come without a usable name (None): it is unknown too, and sortable as text.
    unknown = sorted(str(name) for name in set(request.form) - FORM_FIELDS - extra)
    if unknown:
        raise ValidationFailed(f"Unknown field(s): {', '.join(unknown)[:200]}.", field=unknown[0][:50])
    return request.form.to_dict()


def incident_ids() -> list[str]:
    return [part.strip() for raw in request.form.getlist("incident_ids") for part in raw.split(",") if part.strip()]


@route(
    "/cases/{id}/evidence",
    "GET",
    summary="Evidence of a case, filtered and paginated",
    tag="evidence",
    response=EVIDENCE,
    params=ID + FILTERS,
    paginated=True,
    cursor=True,
    errors=(401, 404, 422),
)
def list_evidence(id: str) -> ResponseReturnValue:
    s = db_session()
    case = require_case(s, current_user, id)
    stmt = services.evidence_query(case, services.parse_filter(request.args))
    return paginate(s, stmt, evidence_json, keyset=services.EVIDENCE_KEYSET)


@route(
    "/cases/{id}/evidence",
    "POST",
    summary="Ingest a file as evidence (hashed while it streams); a file already in the case: see on_duplicate",
    tag="evidence",
    request_schema=EVIDENCE_UPLOAD,
    request_kind="multipart",
    response=EVIDENCE,
    status=201,
    params=ID,
    errors=(401, 403, 404, 409, 413, 422),
    also={200: "on_duplicate=acquisition and the file was already in the case: the existing item"},
)
def create_evidence(id: str) -> ResponseReturnValue:
    # Parse the upload first (it streams into the blob store) so no database lock is held meanwhile.
    data = form_data()
    typed = data.pop("statement_text", None)
    if typed is not None and "file" not in request.files:
        writer, filename = typed_statement(blob_store(), typed, data.get("witness_id"))
    else:
        upload = uploaded_file()
        writer, filename = upload_writer(upload), upload.filename or ""
    s = db_session()
    case = require_case(s, current_user, id, Access.WRITE)
    item, new = receive_upload(
        s,
        blob_store(),
        case,
        current_user,
        writer,
        filename=filename,
        data=data,
        on_duplicate=parse_choice(data.get("on_duplicate") or OnDuplicate.ASK, OnDuplicate, "on_duplicate"),
        witness_id=data.get("witness_id") or None,
        declared_sha256=data.get("sha256"),
        incident_ids=incident_ids(),
    )
    return created(evidence_json(item)) if new else jsonify(evidence_json(item))


@route(
    "/evidence/{id}",
    "GET",
    summary="One evidence item (recorded as viewed), with the other items holding the same file",
    tag="evidence",
    response=EVIDENCE_DETAIL,
    params=ID,
)
def get_evidence(id: str) -> ResponseReturnValue:
    s = db_session()
    item = services.with_links(s, require_in_case(s, current_user, EvidenceItem, id))
    services.record_read(s, item, current_user, Action.VIEWED, "api")
    same = [
        {"id": str(f.id), "ern": f.ern, "case_id": str(f.case_id), "case_reference": f.case_reference}
        for f in services.same_file_elsewhere(s, item, current_user)
    ]
    return jsonify({**evidence_json(item), "same_file": same, "provenance": provenance_of(s, [item])[item.id]})


def similar_json(candidate: similar.Candidate) -> dict[str, Any]:
    return {
        "id": str(candidate.item.id),
        "ern": candidate.item.ern,
        "title": candidate.item.title,
        "pdq_distance": candidate.pdq_distance,
        "phash_distance": candidate.phash_distance,
        "same": candidate.same,
    }


@route(
    "/evidence/{id}/similar",
    "GET",
    summary="Images of the item's case that look like it (perceptual hashes), nearest first, with the decisions taken",
    tag="evidence",
    response={"type": "object", "properties": {"items": {"type": "array", "items": SIMILAR}}},
    params=ID,
)
def list_similar(id: str) -> ResponseReturnValue:
    s = db_session()
    item = require_in_case(s, current_user, EvidenceItem, id)
    return jsonify({"items": [similar_json(c) for c in similar.candidates(s, item)]})


@route(
    "/evidence/{id}/similar",
    "POST",
    summary="Decide whether another item of the case is the same image (recorded in both custody trails)",
    tag="evidence",
    request_schema=SIMILAR_DECISION,
    response={"type": "object", "properties": {"items": {"type": "array", "items": SIMILAR}}},
    status=201,
    params=ID,
    errors=(401, 403, 404, 422),
)
def decide_similar(id: str) -> ResponseReturnValue:
    s = db_session()
    item = require_in_case(s, current_user, EvidenceItem, id, Access.WRITE)
    data = only_fields(json_body(), fields_of(SIMILAR_DECISION))
    other = require_in_case(s, current_user, EvidenceItem, data.get("other_id"), Access.WRITE)
    similar.decide(s, item, other, data.get("same"), current_user)
    return created({"items": [similar_json(c) for c in similar.candidates(s, item)]})


@route(
    "/evidence/{id}",
    "PATCH",
    summary="Change an item's descriptive metadata (never its content)",
    tag="evidence",
    request_schema=EVIDENCE_PATCH,
    response=EVIDENCE,
    params=ID,
    errors=(401, 403, 404, 422),
)
def patch_evidence(id: str) -> ResponseReturnValue:
    s = db_session()
    item = services.with_links(s, require_in_case(s, current_user, EvidenceItem, id, Access.WRITE))
    data = only_fields(json_body(), fields_of(EVIDENCE_PATCH))
    return jsonify(evidence_json(services.update_metadata(s, item, current_user, data)))


@route(
    "/evidence/{id}/content",
    "GET",
    summary="Download the original file (recorded as downloaded)",
    tag="evidence",
    response={"type": "string", "format": "binary", "x-content-type": "application/octet-stream"},
    params=ID,
)
def evidence_content(id: str) -> ResponseReturnValue:
    s = db_session()
    return send_download(evidence_file(s, require_in_case(s, current_user, EvidenceItem, id), current_user, "api"))


@route(
    "/evidence/{id}/preview",
    "GET",
    summary="The item's preview: a photo's, or a PDF's first pages side by side (a JPEG without metadata, recorded "
    "as viewed); 404 when it has none",
    tag="evidence",
    response={"type": "string", "format": "binary", "x-content-type": "image/jpeg"},
    params=ID,
)
def evidence_preview(id: str) -> ResponseReturnValue:
    s = db_session()
    download = preview_image(s, require_in_case(s, current_user, EvidenceItem, id), current_user)
    if download is None:
        raise NotFound("This item has no preview.")
    return send_download(download, inline=True)


@route(
    "/evidence/{id}/derivatives",
    "POST",
    summary="Add a transcript, translation, redacted or working copy",
    tag="evidence",
    request_schema=DERIVATIVE_UPLOAD,
    request_kind="multipart",
    response=EVIDENCE,
    status=201,
    params=ID,
    errors=(401, 403, 404, 413, 422),
)
def create_derivative(id: str) -> ResponseReturnValue:
    upload = uploaded_file()
    data = form_data(frozenset({"derivation"}))
    s = db_session()
    parent = require_in_case(s, current_user, EvidenceItem, id, Access.WRITE)
    derivation = services.parse_choice(data.get("derivation"), Derivation, "derivation")
    item = services.ingest(
        s,
        blob_store(),
        parent.case,
        current_user,
        upload_writer(upload),
        filename=upload.filename,
        data=data,
        declared_sha256=data.get("sha256"),
        incident_ids=incident_ids(),
        parent=parent,
        derivation=derivation,
    )
    return created(evidence_json(item))
