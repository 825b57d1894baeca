"""Dates as people write them in spreadsheets, read into (moment, precision).

ISO dates and times; day/month/year with `/`, `-` or `.` (or month/day/year when the import says so); a month
alone (`2020-06`, `06/2020`, `June 2020`, `يونيو 2020`, `حزيران 2020`); a year alone; Arabic-Indic digits; and
the date cells of an XLSX sheet. What cannot be read unambiguously is refused with the forms that are understood,
never guessed: a wrong date in a chronology misleads a court.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from typing import Any

from flask_babel import gettext as _

from casefile.errors import ValidationFailed

DAY, MONTH, YEAR = "day", "month", "year"
DATE_ORDERS = ("dmy", "mdy")

# Arabic-Indic and Eastern Arabic-Indic digits read as 0-9.
_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")

_MONTHS: dict[str, int] = {}
for _number, _names in enumerate(
    (
        "january jan يناير كانون الثاني كانون2 janvier",
        "february feb فبراير شباط février fevrier",
        "march mar مارس آذار اذار mars",
        "april apr أبريل ابريل نيسان avril",
        "may مايو أيار ايار mai",
        "june jun يونيو يونيه حزيران juin",
        "july jul يوليو يوليه تموز juillet",
        "august aug أغسطس اغسطس آب اب août aout",
        "september sep sept سبتمبر أيلول ايلول septembre",
        "october oct أكتوبر اكتوبر تشرين الأول octobre",
        "november nov نوفمبر تشرين الثاني novembre",
        "december dec ديسمبر كانون الأول décembre decembre",
    ),
    start=1,
):
    for _name in _names.split():
        _MONTHS.setdefault(_name, _number)
# Two-word Levantine names, matched whole before the one-word ones.
_MONTH_PHRASES = {
    "كانون الثاني": 1,
    "تشرين الأول": 10,
    "تشرين الاول": 10,
    "تشرين الثاني": 11,
    "كانون الأول": 12,
    "كانون الاول": 12,
}

_NUMERIC = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})$")
_MONTH_NUMERIC = re.compile(r"^(?:(\d{4})[/.\-](\d{1,2})|(\d{1,2})[/.\-](\d{4}))$")
_YEAR = re.compile(r"^\d{4}$")


def _error(field: str) -> ValidationFailed:
    return ValidationFailed(
        _(
            "Cannot read this date: use 2020-06-12 (or 12/06/2020), 2020-06 or June 2020 for a month, 2020 for a "
            "year, or 2020-06-12T14:30 with a time (UTC)."
        ),
        field=field,
    )


def _day(year: int, month: int, day: int, field: str) -> datetime:
    try:
        return datetime.combine(date(year, month, day), time(), UTC)
    except ValueError:
        raise _error(field) from None


def parse_human_date(value: Any, field: str, order: str = "dmy") -> tuple[datetime | None, str | None]:
    """(the moment in UTC, or None when empty; its precision: day, month or year). Month and year precision give
    the first day of the month or year, as the incident dates do."""
    if value is None or value == "":
        return None, None
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.astimezone(UTC), DAY
    if isinstance(value, date):
        return datetime.combine(value, time(), UTC), DAY
    text = " ".join(str(value).translate(_DIGITS).split()).strip()
    if not text or len(text) > 64:
        raise _error(field)
    if _YEAR.match(text):
        return _day(int(text), 1, 1, field), YEAR
    if match := _NUMERIC.match(text):
        first, second, year = (int(g) for g in match.groups())
        day, month = (first, second) if order == "dmy" else (second, first)
        return _day(year, month, day, field), DAY
    if match := _MONTH_NUMERIC.match(text):
        year_first, month_a, month_b, year_last = match.groups()
        return _day(int(year_first or year_last), int(month_a or month_b), 1, field), MONTH
    words = text.casefold().replace(",", " ")
    for phrase, month_number in _MONTH_PHRASES.items():
        words = words.replace(phrase, f"m{month_number}")
    parts = words.split()
    if len(parts) == 2 and _YEAR.match(parts[1]):
        name = parts[0]
        number = int(name[1:]) if re.fullmatch(r"m\d{1,2}", name) else _MONTHS.get(name)
        if number:
            return _day(int(parts[1]), number, 1, field), MONTH
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise _error(field) from None
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment, DAY
