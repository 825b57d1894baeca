"""The OpenRosa 1.0 HTTP side, one address per case (`/openrosa/cases/<case id>`, which a person enters in ODK
Collect as the server): Form List API, form download and media manifest, Form Submission API. Phones log in with a
device credential of that case (auth.py); every answer carries `X-OpenRosa-Version: 1.0`; refusals are
OpenRosaResponse documents a phone shows to its user."""

from __future__ import annotations

from flask import Blueprint, Response, g, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from casefile.auth.gate import Access, require_case
from casefile.auth.models import User
from casefile.auth.services import record_bad_token, token_throttled
from casefile.cases.models import Case
from casefile.components import field_cipher, settings
from casefile.db import db_session, get_database, session_scope
from casefile.errors import CasefileError, NotFound
from casefile.fieldintake import auth, openrosa, services, xlsform
from casefile.fieldintake.jobs import queue_decryption
from casefile.fieldintake.models import DeviceCredential, FieldForm

bp = Blueprint("openrosa", __name__, url_prefix="/openrosa/cases/<case_id>")

XML = "text/xml; charset=utf-8"
# What a phone may send in one POST; larger submissions are split by the phone (`*isIncomplete*`).
ACCEPT_CONTENT_LENGTH = 100 << 20


def is_openrosa_request() -> bool:
    return request.path.startswith(auth.PREFIX)


def load_device_user() -> User | None:
    """The person whose device credential signed this request (flask-login's request loader calls this for
    /openrosa/ paths): None with `g.device_stale` or nothing, and a bad credential counts towards the address's
    throttle, as a bad API token does."""
    address, limit = request.remote_addr or "", settings().token_failures_per_address_per_minute
    with get_database().read_sessionmaker() as s:
        if token_throttled(s, address, limit):
            g.token_throttled = True
            return None
        outcome = auth.authenticate(
            s,
            field_cipher(),
            settings().secret_key,
            request.authorization,
            method=request.method,
            uri=request.full_path if request.query_string else request.path,
            secure=request.is_secure,
        )
        user = outcome.user
        if user is not None:
            s.expunge(user)
    if outcome.stale:
        g.device_stale = True
    if user is None or outcome.credential is None:
        if outcome.attempted:
            with session_scope() as s:
                record_bad_token(s, address, limit)
        return None
    assert request.authorization is not None  # noqa: S101 - a user was found from it
    with session_scope() as s:
        if not auth.remember_nonce(s, request.authorization):
            return None  # the same header again: a replay
    g.device_credential_id = outcome.credential.id
    return user


def unauthorized() -> Response:
    response = _xml(openrosa.response(_("Log in with this phone's Casefile device credential."), "error"), 401)
    response.headers["WWW-Authenticate"] = auth.challenge(settings().secret_key, stale=bool(g.get("device_stale")))
    return response


def _xml(body: bytes, status: int = 200) -> Response:
    response = Response(body, status=status, content_type=XML)
    response.headers["X-OpenRosa-Version"] = openrosa.VERSION
    return response


@bp.after_request
def _openrosa_headers(response: Response) -> Response:
    response.headers["X-OpenRosa-Version"] = openrosa.VERSION
    return response


@bp.errorhandler(CasefileError)
def _refused(error: CasefileError) -> Response:
    return _xml(openrosa.response(error.message, "error"), error.status)


def _case(case_id: str, access: Access = Access.READ) -> tuple[Case, DeviceCredential]:
    """The case of the address, which must be the credential's own case (another case's address is not found)."""
    s = db_session()
    credential = s.get(DeviceCredential, g.get("device_credential_id"))
    case = require_case(s, current_user, case_id, access)
    if credential is None or credential.case_id != case.id:
        raise NotFound(_("Not found."))
    return case, credential


def _form(case: Case, form_pk: str) -> FieldForm:
    form = services.form_in_case(db_session(), current_user, form_pk)
    if form.case_id != case.id:
        raise NotFound(_("Not found."))
    return form


@bp.get("/formList")
def form_list(case_id: str) -> ResponseReturnValue:
    case, _credential = _case(case_id)
    s = db_session()
    forms = list(s.scalars(services.forms_query(case)))
    wanted = request.args.get("formID")
    listed = [
        openrosa.ListedForm(
            form.form_id,
            form.title,
            form.version,
            xlsform.md5_hash(form.xform),
            url_for("openrosa.download", case_id=case.id, form_pk=form.id, _external=True),
            url_for("openrosa.manifest", case_id=case.id, form_pk=form.id, _external=True)
            if services.media_of(s, form)
            else None,
        )
        for form in forms
        if not wanted or form.form_id == wanted
    ]
    return _xml(openrosa.form_list(listed))


@bp.get("/forms/<form_pk>/form.xml")
def download(case_id: str, form_pk: str) -> ResponseReturnValue:
    case, _credential = _case(case_id)
    return _xml(_form(case, form_pk).xform.encode("utf-8"))


@bp.get("/forms/<form_pk>/manifest")
def manifest(case_id: str, form_pk: str) -> ResponseReturnValue:
    case, _credential = _case(case_id)
    form = _form(case, form_pk)
    files = [
        (
            name,
            xlsform.md5_hash(data),
            url_for("openrosa.media", case_id=case.id, form_pk=form.id, name=name, _external=True),
        )
        for name, data in services.media_of(db_session(), form).items()
    ]
    return _xml(openrosa.manifest(files))


@bp.get("/forms/<form_pk>/media/<name>")
def media(case_id: str, form_pk: str, name: str) -> ResponseReturnValue:
    case, _credential = _case(case_id)
    files = services.media_of(db_session(), _form(case, form_pk))
    if name not in files:
        raise NotFound(_("Not found."))
    response = Response(files[name], content_type="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@bp.route("/submission", methods=["HEAD", "POST"])
def submission(case_id: str) -> ResponseReturnValue:
    case, credential = _case(case_id, Access.WRITE)
    limit = min(ACCEPT_CONTENT_LENGTH, settings().max_upload_bytes)
    if request.method == "HEAD":
        response = _xml(b"", 204)
        response.headers["X-OpenRosa-Accept-Content-Length"] = str(limit)
        return response
    xml_part = request.files.get("xml_submission_file")
    if xml_part is None:
        return _xml(openrosa.response(_("The submission has no xml_submission_file part."), "error"), 400)
    attachments = [part for name, part in request.files.items(multi=True) if name != "xml_submission_file"]
    incomplete = request.form.get("*isIncomplete*", "").strip().lower() == "yes"
    s = db_session()
    device = request.headers.get("User-Agent", "")
    received = services.receive(
        s,
        case,
        credential,
        current_user,
        xml_part,
        attachments,
        incomplete=incomplete,
        device=device,
    )
    if not received.created:
        return _xml(openrosa.response(_("Already received: nothing was stored twice.")), 202)
    row = received.submission
    queue_decryption(s, row, current_user)
    message = (
        _("Part received: %(n)d files so far.", n=len(row.files))
        if not received.complete
        else _("Received, with %(n)d files: it now waits for review.", n=len(row.files))
    )
    response = _xml(openrosa.response(message), 201)
    response.headers["Location"] = url_for("fieldintake.show_submission", submission_id=row.id, _external=True)
    return response
