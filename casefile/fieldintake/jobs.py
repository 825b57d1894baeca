"""`fieldintake.decrypt`: open an encrypted submission with its form's private key (only ever in a worker).
`fieldintake.accept`: record an accepted submission's files as evidence items, one transaction per file, so an
interrupted job resumes where it stopped and never records a file twice."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from casefile import components
from casefile.auth.gate import Access
from casefile.auth.models import User
from casefile.cases.models import Case, Incident
from casefile.db import session_scope
from casefile.errors import CasefileError, ValidationFailed
from casefile.evidence.services import record_acquisition
from casefile.fieldintake import crypto, openrosa, services
from casefile.fieldintake.models import FieldSubmission, SubmissionFile, SubmissionState
from casefile.jobs.models import Job
from casefile.jobs.registry import register
from casefile.jobs.runner import JobContext
from casefile.jobs.services import submit
from casefile.storage import copy_into
from casefile.witnesses.models import Witness
from casefile.witnesses.services import ingest_evidence

DECRYPT = "fieldintake.decrypt"
ACCEPT = "fieldintake.accept"


def queue_decryption(session: Session, submission: FieldSubmission, user: User) -> Job | None:
    if submission.state is not SubmissionState.DECRYPTING:
        return None
    job = submit(session, DECRYPT, submission.case, user, {"submission_id": str(submission.id)})
    submission.job_id = job.id
    session.flush()
    return job


def accept(session: Session, submission: FieldSubmission, user: User) -> Job:
    """Accept a submission into the case (409 unless it awaits review) and queue the job that records its files."""
    services.start_accepting(session, submission, user)
    job = submit(session, ACCEPT, submission.case, user, {"submission_id": str(submission.id)})
    submission.job_id = job.id
    session.flush()
    return job


def decrypt(ctx: JobContext) -> None:
    app = ctx.app
    submission_id = uuid.UUID(str(ctx.params["submission_id"]))
    with session_scope(app) as s:
        submission = s.get(FieldSubmission, submission_id, with_for_update=True)
        if submission is None or submission.state is not SubmissionState.DECRYPTING:
            return
        try:
            services.decrypt(s, components.blob_store(app), components.field_cipher(app), submission)
        except (crypto.DecryptionFailed, openrosa.SubmissionError, ValueError) as error:
            s.rollback()
            failed = s.get(FieldSubmission, submission_id, with_for_update=True)
            if failed is not None:
                failed.state = SubmissionState.FAILED
                failed.error = _("The submission could not be decrypted: %(reason)s", reason=str(error))[:2000]
            ctx.succeed(s, {"submission_id": str(submission_id), "decrypted": False})
            return
        ctx.succeed(s, {"submission_id": str(submission_id), "decrypted": True})


def _date(value: str) -> str:
    try:
        return datetime.strptime(value[:10], "%Y-%m-%d").date().isoformat()
    except ValueError:
        return ""


def item_fields(session: Session, case: Case, submission: FieldSubmission) -> dict[str, Any]:
    """What the submission's answers say about each file: the evidence fields, incident and witness."""
    fields = submission.fields
    answer = lambda name: openrosa.answer(fields, name)  # noqa: E731
    place = answer("place")
    location = answer("location").split()
    if len(location) >= 2:
        accuracy = f" ±{float(location[3]):.0f} m" if len(location) >= 4 and _number(location[3]) else ""
        place = f"{place} ({location[0]}, {location[1]}{accuracy})".strip()
    day = _date(answer("event_date"))
    data: dict[str, Any] = {
        "description": answer("description"),
        "collection_place": place[:300],
        # Who collected it: the person whose phone sent it (not the investigator who accepted it).
        "collected_by": (submission.submitted_by.name or submission.submitted_by.email)[:200],
        "source": _("Field report %(form)s from %(device)s", form=submission.form.form_id, device=submission.device_id)[
            :500
        ],
    }
    if day:
        precision = answer("date_precision")
        data["collected_at"] = day
        data["collected_precision"] = precision if precision in ("day", "month", "year") else "day"
    incident_ids: list[str] = []
    incident = answer("incident")
    if incident and session.scalar(
        select(Incident.id).where(Incident.case_id == case.id, Incident.id == _maybe_uuid(incident))
    ):
        incident_ids.append(incident)
    witness_id = None
    pseudonym = answer("witness_pseudonym")
    if pseudonym and answer("consent") == "yes":
        witness_id = session.scalar(select(Witness.id).where(Witness.case_id == case.id, Witness.code == pseudonym))
        if witness_id is not None:
            data["interview_date"] = day
            data["interview_place"] = answer("place")[:300]
            data["language"] = answer("language")[:100]
    return {"data": data, "incident_ids": incident_ids, "witness_id": witness_id}


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _maybe_uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


def provenance_of(submission: FieldSubmission) -> dict[str, Any]:
    return {
        "field_submission": str(submission.id),
        "form": submission.form.form_id,
        "form_version": submission.form.version,
        "instance_id": submission.instance_id,
        "device": submission.device_id,
        "submitted_by": submission.submitted_by.email,
        "credential": submission.credential.username,
        "received_at": submission.received_at.isoformat(),
        "submission_sha256": submission.xml_sha256,
    }


def _to_record(submission: FieldSubmission) -> list[SubmissionFile]:
    """The files that become items: the attachments; a report without any becomes one item, its XML."""
    attachments = [f for f in submission.files if f.role == "attachment"]
    return attachments or [f for f in submission.files if f.role == "form"]


def accept_files(ctx: JobContext) -> None:
    app = ctx.app
    store = components.blob_store(app)
    submission_id = uuid.UUID(str(ctx.params["submission_id"]))
    with session_scope(app) as s:
        submission = s.get(FieldSubmission, submission_id)
        if submission is None or submission.state is not SubmissionState.ACCEPTING:
            return
        todo = [(f.id, f.name, f.sha256) for f in _to_record(submission) if f.evidence_id is None]
        plain_xml = not _to_record(submission)
        total = len(todo) or 1
    if plain_xml:
        with session_scope(app) as s:
            submission = s.get(FieldSubmission, submission_id)
            assert submission is not None  # noqa: S101 - read just above, never deleted
            _record(s, store, ctx, submission, None, "submission.xml", submission.xml_sha256)
    for done, (file_id, name, sha256) in enumerate(todo):
        ctx.check()
        ctx.progress(done, total, _("Recording %(name)s", name=name))
        with session_scope(app) as s:
            submission = s.get(FieldSubmission, submission_id)
            row = s.get(SubmissionFile, file_id)
            if submission is None or row is None or row.evidence_id is not None or sha256 is None:
                continue
            _record(s, store, ctx, submission, row, name, sha256)
    with session_scope(app) as s:
        submission = s.get(FieldSubmission, submission_id, with_for_update=True)
        if submission is None:
            return
        submission.state = SubmissionState.ACCEPTED
        items = [str(f.evidence_id) for f in submission.files if f.evidence_id]
        ctx.succeed(s, {"submission_id": str(submission_id), "evidence_ids": items})


def _record(
    s: Session,
    store: Any,
    ctx: JobContext,
    submission: FieldSubmission,
    row: SubmissionFile | None,
    name: str,
    sha256: str,
) -> None:
    """One file as an evidence item (or, when the case already holds it, an acquisition of that item), checked
    against the SHA-256 recorded when it arrived."""
    user = ctx.user(s)
    if user is None:
        raise CasefileError(_("The person who accepted the submission no longer exists."))
    case = submission.case
    plan = item_fields(s, case, submission)
    data = {**plan["data"], "title": f"{submission.form.title}: {name}"[:300]}
    with store.open(sha256) as source, store.writer() as writer:
        copy_into(writer, source)
        item = record_acquisition(s, case, user, writer, filename=name, data=data)
        if item is None:
            try:
                item = ingest_evidence(
                    s,
                    store,
                    case,
                    user,
                    writer,
                    filename=name,
                    data=data,
                    witness_id=plan["witness_id"],
                    incident_ids=plan["incident_ids"],
                    declared_sha256=sha256,
                    provenance=provenance_of(submission),
                )
            except ValidationFailed as error:
                raise CasefileError(f"{name}: {error.message}") from None
    if row is not None:
        row.evidence_id = item.id
    else:
        s.add(
            SubmissionFile(
                submission_id=submission.id,
                position=len(submission.files),
                name=name,
                role="form",
                received_sha256=sha256,
                received_size=item.size,
                sha256=sha256,
                size=item.size,
                evidence_id=item.id,
            )
        )
    s.flush()


register(DECRYPT, decrypt, access=Access.WRITE, label=_l("Decrypt a field submission"))
register(ACCEPT, accept_files, access=Access.WRITE, label=_l("Record a field submission's files as evidence"))
