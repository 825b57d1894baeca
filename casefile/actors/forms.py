from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from casefile import labels
from casefile.actors.models import ActorKind, Confidence, Degree, InvolvementStatus, RelationType
from casefile.labels import lazy_labels

KIND_LABELS = lazy_labels(ActorKind, labels.ACTOR_KIND_LABELS)
RELATION_LABELS = lazy_labels(RelationType, labels.RELATION_LABELS)
DEGREE_LABELS = lazy_labels(Degree, labels.DEGREE_LABELS)
STATUS_LABELS = lazy_labels(InvolvementStatus, labels.INVOLVEMENT_STATUS_LABELS)
CONFIDENCE_LABELS = lazy_labels(Confidence, labels.CONFIDENCE_LABELS)


def choices(labels: dict) -> list[SelectChoice]:
    return [SelectChoice(k.value, v) for k, v in labels.items()]


class ActorForm(FlaskForm):
    kind = SelectField(_l("Kind"), choices=choices(KIND_LABELS))
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=300)])
    aliases = TextAreaField(_l("Aliases"), description=_l("One per line, in any script and spelling."))
    description = TextAreaField(_l("Description"), validators=[Length(max=20000)])
    date_of_birth = StringField(_l("Date of birth (as known)"), validators=[Length(max=40)])
    place_of_birth = StringField(_l("Place of birth"), validators=[Length(max=200)])
    nationality = StringField(_l("Nationality"), validators=[Length(max=100)])
    identifiers = TextAreaField(_l("Identifiers"), description=_l("One per line as type: value, e.g. passport: X123"))
    confirm_new = BooleanField(_l("This is a different actor from the similar ones listed"))

    def service_data(self) -> dict[str, object]:
        return {k: v for k, v in self.data.items() if k not in ("csrf_token", "confirm_new")}


class RelationForm(FlaskForm):
    source_actor_id = SelectField(_l("Actor"), choices=[], validate_choice=False)
    relation = SelectField(_l("Relation"), choices=choices(RELATION_LABELS))
    target_actor_id = SelectField(_l("Other actor"), choices=[], validate_choice=False)
    valid_from = DateField(_l("From"), validators=[Optional()])
    valid_to = DateField(_l("To"), validators=[Optional()])
    confidence = SelectField(_l("Confidence"), choices=choices(CONFIDENCE_LABELS), default="medium")
    note = TextAreaField(_l("Note"), validators=[Length(max=5000)])


class InvolvementForm(FlaskForm):
    actor_id = SelectField(_l("Actor"), choices=[], validate_choice=False)
    incident_id = SelectField(_l("Incident"), choices=[], validate_choice=False)
    degree = SelectField(_l("Degree of involvement"), choices=choices(DEGREE_LABELS))
    mode_of_liability = SelectField(_l("Alleged mode of liability"), choices=[], validate_choice=False)
    status = SelectField(_l("Status"), choices=choices(STATUS_LABELS))
    note = TextAreaField(_l("Note"), validators=[Length(max=5000)])


class MergeForm(FlaskForm):
    duplicate_id = SelectField(_l("Merge this duplicate into the actor"), choices=[], validate_choice=False)


class ChargeForm(FlaskForm):
    suspect_id = SelectField(_l("Suspect"), choices=[], validate_choice=False)
    offence_code = SelectField(_l("Offence or criterion"), choices=[], validate_choice=False)
    mode_code = SelectField(_l("Mode of liability"), choices=[], validate_choice=False)
    incident_ids = SelectMultipleField(_l("Incidents"), choices=[], validate_choice=False)
    note = TextAreaField(_l("Note"), validators=[Length(max=5000)])
