"""The form that asks for a web capture."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length


class CaptureForm(FlaskForm):
    url = StringField(
        _l("Address of the page"),
        validators=[DataRequired(_l("Give the address of the page to capture.")), Length(max=2000)],
        render_kw={"inputmode": "url", "dir": "ltr", "autocomplete": "off", "placeholder": "https://"},
    )
    incident_ids = SelectMultipleField(_l("Incidents it concerns"), choices=[], validate_choice=False)
    note = TextAreaField(_l("Note"), validators=[Length(max=5000)])
    cookies = TextAreaField(
        _l("Session for this capture (optional)"),
        validators=[Length(max=8000)],
        description=_l(
            "Only for a page that needs you to be logged in: the Cookie header of your browser for that site. "
            "It is stored encrypted, used for this capture only and erased when it ends. Without it the browser "
            "starts with no cookies."
        ),
        render_kw={"autocomplete": "off", "dir": "ltr", "rows": 2},
    )
