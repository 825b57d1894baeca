"""The forms of the field intake pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length


class OfferForm(FlaskForm):
    xlsform = FileField(
        _l("The case's own XLSForm (optional)"),
        description=_l(
            "An .xlsx, .xls, .csv or .md XLSForm. Without one, the case offers Casefile's field report (incident, "
            "place, GPS, date and its precision, description in Arabic or English, photos, audio, video, witness "
            "pseudonym and consent)."
        ),
    )
    encrypted = BooleanField(
        _l("Encrypt submissions on the phone"),
        description=_l(
            "Phones encrypt each finished form with a key only this server can open: relays and lost phones hold "
            "nothing readable."
        ),
        default=True,
    )


class CredentialForm(FlaskForm):
    label = StringField(
        _l("Name of the phone"),
        validators=[DataRequired(_l("Name the phone, e.g. “Field phone 2”.")), Length(max=100)],
    )


class RejectForm(FlaskForm):
    reason = TextAreaField(
        _l("Why it is rejected"),
        validators=[DataRequired(_l("Say why the submission is rejected.")), Length(max=2000)],
        render_kw={"rows": 2},
    )
