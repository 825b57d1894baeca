"""The verification forms of the item page."""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from casefile.labels import CHECK_AREA_LABELS, CHECK_OUTCOME_LABELS, VERIFICATION_STATUS_LABELS, lazy_labels
from casefile.verification.models import CheckArea, CheckOutcome, VerificationStatus

AREAS = lazy_labels(CheckArea, CHECK_AREA_LABELS)
OUTCOMES = lazy_labels(CheckOutcome, CHECK_OUTCOME_LABELS)
STATUSES = lazy_labels(VerificationStatus, VERIFICATION_STATUS_LABELS)


class CheckForm(FlaskForm):
    area = SelectField(_l("What was checked"), choices=[SelectChoice(a.value, AREAS[a]) for a in CheckArea])
    outcome = SelectField(_l("Outcome"), choices=[SelectChoice(o.value, OUTCOMES[o]) for o in CheckOutcome])
    method = StringField(
        _l("Method"),
        validators=[DataRequired(_l("Say how it was checked.")), Length(max=500)],
        description=_l("e.g. matched the skyline and the minaret against satellite imagery of June 2020"),
    )
    notes = TextAreaField(_l("Notes"), validators=[Length(max=20_000)], render_kw={"rows": 3})


class StatusForm(FlaskForm):
    status = SelectField(_l("Verification status"), choices=[])
    reason = TextAreaField(
        _l("Why"),
        validators=[Length(max=2000)],
        description=_l("Required when the item is disputed or unverifiable."),
        render_kw={"rows": 2},
    )

    def offer(self, statuses: Iterable[VerificationStatus]) -> StatusForm:
        self.status.choices = [SelectChoice(s.value, STATUSES[s]) for s in statuses]
        return self
