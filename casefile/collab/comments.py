"""Comments on items, incidents, actors and charges: plain text, seen only by the case's members (never indexed for
search, never in a dossier), with @mentions of members, who are notified; an edit keeps the earlier text. Like
every service: flush, never commit."""

from __future__ import annotations

import re
import uuid
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from casefile.actors.models import Actor
from casefile.auth.gate import Access, parse_id, require_case, require_in_case
from casefile.auth.models import Membership, User
from casefile.cases.models import Case, Incident
from casefile.collab.models import Comment, CommentedKind, CommentRevision, NotificationKind
from casefile.collab.services import notify
from casefile.db import utcnow
from casefile.errors import Forbidden, ValidationFailed
from casefile.evidence.models import EvidenceItem
from casefile.legal.models import Charge
from casefile.parsing import clean_text, parse_choice

BODY_LENGTH = 10_000
# @ followed by the part of a member's e-mail address before the @ (or the whole address).
MENTION = re.compile(r"(?<![\w.@])@([\w.+-]+(?:@[\w.-]+)?)")
MODELS: dict[CommentedKind, type[EvidenceItem] | type[Incident] | type[Actor] | type[Charge]] = {
    CommentedKind.EVIDENCE: EvidenceItem,
    CommentedKind.INCIDENT: Incident,
    CommentedKind.ACTOR: Actor,
    CommentedKind.CHARGE: Charge,
}
PAGES = {
    CommentedKind.EVIDENCE: "/evidence/{}",
    CommentedKind.INCIDENT: "/incidents/{}",
    CommentedKind.ACTOR: "/actors/{}",
    CommentedKind.CHARGE: "/charges/{}",
}


def _target(session: Session, case: Case, kind: CommentedKind, target_id: Any) -> uuid.UUID:
    wanted = parse_id(target_id)
    model = MODELS[kind]
    found = session.scalar(select(model.id).where(model.id == wanted, model.case_id == case.id))
    if found is None:
        raise ValidationFailed(_("Nothing of this case matches what was chosen."), field="target_id")
    return found


def mentioned(session: Session, case: Case, body: str) -> set[uuid.UUID]:
    """The members of the case a comment names with @ (by their address, or its part before the @); anyone else is
    not looked up, so a mention tells nobody outside the case anything."""
    handles = {m.casefold() for m in MENTION.findall(body)}
    if not handles:
        return set()
    rows = session.execute(
        select(User.id, User.email)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.case_id == case.id, User.active.is_(True))
    )
    return {uid for uid, email in rows if email.casefold() in handles or email.split("@", 1)[0].casefold() in handles}


def add(session: Session, case: Case, user: User, data: dict[str, Any]) -> Comment:
    require_case(session, user, case.id, Access.WRITE)
    kind = parse_choice(data.get("target_type"), CommentedKind, "target_type")
    target_id = _target(session, case, kind, data.get("target_id"))
    body = clean_text(data.get("body"), "body", max_length=BODY_LENGTH, required=True)
    comment = Comment(case_id=case.id, target_type=kind, target_id=target_id, author_id=user.id, body=body)
    session.add(comment)
    session.flush()
    _notify_mentions(session, case, user, comment, set())
    return comment


def edit(session: Session, comment: Comment, user: User, body: Any) -> Comment:
    """Only its author edits a comment; the text before is kept. Newly mentioned members are notified."""
    require_case(session, user, comment.case_id, Access.WRITE)
    if comment.author_id != user.id:
        raise Forbidden(_("Only its author edits a comment."))
    text = clean_text(body, "body", max_length=BODY_LENGTH, required=True)
    if text == comment.body:
        return comment
    case = session.get_one(Case, comment.case_id)
    before = mentioned(session, case, comment.body)
    session.add(CommentRevision(comment_id=comment.id, body=comment.body))
    comment.body = text
    comment.edited_at = utcnow()
    session.flush()
    _notify_mentions(session, case, user, comment, before)
    return comment


def _notify_mentions(session: Session, case: Case, user: User, comment: Comment, already: set[uuid.UUID]) -> None:
    recipients = mentioned(session, case, comment.body) - already - {user.id}
    if recipients:
        notify(
            session,
            case,
            recipients,
            NotificationKind.MENTIONED,
            {"who": user.name or user.email},
            PAGES[comment.target_type].format(comment.target_id) + f"#comment-{comment.id}",
        )


def comments_on(kind: CommentedKind, target_id: uuid.UUID) -> Any:
    return (
        select(Comment)
        .where(Comment.target_type == kind, Comment.target_id == target_id)
        .options(selectinload(Comment.author), selectinload(Comment.revisions))
        .order_by(Comment.created_at, Comment.id)
    )


def case_comments(case: Case, kind: str | None = None, target_id: Any = None) -> Any:
    stmt = select(Comment).where(Comment.case_id == case.id)
    if kind:
        stmt = stmt.where(Comment.target_type == parse_choice(kind, CommentedKind, "target_type"))
    if target_id:
        stmt = stmt.where(Comment.target_id == parse_id(target_id))
    return stmt.options(selectinload(Comment.author), selectinload(Comment.revisions)).order_by(
        Comment.created_at, Comment.id
    )


def comment_in_case(session: Session, user: User, comment_id: Any) -> Comment:
    return require_in_case(session, user, Comment, comment_id)


def comment_json(comment: Comment) -> dict[str, Any]:
    return {
        "id": str(comment.id),
        "case_id": str(comment.case_id),
        "target_type": comment.target_type.value,
        "target_id": str(comment.target_id),
        "author": comment.author.email,
        "body": comment.body,
        "created_at": comment.created_at.isoformat(),
        "edited_at": comment.edited_at.isoformat() if comment.edited_at else None,
        "history": [{"body": r.body, "replaced_at": r.replaced_at.isoformat()} for r in comment.revisions],
    }
