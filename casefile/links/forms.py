"""The form that links an evidence item to what it is evidence of, and the targets it offers."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy.orm import Session
from wtforms import SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length

from casefile import labels
from casefile.actors.services import active_actors, involvements_of, relations_of
from casefile.cases.models import Case
from casefile.cases.services import incidents_of
from casefile.evidence.forms import choices
from casefile.labels import lazy_labels
from casefile.legal.services import charge_elements, charges_of
from casefile.links.models import Stance

STANCE_LABELS = lazy_labels(Stance, labels.STANCE_LABELS)


class LinkForm(FlaskForm):
    target = SelectField(_l("Evidence of"), choices=[], validate_choice=False)
    stance = SelectField(_l("Stance"), choices=choices(STANCE_LABELS))
    note = TextAreaField(_l("Note"), validators=[Length(max=5000)])


def link_target_choices(session: Session, case: Case) -> list[SelectChoice]:
    """Everything an item can be evidence of, grouped: incidents, actors, relations, involvements, and each
    element of each charge. Values are "type:id" (and ":element" for charge elements)."""
    out = [SelectChoice(f"incident:{i.id}", i.title, optgroup=_("Incidents")) for i in incidents_of(session, case)]
    out += [SelectChoice(f"actor:{a.id}", a.name, optgroup=_("Actors")) for a in active_actors(session, case)]
    out += [
        SelectChoice(
            f"actor_relation:{r.id}", f"{r.source.name} — {r.relation.value} — {r.target.name}", optgroup=_("Relations")
        )
        for r in relations_of(session, case)
    ]
    out += [
        SelectChoice(
            f"involvement:{v.id}", f"{v.actor.name}: {v.degree.value} — {v.incident.title}", optgroup=_("Involvements")
        )
        for v in involvements_of(session, case)
    ]
    for charge in charges_of(session, case):
        group = _("Charge: %(suspect)s, %(offence)s", suspect=charge.suspect.name, offence=charge.offence_code)
        out += [
            SelectChoice(
                f"charge_element:{charge.id}:{element.code}", f"{element.code} — {element.text[:90]}", optgroup=group
            )
            for _group, element in charge_elements(charge)
        ]
    return out


def link_form(session: Session, case: Case) -> LinkForm:
    """The link form of an item of `case`, offering every target in the case."""
    form = LinkForm()
    form.target.choices = link_target_choices(session, case)
    return form
