from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    DecimalField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from casefile import labels
from casefile.cases.models import CaseStatus, DatePrecision, LocationPrecision
from casefile.cases.thesaurus import VIOLATION_TYPES
from casefile.labels import lazy_labels

# Forms check shape only; the rules (reference format, date order, ranges) live in cases.services.


class CaseForm(FlaskForm):
    reference = StringField(
        _l("Reference"),
        validators=[DataRequired(), Length(max=16)],
        description=_l("2–16 capital letters, digits or hyphens, e.g. TRH. Cannot change later."),
    )
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=300)])
    situation = StringField(
        _l("Situation"), validators=[Length(max=300)], description=_l("e.g. ICC-01/11 Situation in Libya")
    )
    summary = TextAreaField(_l("Summary"), validators=[Length(max=20000)])
    status = SelectField(
        _l("Status"), choices=[SelectChoice(s.value) for s in CaseStatus], default=CaseStatus.OPEN.value
    )


DATE_PRECISION_LABELS = {
    DatePrecision.DAY: _l("Exact day"),
    DatePrecision.MONTH: _l("Month only"),
    DatePrecision.YEAR: _l("Year only"),
    DatePrecision.APPROXIMATE: _l("Approximate"),
}
LOCATION_PRECISION_LABELS = lazy_labels(LocationPrecision, labels.LOCATION_PRECISION_LABELS)


class IncidentForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=300)])
    description = TextAreaField(_l("Description"), validators=[Length(max=50000)])
    start_date = DateField(_l("Start date"), validators=[Optional()])
    end_date = DateField(_l("End date"), validators=[Optional()])
    date_precision = SelectField(
        _l("Date precision"),
        choices=[SelectChoice(k.value, v) for k, v in DATE_PRECISION_LABELS.items()],
        coerce=str,
        default=DatePrecision.DAY.value,
    )
    place_name = StringField(_l("Place"), validators=[Length(max=300)])
    latitude = DecimalField(_l("Latitude"), validators=[Optional()], places=None)
    longitude = DecimalField(_l("Longitude"), validators=[Optional()], places=None)
    location_precision = SelectField(
        _l("Location precision"),
        choices=[SelectChoice(k.value, v) for k, v in LOCATION_PRECISION_LABELS.items()],
        coerce=str,
        default=LocationPrecision.UNKNOWN.value,
    )
    violation_types = SelectMultipleField(
        _l("Violation types"), choices=[SelectChoice(k, v) for k, v in VIOLATION_TYPES.items()]
    )
    victim_count = IntegerField(_l("Number of victims"), validators=[Optional()])
    victim_count_source = StringField(_l("Source of the victim count"), validators=[Length(max=500)])

    def service_data(self) -> dict[str, object]:
        data = {name: field.data for name, field in self._fields.items() if name != "csrf_token"}
        for name in ("latitude", "longitude"):
            data[name] = None if data[name] is None else float(data[name])
        return data
