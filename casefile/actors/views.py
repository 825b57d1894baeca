"""Actors, the command chart, involvements, charges with their element matrix and link analysis."""

from __future__ import annotations

from collections.abc import Iterable

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from werkzeug.wrappers import Response as WerkzeugResponse
from wtforms.fields.choices import SelectChoice

from casefile.actors import services
from casefile.actors.forms import (
    CONFIDENCE_LABELS,
    DEGREE_LABELS,
    KIND_LABELS,
    RELATION_LABELS,
    STATUS_LABELS,
    ActorForm,
    ChargeForm,
    InvolvementForm,
    MergeForm,
    RelationForm,
)
from casefile.actors.models import Actor
from casefile.actors.pictures import command_chart_svg, timeline_svg
from casefile.auth.gate import Access, require_case, require_in_case
from casefile.cases.models import Case
from casefile.cases.services import incidents_of
from casefile.cases.views import apply_error, case_context
from casefile.db import db_session
from casefile.errors import ValidationFailed
from casefile.labels import catalogue_text
from casefile.legal import services as legal
from casefile.legal.catalogue import ModeOfLiability, Offence, load_catalogue
from casefile.legal.models import Charge
from casefile.links import consistency
from casefile.links.forms import element_link_context
from casefile.links.models import EvidenceLink, touching_actor
from casefile.links.services import evidence_links

bp = Blueprint("actors", __name__)

LABELS = {
    "kind": KIND_LABELS,
    "relation": RELATION_LABELS,
    "degree": DEGREE_LABELS,
    "status": STATUS_LABELS,
    "confidence": CONFIDENCE_LABELS,
}


def _actor_choices(case: Case) -> list[SelectChoice]:
    return [SelectChoice(str(a.id), a.name) for a in services.active_actors(db_session(), case)]


@bp.get("/cases/<case_id>/actors")
def list_actors(case_id: str) -> str:
    s = db_session()
    case = require_case(s, current_user, case_id)
    return render_template(
        "actors/list.html", actors=services.active_actors(s, case), labels=LABELS, **case_context(case)
    )


@bp.route("/cases/<case_id>/actors/new", methods=["GET", "POST"])
def new_actor(case_id: str) -> str | WerkzeugResponse | tuple[str, int]:
    s = db_session()
    case = require_case(s, current_user, case_id, Access.WRITE)
    form = ActorForm()
    if form.validate_on_submit():
        try:
            actor = services.create_actor(
                s, case, current_user, form.service_data(), confirm_new=bool(form.confirm_new.data)
            )
        except services.LikelyDuplicates as refused:
            # The same rule as the API: nothing created; the candidates shown, and "create anyway" offered.
            return render_template(
                "actors/new.html", form=form, candidates=refused.candidates, labels=LABELS, **case_context(case)
            ), 409
        except ValidationFailed as error:
            apply_error(form, error)
        else:
            flash(_("Actor %(name)s added.", name=actor.name), "info")
            return redirect(url_for("actors.show_actor", actor_id=actor.id))
    status = 422 if form.is_submitted() else 200
    return render_template("actors/new.html", form=form, candidates=[], labels=LABELS, **case_context(case)), status


@bp.get("/actors/<actor_id>")
def show_actor(actor_id: str) -> str | WerkzeugResponse:
    s = db_session()
    actor = require_in_case(s, current_user, Actor, actor_id)
    if actor.merged_into_id:
        flash(_("%(name)s was merged into this actor.", name=actor.name), "info")
        return redirect(url_for("actors.show_actor", actor_id=actor.merged_into_id))
    relations = services.relations_of_actor(s, actor)
    involvements = services.involvements_of(s, actor.case, actor=actor)
    merge_form = MergeForm()
    merge_form.duplicate_id.choices = [c for c in _actor_choices(actor.case) if c.value != str(actor.id)]
    involvement_form = InvolvementForm(actor_id=str(actor.id))
    _fill_involvement_form(involvement_form, actor.case)
    return render_template(
        "actors/actor.html",
        actor=actor,
        relations=relations,
        involvements=involvements,
        linked=evidence_links(s, touching_actor(actor.id)),
        labels=LABELS,
        candidates=services.possible_duplicates(s, actor),
        merge_form=merge_form,
        involvement_form=involvement_form,
        relation_counts=legal.link_counts(s, EvidenceLink.relation_id, [r.id for r in relations]),
        involvement_counts=legal.link_counts(s, EvidenceLink.involvement_id, [v.id for v in involvements]),
        **case_context(actor.case),
    )


@bp.route("/actors/<actor_id>/edit", methods=["GET", "POST"])
def edit_actor(actor_id: str) -> str | WerkzeugResponse | tuple[str, int]:
    s = db_session()
    actor = require_in_case(s, current_user, Actor, actor_id, Access.WRITE)
    form = ActorForm(obj=actor)
    if request.method == "GET":
        form.aliases.data = "\n".join(actor.aliases)
        form.identifiers.data = "\n".join(f"{i['type']}: {i['value']}" for i in actor.identifiers)
    if form.validate_on_submit():
        try:
            services.update_actor(s, actor, form.service_data())
        except ValidationFailed as error:
            apply_error(form, error)
        else:
            flash(_("Actor updated."), "info")
            return redirect(url_for("actors.show_actor", actor_id=actor.id))
    status = 422 if form.is_submitted() else 200
    return render_template(
        "actors/new.html", form=form, candidates=[], labels=LABELS, editing=actor, **case_context(actor.case)
    ), status


@bp.post("/actors/<actor_id>/merge")
def merge(actor_id: str) -> WerkzeugResponse:
    s = db_session()
    keep = require_in_case(s, current_user, Actor, actor_id, Access.WRITE)
    form = MergeForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        duplicate = services.actor_in_case(s, keep.case, form.duplicate_id.data, "duplicate_id")
        services.merge_actors(s, keep, duplicate, current_user)
    except ValidationFailed as error:
        flash(error.message, "error")
    else:
        flash(
            _("%(dup)s merged into %(keep)s; the merge is in the custody ledger.", dup=duplicate.name, keep=keep.name),
            "info",
        )
    return redirect(url_for("actors.show_actor", actor_id=keep.id))


@bp.route("/cases/<case_id>/relations/new", methods=["GET", "POST"])
def new_relation(case_id: str) -> str | WerkzeugResponse | tuple[str, int]:
    s = db_session()
    case = require_case(s, current_user, case_id, Access.WRITE)
    form = RelationForm()
    form.source_actor_id.choices = form.target_actor_id.choices = _actor_choices(case)
    if form.validate_on_submit():
        try:
            services.create_relation(s, case, form.data)
        except ValidationFailed as error:
            apply_error(form, error)
        else:
            flash(_("Relation recorded."), "info")
            return redirect(url_for("actors.chart", case_id=case.id))
    status = 422 if form.is_submitted() else 200
    return render_template("actors/relation_form.html", form=form, **case_context(case)), status


def _catalogue_choices(items: Iterable[Offence | ModeOfLiability]) -> list[SelectChoice]:
    """Offences or modes of liability as a select's choices, grouped by framework, in the page's language."""
    catalogue = load_catalogue()
    return [
        SelectChoice(
            item.code,
            f"{catalogue_text(item, 'reference')} — {catalogue_text(item, 'title')}",
            optgroup=catalogue_text(catalogue.framework(item.framework_code), "title"),
        )
        for item in items
    ]


def _fill_involvement_form(form: InvolvementForm, case: Case) -> None:
    form.actor_id.choices = _actor_choices(case)
    form.incident_id.choices = [SelectChoice(str(i.id), i.title) for i in incidents_of(db_session(), case)]
    form.mode_of_liability.choices = [
        SelectChoice("", _("Not yet alleged")),
        *_catalogue_choices(load_catalogue().modes_of_liability),
    ]


@bp.route("/cases/<case_id>/involvements/new", methods=["GET", "POST"])
def new_involvement(case_id: str) -> str | WerkzeugResponse | tuple[str, int]:
    s = db_session()
    case = require_case(s, current_user, case_id, Access.WRITE)
    form = InvolvementForm()
    _fill_involvement_form(form, case)
    if form.validate_on_submit():
        try:
            involvement = services.create_involvement(s, case, form.data)
        except ValidationFailed as error:
            apply_error(form, error)
        else:
            flash(_("Involvement recorded."), "info")
            return redirect(url_for("actors.show_actor", actor_id=involvement.actor_id))
    status = 422 if form.is_submitted() else 200
    return render_template("actors/involvement_form.html", form=form, **case_context(case)), status


def _actor_page(actor: Actor) -> str:
    """Where a chart's box leads: the actor's page."""
    return url_for("actors.show_actor", actor_id=actor.id)


@bp.get("/cases/<case_id>/chart")
def chart(case_id: str) -> str:
    s = db_session()
    case = require_case(s, current_user, case_id)
    relations = services.relations_of(s, case)
    return render_template(
        "actors/chart.html",
        # Built by charts.py: every label escaped, links only to same-origin paths.
        svg=Markup(command_chart_svg(s, case, link=_actor_page)),  # noqa: S704  # nosec B704
        relations=relations,
        labels=LABELS,
        counts=legal.link_counts(s, EvidenceLink.relation_id, [r.id for r in relations]),
        **case_context(case),
    )


@bp.get("/cases/<case_id>/chart.svg")
def chart_svg(case_id: str) -> Response:
    case = require_case(db_session(), current_user, case_id)
    return Response(
        command_chart_svg(db_session(), case, link=_actor_page),
        mimetype="image/svg+xml",
        headers={"Content-Disposition": f'inline; filename="{case.reference}-command-chart.svg"'},
    )


@bp.get("/cases/<case_id>/timeline.svg")
def timeline(case_id: str) -> Response:
    case = require_case(db_session(), current_user, case_id)
    return Response(
        timeline_svg(db_session(), case),
        mimetype="image/svg+xml",
        headers={"Content-Disposition": f'inline; filename="{case.reference}-timeline.svg"'},
    )


# -- charges -------------------------------------------------------------------------------------------


def _fill_charge_form(form: ChargeForm, case: Case) -> None:
    catalogue = load_catalogue()
    form.suspect_id.choices = _actor_choices(case)
    form.offence_code.choices = _catalogue_choices(catalogue.offences)
    form.mode_code.choices = [
        SelectChoice("", _("None (sanctions criteria)")),
        *_catalogue_choices(catalogue.modes_of_liability),
    ]
    form.incident_ids.choices = [SelectChoice(str(i.id), i.title) for i in incidents_of(db_session(), case)]


@bp.get("/cases/<case_id>/charges")
def list_charges(case_id: str) -> str:
    s = db_session()
    case = require_case(s, current_user, case_id)
    charges = legal.charges_of(s, case)
    catalogue = load_catalogue()
    gaps = legal.gap_counts(s, charges)
    return render_template("actors/charges.html", charges=charges, catalogue=catalogue, gaps=gaps, **case_context(case))


@bp.route("/cases/<case_id>/charges/new", methods=["GET", "POST"])
def new_charge(case_id: str) -> str | WerkzeugResponse | tuple[str, int]:
    s = db_session()
    case = require_case(s, current_user, case_id, Access.WRITE)
    form = ChargeForm()
    _fill_charge_form(form, case)
    if form.validate_on_submit():
        try:
            charge = legal.create_charge(s, case, form.data)
        except ValidationFailed as error:
            apply_error(form, error)
        else:
            return redirect(url_for("actors.show_charge", charge_id=charge.id))
    status = 422 if form.is_submitted() else 200
    return render_template("actors/charge_form.html", form=form, **case_context(case)), status


# The items a matrix row names on the page, per stance (its counts are whole; the dossier and export list them all).
SHOWN_PER_ELEMENT = 25


@bp.get("/charges/<charge_id>")
def show_charge(charge_id: str) -> str:
    s = db_session()
    charge = require_in_case(s, current_user, Charge, charge_id)
    catalogue = load_catalogue()
    rows = legal.matrix(s, charge, first=SHOWN_PER_ELEMENT)
    shown = {link.evidence_id for row in rows for link in (*row.supporting, *row.contradicting)}
    return render_template(
        "actors/charge.html",
        charge=charge,
        rows=rows,
        flagged=consistency.flagged(s, shown),
        paths=legal.link_analysis(s, charge),
        offence=catalogue.offence(charge.offence_code),
        mode=catalogue.mode(charge.mode_code) if charge.mode_code else None,
        gaps=legal.gap_count(rows),
        **element_link_context(s, current_user, charge, request.args),
        **case_context(charge.case),
    )
