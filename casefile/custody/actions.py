"""The custody actions. Stored as plain strings inside hashed entries: never rename one."""

from __future__ import annotations

import enum


class Action(enum.StrEnum):
    INGESTED = "ingested"
    VIEWED = "viewed"
    DOWNLOADED = "downloaded"
    METADATA_CHANGED = "metadata_changed"
    LINKED = "linked"
    UNLINKED = "unlinked"
    TRANSFERRED = "transferred"
    DERIVATIVE_CREATED = "derivative_created"
    EXPORTED = "exported"
    FIXITY_VERIFIED = "fixity_verified"
    FIXITY_FAILED = "fixity_failed"
    IDENTITY_REVEALED = "identity_revealed"
    NOTE = "note"
    CHECKPOINT = "checkpoint"
    ACTORS_MERGED = "actors_merged"
    # A witness consent decision: what a dossier may contain rests on it, so the register is in the ledger too.
    CONSENT_RECORDED = "consent_recorded"
    # How a download that began with a `downloaded` entry ended: every byte sent, or cut off (bytes sent named).
    DOWNLOAD_COMPLETED = "download_completed"
    DOWNLOAD_ABORTED = "download_aborted"
    # The same file arrived again (same SHA-256) and was recorded on the existing item: from whom, when, how.
    ACQUISITION_RECORDED = "acquisition_recorded"
    # A person decided whether two near-duplicate images are the same image (written on both items).
    SIMILARITY_DECIDED = "similarity_decided"
    # A web page was captured: on the WACZ item, with the SHA-256 of the capture's manifest (what TSAs timestamp).
    CAPTURED = "captured"
    # A second legal member approved a built dossier's release (case-level, naming the dossier and its SHA-256).
    RELEASE_APPROVED = "release_approved"
    # A phone's submission arrived complete (case-level, naming every file's SHA-256 as received), and how its
    # review ended when it was rejected (accepted files get their own `ingested` entries, naming the submission).
    SUBMISSION_RECEIVED = "submission_received"
    SUBMISSION_REJECTED = "submission_rejected"
    # Verification (casefile/verification): a check of the item recorded, and its status changed.
    VERIFICATION_CHECKED = "verification_checked"
    VERIFICATION_STATUS_CHANGED = "verification_status_changed"
