"""Background jobs: a real task queue (huey) for execution, and the `jobs` table for truth, access and history.

- models.py: the `jobs` table. registry.py: job kinds and schedules, filled by the capabilities.
- services.py: submit (enqueued only after the commit), who sees what, cancel.
- queue.py: huey from the settings, with one generic task and one periodic tick. runner.py: running one job,
  heartbeats, reclaiming silent jobs, schedules.
- api.py, views.py (+ templates/jobs, static/jobs.js), cli.py (`jobs worker`, `jobs list`).

Kept free of imports here: casefile.models imports casefile.jobs.models, which must not pull in Flask views.
"""
