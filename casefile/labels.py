"""Words for stored codes (custody actions and detail keys, link targets, and the values of fields: relations,
degrees, classifications, consent purposes…), as message ids: the pages translate them with Flask-Babel (the forms'
`lazy_labels` copies, the `label` template filter), the dossier PDF (rendered outside a request, in the dossier's
language) with the dossier's catalogue. One list for both.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

from flask_babel import LazyString, get_locale, gettext, lazy_gettext

K = TypeVar("K")


def N_(message: str) -> str:
    return message


def lazy_labels(kind: Callable[[str], K], words: dict[str, str]) -> dict[K, LazyString]:
    """The pages' copy of a word list: keyed by the enum, each word translated when shown."""
    return {kind(code): lazy_gettext(word) for code, word in words.items()}


# The keys of custody entries' details (a key without one is shown as it is).
DETAIL_LABELS = {
    "ern": N_("ERN"),
    "size": N_("Size (bytes)"),
    "media_type": N_("Media type"),
    "original_filename": N_("Original file name"),
    "declared_sha256": N_("Declared SHA-256"),
    "metadata_status": N_("Metadata"),
    "incidents": N_("Incidents"),
    "parent": N_("Derived from"),
    "derivation": N_("Derivation"),
    "derivative": N_("Derivative"),
    "copy_of": N_("Copy of"),
    "import": N_("Import"),
    "import_row": N_("Import row"),
    "resumable_upload": N_("Resumable upload"),
    "proofmode_bundle": N_("ProofMode bundle"),
    "proofmode_bundle_sha256": N_("Bundle SHA-256"),
    "key_fingerprint": N_("Signing key fingerprint"),
    "proofmode_verification": N_("ProofMode verification"),
    "proofmode_problems": N_("Verification problems"),
    "source": N_("Source"),
    "collected_at": N_("Collected at"),
    "collected_by": N_("Collected by"),
    "collection_place": N_("Collection place"),
    "via": N_("Through"),
    "other": N_("Other item"),
    "decision": N_("Decision"),
    "dossier": N_("Dossier"),
    "export": N_("Export"),
    "reason": N_("Reason"),
    "from": N_("From"),
    "to": N_("To"),
    "check": N_("Check"),
    "phase": N_("Phase"),
    "area": N_("What was checked"),
    "outcome": N_("Outcome"),
    "method": N_("Method"),
    "notes": N_("Notes"),
    "purpose": N_("Purpose"),
    "changes": N_("Changes"),
    "job": N_("Job"),
    "element": N_("Element"),
    "stance": N_("Stance"),
    "note": N_("Note"),
    "target_type": N_("Linked to"),
    "profile": N_("Profile"),
    "dossier_sha256": N_("Dossier SHA-256"),
    "capture": N_("Web capture"),
    "url": N_("Address"),
    "final_url": N_("Final address"),
    "manifest_sha256": N_("Manifest SHA-256"),
    "target_id": N_("Linked object (id)"),
    # The fields of a description change (metadata_changed: changes), shown as before → after.
    "title": N_("Title"),
    "description": N_("Description"),
    "source_reliability": N_("Source reliability"),
    "info_credibility": N_("Information credibility"),
    "classification": N_("Classification"),
    "graphic": N_("Graphic content"),
    "kind": N_("Kind"),
}
# Which word list names the values of a changed field (changes of metadata_changed); other values are shown as stored.
CHANGED_VALUE_WORDS = {"classification": "classification", "kind": "evidence_kind"}
# Which word list names the value of a custody detail (a code stored in the entry); a value the list has no word
# for (a transfer's free-text "from", "to" or "purpose") is shown as stored.
DETAIL_VALUE_WORDS = {
    "via": "via",
    "metadata_status": "metadata_status",
    "derivation": "derivation",
    "kind": "evidence_kind",
    "classification": "classification",
    "area": "check_area",
    "outcome": "check_outcome",
    "phase": "verification_phase",
    "purpose": "consent_purpose",
    "decision": "similarity_decision",
    "from": "verification_status",
    "to": "verification_status",
    "profile": "dossier_profile",
}

# What was done, in words (custody actions are stored as codes: casefile.custody.actions).
ACTION_LABELS = {
    "ingested": N_("recorded (ingested)"),
    "viewed": N_("viewed"),
    "downloaded": N_("downloaded"),
    "metadata_changed": N_("description changed"),
    "linked": N_("linked"),
    "unlinked": N_("unlinked"),
    "transferred": N_("transferred"),
    "derivative_created": N_("derivative made"),
    "exported": N_("exported"),
    "fixity_verified": N_("integrity verified"),
    "fixity_failed": N_("integrity check FAILED"),
    "identity_revealed": N_("identity revealed"),
    "note": N_("note"),
    "checkpoint": N_("checkpoint"),
    "actors_merged": N_("actors merged"),
    "consent_recorded": N_("consent recorded"),
    "download_completed": N_("download completed"),
    "download_aborted": N_("download cut off"),
    "acquisition_recorded": N_("acquired again"),
    "similarity_decided": N_("near-duplicate decided"),
    "captured": N_("web page captured"),
    "release_approved": N_("release approved"),
    "submission_received": N_("field submission received"),
    "submission_rejected": N_("field submission rejected"),
    "verification_checked": N_("verification check recorded"),
    "verification_status_changed": N_("verification status changed"),
}
# Link targets (EvidenceLink.target_type), in words.
TARGET_LABELS = {
    "incident": N_("incident"),
    "actor": N_("actor"),
    "actor_relation": N_("relation between actors"),
    "involvement": N_("involvement in an incident"),
    "charge_element": N_("element of a charge"),
    "witness": N_("witness"),
}

# The values of the case file's own fields, in words: the pages show them through the forms' lazy copies
# (casefile/*/forms.py), the dossier PDF through its language's catalogue.
ACTOR_KIND_LABELS = {
    "person": N_("Person"),
    "organisation": N_("Organisation"),
    "armed_group": N_("Armed group"),
    "unit": N_("Unit"),
    "state_body": N_("State body"),
}
RELATION_LABELS = {
    "commands": N_("commands"),
    "superior_of": N_("is superior of"),
    "member_of": N_("is member of"),
    "subordinate_unit_of": N_("is a subordinate unit of"),
    "affiliated_with": N_("is affiliated with"),
    "allied_with": N_("is allied with"),
    "supplies": N_("supplies"),
    "finances": N_("finances"),
}
DEGREE_LABELS = {
    "direct_perpetrator": N_("Direct perpetrator"),
    "gave_orders": N_("Gave orders"),
    "planned": N_("Planned"),
    "instigated": N_("Instigated"),
    "aided": N_("Aided or abetted"),
    "contributed_to_common_purpose": N_("Contributed to a common purpose"),
    "failed_to_prevent": N_("Failed to prevent"),
    "failed_to_punish": N_("Failed to punish"),
}
INVOLVEMENT_STATUS_LABELS = {"alleged": N_("Alleged"), "suspected": N_("Suspected"), "established": N_("Established")}
CONFIDENCE_LABELS = {"low": N_("Low"), "medium": N_("Medium"), "high": N_("High")}
EVIDENCE_KIND_LABELS = {
    "testimony": N_("Testimony"),
    "photo": N_("Photo"),
    "video": N_("Video"),
    "audio": N_("Audio"),
    "document": N_("Document"),
    "report": N_("Report"),
    "open_source_capture": N_("Open-source capture"),
    "forensic_report": N_("Forensic report"),
    "physical_item_record": N_("Physical item record"),
    "other": N_("Other"),
}
CLASSIFICATION_LABELS = {
    "public": N_("Public"),
    "confidential": N_("Confidential"),
    "under_seal": N_("Under seal"),
    "secret": N_("Secret"),
}
DERIVATION_LABELS = {
    "transcript": N_("Transcript"),
    "translation": N_("Translation"),
    "redacted_copy": N_("Redacted copy"),
    "working_copy": N_("Working copy"),
    "screenshot": N_("Full-page screenshot"),
    "page_print": N_("PDF print of the page"),
    "page_media": N_("Media from the page"),
    "proof_file": N_("Proof file (ProofMode bundle)"),
}
CONSENT_PURPOSE_LABELS = {
    "internal_analysis": N_("Internal analysis"),
    "share_icc": N_("Sharing with the ICC"),
    "share_un": N_("Sharing with UN bodies"),
    "share_sanctions": N_("Sharing with sanctions authorities"),
    "publication": N_("Publication"),
}
LOCATION_PRECISION_LABELS = {
    "exact": N_("Exact"),
    "vicinity": N_("Vicinity"),
    "locality": N_("Locality (town or village)"),
    "unknown": N_("Unknown"),
}
STANCE_LABELS = {"supports": N_("Supports"), "contradicts": N_("Contradicts"), "context": N_("Context")}
# Provenance (casefile/provenance): C2PA Content Credentials and ProofMode proofs.
PROVENANCE_KIND_LABELS = {"c2pa": N_("C2PA Content Credentials"), "proofmode": N_("ProofMode proof")}
PROVENANCE_STATUS_LABELS = {
    "verified": N_("Verifies"),
    "untrusted": N_("Intact, but the signer is not on a trust list here"),
    "failed": N_("Does not verify"),
    "unreadable": N_("Could not be read"),
}
PROVENANCE_OUTCOME_LABELS = {
    "ok": N_("verifies"),
    "missing": N_("missing"),
    "mismatch": N_("does not match"),
    "unreadable": N_("unreadable"),
    "not_checked": N_("not checked"),
    "signature_invalid": N_("does not verify"),
    "other_key": N_("made by another key"),
    "key_unusable": N_("key unusable"),
    "unsupported": N_("not checked (kind of signature)"),
}
# C2PA's standard actions (c2pa.actions assertion); an action without a word is shown as its code.
C2PA_ACTION_LABELS = {
    "c2pa.created": N_("Created"),
    "c2pa.opened": N_("Opened"),
    "c2pa.edited": N_("Edited"),
    "c2pa.edited.metadata": N_("Metadata edited"),
    "c2pa.cropped": N_("Cropped"),
    "c2pa.resized": N_("Resized"),
    "c2pa.color_adjustments": N_("Colour adjusted"),
    "c2pa.filtered": N_("Filtered"),
    "c2pa.drawing": N_("Drawn on"),
    "c2pa.placed": N_("Placed into"),
    "c2pa.removed": N_("Something removed"),
    "c2pa.redacted": N_("Redacted"),
    "c2pa.converted": N_("Converted"),
    "c2pa.transcoded": N_("Transcoded"),
    "c2pa.repackaged": N_("Repackaged"),
    "c2pa.published": N_("Published"),
    "c2pa.orientation": N_("Rotated or flipped"),
}

# Each list by the name templates give it: {{ code|label("relation") }} on the pages and in the dossier PDF.
# Verification (casefile/verification): statuses, what a check looked at, its outcome, the protocol's phases.
VERIFICATION_STATUS_LABELS = {
    "new": N_("new"),
    "in_verification": N_("in verification"),
    "verified": N_("verified"),
    "disputed": N_("disputed"),
    "unverifiable": N_("unverifiable"),
}
CHECK_AREA_LABELS = {
    "source": N_("Source (who made it, how it reached us)"),
    "metadata": N_("Metadata (EXIF, file properties)"),
    "provenance": N_("Provenance (signatures, content credentials)"),
    "duplicates": N_("Duplicates and earlier copies"),
    "geolocation": N_("Geolocation (where)"),
    "chronolocation": N_("Chronolocation (when)"),
    "identification": N_("Identification (who, which unit, which vehicle)"),
}
CHECK_OUTCOME_LABELS = {
    "confirmed": N_("confirmed"),
    "inconclusive": N_("inconclusive"),
    "contradicted": N_("contradicted"),
}
VERIFICATION_PHASE_LABELS = {
    "source_analysis": N_("Source analysis"),
    "technical_analysis": N_("Technical analysis"),
    "content_analysis": N_("Content analysis"),
}
# How an item was read (custody entries viewed / downloaded: details "via").
VIA_LABELS = {
    "page": N_("on its page"),
    "api": N_("through the API"),
    "preview": N_("in its preview"),
    "search": N_("an excerpt of its text in search results"),
}
# What reading a file's metadata gave (EvidenceItem.metadata_status).
METADATA_STATUS_LABELS = {
    "ok": N_("read"),
    "none": N_("none in this kind of file"),
    "damaged": N_("damaged"),
    "unreadable": N_("unreadable"),
    "pending": N_("being read"),
}
# A near-duplicate decision as the ledger records it (casefile/evidence/similar.py).
SIMILARITY_DECISION_LABELS = {"same image": N_("same image"), "different images": N_("different images")}
# How precisely an incident's date and place are known.
DATE_PRECISION_LABELS = {
    "day": N_("to the day"),
    "month": N_("to the month"),
    "year": N_("to the year"),
    "approximate": N_("approximate"),
}
# Violation types (after the HURIDOCS micro-thesaurus of acts): casefile.cases.thesaurus.VIOLATION_TYPES.
VIOLATION_TYPE_LABELS = {
    "killing": N_("Killing"),
    "summary_execution": N_("Summary execution"),
    "torture": N_("Torture"),
    "cruel_treatment": N_("Cruel or inhuman treatment"),
    "enforced_disappearance": N_("Enforced disappearance"),
    "arbitrary_detention": N_("Arbitrary detention"),
    "forced_displacement": N_("Forced displacement"),
    "sexual_violence": N_("Sexual violence"),
    "pillage": N_("Pillage"),
    "destruction_of_property": N_("Destruction of property"),
    "attack_on_civilians": N_("Attack on civilians"),
    "hostage_taking": N_("Hostage taking"),
    "persecution": N_("Persecution"),
    "recruitment_of_children": N_("Recruitment of children"),
    "mass_grave": N_("Mass grave / concealment of bodies"),
}
# Dossier profiles (casefile/dossier/profiles/*.yaml): their names, and the sections they put in a dossier.
DOSSIER_PROFILE_LABELS = {
    "icc-otp-art15": N_("ICC Office of the Prosecutor — article 15 communication"),
    "un-panel-libya": N_("UN Security Council Libya sanctions (resolution 1970 (2011)) — submission"),
    "us-treasury-glomag": N_("US Treasury (OFAC) — Global Magnitsky submission"),
    "eu-ghr": N_("EU global human rights sanctions — listing proposal"),
    "generic": N_("Generic evidence dossier"),
}
DOSSIER_RECIPIENT_LABELS = {
    "icc-otp-art15": N_("Office of the Prosecutor, International Criminal Court"),
    "un-panel-libya": N_(
        "Security Council Committee established pursuant to resolution 1970 (2011) concerning Libya, and its Panel of "
        "Experts"
    ),
    "us-treasury-glomag": N_("Office of Foreign Assets Control, US Department of the Treasury"),
    "eu-ghr": N_("European External Action Service / Council of the European Union"),
}
# The groups of a charge's element-proof matrix (casefile.legal.services.ElementRow.group).
ELEMENT_GROUP_LABELS = {
    "contextual": N_("contextual element"),
    "offence": N_("element of the offence"),
    "mode": N_("element of the mode of liability"),
}
# Said wherever the legal catalogue is shown in Arabic (pages and dossier PDF): casefile/legal/catalogue.py.
CATALOGUE_TRANSLATION_NOTICE = N_(
    "The Arabic texts of the legal catalogue (crimes, criteria, modes of liability and their elements) are "
    "Casefile's working translation, not the official Arabic text of the Rome Statute, the Elements of Crimes or "
    "the sanctions instruments: check them against the official Arabic versions before relying on them."
)
# Roles (global and in a case).
ROLE_LABELS = {
    "admin": N_("admin"),
    "investigator": N_("investigator"),
    "legal": N_("legal"),
    "reviewer": N_("reviewer"),
}
# The audit log's events and the keys of their details (casefile/auth/audit.py), in words.
AUDIT_EVENT_LABELS = {
    "login_success": N_("logged in"),
    "login_failure": N_("login failed"),
    "login_throttled": N_("logins throttled"),
    "logout": N_("logged out"),
    "logout_everywhere": N_("logged out everywhere"),
    "session_expired": N_("session expired"),
    "password_changed": N_("password changed"),
    "password_reset": N_("password reset by an administrator"),
    "second_factor_enabled": N_("second factor set up"),
    "second_factor_disabled": N_("second factor turned off"),
    "second_factor_failure": N_("second factor refused"),
    "recovery_code_used": N_("recovery code used"),
    "token_created": N_("API token made"),
    "token_revoked": N_("API token revoked"),
    "token_rejected": N_("invalid API token"),
    "token_throttled": N_("API tokens throttled"),
    "user_created": N_("account made"),
    "user_deactivated": N_("account deactivated"),
    "user_reactivated": N_("account reactivated"),
    "role_changed": N_("role changed"),
    "membership_added": N_("added to a case"),
    "membership_changed": N_("membership changed"),
    "membership_removed": N_("removed from a case"),
    "settings_changed": N_("security settings changed"),
}
AUDIT_DETAIL_LABELS = {
    "case": N_("Case"),
    "role": N_("Role"),
    "can_view_identities": N_("May see protected identities"),
    "lead": N_("Case lead"),
    "before": N_("Before"),
    "reason": N_("Reason"),
    "failures_per_minute": N_("Failures per minute"),
    "name": N_("Name"),
    "token": N_("Token"),
    "remaining": N_("Recovery codes left"),
    "recovery": N_("With a recovery code"),
    "second_factor_required_roles": N_("Roles that must use a second factor"),
    "second_factor_identity_viewers": N_("Identity viewers must use a second factor"),
}
# The case activity feed (casefile/activity): what was changed, how, and the fields it shows before and after.
ACTIVITY_SUBJECT_LABELS = {
    "case": N_("case"),
    "incident": N_("incident"),
    "actor": N_("actor"),
    "relation": N_("relation between actors"),
    "involvement": N_("involvement in an incident"),
    "charge": N_("charge"),
    "evidence": N_("evidence item"),
    "link": N_("link of evidence"),
    "witness": N_("witness"),
    "member": N_("member"),
    "assignment": N_("work"),
    "comment": N_("comment"),
    "dossier": N_("dossier"),
}
ACTIVITY_ACTION_LABELS = {"created": N_("added"), "changed": N_("changed"), "removed": N_("removed")}
ACTIVITY_FIELD_LABELS = {
    "title": N_("Title"),
    "summary": N_("Summary"),
    "situation": N_("Situation"),
    "status": N_("Status"),
    "description": N_("Description"),
    "start_date": N_("Start date"),
    "end_date": N_("End date"),
    "date_precision": N_("Date precision"),
    "place_name": N_("Place"),
    "latitude": N_("Latitude"),
    "longitude": N_("Longitude"),
    "location_precision": N_("Location precision"),
    "violation_types": N_("Violation types"),
    "victim_count": N_("Number of victims"),
    "victim_count_source": N_("Source of the number of victims"),
    "kind": N_("Kind"),
    "name": N_("Name"),
    "aliases": N_("Aliases"),
    "date_of_birth": N_("Date of birth"),
    "place_of_birth": N_("Place of birth"),
    "nationality": N_("Nationality"),
    "identifiers": N_("Identifiers"),
    "merged_into": N_("Merged into"),
    "relation": N_("Relation"),
    "source_actor": N_("From"),
    "target_actor": N_("To"),
    "valid_from": N_("Valid from"),
    "valid_to": N_("Valid to"),
    "confidence": N_("Confidence"),
    "note": N_("Note"),
    "degree": N_("Degree"),
    "mode_of_liability": N_("Mode of liability"),
    "actor": N_("Actor"),
    "incident": N_("Incident"),
    "suspect": N_("Suspect"),
    "offence_code": N_("Offence or criterion"),
    "mode_code": N_("Mode of liability"),
    "source": N_("Source"),
    "source_reliability": N_("Source reliability"),
    "info_credibility": N_("Information credibility"),
    "collected_at": N_("Collected at"),
    "collected_precision": N_("Precision of the collection time"),
    "collected_by": N_("Collected by"),
    "collection_place": N_("Collection place"),
    "classification": N_("Classification"),
    "graphic": N_("Graphic content"),
    "verification_status": N_("Verification status"),
    "target_type": N_("Concerns"),
    "element_code": N_("Element"),
    "stance": N_("Stance"),
    "code": N_("Pseudonym"),
    "risk_level": N_("Risk"),
    "role": N_("Role"),
    "can_view_identities": N_("May see protected identities"),
    "is_lead": N_("Case lead"),
    "assignee": N_("Given to"),
    "due_on": N_("Due"),
    "done_at": N_("Done at"),
    "body": N_("Text"),
    "profile": N_("Profile"),
    "error": N_("Error"),
    "approved_by": N_("Approved by"),
}
CASE_STATUS_LABELS = {"open": N_("open"), "referred": N_("referred"), "closed": N_("closed")}
RISK_LEVEL_LABELS = {"low": N_("Low"), "medium": N_("Medium"), "high": N_("High"), "extreme": N_("Extreme")}
DOSSIER_STATUS_LABELS = {"building": N_("being built"), "ready": N_("ready"), "failed": N_("failed")}
WORDS = {
    "action": ACTION_LABELS,
    "target": TARGET_LABELS,
    "actor_kind": ACTOR_KIND_LABELS,
    "relation": RELATION_LABELS,
    "degree": DEGREE_LABELS,
    "involvement_status": INVOLVEMENT_STATUS_LABELS,
    "confidence": CONFIDENCE_LABELS,
    "evidence_kind": EVIDENCE_KIND_LABELS,
    "classification": CLASSIFICATION_LABELS,
    "derivation": DERIVATION_LABELS,
    "consent_purpose": CONSENT_PURPOSE_LABELS,
    "stance": STANCE_LABELS,
    "location_precision": LOCATION_PRECISION_LABELS,
    "provenance_kind": PROVENANCE_KIND_LABELS,
    "provenance_status": PROVENANCE_STATUS_LABELS,
    "provenance_outcome": PROVENANCE_OUTCOME_LABELS,
    "c2pa_action": C2PA_ACTION_LABELS,
    "audit_event": AUDIT_EVENT_LABELS,
    "verification_status": VERIFICATION_STATUS_LABELS,
    "check_area": CHECK_AREA_LABELS,
    "check_outcome": CHECK_OUTCOME_LABELS,
    "verification_phase": VERIFICATION_PHASE_LABELS,
    "role": ROLE_LABELS,
    "audit_detail": AUDIT_DETAIL_LABELS,
    "via": VIA_LABELS,
    "metadata_status": METADATA_STATUS_LABELS,
    "similarity_decision": SIMILARITY_DECISION_LABELS,
    "date_precision": DATE_PRECISION_LABELS,
    "violation_type": VIOLATION_TYPE_LABELS,
    "dossier_profile": DOSSIER_PROFILE_LABELS,
    "element_group": ELEMENT_GROUP_LABELS,
    "activity_subject": ACTIVITY_SUBJECT_LABELS,
    "activity_action": ACTIVITY_ACTION_LABELS,
    "activity_field": ACTIVITY_FIELD_LABELS,
    "case_status": CASE_STATUS_LABELS,
    "risk_level": RISK_LEVEL_LABELS,
    "dossier_status": DOSSIER_STATUS_LABELS,
}


class _Profile(Protocol):
    @property
    def code(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def recipient(self) -> str: ...


def profile_title(profile: _Profile) -> str:
    """A dossier profile's name on the pages (``{{ profile|profile_title }}``)."""
    return profile_words(profile.code, profile.title, profile.recipient, gettext)[0]


class _CatalogueItem(Protocol):
    def localised(self, name: str, language: str) -> str: ...


# Languages written right to left (the pages' direction, the charts' layout).
RTL_LANGUAGES = frozenset({"ar"})


def current_language() -> str:
    """The language of the page being made ("en" outside a request: the CLI, jobs)."""
    locale = get_locale()
    return str(locale) if locale is not None else "en"


def catalogue_text(item: _CatalogueItem, name: str, language: str | None = None) -> str:
    """A legal catalogue item's ``title``/``text``/``reference``/``note`` in the page's (or the given) language:
    the Arabic of casefile/legal/catalogue/*.ar.yaml, English elsewhere (``{{ offence|legal('title') }}``)."""
    return item.localised(name, language or current_language())


def profile_words(code: str, title: str, recipient: str, translate: Callable[[str], str]) -> tuple[str, str]:
    """A dossier profile's title and recipient in words: the shipped profiles' from the lists above (translated),
    a profile added to config/dossier_profiles/ with its own YAML texts."""
    shown_title = translate(DOSSIER_PROFILE_LABELS[code]) if code in DOSSIER_PROFILE_LABELS else title
    shown_recipient = translate(DOSSIER_RECIPIENT_LABELS[code]) if code in DOSSIER_RECIPIENT_LABELS else recipient
    return shown_title, shown_recipient


def word_for(code: object, kind: str, translate: Callable[[str], str]) -> str:
    """A stored code in words (translated), or the code itself when the list has no word for it."""
    text = str(code or "")
    word = WORDS[kind].get(text)
    return translate(word) if word else text
