"""The form that gives work to a member of the case."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField
from wtforms.validators import Length, Optional


class AssignForm(FlaskForm):
    target = SelectField(_l("Work on"), choices=[], validate_choice=False)
    assignee_id = SelectField(_l("Given to"), choices=[], validate_choice=False)
    due_on = DateField(_l("Due"), validators=[Optional()])
    note = StringField(_l("What is to be done"), validators=[Length(max=2000)])
