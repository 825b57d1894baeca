"""Reading the case activity feed: its filters, its query and its values in words (pages and API alike).

Only members of the case read it (the gate's `require_case`); reviewers read it like everything else of the case. It
names witnesses by pseudonym only: no identity field is ever recorded (casefile/activity/recorder.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select, select
from sqlalchemy.orm import selectinload

from casefile.activity.models import Activity, ActivityAction, SubjectKind
from casefile.cases.models import Case
from casefile.errors import ValidationFailed
from casefile.labels import WORDS, catalogue_text, word_for
from casefile.legal.catalogue import load_catalogue
from casefile.links.services import element_label
from casefile.parsing import parse_choice, parse_date

# Which word list names a field's values; a field of several subjects may differ by subject (a case's status is not
# an involvement's).
FIELD_WORDS = {
    "date_precision": "date_precision",
    "location_precision": "location_precision",
    "violation_types": "violation_type",
    "relation": "relation",
    "confidence": "confidence",
    "degree": "degree",
    "classification": "classification",
    "verification_status": "verification_status",
    "stance": "stance",
    "risk_level": "risk_level",
    "role": "role",
    "profile": "dossier_profile",
}
SUBJECT_FIELD_WORDS = {
    (SubjectKind.ACTOR, "kind"): "actor_kind",
    (SubjectKind.EVIDENCE, "kind"): "evidence_kind",
    (SubjectKind.CASE, "status"): "case_status",
    (SubjectKind.INVOLVEMENT, "status"): "involvement_status",
    (SubjectKind.DOSSIER, "status"): "dossier_status",
    (SubjectKind.ASSIGNMENT, "target_type"): "activity_subject",
    (SubjectKind.COMMENT, "target_type"): "activity_subject",
}


@dataclass(frozen=True)
class ActivityFilter:
    subject_type: SubjectKind | None = None
    action: ActivityAction | None = None
    user_id: uuid.UUID | None = None
    subject_id: uuid.UUID | None = None
    since: date | None = None
    until: date | None = None

    def args(self) -> dict[str, str]:
        """The filter as query arguments (the page's links keep it)."""
        values = {
            "type": self.subject_type.value if self.subject_type else "",
            "action": self.action.value if self.action else "",
            "user_id": str(self.user_id or ""),
            "subject_id": str(self.subject_id or ""),
            "since": self.since.isoformat() if self.since else "",
            "until": self.until.isoformat() if self.until else "",
        }
        return {k: v for k, v in values.items() if v}


def _uuid(raw: str | None, field: str) -> uuid.UUID | None:
    if not raw:
        return None
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise ValidationFailed(_("Not a valid identifier."), field=field) from None


def parse_filter(args: Mapping[str, str]) -> ActivityFilter:
    """The feed's filters from query arguments; a bad value is a ValidationFailed naming its field (422)."""
    flt = ActivityFilter(
        subject_type=parse_choice(args["type"], SubjectKind, "type") if args.get("type") else None,
        action=parse_choice(args["action"], ActivityAction, "action") if args.get("action") else None,
        user_id=_uuid(args.get("user_id"), "user_id"),
        subject_id=_uuid(args.get("subject_id"), "subject_id"),
        since=parse_date(args.get("since"), "since"),
        until=parse_date(args.get("until"), "until"),
    )
    if flt.since and flt.until and flt.until < flt.since:
        raise ValidationFailed(_("The end date cannot be before the start date."), field="until")
    return flt


def feed_query(case: Case, flt: ActivityFilter) -> Select[Activity]:
    """The case's activity, newest first, filtered; each filter is served by one of the table's indexes."""
    stmt = select(Activity).where(Activity.case_id == case.id).options(selectinload(Activity.user))
    if flt.subject_type is not None:
        stmt = stmt.where(Activity.subject_type == flt.subject_type)
    if flt.action is not None:
        stmt = stmt.where(Activity.action == flt.action)
    if flt.user_id is not None:
        stmt = stmt.where(Activity.user_id == flt.user_id)
    if flt.subject_id is not None:
        stmt = stmt.where(Activity.subject_id == flt.subject_id)
    if flt.since is not None:
        stmt = stmt.where(Activity.at >= datetime.combine(flt.since, time(), UTC))
    if flt.until is not None:  # the whole day given
        stmt = stmt.where(Activity.at < datetime.combine(flt.until + timedelta(days=1), time(), UTC))
    return stmt.order_by(Activity.at.desc(), Activity.id.desc())


def who(row: Activity) -> str:
    return (row.user.name or row.user.email) if row.user is not None else _("Casefile (automatic)")


def activity_json(row: Activity) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "at": row.at.isoformat(),
        "user_id": str(row.user_id) if row.user_id else None,
        "user": who(row),
        "subject_type": row.subject_type.value,
        "subject_id": str(row.subject_id),
        "subject_label": row.subject_label,
        "action": row.action.value,
        # Stored values as they are (codes, ISO dates): a program reads them; the page shows them in words.
        "changes": [{"field": name, "from": c.get("from"), "to": c.get("to")} for name, c in row.changes.items()],
    }


def _catalogue_title(kind: str, code: str) -> str:
    catalogue = load_catalogue()
    try:
        item = catalogue.offence(code) if kind == "offence" else catalogue.mode(code)
    except KeyError:
        return code
    return catalogue_text(item, "title")


def shown(subject: SubjectKind, field: str, value: Any, translate: Callable[[str], str] = _) -> str:
    """A stored value in the page's words: codes named from their word lists, the legal catalogue's offences and
    modes by title, lists joined, an identifier as "its type: its value", nothing as an empty string."""
    if value is None or value == "" or value == []:
        return ""
    if value is True or value is False:
        return translate("yes") if value else translate("no")
    if isinstance(value, list):
        return ", ".join(filter(None, (shown(subject, field, v, translate) for v in value)))
    if isinstance(value, dict):  # an actor's identifier, {"type": …, "value": …}, shown as the actor page shows it
        return ": ".join(str(v) for v in value.values() if v not in (None, ""))
    words = SUBJECT_FIELD_WORDS.get((subject, field)) or FIELD_WORDS.get(field)
    if words is not None and words in WORDS:
        return word_for(value, words, translate)
    if field == "offence_code":
        return _catalogue_title("offence", str(value))
    if field in ("mode_code", "mode_of_liability"):
        return _catalogue_title("mode", str(value))
    if field == "element_code":
        return element_label(value)
    return str(value)
