"""XForms from XLSForms (pyxform): the field report Casefile ships and a case's own forms, with the version and the
encryption key Casefile sets, and the media a form may ask phones to download."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import re
from dataclasses import dataclass
from pathlib import Path

from flask_babel import gettext as _
from pyxform.builder import create_survey_element_from_dict
from pyxform.errors import PyXFormError
from pyxform.xls2json import workbook_to_json
from pyxform.xls2json_backends import get_xlsform

from casefile.errors import ValidationFailed

STANDARD_FORM = Path(__file__).with_name("field_report.md")
# The one media file a form may ask for: the case's incidents, made when a phone asks (so it is never stale).
INCIDENTS_CSV = "incidents.csv"
MAX_XLSFORM_BYTES = 5 << 20
XLSFORM_TYPES = {".xlsx": ".xlsx", ".xls": ".xls", ".csv": ".csv", ".md": ".md"}
_MEDIA = re.compile(r"jr://(?:file|file-csv|images|audio|video)/([^\"'<\s]+)")
_SAFE_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,99}$")


@dataclass(frozen=True)
class XForm:
    form_id: str
    version: str
    title: str
    xml: str
    media: tuple[str, ...]


def build(source: bytes, file_type: str, *, version: str, public_key: str | None) -> XForm:
    """The XForm of an XLSForm, with `version` where the XLSForm sets none and the encryption key Casefile holds
    the private half of (any key in the XLSForm is replaced: nobody else may hold the means to read submissions).
    ValidationFailed (field `xlsform`) with pyxform's own words for a form it cannot convert."""
    try:
        workbook = get_xlsform(xlsform=source, file_type=file_type)
        settings = workbook.settings[0] if workbook.settings else {}
        if not workbook.settings:
            workbook.settings = [settings]
        settings["version"] = str(settings.get("version") or version)
        settings.pop("public_key", None)
        settings.pop("submission_url", None)  # phones send to the case's own address
        if public_key:
            settings["public_key"] = public_key
        workbook.settings_header = [{name: name for name in settings}]
        warnings: list[str] = []
        data = workbook_to_json(
            workbook_dict=workbook,
            form_name="data",
            fallback_form_name=workbook.fallback_form_name,
            warnings=warnings,
        )
        survey = create_survey_element_from_dict(data)
        xml = survey.to_xml(warnings=warnings)
    except PyXFormError as error:
        raise ValidationFailed(
            _("The XLSForm cannot be converted: %(error)s", error=str(error)[:500]), field="xlsform"
        ) from None
    except (ValueError, KeyError, TypeError, OSError) as error:  # a file that is no spreadsheet at all
        raise ValidationFailed(
            _("The XLSForm cannot be read: %(error)s", error=str(error)[:300]), field="xlsform"
        ) from None
    form_id = str(survey.id_string or "")
    if not _SAFE_ID.match(form_id):
        raise ValidationFailed(_("The form id must be letters, digits, _ . or - (at most 100)."), field="xlsform")
    media = tuple(sorted(set(_MEDIA.findall(xml))))
    unknown = [name for name in media if name != INCIDENTS_CSV]
    if unknown:
        raise ValidationFailed(
            _(
                "The form asks phones for files Casefile does not serve (%(names)s): it can offer only %(ours)s, the "
                "case's incidents.",
                names=", ".join(unknown),
                ours=INCIDENTS_CSV,
            ),
            field="xlsform",
        )
    title = str(survey.title or form_id)[:300]
    return XForm(form_id, str(survey.version)[:50], title, xml, media)


def standard(version: str, public_key: str | None) -> XForm:
    return build(STANDARD_FORM.read_bytes(), ".md", version=version, public_key=public_key)


def file_type_of(name: str) -> str:
    suffix = Path(name or "").suffix.lower()
    if suffix not in XLSFORM_TYPES:
        raise ValidationFailed(_("Send the XLSForm as .xlsx, .xls, .csv or .md."), field="xlsform")
    return XLSFORM_TYPES[suffix]


def incidents_csv(incidents: list[tuple[str, str]]) -> bytes:
    """The case's incidents as the choice list of `select_one_from_file incidents.csv` (name, label)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("name", "label"))
    for incident_id, title in incidents:
        writer.writerow((incident_id, title))
    return out.getvalue().encode("utf-8")


def md5_hash(data: bytes | str) -> str:
    """OpenRosa's hash of a form or media file: `md5:` and the hex digest (a change detector, not security)."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return "md5:" + hashlib.md5(raw, usedforsecurity=False).hexdigest()


def public_key_b64(der: bytes) -> str:
    return base64.b64encode(der).decode("ascii")
