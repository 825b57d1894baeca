"""ProofMode bundles (Guardian Project): what is in one, and whether it holds.

ProofMode's "share proof" ZIP holds, for each photo or video (kept under its own name):

- `<sha256>.proof.json` and/or `<sha256>.proof.csv`: the proof, named by the media's SHA-256, with fields such as
  "File Hash SHA256", "File Path", "Proof Generated", "Location.Latitude", "Location.Longitude", "Location.Time"
  (milliseconds since 1970), "Location.Provider", "NetworkType", "DeviceID", "Hardware", "Manufacturer";
- `<sha256>.asc`: an OpenPGP detached, ASCII-armoured signature of the media (some versions name it `<media>.asc`),
  and `<sha256>.proof.json.asc`, `<sha256>.proof.csv.asc` over the proofs;
- `pubkey.asc`: the device's OpenPGP public key, made on the phone when ProofMode was installed;
- `<sha256>.ots`: an OpenTimestamps proof of the media's SHA-256; `<sha256>.gst`: a device integrity token; and
  `HowToVerifyProofData.txt`.

What is checked (pure functions; no Flask, no database): each signature with the bundle's key, the media's over its
bytes streamed (casefile/provenance/openpgp.py); that the proof's "File Hash SHA256" (and its file name) is the
media's actual SHA-256; that the OpenTimestamps proof commits to that SHA-256, listing its attestations. What is not:
the key is the one the bundle carries, so the signatures show that whoever held that device key signed these bytes
and has not changed them since, not who that was (compare the fingerprint with one obtained from the source); an
OpenTimestamps attestation is listed as the proof states it (a pending calendar, a Bitcoin block height) and is not
checked against the Bitcoin blockchain here (offline); the device integrity token (`.gst`) is kept, not checked.

Every failure is a problem code with its parameters (`describe` in casefile/provenance/services.py puts it in
words): a bundle that does not verify is imported with its problems stated, never silently.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any

from opentimestamps.core.notary import BitcoinBlockHeaderAttestation, PendingAttestation
from opentimestamps.core.op import OpSHA256
from opentimestamps.core.serialize import BytesDeserializationContext
from opentimestamps.core.timestamp import DetachedTimestampFile

from casefile.evidence.metadata import clean_text
from casefile.provenance.openpgp import OpenPGPError, PublicKey, StreamVerifier, load_public_key, load_signature

PROOF_SUFFIXES = {".proof.json": "json", ".proof.csv": "csv"}
PUBLIC_KEY = "pubkey.asc"
# Files of a bundle that are about the proof, never media.
SIDE_SUFFIXES = (".asc", ".ots", ".gst", ".proof.json", ".proof.csv", ".txt", ".provider", ".json", ".csv", ".c2pa")
# A proof, key, signature or timestamp file is small: larger is refused before it is read into memory.
MAX_SMALL_BYTES = 4 * 1024 * 1024
MAX_MEMBERS = 1000
MAX_FIELDS = 200
TEXT = 300
SHA256 = re.compile(r"^[0-9a-f]{64}$")

VERIFIED, FAILED = "verified", "failed"

# The proof fields shown as the capture's metadata.
LOCATION_FIELDS = {
    "latitude": "Location.Latitude",
    "longitude": "Location.Longitude",
    "altitude": "Location.Altitude",
    "accuracy": "Location.Accuracy",
    "provider": "Location.Provider",
    "speed": "Location.Speed",
    "bearing": "Location.Bearing",
}
NETWORK_FIELDS = {"type": "NetworkType", "network": "Network", "data_type": "DataType", "cell_info": "CellInfo"}
DEVICE_FIELDS = {
    "device_id": "DeviceID",
    "vendor_id": "DeviceID Vendor",
    "hardware": "Hardware",
    "manufacturer": "Manufacturer",
    "screen_size": "ScreenSize",
    "locale": "Locale",
    "language": "Language",
}


class BundleError(ValueError):
    """The upload is not a ProofMode bundle that can be imported: `code` (with `params`) for the words shown, which
    casefile/provenance/services.py translates; the English message for logs and jobs."""

    def __init__(self, code: str, message: str, **params: Any) -> None:
        super().__init__(message)
        self.code = code
        self.params = params


def base_name(name: str) -> str:
    return PurePosixPath(name).name


def _lower(name: str) -> str:
    return base_name(name).lower()


def _proof_of(name: str) -> tuple[str, str] | None:
    lowered = _lower(name)
    for suffix, form in PROOF_SUFFIXES.items():
        if lowered.endswith(suffix):
            return lowered.removesuffix(suffix), form
    return None


def is_side_file(name: str) -> bool:
    lowered = _lower(name)
    return lowered == PUBLIC_KEY or lowered.startswith("howtoverify") or lowered.endswith(SIDE_SUFFIXES)


@dataclass
class Layout:
    """What a bundle holds, from its file names alone (read from the ZIP's directory, before any content)."""

    proofs: dict[str, dict[str, str]]  # the name's hash (lower case) -> {"json"|"csv": member}
    media: list[str]
    public_key: str | None
    side: list[str]  # every member that is not media (proofs, signatures, key, timestamps, notes)
    by_name: dict[str, str]  # lower-case base name -> member

    def member(self, base: str) -> str | None:
        return self.by_name.get(base.lower())


def layout(names: Iterable[str]) -> Layout:
    names = sorted(names)
    proofs: dict[str, dict[str, str]] = {}
    media: list[str] = []
    side: list[str] = []
    public_key = None
    by_name: dict[str, str] = {}
    for name in names:
        by_name.setdefault(_lower(name), name)
        proof = _proof_of(name)
        if proof is not None:
            proofs.setdefault(proof[0], {})[proof[1]] = name
        if _lower(name) == PUBLIC_KEY:
            public_key = public_key or name
        (side if is_side_file(name) else media).append(name)
    return Layout(proofs, media, public_key, side, by_name)


def check_layout(found: Layout, unsafe: Iterable[str], count: int) -> None:
    """Refuse, in words, what cannot be a ProofMode bundle: before anything is stored as evidence."""
    unsafe = sorted(unsafe)
    if unsafe:
        shown = ", ".join(clean_text(n, 100) or "?" for n in unsafe[:5])
        raise BundleError(
            "unsafe_names",
            f"The bundle holds file names that are not plain paths inside it (such as {shown}): refused, nothing "
            "was imported.",
            names=shown,
        )
    if count > MAX_MEMBERS:
        raise BundleError(
            "too_many",
            f"The bundle holds more than {MAX_MEMBERS} files: this is not a ProofMode bundle.",
            n=MAX_MEMBERS,
        )
    if not found.proofs:
        raise BundleError(
            "no_proof",
            "The ZIP holds no ProofMode proof (a <sha256>.proof.json or .proof.csv file): this is not a ProofMode "
            "bundle.",
        )
    if not found.media:
        raise BundleError(
            "no_media", "The bundle holds no photo, video or audio file, only proof files: nothing to import."
        )


@dataclass
class Proof:
    hash_in_name: str
    files: dict[str, str]  # "json"|"csv" -> member
    fields: dict[str, str]
    problems: list[dict[str, Any]] = field(default_factory=list)

    @property
    def declared_sha256(self) -> str:
        value = (self.fields.get("File Hash SHA256") or self.hash_in_name or "").strip().lower()
        return value if SHA256.match(value) else ""

    @property
    def file_path(self) -> str:
        return base_name(self.fields.get("File Path", "").replace("\\", "/"))


def read_proof(hash_in_name: str, files: dict[str, str], read: Callable[[str], bytes]) -> Proof:
    """The proof's fields: from the JSON when there is one, the CSV filling what it lacks."""
    proof = Proof(hash_in_name, files, {})
    for form in ("json", "csv"):
        name = files.get(form)
        if name is None:
            continue
        try:
            parsed = _parse(read(name), form)
        except (ValueError, UnicodeDecodeError, csv.Error, RecursionError):
            proof.problems.append({"code": "proof_unreadable", "file": base_name(name)})
            continue
        for key, value in parsed.items():
            proof.fields.setdefault(key, value)
    return proof


def _parse(data: bytes, form: str) -> dict[str, str]:
    text = data.decode("utf-8-sig")
    if form == "json":
        value = json.loads(text)
        if isinstance(value, list) and value and isinstance(value[0], dict):
            value = value[0]
        if not isinstance(value, dict):
            raise ValueError("not a JSON object")
        items = list(value.items())
    else:
        rows = list(csv.reader(io.StringIO(text)))
        rows = [r for r in rows if any(cell.strip() for cell in r)]
        if len(rows) < 2:
            raise ValueError("no header and values")
        items = list(zip(rows[0], rows[1], strict=False))
    fields: dict[str, str] = {}
    for key, value in items[:MAX_FIELDS]:
        name = clean_text(str(key), 100)
        if name and not isinstance(value, dict | list):
            fields[name] = clean_text("" if value is None else str(value), TEXT) or ""
    return fields


def _float(value: str | None, low: float, high: float) -> float | None:
    try:
        number = float(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and low <= number <= high else None


def _epoch_ms(value: str | None) -> str | None:
    number = _float(value, 0, 4102444800000)  # up to 2100
    if number is None or number == 0:
        return None
    return datetime.fromtimestamp(number / 1000, UTC).isoformat()


def capture_metadata(fields: dict[str, str]) -> dict[str, Any]:
    """What the proof says of the capture: when, where, over which network, on which device (the phone's word)."""
    location: dict[str, Any] = {key: fields.get(name) or None for key, name in LOCATION_FIELDS.items()}
    location["latitude"] = _float(fields.get("Location.Latitude"), -90, 90)
    location["longitude"] = _float(fields.get("Location.Longitude"), -180, 180)
    if location["latitude"] == 0 and location["longitude"] == 0:  # ProofMode writes 0,0 when it had no fix
        location["latitude"] = location["longitude"] = None
    location["time"] = _epoch_ms(fields.get("Location.Time"))
    return {
        "proof_generated": fields.get("Proof Generated") or None,
        "file_created": fields.get("File Created") or None,
        "file_modified": fields.get("File Modified") or None,
        "file_path": fields.get("File Path") or None,
        "location": location if location["latitude"] is not None else None,
        "network": {key: fields.get(name) or None for key, name in NETWORK_FIELDS.items()},
        "device": {key: fields.get(name) or None for key, name in DEVICE_FIELDS.items()},
        "notes": fields.get("Notes") or fields.get("Note") or None,
    }


@dataclass
class Planned:
    """One media file of the bundle with its proof and the other files that belong to it."""

    media: str
    proof: Proof | None
    files: list[str]  # the side files kept beside it (its proof, signatures, timestamps, the key, notes)


def plan(found: Layout, media_sha256: dict[str, str], read: Callable[[str], bytes]) -> list[Planned]:
    """Pair each media file with its proof: by the proof's "File Path", by the SHA-256 the proof names, and a last
    proof and file left over (a photo changed after signing no longer has the hash its proof names: it must still
    meet its proof, to be reported as failing)."""
    proofs = {h: read_proof(h, files, read) for h, files in sorted(found.proofs.items())}
    pairs: dict[str, Proof] = {}
    left = dict(proofs)
    for media in found.media:
        for h, proof in list(left.items()):
            if proof.file_path and proof.file_path.lower() == _lower(media):
                pairs[media] = left.pop(h)
                break
    for media in found.media:
        if media in pairs:
            continue
        for h, proof in list(left.items()):
            if media_sha256.get(media) in (h, proof.declared_sha256):
                pairs[media] = left.pop(h)
                break
    unpaired = [m for m in found.media if m not in pairs]
    if len(unpaired) == 1 and len(left) == 1:
        pairs[unpaired[0]] = left.popitem()[1]
    owned = _all_owned(found)
    shared = [n for n in found.side if n not in owned]  # the key, notes: beside every media of the bundle
    planned = []
    for media in found.media:
        paired = pairs.get(media)
        planned.append(Planned(media, paired, sorted({*_files_of(found, media, paired), *shared})))
    return planned


def _keys_of(media: str, proof: Proof | None) -> set[str]:
    keys = {_lower(media)}
    if proof is not None:
        keys.add(proof.hash_in_name)
        if proof.declared_sha256:
            keys.add(proof.declared_sha256)
    return keys


def _files_of(found: Layout, media: str, proof: Proof | None) -> list[str]:
    """The side files named after this media or its proof's hash (`<key>.asc`, `<key>.proof.json`, `.ots`…)."""
    keys = _keys_of(media, proof)
    return [n for n in found.side if _stem(n) in keys]


def _stem(name: str) -> str:
    lowered = _lower(name)
    for suffix in (".proof.json.asc", ".proof.csv.asc", ".proof.json", ".proof.csv", ".asc", ".ots", ".gst", ".c2pa"):
        if lowered.endswith(suffix):
            return lowered.removesuffix(suffix)
    return lowered


def _all_owned(found: Layout) -> set[str]:
    """Side files named after some media or proof hash; the rest (the key, notes) are shared by every media."""
    stems = set(found.proofs) | {_lower(m) for m in found.media}
    return {n for n in found.side if _stem(n) in stems}


def hash_hex(chunks: Iterable[bytes]) -> str:
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
    return digest.hexdigest()


def check(
    found: Layout,
    planned: Planned,
    media_sha256: str,
    media_chunks: Callable[[], Iterable[bytes]],
    read: Callable[[str], bytes],
    *,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Every check of one media file against its proof, as a JSON-able summary with its status (`verified` only
    when every signature and hash holds; otherwise `failed`, with each problem)."""
    problems: list[dict[str, Any]] = []
    checks: list[dict[str, Any]] = []
    proof = planned.proof
    key: PublicKey | None = None
    if found.public_key is None:
        problems.append({"code": "public_key_missing"})
        checks.append({"check": "public_key", "outcome": "missing"})
    else:
        try:
            key = load_public_key(read(found.public_key))
            checks.append({"check": "public_key", "outcome": "ok", "file": base_name(found.public_key)})
        except OpenPGPError as error:
            problems.append({"code": "public_key_unreadable", "reason": str(error)})
            checks.append({"check": "public_key", "outcome": "unreadable", "reason": str(error)})

    # The media's signature: streamed over the media's bytes.
    keys = [proof.hash_in_name, proof.declared_sha256] if proof else []
    candidates = [f"{k}.asc" for k in [*keys, media_sha256] if k] + [f"{base_name(planned.media)}.asc"]
    signature_name = _first(found, candidates)
    media_check = _signature(key, signature_name, read, media_chunks, "media_signature", problems)
    checks.append({**media_check, "signed_file": base_name(planned.media), "sha256": media_sha256})

    # The proof: it must name the media's actual SHA-256, and be signed.
    capture: dict[str, Any] | None = None
    if proof is None:
        problems.append({"code": "proof_missing", "file": base_name(planned.media)})
        checks.append({"check": "proof_hash", "outcome": "missing"})
    else:
        problems.extend(proof.problems)
        capture = capture_metadata(proof.fields)
        declared = proof.declared_sha256
        named = proof.hash_in_name if SHA256.match(proof.hash_in_name) else ""
        if declared != media_sha256 or (named and named != media_sha256):
            problems.append({"code": "hash_mismatch", "declared": declared or named, "actual": media_sha256})
            checks.append({"check": "proof_hash", "outcome": "mismatch", "declared": declared, "actual": media_sha256})
        else:
            checks.append({"check": "proof_hash", "outcome": "ok", "sha256": media_sha256})
        for form, name in sorted(proof.files.items()):
            signature = found.member(f"{base_name(name)}.asc")
            data = read(name)
            result = _signature(key, signature, read, _once(data), f"proof_{form}_signature", problems)
            checks.append({**result, "signed_file": base_name(name), "sha256": hashlib.sha256(data).hexdigest()})

    timestamps = _opentimestamps(found, keys, media_sha256, read, problems)
    if timestamps is not None:
        checks.append(timestamps)
    media_result = next(c for c in checks if c["check"] == "media_signature")
    return {
        "status": FAILED if problems else VERIFIED,
        "media": base_name(planned.media),
        "sha256": media_sha256,
        "key": {
            "fingerprint": key.fingerprint if key else "",
            "user_ids": key.user_ids if key else [],
            "algorithm": key.algorithm if key else "",
            "created": key.created.isoformat() if key and key.created else None,
        },
        "signed_at": media_result.get("signed_at"),
        "checks": checks,
        "problems": problems,
        "capture": capture,
        "fields": proof.fields if proof else {},
        "files": [base_name(n) for n in planned.files],
        "checked_at": (now or datetime.now(UTC)).isoformat(),
    }


def _once(data: bytes) -> Callable[[], Iterable[bytes]]:
    return lambda: [data]


def _first(found: Layout, candidates: list[str]) -> str | None:
    for candidate in candidates:
        name = found.member(candidate)
        if name is not None:
            return name
    return None


def _signature(
    key: PublicKey | None,
    name: str | None,
    read: Callable[[str], bytes],
    chunks: Callable[[], Iterable[bytes]],
    check_name: str,
    problems: list[dict[str, Any]],
) -> dict[str, Any]:
    if name is None:
        problems.append({"code": "signature_missing", "check": check_name})
        return {"check": check_name, "outcome": "missing"}
    if key is None:
        return {"check": check_name, "outcome": "not_checked", "signature": base_name(name)}
    try:
        signature = load_signature(read(name))
    except OpenPGPError as error:
        problems.append({"code": "signature_unreadable", "check": check_name, "file": base_name(name)})
        return {"check": check_name, "outcome": "unreadable", "signature": base_name(name), "reason": str(error)}
    verifier = StreamVerifier(key, signature)
    for chunk in chunks():
        verifier.update(chunk)
    result = verifier.result()
    if not result.valid:
        problems.append({"code": result.problem, "check": check_name, "file": base_name(name)})
    return {
        "check": check_name,
        "outcome": "ok" if result.valid else result.problem,
        "signature": base_name(name),
        **{k: v for k, v in result.to_json().items() if k != "valid"},
    }


def _opentimestamps(
    found: Layout, keys: list[str], media_sha256: str, read: Callable[[str], bytes], problems: list[dict[str, Any]]
) -> dict[str, Any] | None:
    name = _first(found, [f"{k}.ots" for k in [*keys, media_sha256] if k])
    if name is None:
        return None
    result: dict[str, Any] = {
        "check": "opentimestamps",
        "file": base_name(name),
        "bitcoin_checked": False,  # offline: the attestations are listed as the proof states them
    }
    try:
        detached = DetachedTimestampFile.deserialize(BytesDeserializationContext(read(name)))
        attestations = [_attestation(att) for _msg, att in detached.timestamp.all_attestations()]
    except Exception:  # the library raises many types for a malformed proof: all mean it cannot be read
        problems.append({"code": "ots_unreadable", "file": base_name(name)})
        return {**result, "outcome": "unreadable"}
    digest = detached.file_digest.hex()
    if not isinstance(detached.file_hash_op, OpSHA256) or digest != media_sha256:
        problems.append({"code": "ots_mismatch", "file": base_name(name), "digest": digest})
        return {**result, "outcome": "mismatch", "digest": digest, "attestations": attestations[:20]}
    return {**result, "outcome": "ok", "digest": digest, "attestations": attestations[:20]}


def _attestation(attestation: Any) -> dict[str, Any]:
    if isinstance(attestation, PendingAttestation):
        return {"kind": "pending", "calendar": clean_text(str(attestation.uri), TEXT)}
    if isinstance(attestation, BitcoinBlockHeaderAttestation):
        return {"kind": "bitcoin", "height": int(attestation.height)}
    return {"kind": clean_text(type(attestation).__name__, 100)}
