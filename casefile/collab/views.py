"""Work pages: my work (open assignments and notifications), a case's work with the form that gives it, and the
unread count in the header. Same services as the API."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from casefile.auth.gate import require_case
from casefile.cases.models import Case
from casefile.cases.views import case_context
from casefile.collab import comments, services
from casefile.collab.forms import AssignForm
from casefile.collab.models import Comment, CommentedKind
from casefile.db import db_session, get_database
from casefile.errors import CasefileError
from casefile.web import safe_next

bp = Blueprint("collab", __name__)
SHOWN = 200
KIND_NAMES = {"evidence": "evidence", "incident": "incident", "charge": "charge"}


@bp.app_context_processor
def _unread() -> dict[str, Any]:
    def unread_notifications() -> int:
        if not current_user.is_authenticated:
            return 0
        with get_database().read_sessionmaker() as s:
            return services.unread_count(s, current_user)

    def comments_for(kind: str, target_id: Any) -> list[Comment]:
        """The comments shown on a page about an item, incident, actor or charge (the page already checked access)."""
        return list(db_session().scalars(comments.comments_on(CommentedKind(kind), target_id)))

    return {"unread_notifications": unread_notifications, "comments_for": comments_for}


@bp.get("/work")
def my_work() -> str:
    s = db_session()
    return render_template(
        "collab/work.html",
        assignments=list(s.scalars(services.my_assignments(s, current_user).limit(SHOWN))),
        notifications=list(s.scalars(services.notifications_of(current_user).limit(SHOWN))),
        text_of=services.text_of,
        link_of=services.link_of,
    )


def _case_page(case: Case, form: AssignForm, status: int = 200) -> ResponseReturnValue:
    s = db_session()
    options = services.assignable(s, case)
    form.assignee_id.choices = options["members"]
    form.target.choices = {
        _("Evidence"): [(f"evidence:{i}", label) for i, label in options["evidence"]],
        _("Incidents"): [(f"incident:{i}", label) for i, label in options["incident"]],
        _("Charges"): [(f"charge:{i}", label) for i, label in options["charge"]],
    }
    body = render_template(
        "collab/case_work.html",
        form=form,
        assignments=list(s.scalars(services.case_assignments(case).limit(SHOWN))),
        link_of=services.link_of,
        **case_context(case),
    )
    return body, status


@bp.get("/cases/<case_id>/work")
def case_work(case_id: str) -> ResponseReturnValue:
    return _case_page(require_case(db_session(), current_user, case_id), AssignForm(formdata=None))


@bp.post("/cases/<case_id>/work")
def assign(case_id: str) -> ResponseReturnValue:
    s = db_session()
    case = require_case(s, current_user, case_id)
    form = AssignForm()
    if form.validate_on_submit():
        kind, _sep, target_id = (form.target.data or "").partition(":")
        try:
            services.assign(
                s,
                case,
                current_user,
                {
                    "target_type": kind,
                    "target_id": target_id,
                    "assignee_id": form.assignee_id.data,
                    "due_on": form.due_on.data,
                    "note": form.note.data,
                },
            )
        except CasefileError as error:
            if error.status == 403:
                raise
            field = {"target_type": "target", "target_id": "target"}.get(error.field or "", error.field or "")
            target = getattr(form, field, None) or form.target
            target.errors = [*target.errors, error.message]
            return _case_page(case, form, 422)
        flash(_("The work is given."), "success")
        return redirect(url_for("collab.case_work", case_id=case.id), 303)
    return _case_page(case, form, 422)


@bp.post("/assignments/<assignment_id>/done")
def complete(assignment_id: str) -> ResponseReturnValue:
    s = db_session()
    assignment = services.assignment_in_case(s, current_user, assignment_id)
    services.complete(s, assignment, current_user)
    flash(_("Marked done."), "success")
    return redirect(url_for("collab.my_work"), 303)


@bp.post("/cases/<case_id>/comments")
def add_comment(case_id: str) -> ResponseReturnValue:
    s = db_session()
    case = require_case(s, current_user, case_id)
    try:
        comment = comments.add(
            s,
            case,
            current_user,
            {
                "target_type": request.form.get("target_type"),
                "target_id": request.form.get("target_id"),
                "body": request.form.get("body"),
            },
        )
    except CasefileError as error:
        if error.status == 403:
            raise
        flash(error.message, "error")
        return redirect(request.referrer if safe_next(_path(request.referrer)) else url_for("main.dashboard"), 303)
    return redirect(comments.PAGES[comment.target_type].format(comment.target_id) + f"#comment-{comment.id}", 303)


@bp.post("/comments/<comment_id>/edit")
def edit_comment(comment_id: str) -> ResponseReturnValue:
    s = db_session()
    comment = comments.comment_in_case(s, current_user, comment_id)
    try:
        comments.edit(s, comment, current_user, request.form.get("body"))
    except CasefileError as error:
        if error.status == 403:
            raise
        flash(error.message, "error")
    return redirect(comments.PAGES[comment.target_type].format(comment.target_id) + f"#comment-{comment.id}", 303)


def _path(url: str | None) -> str | None:
    from urllib.parse import urlsplit

    return urlsplit(url).path if url else None


@bp.post("/notifications/<notification_id>/read")
def read(notification_id: str) -> ResponseReturnValue:
    """Mark it read and open what it is about."""
    s = db_session()
    notification = services.mark_read(s, services.own_notification(s, current_user, notification_id))
    return redirect(notification.link, 303)
