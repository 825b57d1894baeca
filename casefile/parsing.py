"""Cleaning and parsing of submitted values, shared by every capability's services.

Each helper raises ValidationFailed naming the field, so a form or an API client learns what to fix. It sits
below the capabilities (it knows no table) so that any of them, custody included, can use it without depending
on another capability.
"""

from __future__ import annotations

import enum
from datetime import date
from typing import Any

from flask_babel import gettext as _

from casefile.errors import ValidationFailed


def clean_text(value: Any, field: str, *, max_length: int, required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationFailed(_("Must be text."), field=field)
    # Control characters have no place in these fields; they hide text and break exports.
    value = "".join(ch for ch in value if ch in "\n\t" or ch.isprintable()).strip()
    if required and not value:
        raise ValidationFailed(_("This field is required."), field=field)
    if len(value) > max_length:
        raise ValidationFailed(_("At most %(n)d characters.", n=max_length), field=field)
    return value


def parse_choice(value: Any, enum_cls: type[enum.Enum], field: str) -> Any:
    try:
        return enum_cls(value)
    except ValueError:
        allowed = ", ".join(m.value for m in enum_cls)
        raise ValidationFailed(_("Choose one of: %(allowed)s.", allowed=allowed), field=field) from None


def parse_date(value: Any, field: str) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValidationFailed(_("Use a date in the form YYYY-MM-DD."), field=field) from None
