"""`capture.page`: load the page, package and store what it gave, record it, then ask for trusted timestamps.

The browser work happens outside any transaction, in a private folder under the instance; the files are streamed into
the blob store (hashed as they go) before the one transaction that records the items, the manifest and the `captured`
entry. Timestamps are asked for after that commit: a TSA that is down leaves the capture recorded (and says so on
its page); the next signed checkpoint, itself timestamped, covers its `captured` entry anyway.
"""

from __future__ import annotations

import contextlib
import io
import tempfile
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from casefile import components
from casefile.auth.gate import Access
from casefile.auth.models import User
from casefile.capture import services
from casefile.capture.archive import har_to_warc, make_wacz
from casefile.capture.engine import CaptureFailed, capture_page
from casefile.capture.models import CaptureState, WebCapture
from casefile.cases.models import Case
from casefile.config import Settings
from casefile.custody.timestamps import TimestampSubject, stamp
from casefile.custody.tsa import TimestampError, load_roots
from casefile.db import session_scope, utcnow
from casefile.errors import CasefileError
from casefile.jobs.models import Job
from casefile.jobs.registry import register
from casefile.jobs.runner import JobContext
from casefile.jobs.services import submit
from casefile.storage import BlobWriter, copy_into
from casefile.witnesses.crypto import FieldCipher
from casefile.workers import outside_event_loop

CAPTURE = "capture.page"
STEPS = 6


def submit_capture(
    session: Session, settings: Settings, cipher: FieldCipher, case: Case, user: User, data: Mapping[str, Any]
) -> tuple[WebCapture, Job]:
    """Check and record a capture request and queue its job (the pages, the API and the CLI alike); 422 for a
    request that cannot be captured, with nothing written."""
    capture = services.request_capture(session, settings, cipher, case, user, data)
    job = submit(session, CAPTURE, case, user, {"capture_id": str(capture.id)})
    capture.job_id = job.id
    session.flush()
    return capture, job


def _site_roots(ctx: JobContext) -> list:
    """Roots a site's chain is judged against: the system's, and those an administrator added for captures."""
    settings = components.settings(ctx.app)
    roots = []
    with contextlib.suppress(TimestampError):
        roots.extend(load_roots(None))
    if settings.capture_ca_file is not None:
        roots.extend(load_roots(settings.capture_ca_file))
    return roots


def _stored(writer: BlobWriter, path: Path) -> BlobWriter:
    with path.open("rb") as file:
        return copy_into(writer, file)


def capture(ctx: JobContext) -> None:
    app = ctx.app
    settings = components.settings(app)
    store = components.blob_store(app)
    cipher = components.field_cipher(app)
    capture_id = uuid.UUID(str(ctx.params["capture_id"]))
    with session_scope(app) as s:
        row = s.get(WebCapture, capture_id, with_for_update=True)
        if row is None or row.state not in (CaptureState.QUEUED, CaptureState.CAPTURING):
            return
        row.state = CaptureState.CAPTURING
        row.captured_at = utcnow()
        url = row.url
        cookies = services.session_cookies(cipher, row)
    work_root = settings.instance_path / "capture-work"
    work_root.mkdir(parents=True, exist_ok=True, mode=0o700)
    steps = iter(range(1, STEPS + 1))
    with tempfile.TemporaryDirectory(dir=work_root, prefix=f"{capture_id}-") as folder:
        workdir = Path(folder)
        try:
            page = outside_event_loop(
                lambda: capture_page(
                    url,
                    workdir,
                    guard=services.guard_for(settings),
                    browser_path=settings.capture_browser,
                    timeout=settings.capture_timeout_seconds,
                    max_bytes=settings.capture_max_bytes,
                    roots=_site_roots(ctx),
                    cookies=cookies,
                    progress=lambda step: ctx.progress(next(steps, STEPS), STEPS, step),
                )
            )
        except CaptureFailed as error:
            raise CasefileError(str(error)) from None
        ctx.progress(4, STEPS, _("Packaging the web archive (WACZ)"))
        warc = workdir / "capture.warc.gz"
        har_to_warc(page.har, warc, {"software": "Casefile", "format": "WARC File Format 1.1", "isPartOf": url})
        wacz = workdir / "capture.wacz"
        # wacz prints its steps; the job's progress says what matters.
        with contextlib.redirect_stdout(io.StringIO()):
            make_wacz(warc, wacz, url=page.final_url, title=page.title)
        ctx.progress(5, STEPS, _("Storing and recording the files"))
        with contextlib.ExitStack() as stack:
            artefacts = [
                services.Artefact(role, _stored(stack.enter_context(store.writer()), path), path.name, kind, derivation)
                for role, path, kind, derivation in services.artefacts_of(page, wacz)
            ]
            with session_scope(app) as s:
                row = s.get(WebCapture, capture_id, with_for_update=True)
                user = ctx.user(s)
                if row is None or row.state is not CaptureState.CAPTURING or user is None:
                    return
                services.record_capture(s, store, row, user, page, artefacts)
                manifest = (row.manifest or "").encode("utf-8")
                result = {"capture_id": str(capture_id), "evidence_id": str(row.wacz_item_id)}
                if not settings.tsa_urls:
                    ctx.succeed(s, {**result, "timestamps": 0})
    if not settings.tsa_urls:
        return
    ctx.progress(6, STEPS, _("Asking the time-stamping authorities"))
    stamped = stamp(settings, lambda: session_scope(app), TimestampSubject.CAPTURE, str(capture_id), manifest)
    with session_scope(app) as s:
        row = s.get(WebCapture, capture_id)
        if row is not None and stamped.errors:
            row.details = {**row.details, "timestamp_errors": stamped.errors}
        ctx.succeed(s, {**result, "timestamps": stamped.stored, "timestamp_errors": len(stamped.errors)})


def capture_ended(session: Session, job: Job) -> None:
    row = session.get(WebCapture, uuid.UUID(str(job.params["capture_id"])), with_for_update=True)
    if row is not None and row.state in (CaptureState.QUEUED, CaptureState.CAPTURING):
        services.fail(row, job.error or _("The capture failed."))


register(
    CAPTURE,
    capture,
    access=Access.WRITE,
    max_attempts=2,
    label=_l("Web capture"),
    result_template="capture/_job_result.html",
    on_end=capture_ended,
)
