"""Submitting jobs, who sees them, cancelling them, and their pages, API and command line (no worker runs here:
tests/jobs/test_worker.py runs them)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from casefile import components, create_app
from casefile.auth.gate import Access
from casefile.auth.models import User
from casefile.cases.models import Case
from casefile.config import Settings, load_settings
from casefile.db import session_scope
from casefile.errors import Forbidden, NotFound, ValidationFailed
from casefile.jobs import registry, services
from casefile.jobs.models import Job, JobState

import jobs_support
from support import Account, Api, login, operation_for, validate

WRITE_KIND = "test.writes"
registry.register(WRITE_KIND, lambda ctx: None, access=Access.WRITE)


@pytest.fixture
def world(
    make_user: Callable[..., Account], make_case: Callable[..., uuid.UUID], add_member: Callable[..., None]
) -> dict[str, Any]:
    owner = make_user("investigator")
    case_id = make_case(owner, title="Jobs case title 3a7e")
    reviewer = make_user("reviewer")
    add_member(case_id, reviewer, "reviewer")
    return {"owner": owner, "case": case_id, "reviewer": reviewer, "outsider": make_user("investigator")}


def submit(app: Flask, kind: str, account: Account | None, case_id: uuid.UUID | None, **params: Any) -> uuid.UUID:
    with app.app_context(), session_scope() as s:
        user = s.get(User, account.id) if account else None
        case = s.get(Case, case_id) if case_id else None
        return services.submit(s, kind, case, user, params).id


def check(app: Flask, method: str, path: str, response: Any) -> dict[str, Any]:
    """The body of a successful API response, validated against the route's declared schema."""
    body = response.get_json()
    op = operation_for(app, method, path)
    assert response.status_code == op.status, body
    schema = op.response if not op.paginated else {"type": "array", "items": op.response}
    validate(schema, body["items"] if op.paginated else body)
    return body


# --- submitting --------------------------------------------------------------------------------------------


def test_a_job_is_enqueued_only_once_its_transaction_commits(app: Flask, world: dict[str, Any]) -> None:
    queue = components.job_queue(app)

    class Rollback(Exception):
        pass

    with pytest.raises(Rollback), app.app_context(), session_scope() as s:
        user, case = s.get(User, world["owner"].id), s.get(Case, world["case"])
        services.submit(s, jobs_support.SLOW, case, user, {})
        raise Rollback
    assert queue.pending() == 0
    with app.app_context(), session_scope() as s:
        assert s.scalar(select(Job)) is None
        user, case = s.get(User, world["owner"].id), s.get(Case, world["case"])
        job = services.submit(s, jobs_support.SLOW, case, user, {"steps": 1})
        s.flush()
        assert queue.pending() == 0  # flushed, not committed: a worker must not see it yet
    assert queue.pending() == 1
    with app.app_context(), session_scope() as s:
        stored = s.get(Job, job.id)
        assert stored is not None and stored.state is JobState.QUEUED and stored.params == {"steps": 1}
        assert stored.requested_by_id == world["owner"].id and stored.case_id == world["case"]


def test_submitting_asks_the_gate(app: Flask, world: dict[str, Any]) -> None:
    with app.app_context(), session_scope() as s:
        case = s.get(Case, world["case"])
        reviewer, outsider = s.get(User, world["reviewer"].id), s.get(User, world["outsider"].id)
        with pytest.raises(Forbidden):
            services.submit(s, WRITE_KIND, case, reviewer, {})  # reviewers never write
        with pytest.raises(NotFound):
            services.submit(s, jobs_support.SLOW, case, outsider, {})  # not a member: no such case
        with pytest.raises(ValidationFailed):
            services.submit(s, "no.such.kind", case, reviewer, {})


# --- who sees what -----------------------------------------------------------------------------------------


def test_members_see_a_case_job_with_its_result_outsiders_do_not(
    app: Flask, world: dict[str, Any], api_for: Callable[..., tuple[Api, Account]]
) -> None:
    job_id = submit(app, jobs_support.SLOW, world["owner"], world["case"], steps=1, delay=0)
    with app.app_context(), session_scope() as s:
        job = s.get(Job, job_id)
        assert job is not None
        job.result, job.progress_message = {"answer": 42}, "half way through TRH-00001"
    reviewer, _ = api_for(account=world["reviewer"])
    body = check(app, "GET", f"/jobs/{job_id}", reviewer.get(f"/jobs/{job_id}"))
    assert body["state"] == "queued" and body["case_id"] == str(world["case"]) and body["kind"] == jobs_support.SLOW
    assert body["result"] == {"answer": 42} and body["progress"]["message"] == "half way through TRH-00001"
    assert body["url"] == f"/jobs/{job_id}" and body["api_url"] == f"/api/v1/jobs/{job_id}"
    outsider, _ = api_for(account=world["outsider"])
    assert outsider.get(f"/jobs/{job_id}").status_code == 404
    assert outsider.get(f"/jobs?case_id={world['case']}").status_code == 404
    assert outsider.get("/jobs").get_json()["items"] == []
    admin, _ = api_for("admin")  # runs the workers: sees every job's record, not the case's content
    body = check(app, "GET", f"/jobs/{job_id}", admin.get(f"/jobs/{job_id}"))
    assert body["state"] == "queued" and body["result"] is None and body["progress"]["message"] == ""
    listed = check(app, "GET", f"/jobs?case_id={world['case']}", admin.get(f"/jobs?case_id={world['case']}"))
    assert [j["id"] for j in listed["items"]] == [str(job_id)] and listed["items"][0]["result"] is None


def test_an_instance_wide_job_is_seen_by_who_asked(
    app: Flask, world: dict[str, Any], api_for: Callable[..., tuple[Api, Account]]
) -> None:
    mine = submit(app, jobs_support.SLOW, world["reviewer"], None, steps=1)
    system = submit(app, "custody.checkpoint", None, None)
    reviewer, _ = api_for(account=world["reviewer"])
    owner, _ = api_for(account=world["owner"])
    assert [j["id"] for j in reviewer.get("/jobs").get_json()["items"]] == [str(mine)]
    assert owner.get(f"/jobs/{mine}").status_code == 404 and owner.get(f"/jobs/{system}").status_code == 404
    admin, _ = api_for("admin")
    assert {j["id"] for j in admin.get("/jobs").get_json()["items"]} == {str(mine), str(system)}


def test_the_job_list_is_paginated_newest_first_and_filtered(
    app: Flask, world: dict[str, Any], api_for: Callable[..., tuple[Api, Account]]
) -> None:
    ids = [submit(app, jobs_support.SLOW, world["owner"], world["case"], steps=1) for _ in range(3)]
    owner, _ = api_for(account=world["owner"])
    page = check(app, "GET", "/jobs?per_page=2", owner.get("/jobs?per_page=2"))
    assert page["total"] == 3 and [j["id"] for j in page["items"]] == [str(i) for i in reversed(ids)][:2]
    assert owner.get("/jobs?page=2&per_page=2").get_json()["items"][0]["id"] == str(ids[0])
    assert owner.get("/jobs?state=running").get_json()["total"] == 0
    assert owner.get("/jobs?state=queued").get_json()["total"] == 3
    assert owner.get("/jobs?state=stuck").status_code == 422
    assert owner.get("/jobs?case_id=not-a-uuid").status_code == 404
    assert owner.get("/jobs/not-a-uuid").status_code == 404


# --- cancelling ----------------------------------------------------------------------------------------------


def test_cancelling_through_the_api(
    app: Flask, world: dict[str, Any], api_for: Callable[..., tuple[Api, Account]]
) -> None:
    job_id = submit(app, jobs_support.SLOW, world["owner"], world["case"], steps=1)
    reviewer, _ = api_for(account=world["reviewer"])
    refused = reviewer.post(f"/jobs/{job_id}/cancel")
    assert refused.status_code == 403, refused.get_json()  # read-only, and not who asked
    outsider, _ = api_for(account=world["outsider"])
    assert outsider.post(f"/jobs/{job_id}/cancel").status_code == 404
    owner, _ = api_for(account=world["owner"])
    body = check(app, "POST", f"/jobs/{job_id}/cancel", owner.post(f"/jobs/{job_id}/cancel"))
    assert body["state"] == "cancelled" and body["cancel_requested"] is True and body["finished_at"]
    again = owner.post(f"/jobs/{job_id}/cancel")
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "conflict"
    own = submit(app, "custody.verify", world["reviewer"], world["case"], fixity=True)
    assert reviewer.post(f"/jobs/{own}/cancel").get_json()["state"] == "cancelled"  # who asked may cancel


def test_cancelling_a_running_job_asks_it_to_stop(app: Flask, world: dict[str, Any]) -> None:
    job_id = submit(app, jobs_support.SLOW, world["owner"], world["case"], steps=1)
    with app.app_context(), session_scope() as s:
        job = s.get(Job, job_id)
        assert job is not None
        job.state = JobState.RUNNING
    with app.app_context(), session_scope() as s:
        user, job = s.get(User, world["owner"].id), s.get(Job, job_id)
        assert user is not None and job is not None
        services.cancel(s, user, job)
        assert job.state is JobState.RUNNING and job.cancel_requested_at is not None and job.finished_at is None


# --- starting a verification ----------------------------------------------------------------------------------


def test_a_reviewer_starts_a_verification_of_a_case(
    app: Flask, world: dict[str, Any], api_for: Callable[..., tuple[Api, Account]]
) -> None:
    reviewer, _ = api_for(account=world["reviewer"])
    response = reviewer.post("/custody/verifications", {"case_id": str(world["case"])})
    body = check(app, "POST", "/custody/verifications", response)
    assert response.status_code == 202 and response.headers["Location"] == body["api_url"]
    assert body["kind"] == "custody.verify" and body["state"] == "queued" and body["case_id"] == str(world["case"])
    assert body["requested_by_id"] == str(world["reviewer"].id)
    assert components.job_queue(app).pending() == 1
    everything = reviewer.post("/custody/verifications", {"fixity": False})
    assert everything.status_code == 202 and everything.get_json()["case_id"] is None
    outsider, _ = api_for(account=world["outsider"])
    assert outsider.post("/custody/verifications", {"case_id": str(world["case"])}).status_code == 404
    for wrong in ({"fixity": "yes"}, {"case_id": 7}, {"colour": "red"}):
        assert reviewer.post("/custody/verifications", wrong).status_code == 422, wrong
    assert reviewer.post("/custody/verifications").status_code == 422  # no JSON body


def test_custody_verify_background_prints_the_job_id(app: Flask, world: dict[str, Any]) -> None:
    with app.app_context(), session_scope() as s:
        reference = s.get(Case, world["case"]).reference  # type: ignore[union-attr]
    result = app.test_cli_runner().invoke(args=["custody", "verify", "--background", "--case", reference])
    assert result.exit_code == 0, result.output
    job_id = uuid.UUID(result.output.strip())
    with app.app_context(), session_scope() as s:
        job = s.get(Job, job_id)
        assert job is not None and job.kind == "custody.verify" and job.case_id == world["case"]
        assert job.requested_by_id is None and job.params == {"fixity": True}
    listed = app.test_cli_runner().invoke(args=["jobs", "list"])
    assert listed.exit_code == 0 and str(job_id) in listed.output and reference in listed.output
    missing = app.test_cli_runner().invoke(args=["custody", "verify", "--background", "--case", "NOPE"])
    assert missing.exit_code != 0 and "No case with reference" in missing.output


# --- pages -----------------------------------------------------------------------------------------------------


def test_the_job_page_shows_live_progress_without_inline_script(
    app: Flask, client: FlaskClient, world: dict[str, Any]
) -> None:
    job_id = submit(app, "custody.verify", world["reviewer"], world["case"], fixity=True)
    with app.app_context(), session_scope() as s:
        job = s.get(Job, job_id)
        assert job is not None
        job.state, job.progress_done, job.progress_total = JobState.RUNNING, 3, 7
        job.progress_message = "Re-hashing <the> files"
    login(client, world["reviewer"])
    page = client.get(f"/jobs/{job_id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert re.search(r'<progress id="job-progress" class="progress" max="7" value="3">', html)
    assert "Re-hashing &lt;the&gt; files" in html and "<the>" not in html
    assert f'data-status-url="/jobs/{job_id}/status"' in html
    assert '<script src="/static/jobs.js" defer></script>' in html
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline script: the CSP forbids it"
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    status = client.get(f"/jobs/{job_id}/status")
    assert status.get_json()["progress"] == {"done": 3, "total": 7, "message": "Re-hashing <the> files"}
    cancelled = client.post(f"/jobs/{job_id}/cancel")
    assert cancelled.status_code == 302 and cancelled.headers["Location"] == f"/jobs/{job_id}"
    assert "Cancellation asked for" in client.get(f"/jobs/{job_id}").get_data(as_text=True)


def test_job_lists_per_user_and_per_case(app: Flask, client: FlaskClient, world: dict[str, Any]) -> None:
    job_id = submit(app, "custody.verify", world["reviewer"], world["case"], fixity=True)
    login(client, world["owner"])
    mine = client.get("/jobs").get_data(as_text=True)
    assert str(job_id) not in mine  # the owner did not ask for it
    of_case = client.get(f"/cases/{world['case']}/jobs")
    assert of_case.status_code == 200 and f"/jobs/{job_id}" in of_case.get_data(as_text=True)
    assert world["reviewer"].email in of_case.get_data(as_text=True)
    outsider = app.test_client()
    login(outsider, world["outsider"])
    assert outsider.get(f"/cases/{world['case']}/jobs").status_code == 404
    assert outsider.get(f"/jobs/{job_id}").status_code == 404
    assert outsider.get(f"/jobs/{job_id}/status").status_code == 404
    reviewer = app.test_client()
    login(reviewer, world["reviewer"])
    assert f"/jobs/{job_id}" in reviewer.get("/jobs").get_data(as_text=True)


def test_the_verification_page_starts_a_background_job(app: Flask, client: FlaskClient, world: dict[str, Any]) -> None:
    login(client, world["reviewer"])
    page = client.get("/custody").get_data(as_text=True)
    assert 'formaction="/custody/verify/background"' in page
    response = client.post("/custody/verify/background", data={"case_id": str(world["case"])})
    assert response.status_code == 302
    job_id = uuid.UUID(response.headers["Location"].removeprefix("/jobs/"))
    with app.app_context(), session_scope() as s:
        job = s.get(Job, job_id)
        assert job is not None and job.case_id == world["case"] and job.requested_by_id == world["reviewer"].id
    outsider = app.test_client()
    login(outsider, world["outsider"])
    assert outsider.post("/custody/verify/background", data={"case_id": str(world["case"])}).status_code == 404


# --- configuration -----------------------------------------------------------------------------------------


def test_queue_settings_from_the_environment(tmp_path: Any) -> None:
    env = {"CASEFILE_INSTANCE_PATH": str(tmp_path)}
    default = load_settings(env)
    assert default.queue_url is None and default.checkpoint_minutes == 15 and default.job_stale_seconds == 120
    chosen = load_settings(
        {
            **env,
            "CASEFILE_QUEUE_URL": "redis://queue.internal:6379/2",
            "CASEFILE_QUEUE_NAME": "casefile-ngo",
            "CASEFILE_CHECKPOINT_MINUTES": "5",
            "CASEFILE_JOB_HEARTBEAT_SECONDS": "2",
            "CASEFILE_JOB_STALE_SECONDS": "30",
        }
    )
    assert (chosen.queue_url, chosen.queue_name, chosen.checkpoint_minutes) == (
        "redis://queue.internal:6379/2",
        "casefile-ngo",
        5,
    )
    assert (chosen.job_heartbeat_seconds, chosen.job_stale_seconds) == (2, 30)
    for name, value in (("CASEFILE_CHECKPOINT_MINUTES", "soon"), ("CASEFILE_JOB_STALE_SECONDS", "0")):
        with pytest.raises(ValueError, match=name):
            load_settings({**env, name: value})


def test_an_unknown_queue_url_stops_the_app_at_start(settings: Settings) -> None:
    with pytest.raises(ValueError, match="CASEFILE_QUEUE_URL"):
        create_app(settings.with_overrides(queue_url="amqp://rabbit/"))
