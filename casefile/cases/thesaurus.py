"""Violation types (after the HURIDOCS micro-thesaurus of acts), shipped with the package."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

VIOLATION_TYPES = {
    "killing": _l("Killing"),
    "summary_execution": _l("Summary execution"),
    "torture": _l("Torture"),
    "cruel_treatment": _l("Cruel or inhuman treatment"),
    "enforced_disappearance": _l("Enforced disappearance"),
    "arbitrary_detention": _l("Arbitrary detention"),
    "forced_displacement": _l("Forced displacement"),
    "sexual_violence": _l("Sexual violence"),
    "pillage": _l("Pillage"),
    "destruction_of_property": _l("Destruction of property"),
    "attack_on_civilians": _l("Attack on civilians"),
    "hostage_taking": _l("Hostage taking"),
    "persecution": _l("Persecution"),
    "recruitment_of_children": _l("Recruitment of children"),
    "mass_grave": _l("Mass grave / concealment of bodies"),
}
