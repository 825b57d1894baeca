"""The ProofMode bundle form: the ZIP and the few facts that describe its media."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import FileField, SelectField, StringField, TextAreaField
from wtforms.validators import Length

from casefile.evidence.forms import CLASSIFICATION_LABELS, choices
from casefile.evidence.models import Classification


class BundleForm(FlaskForm):
    bundle = FileField(
        _l("ProofMode bundle (ZIP)"),
        description=_l("The ZIP file ProofMode shares: the photos or videos with their proof, signatures and key."),
    )
    classification = SelectField(
        _l("Classification"), choices=choices(CLASSIFICATION_LABELS), default=Classification.CONFIDENTIAL.value
    )
    source = StringField(_l("Source"), validators=[Length(max=500)])
    collected_by = StringField(_l("Collected by"), validators=[Length(max=200)])
    description = TextAreaField(_l("Description"), validators=[Length(max=50000)])

    def service_data(self) -> dict[str, object]:
        return {
            "classification": self.classification.data,
            "source": self.source.data,
            "collected_by": self.collected_by.data,
            "description": self.description.data,
        }
