"""The import wizard's first step: what is imported, the files, and how dates are written."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from wtforms import FileField, SelectField
from wtforms.fields.choices import SelectChoice

MANIFEST_COLUMNS = {
    "files": (
        "file",
        "title",
        "kind",
        "description",
        "collected_at",
        "collected_by",
        "source",
        "classification",
        "incidents",
        "witness",
        "sha256",
    ),
    "incidents": ("title", "start_date", "end_date", "place_name", "latitude", "longitude", "violation_types"),
    "actors": ("kind", "name", "aliases"),
}


class _ManifestHelp:
    """The manifest's columns inside the translated sentence, as what they are: names to type as they are
    (``<code dir="ltr">``), in any language of the page."""

    def __html__(self) -> str:
        columns = {
            key: Markup('<code dir="ltr">{}</code>').format(", ".join(names)) for key, names in MANIFEST_COLUMNS.items()
        }
        sentence = _(
            "One row per file, with the columns %(files)s. Incidents: %(incidents)s. Actors: %(actors)s (aliases "
            "separated by ;)."
        )
        return str(escape(sentence) % columns)

    def __str__(self) -> str:
        return self.__html__()


class ImportForm(FlaskForm):
    kind = SelectField(
        _l("What to import"),
        choices=[
            SelectChoice("evidence", _l("Evidence files (a ZIP, with a manifest)")),
            SelectChoice("incidents", _l("Incidents (a spreadsheet)")),
            SelectChoice("actors", _l("Actors and their aliases (a spreadsheet)")),
        ],
        default="evidence",
    )
    archive = FileField(
        _l("ZIP archive of the files"),
        description=_l("Evidence only. It may carry its own manifest.csv or manifest.xlsx at its top level."),
    )
    manifest = FileField(
        _l("Manifest (CSV or XLSX)"),
        description=_ManifestHelp(),
    )
    date_order = SelectField(
        _l("Dates like 12/06/2020 are"),
        choices=[SelectChoice("dmy", _l("day/month/year")), SelectChoice("mdy", _l("month/day/year"))],
        default="dmy",
    )


class ExportForm(FlaskForm):
    format = SelectField(
        _l("Format"),
        choices=[
            SelectChoice("xlsx", _l("Excel workbook (XLSX), a sheet per table")),
            SelectChoice("csv", _l("CSV files (a ZIP)")),
        ],
        default="xlsx",
    )
    max_classification = SelectField(
        _l("Include evidence classified up to"),
        choices=[
            SelectChoice("public", _l("Public")),
            SelectChoice("confidential", _l("Confidential")),
            SelectChoice("under_seal", _l("Under seal")),
            SelectChoice("secret", _l("Secret")),
        ],
        default="confidential",
    )
