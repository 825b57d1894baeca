"""`flask --app app capture CASE_REF URL --user EMAIL`: the same capture as the page and the API, run by this process
(or queued for the workers with --background), attributed to the person given."""

from __future__ import annotations

import threading
import uuid

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from casefile import components
from casefile.auth.models import User
from casefile.capture import services
from casefile.capture.jobs import submit_capture
from casefile.capture.models import CaptureState, WebCapture
from casefile.cases.models import Case
from casefile.db import session_scope
from casefile.errors import CasefileError
from casefile.jobs.cli import follow_job
from casefile.jobs.runner import run


@click.command("capture")
@click.argument("case_ref")
@click.argument("url")
@click.option("--user", "email", required=True, help="Who asks for the capture (recorded in the custody ledger).")
@click.option("--incident", "incidents", multiple=True, help="An incident id it concerns (repeatable).")
@click.option("--note", default="", help="A note kept with the capture.")
@click.option("--background", is_flag=True, help="Queue it for the workers and print its id instead of running it.")
@with_appcontext
def capture_command(
    case_ref: str, url: str, email: str, incidents: tuple[str, ...], note: str, background: bool
) -> None:
    """Capture a web page into a case: WACZ, screenshot, PDF print, TLS chain, media, trusted timestamps."""
    try:
        with session_scope() as s:
            case = s.scalar(select(Case).where(Case.reference == case_ref))
            if case is None:
                raise click.ClickException(f"No case with reference {case_ref!r}.")
            user = s.scalar(select(User).where(User.email == email.strip().lower()))
            if user is None or not user.active:
                raise click.ClickException(f"No active user {email!r}.")
            capture, job = submit_capture(
                s,
                components.settings(),
                components.field_cipher(),
                case,
                user,
                {"url": url, "incident_ids": list(incidents), "note": note},
            )
            capture_id, job_id = capture.id, job.id
    except CasefileError as error:
        raise click.ClickException(error.message) from None
    if background:
        click.echo(f"Queued capture {capture_id} (job {job_id}).")
        return
    app = current_app._get_current_object()  # type: ignore[attr-defined]

    def work() -> None:
        with app.app_context():
            run(app, components.job_queue(app), job_id)

    worker = threading.Thread(target=work, name="capture")
    worker.start()
    finished = follow_job(job_id)
    worker.join()
    _report(capture_id, finished.error)


def _report(capture_id: uuid.UUID, job_error: str | None) -> None:
    with session_scope() as s:
        capture = s.get_one(WebCapture, capture_id)
        if capture.state is not CaptureState.DONE:
            raise click.ClickException(f"The capture failed: {capture.error or job_error or 'unknown error'}")
        body = services.capture_json(s, capture)
    click.echo(f"Captured {body['final_url']} (HTTP {body['http_status']}): {body['title']}")
    tls = body.get("tls")
    if tls:
        click.echo(f"Certificate chain: {'valid' if tls.get('valid') else 'NOT valid: ' + str(tls.get('problem'))}")
    for item in [body["web_archive"], *body["artefacts"]]:
        click.echo(f"{item['ern']}  {item['sha256']}  {item['media_type']}  {item['title']}")
    click.echo(f"Manifest SHA-256: {body['manifest_sha256']}")
    for token in body["timestamps"]:
        click.echo(f"Timestamp {token['gen_time']} from {token['tsa_url']} (serial {token['serial']})")
    for refused in body["refused"]:
        click.echo(f"Refused: {refused}")
