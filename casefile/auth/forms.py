from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from casefile.auth.models import CaseRole, Role


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])


class UserCreateForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    name = StringField(_l("Name"), validators=[Length(max=200)])
    # The least privileged role unless the administrator chooses another.
    role = SelectField(_l("Role"), choices=[SelectChoice(r.value) for r in Role], default=Role.REVIEWER.value)


class ConfirmForm(FlaskForm):
    """A POST with nothing but its CSRF token: deactivate, reset, log out."""


class MemberForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    role = SelectField(_l("Role in this case"), choices=[SelectChoice(r.value) for r in CaseRole])
    can_view_identities = BooleanField(_l("May see protected witness identities"))
    lead = BooleanField(
        _l("Case lead"), description=_l("Manages the members of this case (adds, changes and removes them).")
    )


class SecondFactorForm(FlaskForm):
    code = StringField(
        _l("Code from your authenticator app, or a recovery code"), validators=[DataRequired(), Length(max=20)]
    )


class EnrolForm(FlaskForm):
    code = StringField(_l("Code shown by your authenticator app"), validators=[DataRequired(), Length(max=10)])


class PasswordForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=1024)])
    new = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=1024)])


class TokenForm(FlaskForm):
    name = StringField(_l("Token name"), validators=[DataRequired(), Length(max=100)])


class SecuritySettingsForm(FlaskForm):
    roles = SelectMultipleField(
        _l("Roles that must use a second factor (administrators always do)"),
        choices=[SelectChoice(r.value) for r in Role],
    )
    identity_viewers = BooleanField(
        _l("Everyone who may see protected witness identities must use a second factor"),
        description=_l("Whatever their role: the permission is given per case. On unless you turn it off."),
    )
