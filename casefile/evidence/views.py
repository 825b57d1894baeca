"""Evidence pages: list, upload (with per-file progress), item page, downloads, hand-overs.
(Linking and unlinking from the item page is casefile/links/views.py.)"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from casefile.actors.services import active_actors
from casefile.auth.gate import Access, require_case, require_in_case
from casefile.auth.services import actor_labels
from casefile.cases.models import Case
from casefile.cases.services import incident_names, incidents_of
from casefile.cases.views import apply_error, case_context
from casefile.components import blob_store
from casefile.custody import ledger
from casefile.custody.actions import Action
from casefile.custody.services import last_fixity, record_transfer
from casefile.db import db_session
from casefile.errors import CasefileError, DuplicateFile, ValidationFailed
from casefile.evidence import services, similar
from casefile.evidence.content import evidence_file, preview_image
from casefile.evidence.forms import (
    CLASSIFICATION_LABELS,
    CREDIBILITY_LABELS,
    DERIVATION_LABELS,
    KIND_LABELS,
    RELIABILITY_LABELS,
    DerivativeForm,
    EvidenceFieldsForm,
    TransferForm,
    UploadForm,
)
from casefile.evidence.models import Derivation, EvidenceItem, OnDuplicate
from casefile.evidence.text import has_text
from casefile.evidence.uploads import upload_writer
from casefile.links import consistency
from casefile.links.forms import STANCE_LABELS, link_form
from casefile.paging import COUNT_CAP, bounded_count, seek
from casefile.parsing import parse_choice
from casefile.provenance.services import provenance_of
from casefile.verification.views import verification_context
from casefile.web import page_arg
from casefile.web_downloads import send_download
from casefile.witnesses.models import Statement
from casefile.witnesses.services import receive_upload, typed_statement, witnesses_of

bp = Blueprint("evidence", __name__)
PER_PAGE = 50
TRAIL_ON_PAGE = 100  # the newest entries; the full trail is paginated on its own page

LABELS = {
    "kind": KIND_LABELS,
    "classification": CLASSIFICATION_LABELS,
    "reliability": RELIABILITY_LABELS,
    "credibility": CREDIBILITY_LABELS,
    "derivation": DERIVATION_LABELS,
    "stance": STANCE_LABELS,
}


def wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


@bp.get("/cases/<case_id>/evidence")
def list_evidence(case_id: str) -> str:
    s = db_session()
    case = require_case(s, current_user, case_id)
    try:
        flt = services.parse_filter(request.args)
    except ValidationFailed as error:
        flash(error.message, "error")
        flt = services.EvidenceFilter()
    stmt = services.evidence_query(case, flt)
    total = bounded_count(s, stmt)
    # Links the page makes are cursors (a seek at any depth); ?page=N of older links is still honoured, but only
    # as far as the counted rows reach, so its offset stays small.
    offset = (min(page_arg(), COUNT_CAP // PER_PAGE) - 1) * PER_PAGE
    try:
        found = seek(
            s,
            stmt,
            services.EVIDENCE_KEYSET,
            PER_PAGE,
            after=request.args.get("after"),
            before=request.args.get("before"),
            offset=offset,
        )
    except ValidationFailed:
        flash(_("That page link is not valid (it may have been changed): here is the first page."), "error")
        found = seek(s, stmt, services.EVIDENCE_KEYSET, PER_PAGE)
    items = found.rows
    badges = last_fixity(s, [i.id for i in items])
    filters: dict[str, Any] = {k: v for k, v in request.args.items() if k not in ("page", "after", "before")}
    return render_template(
        "evidence/list.html",
        items=items,
        total=total,
        found=found,
        incidents=incidents_of(s, case),
        actors=active_actors(s, case),
        args=request.args,
        flt=flt,
        badges=badges,
        # From what each row already loaded (its links and their incidents): no query per row.
        flags={item.id: consistency.flags(item) for item in items},
        labels=LABELS,
        # Every pager link keeps the filters; the cursor alone says where the page starts.
        page_url=lambda **cursor: url_for("evidence.list_evidence", case_id=case.id, **filters, **cursor),
        **case_context(case),
    )


def _upload_form(case: Case) -> UploadForm:
    form = UploadForm()
    form.incidents.choices = [SelectChoice(str(i.id), i.title) for i in incidents_of(db_session(), case)]
    form.witness_id.choices = [SelectChoice("", _("None"))] + [
        SelectChoice(str(w.id), w.code) for w in witnesses_of(db_session(), case)
    ]
    return form


@bp.route("/cases/<case_id>/evidence/upload", methods=["GET", "POST"])
def upload(case_id: str) -> str | Response | tuple[Any, int]:
    s = db_session()
    case = require_case(s, current_user, case_id, Access.WRITE)
    form = _upload_form(case)
    if request.method == "POST":
        files = [f for f in request.files.getlist("file") if f.filename or f.stream]
        typed = (form.statement_text.data or "").strip() if not files else ""
        if not form.validate_on_submit() or not (files or typed):
            message = _("Choose at least one file.") if not (files or typed) else _("Check the form for errors.")
            if wants_json():
                return jsonify({"error": {"code": "validation_failed", "message": message}}), 422
            flash(message, "error")
            return render_template("evidence/upload.html", form=form, **case_context(case)), 422
        on_duplicate = OnDuplicate(form.on_duplicate.data or OnDuplicate.ASK)
        items: list[EvidenceItem] = []
        acquired: list[EvidenceItem] = []
        try:
            uploads = [(upload_writer(f), f.filename) for f in files]
            if typed:  # a statement typed in instead of a file
                uploads = [typed_statement(blob_store(), typed, form.witness_id.data)]
            for writer, filename in uploads:
                item, new = receive_upload(
                    s,
                    blob_store(),
                    case,
                    current_user,
                    writer,
                    filename=filename,
                    data=form.service_data(),
                    on_duplicate=on_duplicate,
                    witness_id=form.witness_id.data or None,
                    declared_sha256=(form.sha256.data or "").strip() or None,
                    incident_ids=form.incidents.data or [],
                )
                (items if new else acquired).append(item)
        except (ValidationFailed, DuplicateFile) as error:
            if wants_json():
                body: dict[str, Any] = {"code": error.code, "message": error.message}
                if isinstance(error, DuplicateFile):
                    body["existing"] = {**error.existing, "url": url_for("evidence.show", item_id=error.existing["id"])}
                return jsonify({"error": body}), error.status
            apply_error(form, error)
            return render_template("evidence/upload.html", form=form, **case_context(case)), error.status
        if wants_json():
            return jsonify(
                {
                    "items": [
                        {
                            "ern": i.ern,
                            "sha256": i.sha256,
                            "url": url_for("evidence.show", item_id=i.id),
                            "acquisition": i in acquired,
                        }
                        for i in [*items, *acquired]
                    ]
                }
            ), (201 if items else 200)
        if acquired:
            flash(_("Recorded a new acquisition of %(erns)s.", erns=", ".join(i.ern for i in acquired)), "info")
        if items:
            flash(_("Recorded %(erns)s.", erns=", ".join(i.ern for i in items)), "info")
        return redirect(url_for("evidence.list_evidence", case_id=case.id))
    return render_template("evidence/upload.html", form=form, **case_context(case))


TEXT_PREVIEW_CHARS = 5000


def text_preview(item: EvidenceItem) -> dict[str, object]:
    """The beginning of a text file's or a PDF's text (what search reads), shown on its page: reading it is part of
    viewing the item, which the page records (`viewed`)."""
    text = item.text_content if has_text(item.media_type) else ""
    return {"text_preview": text[:TEXT_PREVIEW_CHARS], "text_cut": len(text) > TEXT_PREVIEW_CHARS}


@bp.get("/evidence/<item_id>")
def show(item_id: str) -> str:
    s = db_session()
    item = services.with_links(s, require_in_case(s, current_user, EvidenceItem, item_id))
    services.record_read(s, item, current_user, Action.VIEWED, "page")
    trail, trail_total = ledger.recent_trail(s, item.id, TRAIL_ON_PAGE)
    return render_template(
        "evidence/item.html",
        same_file=services.same_file_elsewhere(s, item, current_user),
        similar=similar.candidates(s, item),
        flags=consistency.flags(item),
        item=item,
        trail=trail,
        trail_total=trail_total,
        actors=actor_labels(s, trail),
        incident_names=incident_names(s, item.case_id, trail),
        statement=s.get(Statement, item.id),
        **text_preview(item),
        **verification_context(s, item, current_user),
        provenance=provenance_of(s, [item])[item.id],
        badge=last_fixity(s, [item.id]).get(item.id),
        link_form=link_form(s, item.case, request.args.get("q")),
        link_q=request.args.get("q", "")[:400],
        transfer_form=TransferForm(),
        labels=LABELS,
        reveal=request.args.get("reveal") == "1",
        **case_context(item.case),
    )


@bp.post("/evidence/<item_id>/similar")
def decide_similar(item_id: str) -> Response:
    s = db_session()
    item = require_in_case(s, current_user, EvidenceItem, item_id, Access.WRITE)
    other = require_in_case(s, current_user, EvidenceItem, request.form.get("other_id"), Access.WRITE)
    try:
        similar.decide(s, item, other, {"yes": True, "no": False}.get(request.form.get("same", "")), current_user)
        flash(_("Your decision on %(ern)s is recorded.", ern=other.ern), "success")
    except ValidationFailed as error:
        flash(error.message, "error")
    return redirect(url_for("evidence.show", item_id=item.id), 303)


@bp.get("/evidence/<item_id>/preview")
def preview(item_id: str) -> Response:
    s = db_session()
    item = require_in_case(s, current_user, EvidenceItem, item_id)
    download = preview_image(s, item, current_user)
    if download is None:
        abort(404)
    return send_download(download, inline=True)


@bp.get("/evidence/<item_id>/download")
def download(item_id: str) -> Response:
    s = db_session()
    item = require_in_case(s, current_user, EvidenceItem, item_id)
    return send_download(evidence_file(s, item, current_user, "page"))


@bp.route("/evidence/<item_id>/edit", methods=["GET", "POST"])
def edit(item_id: str) -> str | Response | tuple[str, int]:
    s = db_session()
    item = require_in_case(s, current_user, EvidenceItem, item_id, Access.WRITE)
    form = EvidenceFieldsForm(obj=item)
    if request.method == "GET":
        form.kind.data = item.kind.value
        form.classification.data = item.classification.value
        form.info_credibility.data = str(item.info_credibility or "")
    if form.validate_on_submit():
        data = form.service_data()
        # The form shows whole seconds: an unchanged, more precise stored time must not be "changed" by saving.
        if item.collected_at and data.get("collected_at") == item.collected_at.replace(microsecond=0, tzinfo=None):
            del data["collected_at"]
        try:
            services.update_metadata(s, item, current_user, data)
        except ValidationFailed as error:
            apply_error(form, error)
        else:
            flash(_("Metadata updated; the change is in the custody trail."), "info")
            return redirect(url_for("evidence.show", item_id=item.id))
    status = 422 if form.is_submitted() else 200
    return render_template("evidence/edit.html", form=form, item=item, **case_context(item.case)), status


@bp.post("/evidence/<item_id>/custody")
def add_transfer(item_id: str) -> Response:
    s = db_session()
    item = require_in_case(s, current_user, EvidenceItem, item_id, Access.WRITE)
    form = TransferForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        record_transfer(s, item, current_user, form.data)
    except CasefileError as error:
        flash(error.message, "error")
        return redirect(url_for("evidence.show", item_id=item.id))
    flash(_("Hand-over recorded."), "info")
    return redirect(url_for("evidence.show", item_id=item.id))


@bp.route("/evidence/<item_id>/derivative", methods=["GET", "POST"])
def derivative(item_id: str) -> str | Response | tuple[str, int]:
    s = db_session()
    parent = require_in_case(s, current_user, EvidenceItem, item_id, Access.WRITE)
    form = DerivativeForm()
    if request.method == "GET":
        form.classification.data = parent.classification.value
        form.kind.data = parent.kind.value
    files = request.files.getlist("file")
    if form.validate_on_submit() and len(files) == 1:
        try:
            derivation = parse_choice(form.derivation.data, Derivation, "derivation")
            item = services.ingest(
                s,
                blob_store(),
                parent.case,
                current_user,
                upload_writer(files[0]),
                filename=files[0].filename,
                data=form.service_data(),
                parent=parent,
                derivation=derivation,
            )
        except ValidationFailed as error:
            apply_error(form, error)
        else:
            flash(
                _(
                    "Recorded %(ern)s as a %(kind)s of %(parent)s.",
                    ern=item.ern,
                    kind=DERIVATION_LABELS[derivation],
                    parent=parent.ern,
                ),
                "info",
            )
            return redirect(url_for("evidence.show", item_id=item.id))
    elif form.is_submitted():
        flash(_("Choose exactly one file."), "error")
    status = 422 if form.is_submitted() else 200
    return render_template("evidence/derivative.html", form=form, item=parent, **case_context(parent.case)), status


@bp.get("/evidence/<item_id>/custody")
def custody_trail(item_id: str) -> str:
    s = db_session()
    item = require_in_case(s, current_user, EvidenceItem, item_id)
    page = page_arg()
    entries, total = ledger.trail_page(s, item.id, page, 200)
    return render_template(
        "evidence/trail.html",
        item=item,
        trail=entries,
        actors=actor_labels(s, entries),
        incident_names=incident_names(s, item.case_id, entries),
        total=total,
        page=page,
        pages=max((total - 1) // 200 + 1, 1),
        **case_context(item.case),
    )
