"""`provenance.proofmode_import`: a ProofMode bundle (kept in the blob store when it was uploaded) becomes evidence.

Outside any transaction: each media file of the bundle is streamed into a blob writer (hashed as it goes), paired
with its proof, and checked (signatures verified over the bytes streamed back from the writer's spool, the proof's
hash, the OpenTimestamps proof); the bundle's other files are streamed into writers too. Then one transaction per
media file records it (or an acquisition of the item the case already holds), its proof files as derivatives, the
check and its custody entries; the last one records the job's success with what was imported.

One attempt only: a retry after a worker died half-way would meet the media it already recorded as duplicates (and
say so); uploading the bundle again does the same, on purpose, visibly.
"""

from __future__ import annotations

from contextlib import ExitStack
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from casefile import components
from casefile.auth.gate import Access
from casefile.auth.models import User
from casefile.cases.models import Case
from casefile.db import session_scope
from casefile.errors import CasefileError
from casefile.intake.sources import SourceError, ZipSource, staged_blob
from casefile.jobs.models import Job
from casefile.jobs.registry import register
from casefile.jobs.runner import JobContext
from casefile.jobs.services import submit
from casefile.provenance import proofmode, services

IMPORT = "provenance.proofmode_import"


def submit_import(session: Session, case: Case, user: User, bundle: services.AcceptedBundle) -> Job:
    return submit(
        session,
        IMPORT,
        case,
        user,
        {"bundle_sha256": bundle.sha256, "bundle_name": bundle.name, "fields": bundle.fields},
    )


def import_bundle(ctx: JobContext) -> None:
    app = ctx.app
    store = components.blob_store(app)
    bundle = {"sha256": str(ctx.params["bundle_sha256"]), "name": str(ctx.params["bundle_name"])}
    fields: dict[str, Any] = dict(ctx.params.get("fields") or {})
    case_id = ctx.case_id
    try:
        with ExitStack() as stack:
            archive = stack.enter_context(staged_blob(store, bundle["sha256"]))
            source = ZipSource(archive, components.settings(app).max_upload_bytes)
            found = proofmode.layout(source.names())
            proofmode.check_layout(found, source.unsafe, len(source.names()) + len(source.unsafe))
            read = services.read_small(source)
            total = len(found.media) * 2 + 1
            writers = {}
            for n, media in enumerate(found.media):
                ctx.progress(n, total, _("Storing %(name)s", name=proofmode.base_name(media)))
                writers[media] = services.store_member(stack, store, source, media)
            planned = proofmode.plan(found, {m: w.sha256 for m, w in writers.items()}, read)
            checked = []
            for n, item in enumerate(planned):
                ctx.progress(len(found.media) + n, total, _("Verifying %(name)s", name=proofmode.base_name(item.media)))
                writer = writers[item.media]
                summary = proofmode.check(found, item, writer.sha256, services.staged_chunks(writer), read)
                side = [(name, services.store_member(stack, store, source, name)) for name in item.files]
                checked.append((item, summary, side))
            imported = []
            for n, (item, summary, side) in enumerate(checked):
                last = n == len(checked) - 1
                with session_scope(app) as s:
                    user = ctx.user(s)
                    case = s.get(Case, case_id) if case_id else None
                    if user is None or case is None:
                        return
                    imported.append(
                        services.record_bundle_media(
                            s,
                            store,
                            case,
                            user,
                            bundle={**bundle, "fields": fields},
                            media=item.media,
                            media_writer=writers[item.media],
                            summary=summary,
                            side=side,
                        )
                    )
                    if last:
                        ctx.succeed(
                            s,
                            {
                                "bundle": bundle["name"],
                                "bundle_sha256": bundle["sha256"],
                                "items": imported,
                                "verified": sum(1 for i in imported if i["status"] == "verified"),
                                "failed": sum(1 for i in imported if i["status"] != "verified"),
                            },
                        )
    except (SourceError, proofmode.BundleError) as error:
        raise CasefileError(str(error)) from None


register(
    IMPORT,
    import_bundle,
    access=Access.WRITE,
    max_attempts=1,
    label=_l("ProofMode bundle import"),
    result_template="provenance/_job_result.html",
)
