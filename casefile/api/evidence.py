"""Evidence, links and custody over JSON, calling the same services as the HTML views."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask.typing import ResponseReturnValue
from flask_login import current_user
from werkzeug.datastructures import FileStorage

from casefile.api import schemas as sc
from casefile.api.core import created, json_body, only_fields, paginate, route
from casefile.auth.gate import Access, require_case, require_in_case
from casefile.custody import ledger
from casefile.custody.actions import Action
from casefile.custody.services import record_transfer
from casefile.custody.verification import verify_for_current_user
from casefile.db import db_session
from casefile.errors import ValidationFailed
from casefile.evidence import services
from casefile.evidence.content import blob_store, send_evidence_file
from casefile.evidence.models import Derivation, EvidenceItem, EvidenceLink
from casefile.witnesses.services import ingest_evidence

ID = [{"name": "id", "in": "path", "required": True, "schema": sc.UUID}]
FILTERS = [
    {"name": name, "in": "query", "required": False, "schema": schema}
    for name, schema in (
        ("kind", sc.EVIDENCE["properties"]["kind"]),
        ("classification", sc.EVIDENCE["properties"]["classification"]),
        ("incident", sc.UUID),
        ("source_reliability", {"type": "string", "enum": ["A", "B", "C", "D", "E", "F"]}),
        ("info_credibility", {"type": "integer", "minimum": 1, "maximum": 6}),
        ("actor", sc.UUID),
        ("collected_from", sc.DATETIME),
        ("collected_to", sc.DATETIME),
    )
]
FORM_FIELDS = set(sc.EVIDENCE_UPLOAD["properties"]) - {"file"}


def link_json(link: EvidenceLink) -> dict[str, Any]:
    return {
        "id": str(link.id),
        "target_type": link.target_type,
        "target_id": str(link.target_id),
        "stance": link.stance.value,
        "note": link.note,
        "element_code": link.element_code,
        "target_label": services.link_label(link),
    }


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
        "collected_by": item.collected_by,
        "collection_place": item.collection_place,
        "original_filename": item.original_filename,
        "media_type": item.media_type,
        "size": item.size,
        "sha256": item.sha256,
        "metadata": item.extracted,
        "metadata_status": item.metadata_status,
        "classification": item.classification.value,
        "graphic": item.graphic,
        "parent_id": str(item.parent_id) if item.parent_id else None,
        "derivation": item.derivation.value if item.derivation else None,
        "links": [link_json(link) for link in item.links],
        "created_at": item.created_at.isoformat(),
    }


def custody_json(entry: Any) -> dict[str, Any]:
    fields = ledger.entry_fields(entry)
    return fields


def uploaded_file() -> FileStorage:
    upload = request.files.get("file")
    if upload is None:
        raise ValidationFailed("Send the file as the multipart field 'file'.", field="file")
    return upload


def form_data(extra: frozenset[str] = frozenset()) -> dict[str, Any]:
    unknown = sorted(set(request.form) - FORM_FIELDS - extra)
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
    response=sc.EVIDENCE,
    params=ID + FILTERS,
    paginated=True,
    errors=(401, 404, 422),
)
def list_evidence(id: str) -> ResponseReturnValue:
    s = db_session()
    case = require_case(s, current_user, id)
    return paginate(s, services.evidence_query(case, services.parse_filter(request.args)), evidence_json)


@route(
    "/cases/{id}/evidence",
    "POST",
    summary="Ingest a file as evidence (hashed while it streams)",
    tag="evidence",
    request_schema=sc.EVIDENCE_UPLOAD,
    request_kind="multipart",
    response=sc.EVIDENCE,
    status=201,
    params=ID,
    errors=(401, 403, 404, 413, 422),
)
def create_evidence(id: str) -> ResponseReturnValue:
    # Parse the upload first (it streams into the blob store) so no database lock is held meanwhile.
    upload = uploaded_file()
    data = form_data()
    s = db_session()
    case = require_case(s, current_user, id, Access.WRITE)
    item = ingest_evidence(
        s,
        blob_store(),
        case,
        current_user,
        upload.stream,
        filename=upload.filename,
        data=data,
        witness_id=data.get("witness_id") or None,
        declared_sha256=data.get("sha256"),
        incident_ids=incident_ids(),
    )
    return created(evidence_json(item))


@route(
    "/evidence/{id}",
    "GET",
    summary="One evidence item (recorded as viewed)",
    tag="evidence",
    response=sc.EVIDENCE,
    params=ID,
)
def get_evidence(id: str) -> ResponseReturnValue:
    s = db_session()
    item = services.with_links(s, require_in_case(s, current_user, EvidenceItem, id))
    services.record_read(s, item, current_user, Action.VIEWED, "api")
    return jsonify(evidence_json(item))


@route(
    "/evidence/{id}",
    "PATCH",
    summary="Change an item's descriptive metadata (never its content)",
    tag="evidence",
    request_schema=sc.EVIDENCE_PATCH,
    response=sc.EVIDENCE,
    params=ID,
    errors=(401, 403, 404, 422),
)
def patch_evidence(id: str) -> ResponseReturnValue:
    s = db_session()
    item = services.with_links(s, require_in_case(s, current_user, EvidenceItem, id, Access.WRITE))
    data = only_fields(json_body(), set(sc.EVIDENCE_PATCH["properties"]))
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
    return send_evidence_file(s, require_in_case(s, current_user, EvidenceItem, id), current_user, "api")


@route(
    "/evidence/{id}/derivatives",
    "POST",
    summary="Add a transcript, translation, redacted or working copy",
    tag="evidence",
    request_schema=sc.DERIVATIVE_UPLOAD,
    request_kind="multipart",
    response=sc.EVIDENCE,
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
        upload.stream,
        filename=upload.filename,
        data=data,
        declared_sha256=data.get("sha256"),
        incident_ids=incident_ids(),
        parent=parent,
        derivation=derivation,
    )
    return created(evidence_json(item))


@route(
    "/evidence/{id}/links",
    "POST",
    summary="Link the item to an incident, actor, relation, involvement or charge element",
    tag="evidence",
    request_schema=sc.LINK_CREATE,
    response=sc.LINK,
    status=201,
    params=ID,
    errors=(401, 403, 404, 422),
)
def create_link(id: str) -> ResponseReturnValue:
    s = db_session()
    item = require_in_case(s, current_user, EvidenceItem, id, Access.WRITE)
    data = only_fields(json_body(), set(sc.LINK_CREATE["properties"]))
    link = services.link_evidence(
        s,
        item,
        current_user,
        data.get("target_type"),
        data.get("target_id"),
        data.get("stance"),
        data.get("note", ""),
        data.get("element_code"),
    )
    return created(link_json(link))


@route(
    "/evidence/{id}/custody",
    "GET",
    summary="The item's custody trail",
    tag="custody",
    response=sc.CUSTODY_ENTRY,
    params=ID,
    paginated=True,
    errors=(401, 404, 422),
)
def get_custody(id: str) -> ResponseReturnValue:
    from sqlalchemy import select

    from casefile.custody.models import CustodyEntry

    s = db_session()
    item = require_in_case(s, current_user, EvidenceItem, id)
    stmt = select(CustodyEntry).where(CustodyEntry.evidence_id == item.id).order_by(CustodyEntry.seq)
    return paginate(s, stmt, custody_json)


@route(
    "/evidence/{id}/custody",
    "POST",
    summary="Record a hand-over (from, to, purpose)",
    tag="custody",
    request_schema=sc.TRANSFER_CREATE,
    response=sc.CUSTODY_ENTRY,
    status=201,
    params=ID,
    errors=(401, 403, 404, 422),
)
def post_custody(id: str) -> ResponseReturnValue:
    s = db_session()
    item = require_in_case(s, current_user, EvidenceItem, id, Access.WRITE)
    data = only_fields(json_body(), set(sc.TRANSFER_CREATE["properties"]))
    return created(custody_json(record_transfer(s, item, current_user, data)))


@route(
    "/custody/verify",
    "GET",
    summary="Verify the ledger and the fixity of a case's files",
    tag="custody",
    response=sc.VERIFY_REPORT,
    params=[{"name": "case_id", "in": "query", "required": False, "schema": sc.UUID}],
    errors=(401, 404, 422),
)
def verify() -> ResponseReturnValue:
    return jsonify(verify_for_current_user(request.args.get("case_id")).to_dict())
