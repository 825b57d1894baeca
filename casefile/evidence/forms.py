from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    MultipleFileField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional

from casefile import labels
from casefile.evidence.models import Classification, Derivation, EvidenceKind
from casefile.evidence.services import EDITABLE_FIELDS
from casefile.labels import lazy_labels
from casefile.witnesses.services import STATEMENT_FIELDS

KIND_LABELS = lazy_labels(EvidenceKind, labels.EVIDENCE_KIND_LABELS)
CLASSIFICATION_LABELS = lazy_labels(Classification, labels.CLASSIFICATION_LABELS)
# The meaning of each grade is shown wherever a grade is chosen or displayed.
RELIABILITY_LABELS = {
    "A": _l("A – completely reliable"),
    "B": _l("B – usually reliable"),
    "C": _l("C – fairly reliable"),
    "D": _l("D – not usually reliable"),
    "E": _l("E – unreliable"),
    "F": _l("F – reliability cannot be judged"),
}
CREDIBILITY_LABELS = {
    "1": _l("1 – confirmed by other sources"),
    "2": _l("2 – probably true"),
    "3": _l("3 – possibly true"),
    "4": _l("4 – doubtful"),
    "5": _l("5 – improbable"),
    "6": _l("6 – truth cannot be judged"),
}
DERIVATION_LABELS = lazy_labels(Derivation, labels.DERIVATION_LABELS)
# What a person may upload as a derivative; the capture's own kinds are made by the capture.
UPLOADED_DERIVATIONS = (Derivation.TRANSCRIPT, Derivation.TRANSLATION, Derivation.REDACTED, Derivation.WORKING_COPY)


def choices(labels: dict, blank: str | None = None) -> list[SelectChoice]:
    out = [SelectChoice("", blank)] if blank is not None else []
    return out + [SelectChoice(getattr(k, "value", k), v) for k, v in labels.items()]


class EvidenceFieldsForm(FlaskForm):
    kind = SelectField(_l("Kind"), choices=choices(KIND_LABELS, _l("Detect from the file")), validators=[Optional()])
    title = StringField(_l("Title"), validators=[Length(max=300)], description=_l("Leave empty to use the file name."))
    description = TextAreaField(_l("Description"), validators=[Length(max=50000)])
    source = StringField(_l("Source"), validators=[Length(max=500)])
    source_reliability = SelectField(
        _l("Source reliability"), choices=choices(RELIABILITY_LABELS, _l("Not graded")), validators=[Optional()]
    )
    info_credibility = SelectField(
        _l("Information credibility"), choices=choices(CREDIBILITY_LABELS, _l("Not graded")), validators=[Optional()]
    )
    collected_at = DateTimeLocalField(_l("Collected at (UTC)"), validators=[Optional()])
    collected_by = StringField(_l("Collected by"), validators=[Length(max=200)])
    collection_place = StringField(_l("Place of collection"), validators=[Length(max=300)])
    classification = SelectField(
        _l("Classification"), choices=choices(CLASSIFICATION_LABELS), default=Classification.CONFIDENTIAL.value
    )
    graphic = BooleanField(_l("Graphic content (blurred until a viewer chooses to see it)"))

    def service_data(self) -> dict[str, object]:
        return {name: f.data for name, f in self._fields.items() if name in SERVICE_FIELDS}


# The descriptive fields the services accept, plus the interview details of a statement.
SERVICE_FIELDS = {*EDITABLE_FIELDS, *STATEMENT_FIELDS}


class UploadForm(EvidenceFieldsForm):
    file = MultipleFileField(_l("Files"))
    witness_id = SelectField(
        _l("Statement of witness"),
        choices=[],
        validate_choice=False,
        description=_l("Choose a witness to record the files as their testimony."),
    )
    interview_date = DateField(_l("Interview date"), validators=[Optional()])
    interview_place = StringField(_l("Interview place"), validators=[Length(max=300)])
    interviewer = StringField(_l("Interviewer"), validators=[Length(max=200)])
    language = StringField(_l("Language"), validators=[Length(max=100)])
    interpreter = StringField(_l("Interpreter"), validators=[Length(max=200)])
    statement_text = TextAreaField(
        _l("Or type the statement"),
        validators=[Length(max=200_000)],
        description=_l("Instead of a file: recorded as a text file (UTF-8), hashed and numbered like any upload."),
        render_kw={"rows": 8},
    )
    incidents = SelectMultipleField(_l("Incidents"), choices=[], validate_choice=False)
    sha256 = StringField(
        _l("Expected SHA-256 (optional)"),
        validators=[Length(max=64)],
        description=_l("If you computed the hash in the field, the upload must match it."),
    )
    on_duplicate = SelectField(
        _l("If a file is already in this case"),
        choices=[
            SelectChoice("ask", _l("Stop and show me the existing item")),
            SelectChoice("acquisition", _l("Record a new acquisition of the existing item")),
            SelectChoice("copy", _l("Keep it as a separate copy")),
        ],
        default="ask",
    )


class DerivativeForm(EvidenceFieldsForm):
    file = MultipleFileField(_l("File"))
    derivation = SelectField(
        _l("Type of derivative"), choices=choices({d: DERIVATION_LABELS[d] for d in UPLOADED_DERIVATIONS})
    )


class TransferForm(FlaskForm):
    from_party = StringField(_l("From"), validators=[Length(max=500)])
    to_party = StringField(_l("To"), validators=[Length(max=500)])
    purpose = StringField(_l("Purpose"), validators=[Length(max=500)])
    location = StringField(_l("Location"), validators=[Length(max=500)])
    note = StringField(_l("Note"), validators=[Length(max=500)])
