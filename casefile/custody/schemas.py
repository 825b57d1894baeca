"""JSON Schemas of custody entries, hand-overs and verification reports in the API."""

from __future__ import annotations

from typing import Any

from casefile.api.schemas import DATETIME, UUID, nullable, obj, string

CUSTODY_ENTRY = obj(
    {
        "seq": {"type": "integer"},
        "at": DATETIME,
        "actor": string(),
        "action": string(),
        "case_id": nullable(UUID),
        "evidence_id": nullable(UUID),
        "sha256": nullable(string()),
        "details": {"type": "object"},
        "prev_hash": string(),
        "entry_hash": string(),
    }
)

TRANSFER_CREATE: dict[str, Any] = {
    "type": "object",
    "properties": {
        "from_party": string(minLength=1, maxLength=500),
        "to_party": string(minLength=1, maxLength=500),
        "purpose": string(minLength=1, maxLength=500),
        "location": string(maxLength=500),
        "note": string(maxLength=500),
    },
    "required": ["from_party", "to_party", "purpose"],
    "additionalProperties": False,
}

PROBLEM: dict[str, Any] = {
    "type": "object",
    "properties": {
        "kind": string(),
        "message": string(),
        "seq": nullable({"type": "integer"}),
        "ern": nullable(string()),
        "expected": nullable(string()),
        "found": nullable(string()),
    },
    "required": ["kind", "message"],
}

VERIFY_REPORT = obj(
    {
        "ok": {"type": "boolean"},
        "checked": {"type": "integer"},
        "items_checked": {"type": "integer"},
        "checkpoints_checked": {"type": "integer"},
        "published_checked": {"type": "integer"},
        "problems": {"type": "array", "items": PROBLEM},
    }
)

SIGNED_TREE_HEAD = obj(
    {
        "tree_size": {"type": "integer"},
        "root_hash": string(),
        "timestamp": string(),
        "signature": string(description="base64 Ed25519 signature over the canonical JSON of the head"),
        "key_id": string(description="hex SHA-256 of the signer's DER SubjectPublicKeyInfo"),
    }
)

PUBLISHED_TREE_HEAD = obj(
    {
        "type": string(),
        "checkpoint_id": {"type": "integer"},
        "reason": string(),
        "tree_head": SIGNED_TREE_HEAD,
        "public_key": string(description="PEM of the instance's Ed25519 public key"),
    }
)

CONSISTENCY_PROOF = obj(
    {
        "first": {"type": "integer"},
        "second": {"type": "integer"},
        "first_root": string(),
        "second_root": string(),
        "proof": {"type": "array", "items": string()},
        "tree_head": PUBLISHED_TREE_HEAD,
    }
)

VERIFICATION_CREATE: dict[str, Any] = {
    "type": "object",
    "properties": {
        "case_id": nullable({**UUID, "description": "verify this case's files; without it, those of all your cases"}),
        "fixity": {"type": "boolean", "description": "re-hash the files (default true)"},
    },
    "additionalProperties": False,
}
