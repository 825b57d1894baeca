"""C2PA Content Credentials: read and validate a file's manifest store at ingest (c2pa-python's Reader, from a
stream), and keep a plain, JSON-able summary of it beside the item's other derived metadata (`extracted["c2pa"]`).

Pure: no Flask, no database. The Reader validates what can be validated offline: the claim signature, the hard
binding of the manifest to the file's bytes (`assertion.dataHash.match`, or a mismatch when a byte changed after
signing), the assertions' hashes and the ingredients. Whether the signer's certificate chains to a trusted root needs
a trust list, which this instance does not configure: a certificate that is not on one is reported as `untrusted`,
distinctly from a failed signature or a hash that no longer matches (`failed`). OCSP is not fetched.

Everything in a manifest is written by whoever made the file: every string is cleaned (control and direction
characters removed) and bounded, and lists are bounded, before it is stored.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from functools import cache
from typing import Any, BinaryIO

import c2pa

from casefile.evidence.metadata import clean_text

# What the summary keeps at most: a hostile manifest may hold thousands of actions or ingredients.
MAX_ACTIONS = 50
MAX_INGREDIENTS = 20
MAX_CODES = 50
TEXT = 300

# The summary's statuses (shared with ProofMode checks, casefile.provenance.models.ProvenanceStatus).
VERIFIED = "verified"  # signature, hashes and the signer's chain to a trusted root all hold
UNTRUSTED = "untrusted"  # signature and hashes hold; the signer's certificate is on no trust list configured here
FAILED = "failed"  # a signature or a hash does not hold: the file or its manifest changed after signing
UNREADABLE = "unreadable"  # a manifest is there but could not be read

# Failure codes about trust in the signer rather than the integrity of the file and its manifest.
TRUST_CODES = frozenset({"signingCredential.untrusted", "timeStamp.untrusted"})
# Reader errors that say nothing about Content Credentials: the file has none, or is not a format the library reads
# (a damaged JPEG gives "Other: asset could not be parsed").
_NOT_C2PA = ("ManifestNotFound", "NotSupported", "Io", "Other")


@cache
def supported_types() -> frozenset[str]:
    """Media types whose Content Credentials are read: the Reader's images, videos and audio."""
    types = c2pa.Reader.get_supported_mime_types()
    return frozenset(t for t in types if t.split("/")[0] in ("image", "video", "audio"))


@cache
def _context() -> c2pa.Context:
    """Offline reading: a manifest stored elsewhere (a remote URL written by whoever made the file) is not fetched,
    nor is a certificate's OCSP status; both would let a file make the server reach an address of its choosing."""
    return c2pa.Context.from_dict({"verify": {"remote_manifest_fetch": False, "ocsp_fetch": False}})


def may_carry(media_type: str) -> bool:
    return media_type.split(";")[0].strip().lower() in supported_types()


def library_version() -> str:
    return f"c2pa-python {c2pa.__version__} (c2pa-rs {c2pa.sdk_version()})"


def read_credentials(stream: BinaryIO, media_type: str, *, now: datetime | None = None) -> dict[str, Any] | None:
    """The summary of the file's Content Credentials, or None when it carries none (or is not a type that can).
    Reads from the stream's start and restores its position; never raises for what the file holds."""
    if not may_carry(media_type):
        return None
    position = stream.tell()
    stream.seek(0)
    try:
        with c2pa.Reader(media_type.split(";")[0].strip().lower(), stream, None, _context()) as reader:
            store = json.loads(reader.json())
            embedded = reader.is_embedded()
            remote = None if embedded else reader.get_remote_url()
    except c2pa.C2paError as error:
        kind = type(error).__name__.lstrip("_").removeprefix("C2pa")
        if kind in _NOT_C2PA:
            return None
        return {
            "status": UNREADABLE,
            "error": clean_text(str(error), TEXT),
            "checked_at": (now or datetime.now(UTC)).isoformat(),
            "library": library_version(),
        }
    except (ValueError, OSError) as error:  # the manifest's JSON, or the stream
        return {
            "status": UNREADABLE,
            "error": clean_text(f"{type(error).__name__}: {error}", TEXT),
            "checked_at": (now or datetime.now(UTC)).isoformat(),
            "library": library_version(),
        }
    finally:
        stream.seek(position)
    summary = summarise(store, now=now)
    summary["embedded"] = embedded
    summary["remote_url"] = clean_text(remote, TEXT) if remote else None
    return summary


def summarise(store: dict[str, Any], *, now: datetime | None = None) -> dict[str, Any]:
    """The plain summary of a manifest store as the Reader gives it (its JSON)."""
    manifests = _dict(store.get("manifests"))
    active = _dict(manifests.get(str(store.get("active_manifest"))))
    signature = _dict(active.get("signature_info"))
    results = _dict(store.get("validation_results"))
    failures = _codes(_failure_entries(store, results))
    state = _text(store.get("validation_state"))
    return {
        "status": status_of(state, [f["code"] for f in failures]),
        "validation_state": state,
        "manifest": _text(store.get("active_manifest")),
        "manifests": len(manifests),
        "title": _text(active.get("title")),
        "format": _text(active.get("format")),
        "claim_generator": _claim_generator(active),
        "signer": {
            "common_name": _text(signature.get("common_name")),
            "issuer": _text(signature.get("issuer")),
            "serial": _text(signature.get("cert_serial_number")),
            "algorithm": _text(signature.get("alg")),
        },
        "signed_at": _text(signature.get("time")) or None,
        "actions": _actions(active),
        "ingredients": _ingredients(active),
        "failures": failures,
        "successes": sorted({c["code"] for c in _codes(_entries(results, "success"))}),
        "checked_at": (now or datetime.now(UTC)).isoformat(),
        "library": library_version(),
    }


def status_of(state: str, failure_codes: Iterable[str]) -> str:
    """`Trusted` is verified; `Valid` (intact, signer not on a trust list) is untrusted; `Invalid` failed. Without
    a state (older libraries), judged from the failure codes."""
    codes = set(failure_codes)
    if state == "Invalid" or codes - TRUST_CODES:
        return FAILED
    if state == "Trusted" or (not state and not codes):
        return VERIFIED
    return UNTRUSTED


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _text(value: Any, limit: int = TEXT) -> str:
    if value is None or isinstance(value, dict | list):
        return ""
    return clean_text(str(value), limit) or ""


def _claim_generator(manifest: dict[str, Any]) -> str:
    info = manifest.get("claim_generator_info")
    if isinstance(info, list) and info:
        parts = []
        for entry in info[:5]:
            if isinstance(entry, dict):
                parts.append(" ".join(p for p in (_text(entry.get("name")), _text(entry.get("version"))) if p))
        if any(parts):
            return _text("; ".join(p for p in parts if p))
    return _text(manifest.get("claim_generator"))


def _actions(manifest: dict[str, Any]) -> list[dict[str, str]]:
    found: list[dict[str, str]] = []
    assertions = _list(manifest.get("assertions"))
    for assertion in assertions:
        if not isinstance(assertion, dict) or not str(assertion.get("label", "")).startswith("c2pa.actions"):
            continue
        data = _dict(assertion.get("data"))
        for action in data.get("actions") or []:
            if not isinstance(action, dict) or len(found) >= MAX_ACTIONS:
                continue
            agent = action.get("softwareAgent")
            if isinstance(agent, dict):
                agent = " ".join(p for p in (_text(agent.get("name")), _text(agent.get("version"))) if p)
            found.append(
                {
                    "action": _text(action.get("action"), 100),
                    "when": _text(action.get("when"), 100),
                    "software_agent": _text(agent),
                    "digital_source_type": _text(action.get("digitalSourceType")).rsplit("/", 1)[-1],
                    "description": _text(action.get("description")),
                }
            )
    return found


def _ingredients(manifest: dict[str, Any]) -> list[dict[str, str]]:
    ingredients = _list(manifest.get("ingredients"))
    return [
        {
            "title": _text(i.get("title")),
            "format": _text(i.get("format"), 100),
            "relationship": _text(i.get("relationship"), 100),
            "manifest": _text(i.get("active_manifest")),
        }
        for i in ingredients[:MAX_INGREDIENTS]
        if isinstance(i, dict)
    ]


def _entries(results: dict[str, Any], outcome: str) -> list[Any]:
    active = _dict(results.get("activeManifest"))
    entries = list(active.get(outcome) or [])
    for delta in _list(results.get("ingredientDeltas")):
        if isinstance(delta, dict) and isinstance(delta.get("validationDeltas"), dict):
            entries.extend(delta["validationDeltas"].get(outcome) or [])
    return entries


def _failure_entries(store: dict[str, Any], results: dict[str, Any]) -> list[Any]:
    if results:
        return _entries(results, "failure")
    # Older stores: the top-level validation_status lists the problems.
    return _list(store.get("validation_status"))


def _codes(entries: list[Any]) -> list[dict[str, str]]:
    seen: dict[str, dict[str, str]] = {}
    for entry in entries:
        if isinstance(entry, dict) and entry.get("code") and len(seen) < MAX_CODES:
            code = _text(entry.get("code"), 100)
            seen.setdefault(code, {"code": code, "explanation": _text(entry.get("explanation"))})
    return list(seen.values())
