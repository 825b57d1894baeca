"""Casefile: evidence management for human-rights investigations."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from casefile.config import Settings, load_settings

if TYPE_CHECKING:
    # Imported lazily so storage/ and custody/ stay usable without Flask (offline verification).
    from flask import Flask

REPO_ROOT = Path(__file__).resolve().parent.parent


def storage_options(settings: Settings) -> dict[str, Any]:
    if not settings.storage_url.startswith("s3://"):
        return {}
    spool = settings.instance_path / "spool"
    spool.mkdir(mode=0o700, exist_ok=True)
    return {
        "endpoint_url": settings.s3_endpoint_url,
        "object_lock_mode": settings.s3_object_lock_mode,
        "object_lock_days": settings.s3_object_lock_days,
        # Uploads spool next to the instance, not in a shared /tmp.
        "spool_dir": str(spool),
    }


def load_api_routes() -> None:
    """Each capability declares its API routes in its own `api` module; importing the modules declares the routes
    on the shared blueprint and in `casefile.api.core.OPERATIONS` (idempotent: a module is imported once)."""
    from casefile.activity import api as _activity  # noqa: F401
    from casefile.actors import api as _actors  # noqa: F401
    from casefile.api import openapi as _openapi  # noqa: F401
    from casefile.capture import api as _capture  # noqa: F401
    from casefile.cases import api as _cases  # noqa: F401
    from casefile.collab import api as _collab  # noqa: F401
    from casefile.custody import api as _custody  # noqa: F401
    from casefile.dossier import api as _dossier  # noqa: F401
    from casefile.evidence import api as _evidence  # noqa: F401
    from casefile.fieldintake import api as _fieldintake  # noqa: F401
    from casefile.intake import api as _intake  # noqa: F401
    from casefile.jobs import api as _jobs  # noqa: F401
    from casefile.legal import api as _legal  # noqa: F401
    from casefile.links import api as _links  # noqa: F401
    from casefile.maps import api as _maps  # noqa: F401
    from casefile.provenance import api as _provenance  # noqa: F401
    from casefile.search import api as _search  # noqa: F401
    from casefile.verification import api as _verification  # noqa: F401
    from casefile.witnesses import api as _witnesses  # noqa: F401


def load_job_handlers() -> None:
    """Each capability registers its job kinds (and schedules) in its own `jobs` module; jobs/ sits below the
    capabilities and never imports them, so the modules are imported here, in every web and worker process."""
    from casefile.capture import jobs as _capture  # noqa: F401
    from casefile.collab import mail as _collab  # noqa: F401
    from casefile.custody import jobs as _custody  # noqa: F401
    from casefile.dossier import jobs as _dossier  # noqa: F401
    from casefile.evidence import jobs as _evidence  # noqa: F401
    from casefile.fieldintake import jobs as _fieldintake  # noqa: F401
    from casefile.intake import jobs as _intake  # noqa: F401
    from casefile.provenance import jobs as _provenance  # noqa: F401
    from casefile.search import jobs as _search  # noqa: F401


def register_api(app: Flask) -> None:
    from casefile.api import api_bp
    from casefile.extensions import csrf

    load_api_routes()
    csrf.exempt(api_bp)  # Bearer tokens only, never cookies: nothing for a forged request to ride on
    app.register_blueprint(api_bp)


def create_app(config: Settings | Mapping[str, Any] | None = None) -> Flask:
    """Build the app. It only registers things; all behaviour lives in the capabilities."""
    from casefile import db, models, web  # noqa: F401 - models: every mapper registered before first use
    from casefile.cli import register_cli
    from casefile.evidence.uploads import UploadRequest
    from casefile.extensions import babel, csrf, login_manager
    from casefile.storage import open_blob_store

    settings = config if isinstance(config, Settings) else load_settings(**dict(config or {}))
    app = db.CasefileFlask(
        __name__,
        template_folder=str(REPO_ROOT / "templates"),
        instance_path=str(settings.instance_path),
    )
    app.request_class = UploadRequest
    if settings.proxy_hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # The client's address and scheme as the proxies in front saw them (throttling and the audit log use them).
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=settings.proxy_hops, x_proto=settings.proxy_hops, x_host=0
        )
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=settings.max_upload_bytes,
        # Form fields outside file parts stay small; files stream to the blob store instead.
        MAX_FORM_MEMORY_SIZE=2 * 1024 * 1024,
        SESSION_COOKIE_NAME="casefile_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.https,
        REMEMBER_COOKIE_SECURE=settings.https,
        WTF_CSRF_ENABLED=settings.csrf_enabled,
        WTF_CSRF_TIME_LIMIT=None,  # bound to the session instead, which has its own timeouts
        BABEL_DEFAULT_LOCALE="en",
        BABEL_TRANSLATION_DIRECTORIES=str(Path(__file__).parent / "translations"),
        TESTING=settings.testing,
    )
    from casefile import components
    from casefile.custody.keys import InstanceKey
    from casefile.witnesses.crypto import FieldCipher

    components.install(
        app,
        settings=settings,
        blobs=open_blob_store(settings.storage_url, **storage_options(settings)),
        key=InstanceKey(settings.signing_key_path),
        cipher=FieldCipher(settings.field_keys),
    )
    from casefile.jobs.queue import JobQueue

    components.install_queue(app, JobQueue(app, settings))  # checks CASEFILE_QUEUE_URL; opens nothing yet
    load_job_handlers()
    db.init_app(app, settings.database_url)

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "strong"
    web.init_app(app)  # before CSRF: an anonymous request is turned away before its body is parsed
    csrf.init_app(app)
    babel.init_app(app, locale_selector=web.select_locale)

    from casefile.activity.views import bp as activity_bp
    from casefile.actors.views import bp as actors_bp
    from casefile.auth.account import bp as account_bp
    from casefile.auth.views import bp as auth_bp
    from casefile.capture.views import bp as captures_bp
    from casefile.cases.views import bp as cases_bp
    from casefile.collab.views import bp as collab_bp
    from casefile.custody.views import bp as custody_bp
    from casefile.dossier.views import bp as dossiers_bp
    from casefile.evidence.views import bp as evidence_bp
    from casefile.fieldintake.protocol import bp as openrosa_bp
    from casefile.fieldintake.views import bp as fieldintake_bp
    from casefile.health import bp as health_bp
    from casefile.intake.views import bp as imports_bp
    from casefile.jobs.views import bp as jobs_bp
    from casefile.links.views import bp as links_bp
    from casefile.main import bp as main_bp
    from casefile.maps.views import bp as maps_bp
    from casefile.provenance.views import bp as provenance_bp
    from casefile.search import init_app as init_search
    from casefile.verification.views import bp as verification_bp
    from casefile.witnesses.views import bp as witnesses_bp

    for bp in (
        health_bp,
        main_bp,
        auth_bp,
        account_bp,
        cases_bp,
        evidence_bp,
        links_bp,
        maps_bp,
        witnesses_bp,
        actors_bp,
        dossiers_bp,
        custody_bp,
        jobs_bp,
        imports_bp,
        captures_bp,
        fieldintake_bp,
        openrosa_bp,
        provenance_bp,
        verification_bp,
        collab_bp,
        activity_bp,
    ):
        app.register_blueprint(bp)
    # Phones authenticate every request with their device credential (Digest), never a cookie: nothing for a
    # forged cross-site request to ride on.
    csrf.exempt(openrosa_bp)
    register_api(app)
    init_search(app)  # the search page and the `search reindex` command
    register_cli(app)
    return app
