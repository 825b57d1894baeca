"""The authorization matrix: every route × every kind of user × member or not, against the rules of the one
gate (casefile/auth/gate.py) and the login-by-default plumbing (casefile/web.py).

One world: a case holding one of everything (incident, evidence item with a preview, witness, two actors,
a relation, an involvement, a charge, an evidence link and a built dossier). Six subjects: anonymous, an
investigator member (may see identities), a legal member (may not), a reviewer member (may see identities,
never writes), an investigator who is not a member, and an administrator who is not a member. HTML routes are
called with each subject's session cookie, API routes with each subject's Bearer token; a seventh subject
crosses the investigator's credentials over (the session cookie on the API, the token on pages) and must be
treated as anonymous.

RULES names the expected outcome of every endpoint in `app.url_map` (except `static`). A route that is
missing from RULES is a failure naming it, so a new route cannot ship without someone deciding who may use it.
All mismatches are collected and reported in one assertion message.

Outcome classes (see `expected`): "ok" is 2xx/3xx for GET; for other methods also 400/409/422, because the
probes send empty or minimal forms (a permitted writer may be told the form is invalid, never 401/403/404);
"login" is a 302 to /login for a page and a 401 JSON error for the API; 403 and 404 are exact. A 5xx is
never acceptable. On top of the status: no response to a non-member may contain the case's content (its title,
an actor's name, an incident's title), and no response but a permitted identity reveal the witness's name.

Two more tests: objects of another case named inside a write are refused, and the item page's Unlink works.
"""

from __future__ import annotations

import enum
import io
import re
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from flask import Flask
from flask.testing import FlaskClient
from PIL import Image

from casefile.api.core import OPERATIONS
from casefile.capture.models import CaptureState, WebCapture
from casefile.db import session_scope

from support import Account, Api, approve_release, login, run_queued_jobs

SESSION_COOKIE = "casefile_session"
API_PREFIX = "/api/v1"
CASE_TITLE = "Matrix case title 7f3c"  # the case's content (these three) must never reach a non-member
ACTOR_NAME = "Matrix Commander 5d2e"
INCIDENT_TITLE = "Matrix incident 0c4b"
WITNESS_NAME = "Matrix Witness Name 91ab"  # must reach only a permitted, reasoned reveal


class Kind(enum.Enum):
    PUBLIC = "no login needed"
    LOGIN = "any logged-in user (not tied to one case)"
    CREATE_CASE = "any logged-in user except reviewers"
    ADMIN = "administrators only"
    READ = "members of the case"
    WRITE = "investigator and legal members (reviewers read only)"
    REVEAL = "members with the identity permission"
    IDENTITY_EDIT = "members with the identity permission who may write"
    AUDITORS = "administrators and reviewers (global role)"
    NOBODY = "no one: another user's own object (404 for every logged-in user)"
    MEMBERS_VIEW = "members, and administrators of any case"
    MEMBERS_MANAGE = "administrators, of any case, and the case's leads (its creator, here the investigator)"
    CANCEL_JOB = "who asked, members who may write, and administrators of any case"
    RELEASE = "legal members of the case (the builder, an investigator, is refused as not legal)"
    AUTHOR = "its author only (here a spare member): other members 403, everyone else 404"
    DEVICE = "phones with a device credential only: a session or an API token counts for nothing (401 for all)"


@dataclass(frozen=True)
class Rule:
    kind: Kind
    # Form fields (pages) or JSON body (API) and query string; "{case}", "{witness}" … are filled from the
    # world's ids and "{tag}" with a per-subject tag (for values that must be unique, like case references).
    data: dict[str, Any] | None = None
    query: dict[str, str] | None = None
    # URL parameter -> world object, where the default (PAGE_PARAMS / API_SEGMENTS) is not the one meant.
    params: dict[str, str] | None = None
    # The probe ends the subject's sessions (e.g. "log out everywhere"): run after every other probe.
    ends_sessions: bool = False
    note: str = ""


R, W = Rule(Kind.READ), Rule(Kind.WRITE)

RULES: dict[str, Rule | tuple[Rule, ...]] = {
    # -- plumbing, login, administration --------------------------------------------------------------
    "auth.login": Rule(Kind.PUBLIC, note="a logged-in user is redirected to the dashboard"),
    "main.set_language": Rule(Kind.PUBLIC, note="the empty form is a 400"),
    "api.openapi": Rule(Kind.PUBLIC),
    "health.alive": Rule(Kind.PUBLIC, note="liveness probe: no session, no database"),
    "health.ready": Rule(Kind.PUBLIC, note="readiness probe: names unreachable dependencies only"),
    "auth.second_factor": Rule(Kind.PUBLIC, note="without a pending login: back to /login"),
    "auth.logout": Rule(Kind.LOGIN, ends_sessions=True),
    "account.overview": Rule(Kind.LOGIN),
    "account.change_password": Rule(Kind.LOGIN, note="the empty form is refused with a message"),
    "account.create_token": Rule(Kind.LOGIN),
    "account.revoke_token": (
        Rule(Kind.LOGIN, note="the subject's own spare token"),
        Rule(Kind.NOBODY, params={"token_id": "spare_token"}, note="another user's token"),
    ),
    "account.enrol": Rule(Kind.LOGIN, note="administrators already have a second factor: redirected"),
    "account.disable_second_factor": Rule(Kind.LOGIN, note="the empty form is refused with a message"),
    "account.logout_everywhere": Rule(Kind.LOGIN, ends_sessions=True),
    "account.audit": Rule(Kind.AUDITORS),
    "account.security_settings": Rule(Kind.ADMIN),
    "main.dashboard": Rule(Kind.LOGIN),
    "custody.overview": Rule(Kind.LOGIN),
    "api.list_cases": Rule(Kind.LOGIN, note="only the cases the user belongs to"),
    "api.frameworks": Rule(Kind.LOGIN, note="the legal catalogue is not case data"),
    "auth.users": Rule(Kind.ADMIN),
    "auth.create_user": Rule(Kind.ADMIN),
    "auth.toggle_active": Rule(Kind.ADMIN, note="user_id is a spare user, not a subject"),
    "auth.reset_password": Rule(Kind.ADMIN, note="user_id is a spare user, not a subject"),
    "auth.change_role": Rule(Kind.ADMIN, data={"role": "investigator"}, note="user_id is a spare user"),
    "cases.new_case": Rule(
        Kind.CREATE_CASE,
        data={"reference": "N{tag}", "title": "New case"},
        note="a valid form, so only the reviewer rule can refuse it; reviewers get 403 for the form page too, "
        "as for every edit form",
    ),
    "api.create_case": Rule(Kind.CREATE_CASE),
    # -- cases, members, incidents --------------------------------------------------------------------
    "cases.show_case": R,
    "cases.edit_case": W,
    "cases.new_incident": W,
    "cases.show_incident": R,
    "cases.edit_incident": W,
    "cases.members": Rule(Kind.MEMBERS_VIEW),
    "cases.add_member": Rule(Kind.MEMBERS_MANAGE),
    "cases.remove_member": Rule(
        Kind.MEMBERS_MANAGE, params={"user_id": "removable"}, note="user_id: a spare member per subject"
    ),
    "api.get_case": R,
    "api.patch_case": W,
    "api.list_members": Rule(Kind.MEMBERS_VIEW),
    "api.add_member": Rule(Kind.MEMBERS_MANAGE),
    "api.remove_member": Rule(
        Kind.MEMBERS_MANAGE, params={"user_id": "removable_by_api"}, note="user_id: a spare member per subject"
    ),
    "api.list_incidents": R,
    "api.create_incident": W,
    "api.get_incident": R,
    "api.patch_incident": W,
    "maps.case_map": Rule(Kind.READ, query={"violation_type": "killing", "from": "2020-01-01"}),
    "api.case_map": Rule(Kind.READ, query={"violation_type": "killing", "from": "2020-01-01"}),
    # -- evidence and custody -------------------------------------------------------------------------
    "evidence.list_evidence": Rule(Kind.READ, query={"kind": "photo", "classification": "confidential"}),
    "evidence.upload": W,
    "evidence.decide_similar": Rule(
        Kind.WRITE, data={"other_id": "{item}", "same": "yes"}, note="an item is not its own near-duplicate: 422"
    ),
    "api.list_similar": R,
    "api.decide_similar": Rule(
        Kind.WRITE, data={"other_id": "{item}", "same": True}, note="an item is not its own near-duplicate: 422"
    ),
    "evidence.show": R,
    "evidence.preview": R,
    "evidence.download": R,
    "evidence.edit": W,
    "links.add_link": W,
    # Each subject removes a link of its own (world.own), so one removal cannot turn the next into a 404.
    "links.remove_link": W,
    # The pickers' suggestions are for those who may link (members who may write), like the forms they fill.
    "links.link_target_suggestions": W,
    "links.evidence_suggestions": W,
    "links.link_to_element": Rule(Kind.WRITE, note="the empty form is a 400"),
    "evidence.add_transfer": W,
    "evidence.derivative": W,
    "evidence.custody_trail": R,
    "custody.verify": (
        Rule(Kind.LOGIN, note="without case_id: the user's own cases"),
        Rule(Kind.READ, data={"case_id": "{case}"}, note="verifying a case reads it; reviewers may"),
    ),
    "api.list_evidence": Rule(Kind.READ, query={"kind": "photo", "classification": "confidential"}),
    "api.create_evidence": Rule(Kind.WRITE, note="multipart with a small file"),
    "api.get_evidence": R,
    "api.patch_evidence": W,
    "api.evidence_preview": Rule(Kind.READ, note="the world's item is a photo with a preview"),
    "api.evidence_content": R,
    # Work: members read a case's work, writers give it; my work and my notifications are every user's own.
    "api.list_assignments": R,
    "api.create_assignment": Rule(Kind.WRITE, data={"target_type": "evidence", "target_id": "{item}"}),
    "api.complete_assignment": Rule(Kind.WRITE, params={"id": "assignment"}, note="the spare member's work"),
    "api.my_assignments": Rule(Kind.LOGIN),
    "api.list_notifications": Rule(Kind.LOGIN),
    "api.read_notification": Rule(Kind.NOBODY, params={"id": "notification"}, note="the spare member's own"),
    "api.list_comments": R,
    "api.create_comment": Rule(Kind.WRITE, data={"target_type": "evidence", "target_id": "{item}", "body": "m"}),
    "api.edit_comment": Rule(Kind.AUTHOR, params={"id": "comment"}, data={"body": "edited"}),
    "collab.add_comment": Rule(Kind.WRITE, data={"target_type": "evidence", "target_id": "{item}", "body": "m"}),
    "collab.edit_comment": Rule(Kind.AUTHOR, params={"comment_id": "comment"}, data={"body": "edited"}),
    "collab.my_work": Rule(Kind.LOGIN),
    "collab.case_work": R,
    # The case's activity feed: every member reads it (reviewers too); nobody writes it but the flush.
    "activity.case_activity": R,
    "api.case_activity": Rule(Kind.READ, query={"type": "incident", "action": "changed"}),
    "collab.assign": Rule(Kind.WRITE, data={"target": "evidence:{item}"}),
    "collab.complete": Rule(Kind.WRITE, params={"assignment_id": "assignment"}),
    "collab.read": Rule(Kind.NOBODY, params={"notification_id": "notification"}),
    # Verification: reading it is for members; checks and status changes write (four eyes is tested elsewhere).
    "api.get_verification": R,
    "api.create_verification_check": Rule(
        Kind.WRITE, data={"area": "source", "outcome": "confirmed", "method": "matrix"}
    ),
    "api.change_verification_status": Rule(Kind.WRITE, data={"status": "in_verification"}),
    "verification.record_check": Rule(Kind.WRITE, data={"area": "source", "outcome": "confirmed", "method": "m"}),
    "verification.set_status": Rule(Kind.WRITE, data={"status": "in_verification"}),
    "api.create_derivative": Rule(Kind.WRITE, note="multipart with a small file"),
    "api.create_link": W,
    "api.list_link_targets": W,
    "api.remove_link": Rule(
        Kind.WRITE, params={"id": "own_item", "link_id": "own_link"}, note="each subject removes a link of its own"
    ),
    "api.get_custody": R,
    "api.post_custody": W,
    "search.search": (
        Rule(Kind.LOGIN, query={"q": "Matrix"}, note="results from the user's own cases only"),
        Rule(Kind.READ, query={"q": "Matrix", "case": "{case}"}),
    ),
    "api.search": (
        Rule(Kind.LOGIN, query={"q": "Matrix"}, note="results from the user's own cases only"),
        Rule(Kind.READ, query={"q": "Matrix", "case_id": "{case}"}),
    ),
    "api.tree_head": Rule(Kind.LOGIN, note="the ledger's signed head names no case"),
    "api.consistency_proof": Rule(Kind.LOGIN, query={"first": "0"}, note="a proof between tree sizes names no case"),
    "api.verify": (
        Rule(Kind.LOGIN, note="without case_id: the user's own cases"),
        Rule(Kind.READ, query={"case_id": "{case}"}),
    ),
    # -- witnesses -------------------------------------------------------------------------------------
    "witnesses.list_witnesses": R,
    "witnesses.new_witness": W,
    "witnesses.show": R,
    "witnesses.reveal": Rule(Kind.REVEAL, data={"reason": "authorization matrix"}),
    "witnesses.edit_identity": Rule(Kind.IDENTITY_EDIT),
    "witnesses.add_consent": W,
    "witnesses.set_risk": W,
    "api.list_witnesses": R,
    "api.create_witness": W,
    "api.get_witness": (
        R,
        Rule(Kind.REVEAL, query={"reveal": "true", "reason": "authorization matrix"}),
    ),
    "api.add_consent": W,
    # -- actors, relations, involvements, charges -----------------------------------------------------
    "actors.list_actors": R,
    "actors.new_actor": W,
    "actors.show_actor": R,
    "actors.edit_actor": W,
    "actors.merge": W,
    "actors.new_relation": W,
    "actors.new_involvement": W,
    "actors.chart": R,
    "actors.chart_svg": R,
    "actors.timeline": R,
    "actors.list_charges": R,
    "actors.new_charge": W,
    "actors.show_charge": R,
    "api.list_actors": R,
    "api.create_actor": W,
    "api.get_actor": R,
    "api.patch_actor": W,
    "api.merge_actor": W,
    "api.list_relations": R,
    "api.create_relation": W,
    "api.list_involvements": R,
    "api.create_involvement": W,
    "api.list_charges": R,
    "api.create_charge": W,
    "api.charge_matrix": R,
    # -- imports (run and discard change the world's import: after the first, the others get 409) -------------
    "imports.imports": R,
    "imports.create": W,
    "imports.show": R,
    "imports.run": W,
    "imports.discard": W,
    "imports.report": R,
    "api.list_imports": R,
    "api.create_import": W,
    "api.get_import": R,
    "api.run_import": W,
    "api.discard_import": W,
    "api.import_report": R,
    # -- resumable uploads: the world's upload is a spare member's; only its creator may send bytes or end it ------
    # (creating without the Tus-Resumable header passes the gate and is then refused with 412)
    "api.create_export": Rule(Kind.READ, note="members may export what they may read; reviewers too"),
    "api.list_exports": R,
    "api.get_export": R,
    "api.download_export": R,
    "imports.create_export": Rule(Kind.READ, data={"format": "csv", "max_classification": "public"}),
    "imports.show_export": R,
    "imports.download_export": R,
    # Web captures: asking for one writes (a job and evidence); reading them is for members.
    "api.create_capture": W,
    "api.list_captures": R,
    "api.get_capture": R,
    "captures.create_capture": W,
    "captures.list_captures": R,
    "captures.show_capture": R,
    # ProofMode bundles: importing one writes (a job and evidence); the form page is for those who may.
    "api.create_proofmode_bundle": W,
    "provenance.bundle_form": W,
    "provenance.import_bundle": W,
    # Field intake: offering forms, making phone logins and reviewing submissions write; a person's phone logins
    # are their own (nobody here owns the world's one); the OpenRosa side takes device credentials only.
    "api.list_field_forms": R,
    "api.create_field_form": W,
    "api.withdraw_field_form": W,
    "api.create_device_credential": Rule(Kind.WRITE, data={"label": "Matrix phone"}),
    "api.list_device_credentials": R,
    "api.revoke_device_credential": Rule(Kind.NOBODY, note="the spare user's phone"),
    "api.list_field_submissions": R,
    "api.get_field_submission": R,
    "api.accept_field_submission": W,
    "api.reject_field_submission": Rule(Kind.WRITE, data={"reason": "matrix"}),
    "fieldintake.field_intake": R,
    "fieldintake.offer_form": W,
    "fieldintake.withdraw_form": W,
    "fieldintake.create_credential": Rule(Kind.WRITE, data={"label": "Matrix phone"}),
    "fieldintake.revoke_credential": Rule(Kind.NOBODY, note="the spare user's phone"),
    "fieldintake.show_submission": R,
    "fieldintake.accept_submission": W,
    "fieldintake.reject_submission": Rule(Kind.WRITE, data={"reason": "matrix"}),
    "openrosa.form_list": Rule(Kind.DEVICE),
    "openrosa.download": Rule(Kind.DEVICE),
    "openrosa.manifest": Rule(Kind.DEVICE),
    "openrosa.media": Rule(Kind.DEVICE),
    "openrosa.submission": Rule(Kind.DEVICE),
    "api.upload_options": R,
    "api.create_upload": W,
    "api.upload_status": R,
    "api.upload_bytes": Rule(Kind.NOBODY, note="another member's upload in progress"),
    "api.terminate_upload": Rule(Kind.NOBODY, note="another member's upload in progress"),
    "imports.create_upload": W,
    "imports.upload_status": R,
    "imports.upload_bytes": Rule(Kind.NOBODY, note="another member's upload in progress"),
    "imports.terminate_upload": Rule(Kind.NOBODY, note="another member's upload in progress"),
    # -- dossiers ---------------------------------------------------------------------------------------
    "dossiers.list_dossiers": R,
    "dossiers.preview": Rule(Kind.READ, note="a preview writes nothing: reviewers may preview"),
    "dossiers.build": W,
    "dossiers.show": R,
    "dossiers.download": R,
    "dossiers.approve": Rule(Kind.RELEASE, note="already approved in the world: 409 for the legal member"),
    "api.approve_dossier": Rule(Kind.RELEASE, note="already approved in the world: 409 for the legal member"),
    "api.list_dossiers": R,
    "api.preview_dossier": Rule(Kind.READ, note="a preview writes nothing: reviewers may preview"),
    "api.create_dossier": W,
    "api.get_dossier": R,
    "api.download_dossier": R,
    # -- background jobs (the world's job was asked for by a spare member, not by a subject) ------------------
    "jobs.my_jobs": Rule(Kind.LOGIN, note="the jobs the user asked for"),
    "jobs.case_jobs": Rule(Kind.MEMBERS_VIEW, note="administrators see every job's record, not the case's content"),
    "jobs.show": Rule(Kind.MEMBERS_VIEW),
    "jobs.status": Rule(Kind.MEMBERS_VIEW),
    "jobs.cancel": Rule(Kind.CANCEL_JOB, note="after the first cancel, the others are told it has finished"),
    "api.list_jobs": (
        Rule(Kind.LOGIN, note="only jobs of the user's cases and their own"),
        Rule(Kind.MEMBERS_VIEW, query={"case_id": "{case}"}),
    ),
    "api.get_job": Rule(Kind.MEMBERS_VIEW),
    "api.cancel_job": Rule(Kind.CANCEL_JOB, note="after the first cancel, the others get 409"),
    "custody.verify_background": (
        Rule(Kind.LOGIN, note="without case_id: the user's own cases"),
        Rule(Kind.READ, data={"case_id": "{case}"}, note="verifying a case reads it; reviewers may"),
    ),
    "api.start_verification": (
        Rule(Kind.LOGIN, note="without case_id: the user's own cases"),
        Rule(Kind.READ, data={"case_id": "{case}"}),
    ),
}

# URL parameters of the pages, and the object an API route's `<id>` names (by the segment before it).
PAGE_PARAMS = {
    "case_id": "case",
    "incident_id": "incident",
    "item_id": "item",
    "witness_id": "witness",
    "actor_id": "actor",
    "charge_id": "charge",
    "dossier_id": "dossier",
    "import_id": "import",
    "upload_id": "upload",
    "export_id": "export",
    "capture_id": "capture",
    "form_pk": "field_form",
    "submission_id": "field_submission",
    "credential_id": "device_credential",
    "name": "media_name",
    "job_id": "job",
    "link_id": "link",
    "user_id": "spare_user",
    "token_id": "own_token",
}
API_SEGMENTS = {
    "cases": "case",
    "incidents": "incident",
    "evidence": "item",
    "witnesses": "witness",
    "actors": "actor",
    "charges": "charge",
    "dossiers": "dossier",
    "imports": "import",
    "uploads": "upload",
    "exports": "export",
    "captures": "capture",
    "field-forms": "field_form",
    "field-submissions": "field_submission",
    "device-credentials": "device_credential",
    "jobs": "job",
}


@dataclass(frozen=True)
class Subject:
    name: str
    role: str | None  # global role; None: anonymous
    case_role: str | None = None  # None: not a member of the world's case
    identities: bool = False
    lead: bool = False  # the world's case was made by the investigator, its first lead
    # Present credentials meant for the other side (cookie on the API, token on a page): must count for nothing.
    crossed: bool = False


SUBJECTS = (
    Subject("anonymous", None),
    Subject("outsider", "investigator"),
    Subject("admin", "admin"),
    Subject("reviewer", "reviewer", "reviewer", identities=True),
    Subject("legal", "legal", "legal"),
    Subject("investigator", "investigator", "investigator", identities=True, lead=True),
    Subject("investigator-crossed", "investigator", "investigator", identities=True, lead=True, crossed=True),
)
TAGS = {s.name: f"M{i}" for i, s in enumerate(SUBJECTS)}


def expected(kind: Kind, subject: Subject) -> str | int:
    """The outcome the gate's rules give this subject: "ok", "login", 403 or 404."""
    if kind is Kind.DEVICE:
        return 401
    if subject.role is None or subject.crossed:
        return "ok" if kind is Kind.PUBLIC else "login"
    if kind in (Kind.PUBLIC, Kind.LOGIN):
        return "ok"
    if kind is Kind.CREATE_CASE:
        return 403 if subject.role == "reviewer" else "ok"
    if kind is Kind.ADMIN:
        return "ok" if subject.role == "admin" else 403
    if kind is Kind.AUDITORS:
        return "ok" if subject.role in ("admin", "reviewer") else 403
    if kind is Kind.NOBODY:
        return 404
    member = subject.case_role is not None
    if kind is Kind.MEMBERS_MANAGE:
        return "ok" if subject.role == "admin" or subject.lead else (403 if member else 404)
    if kind is Kind.MEMBERS_VIEW:
        return "ok" if member or subject.role == "admin" else 404
    if kind is Kind.CANCEL_JOB and subject.role == "admin":
        return "ok"
    if not member:
        return 404  # existence is not confirmed to non-members, administrators included
    writer = subject.case_role != "reviewer"
    if kind is Kind.READ:
        return "ok"
    if kind is Kind.WRITE:
        return "ok" if writer else 403
    if kind is Kind.REVEAL:
        return "ok" if subject.identities else 403
    if kind is Kind.IDENTITY_EDIT:
        return "ok" if subject.identities and writer else 403
    if kind is Kind.CANCEL_JOB:
        return "ok" if writer else 403
    if kind is Kind.RELEASE:
        return "ok" if subject.case_role == "legal" else 403
    if kind is Kind.AUTHOR:
        return 403
    raise AssertionError(kind)


def accepts(outcome: str | int, method: str, api: bool, status: int, location: str) -> bool:
    if outcome == "ok":
        if 200 <= status < 400:
            return True
        return method not in ("GET", "HEAD") and status in (400, 409, 412, 422)
    if outcome == "login":
        if api:
            return status == 401
        return status == 302 and urlsplit(location).path == "/login"
    return status == outcome


# --- the world --------------------------------------------------------------------------------------------


@dataclass
class World:
    ids: dict[str, str]
    own: dict[str, dict[str, str]] = field(default_factory=dict)  # per-subject objects (their own token)
    cookies: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)


def tiny_jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 24), (120, 80, 40)).save(out, "JPEG")
    return out.getvalue()


def created(response: Any, what: str) -> dict[str, Any]:
    body = response.get_json(silent=True)
    response.close()
    assert response.status_code == 201, f"setting up the world: creating {what}: {response.status_code} {body}"
    return body


def build_world(
    app: Flask,
    make_user: Callable[..., Account],
    api_for: Callable[..., tuple[Api, Account]],
    add_member: Callable[..., None],
) -> World:
    accounts = {s.name: make_user(s.role) for s in SUBJECTS if s.role and not s.crossed}
    api, _owner = api_for(account=accounts["investigator"])
    case = created(api.post("/cases", {"reference": "MTX", "title": CASE_TITLE}), "the case")["id"]
    for s in SUBJECTS:
        if s.case_role and not s.crossed:
            add_member(case, accounts[s.name], s.case_role, s.identities)
    spare = make_user("investigator")
    add_member(case, spare, "investigator")

    ids = {"case": case, "spare_user": str(spare.id)}
    ids["incident"] = created(
        api.post(f"/cases/{case}/incidents", {"title": INCIDENT_TITLE, "start_date": "2020-06-14"}), "an incident"
    )["id"]
    upload = api.post(
        f"/cases/{case}/evidence",
        data={
            "file": (io.BytesIO(tiny_jpeg()), "matrix.jpg"),
            "title": "Matrix photo",
            "incident_ids": ids["incident"],
        },
        content_type="multipart/form-data",
    )
    upload.request.input_stream.close()
    ids["item"] = created(upload, "an evidence item")["id"]
    ids["witness"] = created(api.post(f"/cases/{case}/witnesses", {"full_name": WITNESS_NAME}), "a witness")["id"]
    ids["actor"] = created(api.post(f"/cases/{case}/actors", {"kind": "person", "name": ACTOR_NAME}), "an actor")["id"]
    ids["actor2"] = created(
        api.post(f"/cases/{case}/actors", {"kind": "armed_group", "name": "Matrix Brigade"}), "a second actor"
    )["id"]
    ids["relation"] = created(
        api.post(
            f"/cases/{case}/actor-relations",
            {"source_actor_id": ids["actor"], "target_actor_id": ids["actor2"], "relation": "commands"},
        ),
        "a relation",
    )["id"]
    ids["involvement"] = created(
        api.post(
            f"/cases/{case}/involvements",
            {"incident_id": ids["incident"], "actor_id": ids["actor"], "degree": "gave_orders"},
        ),
        "an involvement",
    )["id"]
    ids["charge"] = created(
        api.post(
            f"/cases/{case}/charges",
            {
                "suspect_id": ids["actor"],
                "offence_code": "rome-7-1-a",
                "mode_code": "rome-25-3-a",
                "incident_ids": [ids["incident"]],
            },
        ),
        "a charge",
    )["id"]
    ids["link"] = created(
        api.post(
            f"/evidence/{ids['item']}/links",
            {"target_type": "incident", "target_id": ids["incident"], "stance": "supports"},
        ),
        "an evidence link",
    )["id"]
    dossier = api.post(f"/cases/{case}/dossiers", {"profile": "generic", "title": "Matrix dossier"})
    assert dossier.status_code == 202, dossier.get_data(as_text=True)[:300]
    ids["dossier"] = dossier.get_json()["id"]
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("matrix.txt", b"an imported file")
    imported = api.post(
        f"/cases/{case}/imports",
        data={"archive": (io.BytesIO(archive.getvalue()), "matrix.zip")},
        content_type="multipart/form-data",
    )
    imported.request.input_stream.close()
    assert imported.status_code == 202, imported.get_data(as_text=True)[:300]
    ids["import"] = imported.get_json()["id"]
    made = api.post(f"/cases/{case}/exports", {})
    assert made.status_code == 202, made.get_data(as_text=True)[:300]
    ids["export"] = made.get_json()["id"]
    with app.app_context(), session_scope() as s:
        # A capture as a failed one stands (the matrix makes no request to a web site).
        capture = WebCapture(
            case_id=uuid.UUID(case),
            url="https://example.org/",
            state=CaptureState.FAILED,
            error="matrix",
            created_by_id=accounts["investigator"].id,
            details={},
        )
        s.add(capture)
        s.flush()
        ids["capture"] = str(capture.id)
    spare_api, _ = api_for(account=spare)
    ids["field_form"] = created(
        api.post(f"/cases/{case}/field-forms", data={"encrypted": "false"}, content_type="multipart/form-data"),
        "a field form",
    )["id"]
    ids["device_credential"] = created(
        spare_api.post(f"/cases/{case}/device-credentials", {"label": "Spare phone"}), "a device credential"
    )["id"]
    ids["media_name"] = "incidents.csv"
    ids["assignment"] = created(
        api.post(
            f"/cases/{case}/assignments",
            {"target_type": "evidence", "target_id": ids["item"], "assignee_id": str(spare.id)},
        ),
        "an assignment",
    )["id"]
    ids["notification"] = spare_api.get("/notifications").get_json()["items"][0]["id"]
    ids["comment"] = created(
        spare_api.post(
            f"/cases/{case}/comments", {"target_type": "evidence", "target_id": ids["item"], "body": "spare"}
        ),
        "a comment",
    )["id"]
    with app.app_context(), session_scope() as s:
        from casefile.fieldintake.models import FieldSubmission, SubmissionState

        # A submission awaiting review, as a phone's would stand (the matrix speaks no OpenRosa itself).
        submission = FieldSubmission(
            case_id=uuid.UUID(case),
            form_pk=uuid.UUID(ids["field_form"]),
            instance_id="uuid:matrix",
            credential_id=uuid.UUID(ids["device_credential"]),
            submitted_by_id=spare.id,
            state=SubmissionState.PENDING,
            xml_sha256="0" * 64,
            fields={"description": "matrix"},
        )
        s.add(submission)
        s.flush()
        ids["field_submission"] = str(submission.id)
    resumable = spare_api.client.post(
        f"/api/v1/cases/{case}/uploads", headers={**spare_api.headers, "Tus-Resumable": "1.0.0", "Upload-Length": "9"}
    )
    assert resumable.status_code == 201, resumable.get_data(as_text=True)[:300]
    ids["upload"] = resumable.headers["Location"].rsplit("/", 1)[-1]
    assert run_queued_jobs(app)  # built and previewed, so the download is there to be refused or allowed
    approve_release(app, ids["dossier"])  # by a legal member made for it: released, so members may download
    with app.app_context(), session_scope() as s:
        from casefile.auth.models import User
        from casefile.cases.models import Case
        from casefile.custody.jobs import submit_verification

        asker, world_case = s.get(User, spare.id), s.get(Case, uuid.UUID(case))
        ids["job"] = str(submit_verification(s, asker, world_case).id)
    world = World(ids)

    for name, account in accounts.items():
        client = app.test_client()
        login(client, account)
        cookie = client.get_cookie(SESSION_COOKIE)
        assert cookie is not None
        world.cookies[name] = cookie.value
        world.tokens[name] = api_for(account=account)[0].headers["Authorization"]
        world.own[name] = {"own_token": new_token_id(app, account)}
    for mapping in (world.cookies, world.tokens, world.own):
        mapping["investigator-crossed"] = mapping["investigator"]
    world.ids["spare_token"] = new_token_id(app, spare)
    world.own["anonymous"] = {"own_token": world.ids["spare_token"]}  # refused before it is looked up
    with app.app_context(), session_scope() as s:
        from casefile.legal.models import Charge
        from casefile.legal.services import charge_elements

        codes = [e.code for _group, e in charge_elements(s.get(Charge, uuid.UUID(ids["charge"])))]
    for name in world.own:
        # Members to remove, one per subject and way (page, API), so one subject's removal leaves the others theirs.
        for key in ("removable", "removable_by_api"):
            removable = make_user("investigator")
            add_member(case, removable, "investigator")
            world.own[name][key] = str(removable.id)
    for n, name in enumerate(sorted(world.own)):
        # An item of one's own, linked to the incident at upload, for removing that link over the API.
        own_upload = api.post(
            f"/cases/{case}/evidence",
            data={
                "file": (io.BytesIO(f"own {name}".encode()), "own.txt"),
                "title": "own",
                "incident_ids": ids["incident"],
            },
            content_type="multipart/form-data",
        )
        own_upload.request.input_stream.close()
        own_item = created(own_upload, "an item of one's own")
        world.own[name]["own_item"], world.own[name]["own_link"] = own_item["id"], own_item["links"][0]["id"]
        world.own[name]["link"] = created(
            api.post(
                f"/evidence/{ids['item']}/links",
                {"target_type": "charge_element", "target_id": ids["charge"], "element_code": codes[n]},
            ),
            "a link of one's own",
        )["id"]
    return world


def new_token_id(app: Flask, account: Account) -> str:
    from casefile.auth import services as auth_services
    from casefile.auth.models import User
    from casefile.db import session_scope

    with app.app_context(), session_scope() as s:
        user = s.get(User, account.id)
        assert user is not None
        before = {t.id for t in auth_services.tokens_of(s, user)}
        auth_services.create_api_token(s, user, "matrix")
        (new,) = {t.id for t in auth_services.tokens_of(s, user)} - before
        return str(new)


# --- probing ----------------------------------------------------------------------------------------------


def fill(template: Any, ctx: dict[str, str]) -> Any:
    if isinstance(template, str):
        return template.format(**ctx)
    if isinstance(template, list):
        return [fill(v, ctx) for v in template]
    if isinstance(template, dict):
        return {k: fill(v, ctx) for k, v in template.items()}
    return template


def build_path(rule_text: str, ids: dict[str, str], params: dict[str, str]) -> str:
    """Fill the URL parameters with the world's ids; raises KeyError naming a parameter it cannot fill."""
    parts = rule_text.split("/")

    def value(name: str, index: int) -> str:
        if name in params:
            return ids[params[name]]
        if rule_text.startswith(API_PREFIX + "/") and name == "id":
            return ids[API_SEGMENTS[parts[index - 1]]]
        return ids[PAGE_PARAMS[name]]

    return "/".join(
        re.sub(r"<(?:[^:<>]+:)?(\w+)>", lambda m, i=index: value(m.group(1), i), part)
        for index, part in enumerate(parts)
    )


MULTIPART = {
    (re.sub(r"\{(\w+)\}", r"<\1>", API_PREFIX + op.path), op.method.upper())
    for op in OPERATIONS
    if op.request_kind == "multipart"
}


@dataclass(frozen=True)
class Probe:
    endpoint: str
    rule_text: str
    method: str
    rule: Rule
    subject: Subject

    @property
    def api(self) -> bool:
        return self.rule_text.startswith(API_PREFIX + "/")

    def __str__(self) -> str:
        where = f"{self.method} {self.rule_text} [{self.endpoint}]"
        if self.rule.query:
            where += " ?" + "&".join(f"{k}={v}" for k, v in self.rule.query.items())
        if self.rule.data:
            where += f" {self.rule.data}"
        if self.rule.params:
            where += f" with {self.rule.params}"
        return f"{where} as {self.subject.name}"


@dataclass
class Answer:
    status: int
    location: str
    body: bytes
    is_json: bool


def send(client: FlaskClient, world: World, p: Probe) -> Answer:
    subject = p.subject
    ids = {**world.ids, **world.own.get(subject.name, {})}
    ctx = {**ids, "tag": TAGS[subject.name]}
    path = build_path(p.rule_text, ids, p.rule.params or {})
    client.delete_cookie(SESSION_COOKIE)
    headers: dict[str, str] = {}
    if subject.role is not None:
        # The crossed subject presents the credential of the other side only.
        if p.api != subject.crossed:
            headers["Authorization"] = world.tokens[subject.name]
        else:
            client.set_cookie(SESSION_COOKIE, world.cookies[subject.name])
    kwargs: dict[str, Any] = {"headers": headers, "query_string": fill(p.rule.query or {}, ctx)}
    data = fill(p.rule.data or {}, ctx)
    if p.method not in ("GET", "HEAD"):
        if p.api and (p.rule_text, p.method) in MULTIPART:
            kwargs["data"] = {**data, "file": (io.BytesIO(b"authorization matrix probe\n"), "probe.txt")}
            kwargs["content_type"] = "multipart/form-data"
        elif p.api:
            kwargs["json"] = data
        else:
            kwargs["data"] = data
    response = client.open(path, method=p.method, **kwargs)
    try:
        return Answer(response.status_code, response.headers.get("Location", ""), response.get_data(), response.is_json)
    finally:
        response.close()
        response.request.input_stream.close()


def check(p: Probe, answer: Answer) -> list[str]:
    outcome = expected(p.rule.kind, p.subject)
    problems = []
    if not accepts(outcome, p.method, p.api, answer.status, answer.location):
        got = f"{answer.status}" + (f" -> {answer.location}" if answer.location else "")
        problems.append(f"{p}: expected {outcome}, got {got}")
    if p.api and answer.status >= 400 and not answer.is_json:
        problems.append(f"{p}: the {answer.status} error is not JSON")
    member_or_manager = p.subject.case_role is not None or (
        p.subject.role == "admin" and p.rule.kind in (Kind.MEMBERS_VIEW, Kind.MEMBERS_MANAGE)
    )
    if not (member_or_manager and outcome == "ok"):
        shown = [text for text in (CASE_TITLE, ACTOR_NAME, INCIDENT_TITLE) if text.encode() in answer.body]
        if shown:
            problems.append(f"{p}: the response shows the case's content ({shown}) to someone who may not see it")
    if (
        not (p.rule.kind in (Kind.REVEAL, Kind.IDENTITY_EDIT) and outcome == "ok")
        and WITNESS_NAME.encode() in answer.body
    ):
        problems.append(f"{p}: the response shows the witness's identity")
    return problems


def rules_of(entry: Rule | tuple[Rule, ...]) -> tuple[Rule, ...]:
    return entry if isinstance(entry, tuple) else (entry,)


def unlisted_routes(app: Flask) -> list[str]:
    out = []
    endpoints = set()
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.endpoint):
        endpoints.add(rule.endpoint)
        if rule.endpoint != "static" and rule.endpoint not in RULES:
            methods = ",".join(sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}))
            out.append(f"{rule.endpoint} ({methods} {rule.rule}): a route with no expected outcome in RULES")
    out += [f"{name}: in RULES but there is no such endpoint" for name in sorted(set(RULES) - endpoints)]
    return out


def test_every_route_has_an_expected_outcome_and_meets_it(
    app: Flask,
    make_user: Callable[..., Account],
    api_for: Callable[..., tuple[Api, Account]],
    add_member: Callable[..., None],
) -> None:
    failures = unlisted_routes(app)
    world = build_world(app, make_user, api_for, add_member)
    probes = [
        Probe(url_rule.endpoint, url_rule.rule, method, rule, subject)
        for url_rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.endpoint, r.rule))
        if url_rule.endpoint in RULES
        for method in sorted((url_rule.methods or set()) - {"HEAD", "OPTIONS"})
        for rule in rules_of(RULES[url_rule.endpoint])
        for subject in SUBJECTS
    ]
    probes.sort(key=lambda p: p.rule.ends_sessions)  # stable: those that end sessions go last
    client = app.test_client()
    for p in probes:
        try:
            answer = send(client, world, p)
        except KeyError as missing:
            failures.append(f"{p}: cannot fill the URL parameter {missing} from the world")
            continue
        failures += check(p, answer)
    assert len(probes) > 500, len(probes)
    assert not failures, f"{len(failures)} authorization mismatch(es):\n" + "\n".join(failures)


# --- references to another case's objects ----------------------------------------------------------------

# A member of case A names an object of case B (where they are not a member) inside a write to case A.
# Another case's object must be indistinguishable from a missing one: refused (404 or 422) and nothing kept.
CROSS_CASE: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("POST", "/evidence/{a_item}/links", {"target_type": "incident", "target_id": "{b_incident}"}),
    ("POST", "/evidence/{a_item}/links", {"target_type": "actor", "target_id": "{b_actor}"}),
    ("POST", "/evidence/{a_item}/links", {"target_type": "actor_relation", "target_id": "{b_relation}"}),
    ("POST", "/evidence/{a_item}/links", {"target_type": "involvement", "target_id": "{b_involvement}"}),
    (
        "POST",
        "/evidence/{a_item}/links",
        {"target_type": "charge_element", "target_id": "{b_charge}", "element_code": "{b_element}"},
    ),
    (
        "POST",
        "/cases/{a_case}/actor-relations",
        {"source_actor_id": "{a_actor}", "target_actor_id": "{b_actor}", "relation": "commands"},
    ),
    (
        "POST",
        "/cases/{a_case}/involvements",
        {"incident_id": "{b_incident}", "actor_id": "{a_actor}", "degree": "aided"},
    ),
    (
        "POST",
        "/cases/{a_case}/involvements",
        {"incident_id": "{a_incident}", "actor_id": "{b_actor}", "degree": "aided"},
    ),
    ("POST", "/cases/{a_case}/charges", {"suspect_id": "{b_actor}", "offence_code": "rome-7-1-a"}),
    (
        "POST",
        "/cases/{a_case}/charges",
        {"suspect_id": "{a_actor}", "offence_code": "rome-7-1-a", "incident_ids": ["{b_incident}"]},
    ),
    ("POST", "/actors/{a_actor}/merge", {"duplicate_id": "{b_actor}"}),
    ("POST", "/cases/{a_case}/dossiers/preview", {"profile": "generic", "evidence_ids": ["{b_item}"]}),
    ("POST", "/cases/{a_case}/dossiers", {"profile": "generic", "evidence_ids": ["{b_item}"]}),
    ("MULTIPART", "/cases/{a_case}/evidence", {"witness_id": "{b_witness}"}),
    ("MULTIPART", "/cases/{a_case}/evidence", {"incident_ids": "{b_incident}"}),
    ("MULTIPART", "/evidence/{a_item}/derivatives", {"derivation": "transcript", "incident_ids": "{b_incident}"}),
)


def small_case(api: Api, reference: str) -> dict[str, str]:
    """A case with an incident, an evidence item, a witness, two actors, a relation, an involvement, a charge."""
    ids = {"case": created(api.post("/cases", {"reference": reference, "title": reference}), "a case")["id"]}
    case = ids["case"]
    ids["incident"] = created(api.post(f"/cases/{case}/incidents", {"title": "An incident"}), "an incident")["id"]
    upload = api.post(
        f"/cases/{case}/evidence",
        data={"file": (io.BytesIO(tiny_jpeg()), "photo.jpg")},
        content_type="multipart/form-data",
    )
    upload.request.input_stream.close()
    ids["item"] = created(upload, "an evidence item")["id"]
    ids["witness"] = created(api.post(f"/cases/{case}/witnesses", {"full_name": "Someone"}), "a witness")["id"]
    ids["actor"] = created(api.post(f"/cases/{case}/actors", {"kind": "person", "name": "Ahmad Zaid"}), "an actor")[
        "id"
    ]
    ids["actor2"] = created(api.post(f"/cases/{case}/actors", {"kind": "unit", "name": "Ninth Unit"}), "an actor")["id"]
    ids["relation"] = created(
        api.post(
            f"/cases/{case}/actor-relations",
            {"source_actor_id": ids["actor"], "target_actor_id": ids["actor2"], "relation": "commands"},
        ),
        "a relation",
    )["id"]
    ids["involvement"] = created(
        api.post(
            f"/cases/{case}/involvements", {"incident_id": ids["incident"], "actor_id": ids["actor"], "degree": "aided"}
        ),
        "an involvement",
    )["id"]
    charge = created(
        api.post(f"/cases/{case}/charges", {"suspect_id": ids["actor"], "offence_code": "rome-7-1-a"}), "a charge"
    )["id"]
    ids["charge"] = charge
    matrix = api.get(f"/charges/{charge}/matrix")
    ids["element"] = matrix.get_json()["elements"][0]["code"]
    matrix.close()
    return ids


def test_ids_of_another_case_are_refused(api_for: Callable[..., tuple[Api, Account]]) -> None:
    api_a, _ = api_for("investigator")
    api_b, _ = api_for("investigator")
    ctx = {f"a_{k}": v for k, v in small_case(api_a, "CASEA").items()}
    ctx |= {f"b_{k}": v for k, v in small_case(api_b, "CASEB").items()}
    failures = []
    for kind, path, body in CROSS_CASE:
        url, data = fill(path, ctx), fill(body, ctx)
        if kind == "MULTIPART":
            data["file"] = (io.BytesIO(b"cross-case probe\n"), "probe.txt")
            response = api_a.post(url, data=data, content_type="multipart/form-data")
            response.request.input_stream.close()
        else:
            response = api_a.post(url, data)
        response.close()
        if response.status_code not in (404, 422):
            failures.append(f"POST {path} {body}: expected 404 or 422, got {response.status_code}")
    assert not failures, "another case's objects were accepted:\n" + "\n".join(failures)


# --- unlinking from the item page ---------------------------------------------------------------------------


def test_unlink_button_on_the_item_page_removes_the_link(
    app: Flask, api_for: Callable[..., tuple[Api, Account]]
) -> None:
    """The page's "Unlink" form posts only its CSRF token (macros.post_button). A permitted writer pressing it
    must get the link removed, not a 400."""
    api, account = api_for("investigator")
    ids = small_case(api, "UNL")
    link = created(
        api.post(f"/evidence/{ids['item']}/links", {"target_type": "incident", "target_id": ids["incident"]}), "a link"
    )["id"]
    client = app.test_client()
    login(client, account)
    page = client.get(f"/evidence/{ids['item']}")
    html = page.get_data(as_text=True)
    page.close()
    action = f"/evidence/{ids['item']}/links/{link}/remove"
    form = re.search(r'<form method="post" action="' + re.escape(action) + r'"[^>]*>(.*?)</form>', html, re.S)
    assert form, "the item page has no Unlink form for the link"
    fields = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', form.group(1)))
    assert set(fields) <= {"csrf_token"}, fields  # what the browser sends (CSRF checks are off in the tests)
    response = client.post(action, data=fields)
    response.close()
    assert response.status_code == 302, f"Unlink answered {response.status_code}"
    item = api.get(f"/evidence/{ids['item']}")
    links = item.get_json()["links"]
    item.close()
    assert [x["id"] for x in links] == [], "the link is still there"
