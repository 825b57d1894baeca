"""Dossier operations shared by the pages and the API."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from casefile.auth.gate import Access, allowed, membership, require_case
from casefile.auth.models import User
from casefile.cases.models import Case
from casefile.custody.actions import Action
from casefile.custody.ledger import record_custody
from casefile.db import utcnow
from casefile.dossier.builder import DossierRequest, plan_request
from casefile.dossier.models import Dossier, DossierStatus
from casefile.dossier.planner import Plan
from casefile.downloads import Download, Started
from casefile.errors import Conflict, Forbidden


def preview(session: Session, case: Case, request: DossierRequest) -> Plan:
    """What a build would include and exclude, with the reasons, without writing anything."""
    return plan_request(session, case, request)


def approve(session: Session, dossier: Dossier, user: User) -> Dossier:
    """Release takes two people: a legal member of the case who did not build the dossier approves it, once it is
    built; the approval is a ledger entry naming the package's SHA-256. The caller found the dossier through the
    gate; the legal role is asked of the gate here."""
    require_case(session, user, dossier.case_id, Access.RELEASE)
    if dossier.status is not DossierStatus.READY or dossier.sha256 is None:
        raise Conflict(_("Only a dossier that has been built can be approved."))
    if dossier.approved_at is not None:
        raise Conflict(_("This dossier's release has already been approved."))
    if dossier.created_by_id == user.id:
        raise Forbidden(_("You built this dossier: a second legal member must approve its release."))
    dossier.approved_by_id = user.id
    dossier.approved_at = utcnow()
    session.flush()
    record_custody(
        session,
        actor=user,
        action=Action.RELEASE_APPROVED,
        case_id=dossier.case_id,
        details={"dossier": str(dossier.id), "dossier_sha256": dossier.sha256},
    )
    return dossier


def may_approve(session: Session, dossier: Dossier, user: User) -> bool:
    """Whether the page offers this user the approval (the service decides again)."""
    return (
        dossier.ready
        and dossier.approved_at is None
        and dossier.created_by_id != user.id
        and allowed(user, membership(session, user, dossier.case_id), Access.RELEASE)
    )


def dossier_download(session: Session, dossier: Dossier, user: User) -> Download:
    """The dossier ZIP, after its `downloaded` custody entry (pages and API alike); 409 until it is ready and a
    second legal member has approved its release."""
    if dossier.status is not DossierStatus.READY or dossier.sha256 is None or dossier.size is None:
        if dossier.status is DossierStatus.FAILED:
            raise Conflict("This dossier could not be built, so there is nothing to download.")
        raise Conflict("This dossier is still being built; download it once it is ready.")
    if dossier.approved_at is None:
        raise Conflict(_("This dossier awaits approval by a second legal member before it can be downloaded."))
    entry = record_custody(
        session,
        actor=user,
        action=Action.DOWNLOADED,
        case_id=dossier.case_id,
        details={"dossier": str(dossier.id), "dossier_sha256": dossier.sha256},
    )
    started = Started.of(entry, user.id, dossier=str(dossier.id))
    return Download(dossier.sha256, f"{dossier.bag_name}.zip", "application/zip", dossier.size, started)


def dossier_json(dossier: Dossier) -> dict[str, Any]:
    return {
        "id": str(dossier.id),
        "case_id": str(dossier.case_id),
        "status": dossier.status.value,
        "profile": dossier.profile,
        "title": dossier.title,
        "bag_name": dossier.bag_name,
        "sha256": dossier.sha256,
        "size": dossier.size,
        "tree_size": dossier.tree_size,
        "included": dossier.included,
        "excluded": dossier.excluded,
        "job_id": str(dossier.job_id) if dossier.job_id else None,
        "error": dossier.error,
        "target_ids": list((dossier.scope or {}).get("target_ids") or []),
        "charge_ids": list((dossier.scope or {}).get("charge_ids") or []),
        "analysis": bool((dossier.scope or {}).get("analysis")),
        "created_at": dossier.created_at.isoformat(),
        "approved_by_id": str(dossier.approved_by_id) if dossier.approved_by_id else None,
        "approved_at": dossier.approved_at.isoformat() if dossier.approved_at else None,
        "released": dossier.released,
    }


def plan_json(plan: Plan) -> dict[str, Any]:
    return {
        "profile": plan.profile.to_dict(),
        "targets": [{"id": str(a.id), "name": a.name} for a in plan.scope.targets],
        "charges": [
            {"id": str(c.id), "suspect": c.suspect.name, "offence_code": c.offence_code} for c in plan.scope.charges
        ],
        "included": [
            {"id": str(i.id), "ern": i.ern, "title": i.title, "exculpatory": i.id in plan.exculpatory}
            for i in plan.included
        ],
        "excluded": [{"id": str(i.id), "ern": i.ern, "title": i.title, "reasons": r} for i, r in plan.excluded],
    }
