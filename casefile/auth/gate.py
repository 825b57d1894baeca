"""The one authorization gate. Every view, API route and query reaches a case's objects through here.

Rules: membership of a case decides access; a non-member gets 404 (existence is not confirmed);
a reviewer member may read but never write; seeing protected witness identities is a separate
per-membership permission; admins manage memberships of every case but read case content only as members.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from casefile.auth.models import CaseRole, Membership, Role, User
from casefile.cases.models import Case
from casefile.errors import Forbidden, NotFound


class InCase(Protocol):
    """A mapped object that belongs to one case."""

    @property
    def case_id(self) -> uuid.UUID: ...


T = TypeVar("T", bound=InCase)


class Access(enum.Enum):
    READ = "read"
    WRITE = "write"
    IDENTITIES = "identities"
    MANAGE_MEMBERS = "manage_members"
    # Approving a dossier's release: the legal members of the case (a second one: the builder never approves).
    RELEASE = "release"


def parse_id(value: Any) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        raise NotFound("Not found.") from None


def membership(session: Session, user: User, case_id: uuid.UUID) -> Membership | None:
    return session.scalar(select(Membership).where(Membership.case_id == case_id, Membership.user_id == user.id))


def allowed(user: User, member: Membership | None, access: Access) -> bool:
    if access is Access.MANAGE_MEMBERS:
        return user.is_admin or (member is not None and member.is_lead and member.can_write)
    if member is None:
        return False
    if access is Access.READ:
        return True
    if access is Access.WRITE:
        return member.can_write
    if access is Access.RELEASE:
        return member.role is CaseRole.LEGAL
    return member.can_view_identities


def _check(user: User, member: Membership | None, access: Access) -> None:
    if member is None and not (access is Access.MANAGE_MEMBERS and user.is_admin):
        raise NotFound("Not found.")
    if not allowed(user, member, access):
        raise Forbidden(_FORBIDDEN[access])


_FORBIDDEN = {
    Access.WRITE: "Your role in this case is read-only.",
    Access.IDENTITIES: "You do not have permission to see protected identities in this case.",
    Access.MANAGE_MEMBERS: "Only administrators and the case's leads manage its members.",
    Access.RELEASE: "Only a legal member of the case approves the release of a dossier.",
    Access.READ: "Not found.",
}


def require_case(session: Session, user: User, case_id: Any, access: Access = Access.READ) -> Case:
    case = session.get(Case, parse_id(case_id))
    if case is None:
        raise NotFound("Not found.")
    _check(user, membership(session, user, case.id), access)
    return case


def require_in_case(session: Session, user: User, model: type[T], obj_id: Any, access: Access = Access.READ) -> T:
    """Load an object that belongs to a case (has `case_id`) if the user may reach it, else 404/403."""
    obj = session.get(model, parse_id(obj_id))
    if obj is None:
        raise NotFound("Not found.")
    _check(user, membership(session, user, obj.case_id), access)
    return obj


def require_members_visible(session: Session, user: User, case_id: Any) -> Case:
    """A case whose member list the user may see: its members may, and admins, who manage every case's
    memberships, may without being members."""
    return require_case(session, user, case_id, Access.MANAGE_MEMBERS if user.is_admin else Access.READ)


def may_administer(user: User) -> bool:
    """Instance administration (users, security settings): admins only."""
    return user.is_admin


def may_read_audit(user: User) -> bool:
    """The audit log of authentication events: admins, and reviewers, who audit."""
    return user.role in (Role.ADMIN, Role.REVIEWER)


def may_create_case(user: User) -> bool:
    """Reviewers read and verify; they never create cases. Everyone else may."""
    return user.role is not Role.REVIEWER


def require_admin(user: User) -> None:
    if not may_administer(user):
        raise Forbidden("Only administrators may do this.")


def require_audit_reader(user: User) -> None:
    if not may_read_audit(user):
        raise Forbidden("Only administrators and reviewers read the audit log.")


# The gate's decisions about the logged-in user that pages show or hide links for (see casefile/web.py, which
# hands them to every template): templates ask these, never test a role themselves.
TEMPLATE_DECISIONS: dict[str, Callable[[User], bool]] = {
    "may_administer": may_administer,
    "may_read_audit": may_read_audit,
    "may_create_case": may_create_case,
}


def member_case_ids(user: User) -> Select[uuid.UUID]:
    """Subquery of the cases a user belongs to, for filtering lists inside the query."""
    return select(Membership.case_id).where(Membership.user_id == user.id)


def case_membership(session: Session, user: User, case: Case) -> Membership | None:
    return membership(session, user, case.id)
