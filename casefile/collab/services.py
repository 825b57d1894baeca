"""Assignments and notifications. Like every service: flush, never commit.

A notification only ever reaches a current member of its case, and says no more than the page it links to shows
that member; its e-mail (where CASEFILE_SMTP_URL is set) says even less: which case, what kind of event, and the
link — never a title, a name or a comment, since mail crosses servers the organisation does not control.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from casefile.auth.gate import Access, member_case_ids, parse_id, require_case, require_in_case
from casefile.auth.models import CaseRole, Membership, User
from casefile.cases.models import Case, Incident
from casefile.collab.models import AssignedKind, Assignment, Notification, NotificationKind
from casefile.db import utcnow
from casefile.errors import NotFound, ValidationFailed
from casefile.evidence.models import EvidenceItem
from casefile.labels import catalogue_text
from casefile.legal.catalogue import load_catalogue
from casefile.legal.models import Charge
from casefile.parsing import clean_text, parse_choice, parse_date

NOTE_LENGTH = 2000
SHOWN = 200


# --- assignments ----------------------------------------------------------------------------------------------------


def _target(session: Session, case: Case, kind: AssignedKind, target_id: Any) -> tuple[uuid.UUID, str, str]:
    """(id, label, link) of what is assigned: an item, incident or charge of this case (another case's is unknown)."""
    try:
        wanted = uuid.UUID(str(target_id))
    except ValueError:
        raise ValidationFailed(_("Choose what to assign."), field="target_id") from None
    if kind is AssignedKind.EVIDENCE:
        item = session.get(EvidenceItem, wanted)
        if item is not None and item.case_id == case.id:
            return item.id, f"{item.ern} {item.title}"[:400], f"/evidence/{item.id}"
    elif kind is AssignedKind.INCIDENT:
        incident = session.get(Incident, wanted)
        if incident is not None and incident.case_id == case.id:
            return incident.id, incident.title[:400], f"/incidents/{incident.id}"
    else:
        charge = session.get(Charge, wanted)
        if charge is not None and charge.case_id == case.id:
            suspect = charge.suspect.name if charge.suspect else ""
            return charge.id, f"{charge.offence_code} · {suspect}"[:400], f"/charges/{charge.id}"
    raise ValidationFailed(_("Nothing of this case matches what was chosen."), field="target_id")


def _offence_words(charge: Charge) -> str:
    """A charge's offence by its title in the page's language (its code only if the catalogue lost it)."""
    catalogue = load_catalogue()
    if charge.offence_code not in catalogue:
        return charge.offence_code
    return catalogue_text(catalogue.offence(charge.offence_code), "title")


def _member(session: Session, case: Case, user_id: Any) -> User:
    try:
        wanted = uuid.UUID(str(user_id))
    except ValueError:
        raise ValidationFailed(_("Choose a member of the case."), field="assignee_id") from None
    row = session.execute(
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.case_id == case.id, User.id == wanted, User.active.is_(True))
    ).scalar()
    if row is None:
        raise ValidationFailed(_("Only a member of the case can be given its work."), field="assignee_id")
    return row


def assign(session: Session, case: Case, user: User, data: dict[str, Any]) -> Assignment:
    require_case(session, user, case.id, Access.WRITE)
    kind = parse_choice(data.get("target_type"), AssignedKind, "target_type")
    target_id, label, link = _target(session, case, kind, data.get("target_id"))
    assignee = _member(session, case, data.get("assignee_id"))
    due = parse_date(data.get("due_on"), "due_on")
    assignment = Assignment(
        case_id=case.id,
        target_type=kind,
        target_id=target_id,
        target_label=label,
        assignee_id=assignee.id,
        due_on=due,
        note=clean_text(data.get("note"), "note", max_length=NOTE_LENGTH),
        created_by_id=user.id,
    )
    session.add(assignment)
    session.flush()
    if assignee.id != user.id:
        notify(
            session,
            case,
            [assignee.id],
            NotificationKind.ASSIGNED,
            {"who": user.name or user.email, "what": label, "due": due.isoformat() if due else None},
            link,
        )
    return assignment


def complete(session: Session, assignment: Assignment, user: User) -> Assignment:
    """Done: by the assignee or anyone who may write in the case."""
    if assignment.assignee_id != user.id:
        require_case(session, user, assignment.case_id, Access.WRITE)
    if assignment.done_at is None:
        assignment.done_at = utcnow()
        assignment.done_by_id = user.id
        session.flush()
    return assignment


def assignment_in_case(session: Session, user: User, assignment_id: Any) -> Assignment:
    return require_in_case(session, user, Assignment, assignment_id)


def case_assignments(case: Case, *, open_only: bool = False) -> Any:
    stmt = (
        select(Assignment)
        .where(Assignment.case_id == case.id)
        .options(selectinload(Assignment.assignee), selectinload(Assignment.created_by))
        .order_by(
            Assignment.done_at.is_not(None), Assignment.due_on.is_(None), Assignment.due_on, Assignment.created_at
        )
    )
    return stmt.where(Assignment.done_at.is_(None)) if open_only else stmt


def my_assignments(session: Session, user: User) -> Any:
    """The open work of `user`, in the cases they still belong to, soonest due first."""
    return (
        select(Assignment)
        .where(
            Assignment.assignee_id == user.id,
            Assignment.done_at.is_(None),
            Assignment.case_id.in_(member_case_ids(user)),
        )
        .options(selectinload(Assignment.case), selectinload(Assignment.created_by))
        .order_by(Assignment.due_on.is_(None), Assignment.due_on, Assignment.created_at)
    )


def link_of(assignment: Assignment) -> str:
    return {
        AssignedKind.EVIDENCE: f"/evidence/{assignment.target_id}",
        AssignedKind.INCIDENT: f"/incidents/{assignment.target_id}",
        AssignedKind.CHARGE: f"/charges/{assignment.target_id}",
    }[assignment.target_type]


def assignment_json(assignment: Assignment) -> dict[str, Any]:
    return {
        "id": str(assignment.id),
        "case_id": str(assignment.case_id),
        "target_type": assignment.target_type.value,
        "target_id": str(assignment.target_id),
        "target_label": assignment.target_label,
        "assignee": assignment.assignee.email,
        "assignee_id": str(assignment.assignee_id),
        "due_on": assignment.due_on.isoformat() if assignment.due_on else None,
        "note": assignment.note,
        "created_by": assignment.created_by.email,
        "created_at": assignment.created_at.isoformat(),
        "done_at": assignment.done_at.isoformat() if assignment.done_at else None,
    }


def assignable(session: Session, case: Case) -> dict[str, list[tuple[str, str]]]:
    """What the case's work form offers: recent items, incidents and charges, and its members."""
    items = session.execute(
        select(EvidenceItem.id, EvidenceItem.ern, EvidenceItem.title)
        .where(EvidenceItem.case_id == case.id, EvidenceItem.parent_id.is_(None))
        .order_by(EvidenceItem.number.desc())
        .limit(SHOWN)
    )
    incidents = session.execute(
        select(Incident.id, Incident.title).where(Incident.case_id == case.id).order_by(Incident.title).limit(SHOWN)
    )
    charges = session.scalars(
        select(Charge).where(Charge.case_id == case.id).options(selectinload(Charge.suspect)).limit(SHOWN)
    )
    members = session.execute(
        select(User.id, User.name, User.email)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.case_id == case.id, User.active.is_(True))
        .order_by(User.email)
    )
    return {
        "evidence": [(str(i), f"{ern} {title}") for i, ern, title in items],
        "incident": [(str(i), title) for i, title in incidents],
        "charge": [(str(c.id), f"{_offence_words(c)} · {c.suspect.name if c.suspect else ''}") for c in charges],
        "members": [(str(i), name or email) for i, name, email in members],
    }


# --- notifications -------------------------------------------------------------------------------------------------


def notify(
    session: Session,
    case: Case,
    recipients: Iterable[uuid.UUID],
    kind: NotificationKind,
    params: dict[str, Any],
    link: str,
) -> list[Notification]:
    """One notification to each recipient who is a member of the case now (anyone else is silently left out: a
    notification must not tell a non-member that something exists). E-mails are sent by a job after the commit."""
    wanted = set(recipients)
    if not wanted:
        return []
    members = set(
        session.scalars(select(Membership.user_id).where(Membership.case_id == case.id, Membership.user_id.in_(wanted)))
    )
    made = [
        Notification(user_id=user_id, case_id=case.id, kind=kind, params=params, link=link)
        for user_id in sorted(members, key=str)
    ]
    session.add_all(made)
    session.flush()
    from casefile.collab.mail import queue_mail  # the mail job imports this module

    queue_mail(session, case, made)
    return made


def notify_status_changed(session: Session, item: EvidenceItem, user: User) -> None:
    """The uploader of an item learns that someone else moved its verification."""
    if item.created_by_id is None or item.created_by_id == user.id:
        return
    notify(
        session,
        item.case,
        [item.created_by_id],
        NotificationKind.STATUS_CHANGED,
        {"who": user.name or user.email, "ern": item.ern, "status": item.verification_status},
        f"/evidence/{item.id}",
    )


def notify_release_pending(session: Session, case: Case, dossier_id: uuid.UUID, title: str, builder_id: Any) -> None:
    """A built dossier waits for a second legal member's approval: the case's other legal members are told."""
    legal = session.scalars(
        select(Membership.user_id).where(
            Membership.case_id == case.id, Membership.role == CaseRole.LEGAL, Membership.user_id != builder_id
        )
    )
    notify(session, case, list(legal), NotificationKind.RELEASE_PENDING, {"title": title}, f"/dossiers/{dossier_id}")


def notifications_of(user: User, *, unread_only: bool = False) -> Any:
    stmt = (
        select(Notification)
        .where(Notification.user_id == user.id)
        .options(selectinload(Notification.case))
        .order_by(Notification.created_at.desc(), Notification.id)
    )
    return stmt.where(Notification.read_at.is_(None)) if unread_only else stmt


def own_notification(session: Session, user: User, notification_id: Any) -> Notification:
    found = session.get(Notification, parse_id(notification_id))
    if found is None or found.user_id != user.id:
        raise NotFound(_("Not found."))
    return found


def mark_read(session: Session, notification: Notification) -> Notification:
    if notification.read_at is None:
        notification.read_at = utcnow()
        session.flush()
    return notification


def text_of(notification: Notification) -> str:
    """The notification in words, in the reader's language."""
    p = notification.params
    if notification.kind is NotificationKind.ASSIGNED:
        if p.get("due"):
            return _(
                "%(who)s gave you work on %(what)s, due %(due)s.", who=p.get("who"), what=p.get("what"), due=p["due"]
            )
        return _("%(who)s gave you work on %(what)s.", who=p.get("who"), what=p.get("what"))
    if notification.kind is NotificationKind.STATUS_CHANGED:
        from casefile.labels import word_for

        status = word_for(p.get("status"), "verification_status", _)
        return _(
            "%(who)s set the verification of %(ern)s to %(status)s.", who=p.get("who"), ern=p.get("ern"), status=status
        )
    if notification.kind is NotificationKind.MENTIONED:
        return _("%(who)s mentioned you in a comment.", who=p.get("who"))
    return _("The dossier “%(title)s” awaits your approval.", title=p.get("title"))


def notification_json(notification: Notification) -> dict[str, Any]:
    return {
        "id": str(notification.id),
        "case_id": str(notification.case_id),
        "case_reference": notification.case.reference,
        "kind": notification.kind.value,
        "text": text_of(notification),
        "link": notification.link,
        "created_at": notification.created_at.isoformat(),
        "read_at": notification.read_at.isoformat() if notification.read_at else None,
    }


def unread_count(session: Session, user: User) -> int:
    from sqlalchemy import func

    return int(
        session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        )
        or 0
    )


def parse_due(value: Any) -> date | None:
    return parse_date(value, "due_on")
