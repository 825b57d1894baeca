"""The form that links an evidence item to what it is evidence of, and the targets it offers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import Session
from wtforms import HiddenField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length

from casefile import labels
from casefile.actors.services import active_actors, involvements_of, relations_of
from casefile.auth.models import User
from casefile.cases.models import Case
from casefile.cases.services import incidents_of
from casefile.errors import ValidationFailed
from casefile.evidence.forms import choices
from casefile.evidence.models import EvidenceItem
from casefile.labels import catalogue_text, lazy_labels
from casefile.legal.catalogue import load_catalogue
from casefile.legal.models import Charge
from casefile.legal.services import charge_elements, charges_of
from casefile.links.models import Stance
from casefile.links.services import involvement_words, relation_words
from casefile.search.services import parse_query
from casefile.search.snippets import Snippet, matches
from casefile.search.snippets import search as search_with_snippets

STANCE_LABELS = lazy_labels(Stance, labels.STANCE_LABELS)


class LinkForm(FlaskForm):
    search_error: str | None = None
    target = SelectField(_l("Evidence of"), choices=[], validate_choice=False)
    stance = SelectField(_l("Stance"), choices=choices(STANCE_LABELS))
    note = TextAreaField(_l("Note"), validators=[Length(max=5000)])


@dataclass(frozen=True)
class Target:
    """Something an item can be linked to, as the pickers offer it: the form's value ("type:id", and ":element" for
    a charge element), its kind, the group it is listed under, its text in full, and the words it is found by."""

    value: str
    target_type: str
    group: str
    text: str
    found_by: str

    def to_json(self) -> dict[str, Any]:
        target_type, _sep, rest = self.value.partition(":")
        target_id, _sep, element = rest.partition(":")
        return {
            "value": self.value,
            "target_type": target_type,
            "target_id": target_id,
            "element_code": element or None,
            "group": self.group,
            "text": self.text,
        }


def link_targets(session: Session, case: Case) -> list[Target]:
    """Everything an item of `case` can be evidence of, grouped: incidents, actors, relations, involvements, and
    each element of each charge (its whole text: the pickers wrap it, never cut it)."""
    out = [
        Target(f"incident:{i.id}", "incident", _("Incidents"), i.title, i.title) for i in incidents_of(session, case)
    ]
    out += [
        Target(f"actor:{a.id}", "actor", _("Actors"), a.name, " ".join([a.name, *(str(x) for x in a.aliases or ())]))
        for a in active_actors(session, case)
    ]
    for r in relations_of(session, case):
        text = relation_words(r)
        out.append(Target(f"actor_relation:{r.id}", "actor_relation", _("Relations"), text, text))
    for v in involvements_of(session, case):
        text = involvement_words(v)
        out.append(Target(f"involvement:{v.id}", "involvement", _("Involvements"), text, text))
    catalogue = load_catalogue()
    for charge in charges_of(session, case):
        offence = catalogue.offence(charge.offence_code)
        title = catalogue_text(offence, "title")
        group = _("Charge: %(suspect)s, %(offence)s", suspect=charge.suspect.name, offence=title)
        for _group, element in charge_elements(charge):
            text = f"{catalogue_text(element, 'reference')}: {catalogue_text(element, 'text')}"
            # Found by the English words too: a search in either language finds the element.
            english = f"{offence.title} {offence.reference} {element.reference} {element.text}"
            out.append(
                Target(
                    f"charge_element:{charge.id}:{element.code}",
                    "charge_element",
                    group,
                    text,
                    f"{group} {catalogue_text(offence, 'reference')} {text} {english}",
                )
            )
    return out


def find_targets(targets: list[Target], q: str | None) -> list[Target]:
    """The targets the words of `q` find (by the search's own matching: "alkani" finds al-Kani), all without `q`;
    a ValidationFailed for a query the search refuses (too long, too many words)."""
    if not (q or "").strip():
        return targets
    words = parse_query(q)
    return [t for t in targets if matches(words, t.found_by)]


def link_target_choices(targets: list[Target]) -> list[SelectChoice]:
    return [SelectChoice(t.value, t.text, optgroup=t.group) for t in targets]


def link_form(session: Session, case: Case, q: str | None = None) -> LinkForm:
    """The link form of an item of `case`: every target in the case, or those the words of `q` find (the picker
    without JavaScript). A refused query offers every target, with the reason on `form.search_error`."""
    form = LinkForm()
    targets = link_targets(session, case)
    form.search_error = None
    try:
        targets = find_targets(targets, q)
    except ValidationFailed as error:
        form.search_error = error.message
    form.target.choices = link_target_choices(targets)
    return form


class ElementLinkForm(FlaskForm):
    """A matrix row's "link evidence": an item of the case, linked to that element of the charge."""

    element = HiddenField()
    evidence = SelectField(_l("Evidence item"), choices=[], validate_choice=False)
    stance = SelectField(_l("Stance"), choices=choices(STANCE_LABELS))
    note = TextAreaField(_l("Note"), validators=[Length(max=5000)])


EVIDENCE_CHOICES = 20


@dataclass(frozen=True)
class EvidenceChoice:
    """An item as the matrix's evidence picker offers it, with why the words found it."""

    id: str
    ern: str
    title: str
    snippet: Snippet | None = None

    @property
    def text(self) -> str:
        return f"{self.ern} — {self.title}"

    def to_json(self) -> dict[str, Any]:
        return {
            "value": self.id,
            "ern": self.ern,
            "title": self.title,
            "text": self.text,
            "snippet": self.snippet.to_json() if self.snippet else None,
        }


def evidence_choices(session: Session, user: User, case: Case, q: str | None) -> list[EvidenceChoice]:
    """The case's items the words of `q` find (ERN, title, description, source, file name and text, through the
    search index), or its newest items without words; EVIDENCE_CHOICES at most."""
    if (q or "").strip():
        results, _total = search_with_snippets(
            session, user, q, case_id=case.id, types="evidence", per_page=EVIDENCE_CHOICES
        )
        items = {
            i.id: i
            for i in session.scalars(select(EvidenceItem).where(EvidenceItem.id.in_([r.object_id for r in results])))
        }
        return [
            EvidenceChoice(str(r.object_id), items[r.object_id].ern, items[r.object_id].title, r.snippet)
            for r in results
            if r.object_id in items
        ]
    newest = session.scalars(
        select(EvidenceItem)
        .where(EvidenceItem.case_id == case.id)
        .order_by(EvidenceItem.number.desc())
        .limit(EVIDENCE_CHOICES)
    )
    return [EvidenceChoice(str(i.id), i.ern, i.title) for i in newest]


def element_link_context(session: Session, user: User, charge: Charge, args: Mapping[str, str]) -> dict[str, Any]:
    """What the charge page's matrix needs for each row's "link evidence": the form, the items offered (the case's
    newest), and, for the row whose search form was sent (`element`, `q`: the picker without JavaScript), the items
    its words find, or why the words were refused."""
    element, q = args.get("element", ""), args.get("q", "")
    found: list[EvidenceChoice] | None = None
    error = None
    if element and q.strip():
        try:
            found = evidence_choices(session, user, charge.case, q)
        except ValidationFailed as refused:
            error = refused.message
    return {
        "element_link_form": ElementLinkForm(),
        "evidence_offered": evidence_choices(session, user, charge.case, None),
        "picker_element": element,
        "picker_q": q[:400],
        "picker_found": found,
        "picker_error": error,
    }
