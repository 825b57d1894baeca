"""Request plumbing shared by every blueprint: the login-by-default gate, session timeouts, the
single commit per request, security headers, locale, and errors rendered as clear 4xx pages or JSON."""

from __future__ import annotations

import errno
import logging
from collections.abc import Callable, Iterator

from botocore.exceptions import BotoCoreError
from flask import (
    Flask,
    Response,
    flash,
    g,
    has_request_context,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import LazyString, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import HTTPException

from casefile import health
from casefile.api.core import MAX_PAGE
from casefile.auth import login_flow, sessions
from casefile.auth.audit import record_auth_event
from casefile.auth.gate import TEMPLATE_DECISIONS
from casefile.auth.models import User
from casefile.auth.services import TOKEN_WINDOW, record_bad_token, token_throttled, user_for_token
from casefile.auth.totp import must_enrol
from casefile.components import settings
from casefile.config import tile_source
from casefile.db import finish_request, get_database, session_scope, utcnow
from casefile.errors import CasefileError, DuplicateFile, ValidationFailed
from casefile.extensions import login_manager
from casefile.labels import (
    ACTION_LABELS,
    CATALOGUE_TRANSLATION_NOTICE,
    CHANGED_VALUE_WORDS,
    DETAIL_LABELS,
    DETAIL_VALUE_WORDS,
    N_,
    ROLE_LABELS,
    catalogue_text,
    profile_title,
    word_for,
)
from casefile.legal.catalogue import LANGUAGES, load_catalogue
from casefile.storage import StorageError
from casefile.witnesses.crypto import FieldKeyError

log = logging.getLogger("casefile")

# Endpoints reachable without logging in. Everything else requires a session (or, under /api, a token).
PUBLIC_ENDPOINTS = frozenset({"auth.login", "auth.second_factor", "static", "api.openapi", "main.set_language"})
# Reachable by a logged-in user who still has to set up a required second factor.
ENROLMENT_ENDPOINTS = frozenset({"account.enrol", "auth.logout", "main.set_language", "static"})
# Reachable by a logged-in user whose password was set by someone else, until they have chosen their own.
PASSWORD_CHANGE_ENDPOINTS = frozenset(
    {"account.overview", "account.change_password", "auth.logout", "main.set_language", "static"}
)
LOCALES = ("en", "ar")
# Words stored as codes (statuses, roles) shown in the reader's language.
VALUE_LABELS = {
    "open": _l("open"),
    "referred": _l("referred"),
    "closed": _l("closed"),
    **{code: _l(word) for code, word in ROLE_LABELS.items()},
    # Imports: what, their states, and what became of each row.
    "evidence": _l("evidence"),
    "incidents": _l("incidents"),
    "actors": _l("actors"),
    "previewing": _l("previewing"),
    "previewed": _l("previewed, not yet run"),
    "importing": _l("importing"),
    "done": _l("done"),
    "failed": _l("failed"),
    "discarded": _l("discarded"),
    "create": _l("to create"),
    "duplicate": _l("duplicate"),
    "refused": _l("refused"),
    "created": _l("created"),
    "supports": _l("supports"),
    "contradicts": _l("contradicts"),
    "context": _l("context"),
    "building": _l("being made"),
    "ready": _l("ready"),
    # Web captures.
    "queued": _l("queued"),
    "capturing": _l("capturing"),
    # Field submissions.
    "incomplete": _l("incomplete (more parts to come)"),
    "decrypting": _l("being decrypted"),
    "pending": _l("awaiting review"),
    "accepting": _l("being recorded"),
    "accepted": _l("accepted"),
    "rejected": _l("rejected"),
}
RTL_LOCALES = frozenset({"ar"})


def _label(value: object, kind: str | None = None) -> object:
    """A code in words: {{ status|label }} (VALUE_LABELS) or {{ code|label("relation") }} (casefile.labels.WORDS)."""
    if kind is not None:
        return word_for(value, kind, _)
    return VALUE_LABELS.get(str(value), value)


# The tabs of every case page, in the order an investigation goes, between "Overview" and "Members" (the macro
# case_nav adds those two): (endpoint taking case_id, label). Declared here, in one place, not registered by
# each blueprint as it is imported, so the order never depends on import order.
CASE_TABS: tuple[tuple[str, LazyString], ...] = (
    ("evidence.list_evidence", _l("Evidence")),
    ("maps.case_map", _l("Map")),
    ("witnesses.list_witnesses", _l("Witnesses")),
    ("actors.list_actors", _l("Actors")),
    ("actors.chart", _l("Command chart")),
    ("actors.list_charges", _l("Charges")),
    ("dossiers.list_dossiers", _l("Dossiers")),
    ("captures.list_captures", _l("Web captures")),
    ("imports.imports", _l("Import and export")),
    ("fieldintake.field_intake", _l("Field intake")),
    ("collab.case_work", _l("Work")),
    ("activity.case_activity", _l("Activity")),
    ("jobs.case_jobs", _l("Jobs")),
)


def is_api_request() -> bool:
    return request.path.startswith("/api/")


def is_device_request() -> bool:
    """Phones (OpenRosa, /openrosa/): their own credentials on every request, never a session cookie."""
    return request.path.startswith("/openrosa/")


def wants_json_errors() -> bool:
    """The API, and page scripts that ask for JSON (the upload page), get errors as JSON."""
    return is_api_request() or request.accept_mimetypes.best == "application/json"


@login_manager.user_loader
def load_user(session_key: str) -> User | None:
    """The user of a login session, from its server-side record (one query); the outcome is kept for
    `_keep_login_session`, which ends a session that has timed out."""
    # Cookies never authenticate the API or phones: they take Bearer tokens or device credentials only, so they
    # need no CSRF defence.
    if is_api_request() or is_device_request():
        return None
    try:
        with get_database().read_sessionmaker() as s:
            found = sessions.look_up(s, session_key, login_flow.user_agent(), login_flow.timeouts())
    except DATABASE_DOWN:
        g.database_down = True  # answered with 503 by _require_login; the error page then needs no user
        return None
    g.login_session = found
    return found.user


@login_manager.request_loader
def load_user_from_token(req) -> User | None:
    if is_device_request():
        from casefile.fieldintake.protocol import load_device_user

        return load_device_user()
    if not is_api_request():
        return None
    header = req.headers.get("Authorization", "")
    scheme, _sep, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    address, limit = req.remote_addr or "", settings().token_failures_per_address_per_minute
    try:
        with get_database().read_sessionmaker() as s:
            if token_throttled(s, address, limit):
                g.token_throttled = True  # refused with 429 by _require_login, before the token is looked at
                return None
            user = user_for_token(s, token.strip())
        if user is None:
            with session_scope() as s:
                record_bad_token(s, address, limit)
        return user
    except DATABASE_DOWN:
        g.database_down = True
        return None


def _keep_login_session() -> bool:
    """Idle and absolute session timeouts: a laptop left open in a field office must not stay logged in, and a
    session that ended anywhere (another browser, another server) is over here too. The record was read by
    `load_user`; the cookie's own times are checked as well (they are exact, the record's last use is kept to the
    minute). A session past either timeout is ended on the server. Returns True when it has just expired."""
    if is_api_request() or is_device_request() or request.endpoint == "static":
        return False
    current_user._get_current_object()  # loads the user (one query) now, before the request's unit of work opens
    found: sessions.Lookup | None = g.get("login_session")
    if found is None:  # the cookie names no login session
        return False
    record = found.record
    if record is None or (not found.alive and found.expired is None):
        # Unknown, or ended on the server (logged out here or elsewhere, password changed, deactivated).
        login_flow.forget_login()
        if record is not None:
            flash(_("Please log in again."), "warning")
        return False
    now = utcnow()
    reason = found.expired or sessions.expiry(
        login_flow.cookie_time("auth_at"), login_flow.cookie_time("seen_at"), now, login_flow.timeouts()
    )
    if reason is not None:
        # A unit of work of its own, committed at once: the session ends whatever this request does next.
        with session_scope() as s:
            sessions.end_record(s, record.id, reason)
            address = request.remote_addr or ""
            record_auth_event(s, "session_expired", user=found.account, address=address, details={"reason": reason})
        login_flow.forget_login()
        flash(_("Your session has expired. Please log in again."), "warning")
        return True
    if sessions.needs_touch(record, now):
        with session_scope() as s:
            sessions.touch(s, record.id, now)
    session["seen_at"] = now.isoformat()
    return False


def _require_login() -> ResponseReturnValue | None:
    if request.endpoint in health.ENDPOINTS:
        return None  # probes: no session, no database
    expired = _keep_login_session()
    current_user._get_current_object()  # an API request's token is looked up here (a page's session already was)
    if g.get("database_down"):
        return unavailable(503, "database_unavailable", "The database cannot be reached. Please try again shortly.")
    if g.get("token_throttled"):
        response = api_error(429, "too_many_requests", "Too many invalid API tokens from this address; wait a minute.")
        response.headers["Retry-After"] = str(int(TOKEN_WINDOW.total_seconds()))
        return response
    if request.endpoint in PUBLIC_ENDPOINTS or request.endpoint is None:
        return None
    if not current_user.is_authenticated:
        if is_device_request():
            from casefile.fieldintake.protocol import unauthorized

            return unauthorized()
        if is_api_request():
            return api_error(401, "unauthorized", "A valid API token is required (Authorization: Bearer …).")
        if expired:
            return redirect(url_for("auth.login"))
        return redirect(url_for("auth.login", next=request.full_path if request.method == "GET" else None))
    if is_api_request() or is_device_request():
        return None
    if current_user.must_change_password and request.endpoint not in PASSWORD_CHANGE_ENDPOINTS:
        flash(_("The password you were given works once: choose your own to continue."), "warning")
        return redirect(url_for("account.overview"))
    if request.endpoint not in ENROLMENT_ENDPOINTS:
        # The read session: the request's own unit of work must not start (and, on SQLite, take the write
        # lock) before the view decides what it needs.
        with get_database().read_sessionmaker() as s:
            required = must_enrol(s, current_user)
        if required:
            flash(_("Your role must use a second factor: set it up to continue."), "warning")
            return redirect(url_for("account.enrol"))
    return None


def page_arg() -> int:
    """The ?page= of an HTML list, kept within what an SQL offset can hold."""
    return min(max(request.args.get("page", 1, type=int) or 1, 1), MAX_PAGE)


def safe_next(target: str | None) -> str | None:
    # Only same-site relative paths: no open redirect through //evil.example or a scheme.
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


def _finish(response: Response) -> Response:
    # One request, one transaction: commit when the request succeeded, otherwise nothing it did is kept.
    # (A few refusals must still keep their audit record: they set g.keep_on_error.)
    finish_request(commit=response.status_code < 400 or g.get("keep_on_error", False))
    _security_headers(response)
    return response


def _teardown(exc: BaseException | None) -> None:
    finish_request(commit=False)


def _security_headers(response: Response) -> None:
    h = response.headers
    # Map tiles come from the host the organisation configured (CASEFILE_MAP_TILES), and from nowhere else.
    tiles = settings().map_tiles
    images = "'self' data: blob:" + (f" {tile_source(tiles)}" if tiles else "")
    h.setdefault(
        "Content-Security-Policy",
        f"default-src 'self'; script-src 'self'; style-src 'self'; img-src {images}; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    )
    h["X-Content-Type-Options"] = "nosniff"
    h["X-Frame-Options"] = "DENY"
    h["Referrer-Policy"] = "no-referrer"
    h["Cross-Origin-Opener-Policy"] = "same-origin"
    h["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
    if settings().https:
        h["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
    if _loaded_user_is_authenticated() and "Cache-Control" not in h:
        # Evidence and identities must not linger in shared or browser caches.
        h["Cache-Control"] = "no-store"


def _loaded_user_is_authenticated() -> bool:
    user = g.get("_login_user")
    return user is not None and bool(user.is_authenticated)


def select_locale() -> str:
    if not has_request_context():  # CLI and background work: the default language
        return "en"
    user = g.get("_login_user")  # only a user already loaded: rendering an error page must not need the database
    if user is not None and user.is_authenticated and getattr(user, "locale", None) in LOCALES:
        return str(user.locale)
    if session.get("locale") in LOCALES:
        return session["locale"]
    return request.accept_languages.best_match(LOCALES) or "en"


def text_direction() -> str:
    from flask_babel import get_locale

    return "rtl" if str(get_locale()) in RTL_LOCALES else "ltr"


def api_error(status: int, code: str, message: str, **extra: object) -> Response:
    body: dict[str, object] = {"code": code, "message": message}
    body.update(extra)
    response = jsonify({"error": body})
    response.status_code = status
    return response


def _handle_casefile_error(error: CasefileError) -> Response | tuple[str, int]:
    if wants_json_errors():
        extra: dict[str, object] = (
            {"fields": error.errors} if isinstance(error, ValidationFailed) and error.errors else {}
        )
        if isinstance(error, DuplicateFile):
            extra["existing"] = error.existing
        return api_error(error.status, error.code, error.message, **extra)
    # A message raised untranslated ("Not found.", by the gate) is translated here; a translated one is kept.
    return render_template("error.html", status=error.status, message=_(error.message)), error.status


# In words, in the page's language (message ids: translated where they are shown).
_HTTP_MESSAGES = {
    400: N_("The request could not be understood."),
    401: N_("Please log in."),
    403: N_("You do not have permission to do this."),
    404: N_("Not found."),
    405: N_("This action is not allowed here."),
    413: N_("The upload is larger than this server accepts."),
    429: N_("Too many requests. Please wait and try again."),
}


def _handle_http_error(error: HTTPException) -> Response | tuple[str, int] | HTTPException:
    status = error.code or 500
    if status < 400:
        return error
    message = _(_HTTP_MESSAGES[status]) if status in _HTTP_MESSAGES else (error.description or _("Error."))
    if status == 413:
        limit = settings().max_upload_bytes
        message = _("The upload is larger than the limit of %(limit)s bytes.", limit=f"{limit:,}")
    if isinstance(error, CSRFError):
        message = _("The form's security token is missing or invalid. Reload the page and try again.")
    if wants_json_errors():
        return api_error(status, (error.name or "error").lower().replace(" ", "_"), message)
    return render_template("error.html", status=status, message=message), status


def _handle_field_key_error(error: Exception) -> Response | tuple[str, int]:
    # The configuration lacks the key a protected field was encrypted with: an operator must fix it.
    log.error("protected field cannot be decrypted: %s", error)
    message = f"{error} Protected identities cannot be shown until the administrator restores the key."
    if wants_json_errors():
        return api_error(503, "field_key_unavailable", message)
    return render_template("error.html", status=503, message=message), 503


# Failures of what the app depends on, not of the request: the database unreachable (or its pool exhausted).
DATABASE_DOWN = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError)
# No space left: OSError's ENOSPC and EDQUOT, SQLite's SQLITE_FULL, PostgreSQL's disk_full (SQLSTATE 53100).
_DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


def _causes(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _disk_full(error: BaseException) -> bool:
    for cause in _causes(error):
        if isinstance(cause, OSError) and cause.errno in _DISK_FULL_ERRNOS:
            return True
        if getattr(cause, "sqlite_errorcode", None) == 13 or getattr(cause, "sqlstate", None) == "53100":
            return True
    return False


def unavailable(status: int, code: str, message: str) -> Response | tuple[str, int]:
    """503 (try again later) or 507 (no space), rendered without the database: the page names no user."""
    if wants_json_errors():
        response = api_error(status, code, message)
    else:
        response = make_response(render_template("unavailable.html", status=status, message=message), status)
    response.headers["Retry-After"] = str(health.RETRY_AFTER_SECONDS)
    return response


def _handle_dependency_error(error: Exception) -> Response | tuple[str, int]:
    """The database or the blob store failed under a request: 507 when the disk is full, 503 when it is
    unreachable; anything else is unexpected."""
    if _disk_full(error):
        log.error("no space left while serving %s %s: %s", request.method, request.path, error)
        return unavailable(
            507, "insufficient_storage", "The server has no space left to store this. Nothing was saved."
        )
    if isinstance(error, DATABASE_DOWN):
        log.error("database unavailable on %s %s: %s", request.method, request.path, error)
        return unavailable(503, "database_unavailable", "The database cannot be reached. Please try again shortly.")
    if isinstance(error, StorageError) and any(isinstance(c, (OSError, BotoCoreError)) for c in _causes(error)):
        log.error("blob store unavailable on %s %s: %s", request.method, request.path, error)
        return unavailable(503, "storage_unavailable", "The file store cannot be reached. Please try again shortly.")
    return _handle_unexpected(error)


def _handle_unexpected(error: Exception) -> Response | tuple[str, int]:
    log.exception("unhandled error on %s %s", request.method, request.path)
    if is_api_request():
        return api_error(500, "internal_error", "Something went wrong on our side; it has been logged.")
    return render_template("error.html", status=500, message=_("Something went wrong on our side.")), 500


def _for_current_user(rule: Callable[[User], bool]) -> Callable[[], bool]:
    """A gate decision as a template asks it, about whoever is logged in (nobody may anything)."""
    return lambda: bool(current_user.is_authenticated) and rule(current_user)


def init_app(app: Flask) -> None:
    app.before_request(_require_login)
    app.after_request(_finish)
    app.teardown_request(_teardown)
    app.register_error_handler(CasefileError, _handle_casefile_error)
    app.register_error_handler(HTTPException, _handle_http_error)
    app.register_error_handler(FieldKeyError, _handle_field_key_error)
    for dependency_error in (*DATABASE_DOWN, StorageError, OSError):
        app.register_error_handler(dependency_error, _handle_dependency_error)
    app.register_error_handler(Exception, _handle_unexpected)

    @app.context_processor
    def _inject() -> dict[str, object]:
        from flask_babel import get_locale

        return {
            "text_direction": text_direction,
            "get_locale": get_locale,
            "locales": LOCALES,
            **{name: _for_current_user(rule) for name, rule in TEMPLATE_DECISIONS.items()},
        }

    # Globals rather than context: imported macros see globals but not the request context.
    app.jinja_env.globals["case_tabs"] = lambda: CASE_TABS
    app.jinja_env.filters["label"] = _label
    app.jinja_env.filters["action_label"] = lambda code: (
        _(ACTION_LABELS[str(code)]) if str(code) in ACTION_LABELS else code
    )
    app.jinja_env.filters["detail_label"] = lambda key: _(DETAIL_LABELS[str(key)]) if str(key) in DETAIL_LABELS else key
    app.jinja_env.globals["changed_value_words"] = CHANGED_VALUE_WORDS
    app.jinja_env.globals["detail_value_words"] = DETAIL_VALUE_WORDS
    app.jinja_env.filters["legal"] = catalogue_text
    app.jinja_env.filters["profile_title"] = profile_title
    app.jinja_env.globals["catalogue_notice"] = lambda: (
        _(CATALOGUE_TRANSLATION_NOTICE) if str(get_locale()).split("_")[0] in LANGUAGES else ""
    )
    app.jinja_env.globals["catalogue_offence"] = lambda code: load_catalogue().offence(str(code))
    app.jinja_env.globals["catalogue_mode"] = lambda code: load_catalogue().mode(str(code))
    app.jinja_env.filters["dict_without"] = lambda d, key: {k: v for k, v in d.items() if k != key}
