from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from casefile import labels
from casefile.labels import lazy_labels
from casefile.witnesses.models import ConsentPurpose, RiskLevel

RISK_LABELS = lazy_labels(RiskLevel, labels.RISK_LEVEL_LABELS)
PURPOSE_LABELS = lazy_labels(ConsentPurpose, labels.CONSENT_PURPOSE_LABELS)


class IdentityForm(FlaskForm):
    full_name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=300)])
    other_names = StringField(_l("Other names and spellings"), validators=[Length(max=500)])
    date_of_birth = DateField(_l("Date of birth"), validators=[Optional()])
    contact = TextAreaField(_l("Contact details"), validators=[Length(max=500)])
    address = TextAreaField(_l("Address"), validators=[Length(max=1000)])
    notes = TextAreaField(_l("Protected notes"), validators=[Length(max=5000)])


class WitnessForm(IdentityForm):
    risk_level = SelectField(
        _l("Risk level"),
        choices=[SelectChoice(k.value, v) for k, v in RISK_LABELS.items()],
        default=RiskLevel.MEDIUM.value,
    )


class RevealForm(FlaskForm):
    reason = StringField(
        _l("Reason for revealing"),
        validators=[DataRequired(), Length(max=500)],
        description=_l("Recorded in the custody ledger with your name."),
    )


class ConsentForm(FlaskForm):
    purpose = SelectField(_l("Purpose"), choices=[SelectChoice(k.value, v) for k, v in PURPOSE_LABELS.items()])
    granted = SelectField(
        _l("Decision"), choices=[SelectChoice("true", _l("Granted")), SelectChoice("false", _l("Refused or withdrawn"))]
    )
    recorded_on = DateField(_l("Date"), validators=[Optional()])
    how_recorded = StringField(
        _l("How it was recorded"),
        validators=[DataRequired(), Length(max=300)],
        description=_l("e.g. signed consent form; verbal consent in the recorded interview"),
    )
    note = TextAreaField(_l("Note"), validators=[Length(max=5000)])


class RiskForm(FlaskForm):
    risk_level = SelectField(_l("Risk level"), choices=[SelectChoice(k.value, v) for k, v in RISK_LABELS.items()])
