"""Dossier builds as background jobs (registered with casefile.jobs, imported by create_app).

`dossier.build`: submitted with the dossier's row (status `building`) by the wizard and by
POST /api/v1/cases/{id}/dossiers; runs casefile.dossier.builder.build_dossier, reporting items streamed / total,
then the PDF and the package. Whoever may change the case may build (the runner asks the gate again at every
attempt). When the job ends without a dossier (failed for good, a killed worker's last attempt, cancelled), the
end hook marks the dossier failed in the same transaction and notes it in the ledger.
"""

from __future__ import annotations

import uuid

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from casefile.auth.gate import Access
from casefile.auth.models import User
from casefile.cases.models import Case
from casefile.dossier.builder import BuildSpec, DossierRequest, build_dossier, prepare_build, record_failed_build
from casefile.dossier.models import Dossier
from casefile.jobs.models import Job, JobState
from casefile.jobs.registry import register
from casefile.jobs.runner import JobContext
from casefile.jobs.services import submit

BUILD = "dossier.build"


def submit_build(session: Session, case: Case, user: User, request: DossierRequest) -> tuple[Dossier, Job]:
    """Record a dossier as `building` and queue its build (flushed; the job is handed over at commit). 422 for a
    request that cannot be built, with nothing written."""
    dossier, spec = prepare_build(session, case, user, request)
    job = submit(session, BUILD, case, user, spec.to_params())
    dossier.job_id = job.id
    session.flush()
    return dossier, job


def build(ctx: JobContext) -> None:
    build_dossier(ctx.app, BuildSpec.from_params(ctx.params), ctx)


def build_ended(session: Session, job: Job) -> None:
    dossier = session.get(Dossier, uuid.UUID(str(job.params["dossier_id"])), with_for_update=True)
    if dossier is None:
        return
    reason = "The build was cancelled." if job.state is JobState.CANCELLED else (job.error or "The build failed.")
    record_failed_build(session, dossier, reason)


register(
    BUILD,
    build,
    access=Access.WRITE,
    label=_l("Dossier build"),
    result_template="dossier/build_job_result.html",
    on_end=build_ended,
)
