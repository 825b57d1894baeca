"""Jobs over JSON: GET /jobs/{id}, GET /jobs?case_id=, POST /jobs/{id}/cancel. Starting a job is the business of
the capability whose work it is (e.g. POST /custody/verifications)."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from typing import Any

from flask import jsonify, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from casefile.api.core import paginate, route
from casefile.api.schemas import UUID
from casefile.db import db_session
from casefile.jobs import registry, services
from casefile.jobs.models import Job
from casefile.jobs.schemas import JOB, JOB_PARAMS

ID = [{"name": "id", "in": "path", "required": True, "schema": UUID}]


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def job_json(job: Job, *, with_result: bool) -> dict[str, Any]:
    """A job as the API and the job page's script see it. Without `with_result` (an administrator looking at
    another case's job), the result and progress message, which are case content, are left out."""
    return {
        "id": str(job.id),
        "kind": job.kind,
        "title": registry.title_of(job.kind),
        "case_id": str(job.case_id) if job.case_id else None,
        "requested_by_id": str(job.requested_by_id) if job.requested_by_id else None,
        "state": job.state.value,
        "progress": {
            "done": job.progress_done,
            "total": job.progress_total,
            "message": job.progress_message if with_result else "",
        },
        "attempts": job.attempts,
        "max_attempts": job.max_attempts,
        "result": job.result if with_result else None,
        "error": job.error,
        "cancel_requested": job.cancel_requested_at is not None,
        "created_at": _iso(job.created_at),
        "started_at": _iso(job.started_at),
        "finished_at": _iso(job.finished_at),
        "heartbeat_at": _iso(job.heartbeat_at),
        "url": url_for("jobs.show", job_id=job.id),
        "api_url": url_for("api.get_job", id=job.id),
    }


def one_job_json(job: Job) -> dict[str, Any]:
    return job_json(job, with_result=services.may_see_result(db_session(), current_user, job))


@route(
    "/jobs/{id}",
    "GET",
    summary="A background job: state, progress, result",
    tag="jobs",
    response=JOB,
    params=ID,
    errors=(401, 404),
)
def get_job(id: str) -> ResponseReturnValue:
    return jsonify(one_job_json(services.require_job(db_session(), current_user, id)))


@route(
    "/jobs",
    "GET",
    summary="Jobs of the cases you belong to and your own instance-wide jobs (administrators: every job)",
    tag="jobs",
    response=JOB,
    params=JOB_PARAMS,
    paginated=True,
    errors=(401, 404, 422),
)
def list_jobs() -> ResponseReturnValue:
    s = db_session()
    stmt = services.jobs_query(s, current_user, case_id=request.args.get("case_id"), state=request.args.get("state"))
    readable: Collection[uuid.UUID] = services.readable_case_ids(s, current_user)

    def item(job: Job) -> dict[str, Any]:
        return job_json(job, with_result=services.result_visible(current_user, job, readable))

    return paginate(s, stmt, item)


@route(
    "/jobs/{id}/cancel",
    "POST",
    summary="Cancel a job: at once if queued; a running job stops at its next check and keeps nothing",
    tag="jobs",
    response=JOB,
    params=ID,
    errors=(401, 403, 404, 409),
)
def cancel_job(id: str) -> ResponseReturnValue:
    s = db_session()
    job = services.cancel(s, current_user, services.require_job(s, current_user, id))
    return jsonify(one_job_json(job))
