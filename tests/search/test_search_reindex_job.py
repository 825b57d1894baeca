"""`search reindex --background`: a job rebuilds the index in short transactions while the instance is in use,
and ends with the same documents as the foreground rebuild: missing ones written, stale ones removed. Run in this
process by the runner, as a worker thread runs it."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta

from flask import Flask
from sqlalchemy import delete, select

from casefile.db import session_scope, utcnow
from casefile.jobs import runner
from casefile.jobs.models import Job, JobState
from casefile.search.jobs import REINDEX
from casefile.search.models import SearchDocument

from search_support import Team, found
from support import run_queued_jobs


def documents(app: Flask) -> set[tuple[str, uuid.UUID, str, str]]:
    with app.app_context(), session_scope() as s:
        rows = s.execute(
            select(SearchDocument.object_type, SearchDocument.object_id, SearchDocument.title, SearchDocument.terms)
        )
        return {tuple(row) for row in rows}  # type: ignore[misc]


def test_the_background_rebuild_repairs_the_index_like_the_foreground_one(
    app: Flask, team: Callable[..., Team]
) -> None:
    t = team()
    incident = t.incident("Graves at the Tarhouna landfill")
    t.actor("Mohamed al-Kani", aliases=["Muhammad al-Kani"])
    t.evidence("Interview notes", b"The witness names Qashoot as the guard.", "notes.txt")
    t.witness("Demo Witness")
    result = app.test_cli_runner().invoke(args=["search", "reindex"])
    assert result.exit_code == 0, result.output
    expected = documents(app)
    assert len(expected) == 4

    with app.app_context(), session_scope() as s:  # drift: one document lost, one left for an object long gone
        s.execute(delete(SearchDocument).where(SearchDocument.object_id == uuid.UUID(incident["id"])))
        s.add(
            SearchDocument(
                case_id=uuid.UUID(str(t.case_id)),
                object_type="incident",
                object_id=uuid.uuid4(),
                title="A deleted incident",
                terms="deleted",
                updated_at=utcnow(),
            )
        )
    assert found(t.search("landfill")) == set() and found(t.search("deleted"))

    result = app.test_cli_runner().invoke(args=["search", "reindex", "--background"])
    assert result.exit_code == 0, result.output
    job_id = uuid.UUID(result.output.strip())
    assert run_queued_jobs(app) == [job_id]
    with app.app_context(), session_scope() as s:
        job = s.get_one(Job, job_id)
        assert job.state is JobState.SUCCEEDED and job.requested_by_id is None
        assert job.result == {"incident": 1, "actor": 1, "evidence": 1, "witness": 1, "removed": 1}
        assert job.progress_done == job.progress_total == 4
    assert documents(app) == expected
    assert found(t.search("landfill")) and found(t.search("deleted")) == set()


def test_the_index_is_rebuilt_weekly_once_there_is_anything_in_it(app: Flask, team: Callable[..., Team]) -> None:
    def scheduled(days: float) -> list[str]:
        with app.app_context():
            ids = runner.run_schedules(app, now=utcnow() + timedelta(days=days))
            with session_scope() as s:
                return [s.get_one(Job, job_id).kind for job_id in ids]

    assert REINDEX not in scheduled(0)  # an empty index: nothing to repair
    team().incident("Graves at the Tarhouna landfill")
    assert REINDEX in scheduled(0)
    run_queued_jobs(app)
    assert REINDEX not in scheduled(3)
    assert REINDEX in scheduled(8)
