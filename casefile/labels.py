"""Words for the codes stored in custody entries, as message ids: the pages translate them with Flask-Babel, the
dossier PDF (rendered outside a request, in the dossier's language) with the dossier's catalogue. One list for both.
"""

from __future__ import annotations


def N_(message: str) -> str:
    return message


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
