"""Job pages: the jobs a user asked for, a case's jobs, and one job with live progress (static/jobs.js polls
/jobs/<id>/status, the same JSON as the API's GET /jobs/{id}, with the session cookie the page already has)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import Select, func, select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from casefile.auth.forms import ConfirmForm
from casefile.cases.views import case_context
from casefile.db import db_session
from casefile.errors import Conflict
from casefile.jobs import registry, services
from casefile.jobs.api import job_json
from casefile.jobs.models import Job
from casefile.web import page_arg

bp = Blueprint("jobs", __name__)
PER_PAGE = 50


def _page(stmt: Select[Job]) -> tuple[list[Job], int, int]:
    """One page of a job query (the case and the requester loaded with it), the page number and the page count."""
    s = db_session()
    page = page_arg()
    total = s.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    stmt = stmt.options(selectinload(Job.case), selectinload(Job.requested_by))
    jobs = list(s.scalars(stmt.limit(PER_PAGE).offset((page - 1) * PER_PAGE)))
    return jobs, page, max((total - 1) // PER_PAGE + 1, 1)


def _list_context(jobs: list[Job]) -> dict[str, object]:
    # Lists show state and timing only, never a result: nothing in them is a case's content.
    return {"jobs": jobs, "title_of": registry.title_of}


@bp.get("/jobs")
def my_jobs() -> str:
    """The jobs the user asked for; administrators may list every job (`?all=1`)."""
    s = db_session()
    everyone = current_user.is_admin and request.args.get("all") == "1"
    stmt = services.jobs_query(s, current_user, requested_by=None if everyone else current_user)
    jobs, page, pages = _page(stmt)
    return render_template(
        "jobs/list.html",
        everyone=everyone,
        page=page,
        pages=pages,
        page_url=lambda n: url_for("jobs.my_jobs", page=n, all="1") if everyone else url_for("jobs.my_jobs", page=n),
        **_list_context(jobs),
    )


@bp.get("/cases/<case_id>/jobs")
def case_jobs(case_id: str) -> str:
    s = db_session()
    case = services.case_of_jobs(s, current_user, case_id)
    jobs, page, pages = _page(services.jobs_query(s, current_user, case_id=case.id))
    return render_template(
        "jobs/case.html",
        page=page,
        pages=pages,
        page_url=lambda n: url_for("jobs.case_jobs", case_id=case.id, page=n),
        **_list_context(jobs),
        **case_context(case),
    )


@bp.get("/jobs/<job_id>")
def show(job_id: str) -> str:
    s = db_session()
    job = services.require_job(s, current_user, job_id)
    return render_template(
        "jobs/job.html",
        job=job,
        title=registry.title_of(job.kind),
        result_template=spec.result_template if (spec := registry.get(job.kind)) is not None else None,
        detail=services.may_see_result(s, current_user, job),
        can_cancel=not job.finished and services.may_cancel(s, current_user, job),
        form=ConfirmForm(),
    )


@bp.get("/jobs/<job_id>/status")
def status(job_id: str) -> ResponseReturnValue:
    """The job page's script polls this (the API takes Bearer tokens only, never the session cookie)."""
    s = db_session()
    job = services.require_job(s, current_user, job_id)
    return jsonify(job_json(job, with_result=services.may_see_result(s, current_user, job)))


@bp.post("/jobs/<job_id>/cancel")
def cancel(job_id: str) -> Response:
    if not ConfirmForm().validate_on_submit():
        abort(400)
    s = db_session()
    job = services.require_job(s, current_user, job_id)
    try:
        services.cancel(s, current_user, job)
    except Conflict as error:
        flash(error.message, "warning")
        return redirect(url_for("jobs.show", job_id=job.id))
    if job.finished:
        flash(_("The job was cancelled."), "info")
    else:
        flash(_("The job will stop at its next check; nothing it did will be kept."), "info")
    return redirect(url_for("jobs.show", job_id=job.id))
