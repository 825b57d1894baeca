"""JSON Schemas of provenance in the API: an item's provenance entries and the ProofMode bundle upload."""

from __future__ import annotations

from casefile.api.schemas import UUID, enum_of, nullable, obj, string
from casefile.evidence.models import Classification
from casefile.jobs.schemas import JOB
from casefile.provenance.models import ProvenanceKind, ProvenanceStatus

SIGNED = obj({"what": string(), "sha256": nullable(string()), "outcome": string()})
PROVENANCE = obj(
    {
        "kind": enum_of(ProvenanceKind),
        "status": {
            **enum_of(ProvenanceStatus),
            "description": "verified: every signature and hash holds; untrusted: they hold, but the signer's "
            "certificate is on no trust list configured here (C2PA); failed: a signature or a hash does not hold, or "
            "what it needs is missing (see problems); unreadable: the proof could not be read",
        },
        "intact": {"type": "boolean", "description": "the signatures and hashes hold (verified or untrusted)"},
        "signer": string(description="the certificate's subject and issuer, or the OpenPGP key's user ids"),
        "key": string(description="the OpenPGP key's fingerprint, or the signing certificate's serial number"),
        "signed_at": nullable(string(description="when the signature says it was made (the signer's clock)")),
        "checked_at": nullable(string()),
        "signed": {"type": "array", "items": SIGNED, "description": "what was signed, each with its check"},
        "problems": {"type": "array", "items": string()},
        "details": {
            "type": "object",
            "description": "C2PA: claim generator, actions, ingredients, validation failures; ProofMode: the "
            "bundle, the proof's capture metadata (time, location, network, device), every check, the proof files",
        },
    }
)
PROVENANCE_LIST = {"type": "array", "items": PROVENANCE}

BUNDLE_UPLOAD = {
    "type": "object",
    "properties": {
        "bundle": {"type": "string", "format": "binary", "description": "the ZIP file ProofMode shares"},
        "classification": enum_of(Classification),
        "source": string(maxLength=500),
        "description": string(maxLength=50000),
        "collected_by": string(maxLength=200),
        "collection_place": string(maxLength=300),
        "incident_ids": string(description="comma-separated incident ids of this case"),
    },
    "required": ["bundle"],
}
BUNDLE_ACCEPTED = obj(
    {
        "bundle": obj({"name": string(), "sha256": string(), "media": {"type": "array", "items": string()}}),
        "job_id": UUID,
        "job": JOB,
    }
)
