"""Notifications by e-mail (CASEFILE_SMTP_URL): a job sends them after the transaction that made them commits, so a
mail server that is down delays mail and never a page. What leaves says which case and what kind of event, and
links to it — no title, name or comment (see services.py)."""

from __future__ import annotations

import smtplib
import ssl
import uuid
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from casefile import components
from casefile.auth.gate import Access
from casefile.auth.models import User
from casefile.cases.models import Case
from casefile.collab.models import Notification, NotificationKind
from casefile.config import Settings
from casefile.db import session_scope, utcnow
from casefile.errors import CasefileError
from casefile.jobs.registry import register
from casefile.jobs.runner import JobContext
from casefile.jobs.services import submit

MAIL = "collab.mail"
TIMEOUT = 30


def queue_mail(session: Session, case: Case, notifications: list[Notification]) -> None:
    settings = components.settings()
    if not settings.smtp_url or not notifications:
        return
    submit(session, MAIL, case, None, {"notification_ids": [str(n.id) for n in notifications]})


def subject_of(notification: Notification) -> str:
    what = {
        NotificationKind.ASSIGNED: _("you have new work"),
        NotificationKind.STATUS_CHANGED: _("the verification of an item you uploaded changed"),
        NotificationKind.RELEASE_PENDING: _("a dossier awaits your approval"),
        NotificationKind.MENTIONED: _("you were mentioned in a comment"),
    }[notification.kind]
    return f"Casefile {notification.case.reference}: {what}"


def _connect(settings: Settings) -> smtplib.SMTP:
    parts = urlsplit(settings.smtp_url or "")
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise CasefileError("CASEFILE_SMTP_URL must be smtp://host[:port] or smtps://host[:port].")
    context = ssl.create_default_context()
    server: smtplib.SMTP
    if parts.scheme == "smtps":
        server = smtplib.SMTP_SSL(parts.hostname, parts.port or 465, timeout=TIMEOUT, context=context)
    else:
        server = smtplib.SMTP(parts.hostname, parts.port or 25, timeout=TIMEOUT)
        if parse_qs(parts.query).get("starttls") == ["1"]:
            server.starttls(context=context)
    if parts.username:
        server.login(unquote(parts.username), unquote(parts.password or ""))
    return server


def send(ctx: JobContext) -> None:
    app = ctx.app
    settings = components.settings(app)
    ids = [uuid.UUID(str(i)) for i in ctx.params.get("notification_ids", [])]
    with session_scope(app) as s:
        rows = list(
            s.scalars(
                select(Notification)
                .where(Notification.id.in_(ids), Notification.emailed_at.is_(None))
                .options(selectinload(Notification.case))
            )
        )
        people = {u.id: u for u in s.scalars(select(User).where(User.id.in_({n.user_id for n in rows})))}
        messages: list[tuple[uuid.UUID, EmailMessage]] = []
        for notification in rows:
            person = people.get(notification.user_id)
            if person is None or not person.active:
                continue
            with force_locale(person.locale or "en"):
                message = EmailMessage()
                message["From"] = settings.smtp_from
                message["To"] = person.email
                message["Subject"] = subject_of(notification)
                message.set_content(
                    _("Open it in Casefile (after logging in): %(link)s", link=settings.base_url + notification.link)
                    + "\n"
                )
            messages.append((notification.id, message))
    sent: list[uuid.UUID] = []
    if messages:
        with _connect(settings) as server:
            for notification_id, message in messages:
                server.send_message(message)
                sent.append(notification_id)
    with session_scope(app) as s:
        for notification in s.scalars(select(Notification).where(Notification.id.in_(sent))):
            notification.emailed_at = utcnow()
        ctx.succeed(s, {"sent": len(sent)})


register(MAIL, send, access=Access.READ, label=_l("Send notifications by e-mail"))
