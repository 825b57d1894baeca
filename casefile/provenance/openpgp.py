"""OpenPGP detached signatures checked over a stream (ProofMode signs each photo, video and proof file this way).

pgpy verifies a signature over bytes it holds: `PGPKey.verify(subject, signature)` hashes `subject` (a whole
evidence file, in memory) followed by the signature's trailer. Nothing here reads a whole file into memory, so pgpy
parses the key and the signature packets, and the signed data is hashed here, a chunk at a time, followed by the
same trailer pgpy would append (`PGPSignature.hashdata(b"")`); the digest is then checked with the key's own
algorithm through `cryptography`, prehashed (RSA, ECDSA, DSA) or as the digest EdDSA signs in OpenPGP. pgpy's own
checks of the key (`check_soundness`, `check_primitives`: expired, revoked-by-flag, too weak) are applied as
`PGPKey.verify` applies them. tests/provenance/test_openpgp.py checks that this agrees with `PGPKey.verify`.

pgpy warns about checks it has not implemented (self-signatures, revocations, flags) each time a key is checked:
those notes are silenced around the calls, narrowly (UserWarning starting "TODO:" from pgpy), and said here once:
a revocation published elsewhere is not looked for (offline), and the key's own self-signatures are not verified;
what is verified is that the bundle's key made these signatures over these bytes.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, utils

with warnings.catch_warnings():
    # pgpy 0.6 imports the standard library's deprecated imghdr module (for photo user ids).
    warnings.filterwarnings("ignore", message="'imghdr' is deprecated", category=DeprecationWarning)
    import pgpy
    from pgpy.constants import SignatureType
    from pgpy.errors import PGPError
    from pgpy.packet.fields import DSAPub, ECDSAPub, EdDSAPub, RSAPub

# A key or signature file is small; anything larger is not one (and is not read into memory).
MAX_ARMOURED_BYTES = 1024 * 1024
# Hashes a signature may use. MD5 and RIPEMD-160 are refused; SHA-1 is checked but noted as weak.
HASHES = {"SHA1": "sha1", "SHA224": "sha224", "SHA256": "sha256", "SHA384": "sha384", "SHA512": "sha512"}
WEAK_HASHES = frozenset({"SHA1"})


class OpenPGPError(ValueError):
    """A key or signature that cannot be read (the message says which and why)."""


@dataclass(frozen=True)
class PublicKey:
    key: Any  # pgpy.PGPKey
    fingerprint: str  # 40 hex digits, upper case, no spaces
    user_ids: list[str]
    algorithm: str
    created: datetime | None


@dataclass
class SignatureCheck:
    """The outcome of one detached signature over one file."""

    valid: bool
    problem: str = ""  # a code when not valid: signature_invalid, other_key, unsupported, key_unusable, weak_hash
    signer_key_id: str = ""
    signed_at: datetime | None = None
    hash_algorithm: str = ""
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "problem": self.problem,
            "signer_key_id": self.signer_key_id,
            "signed_at": self.signed_at.isoformat() if self.signed_at else None,
            "hash_algorithm": self.hash_algorithm,
            "notes": self.notes,
        }


@contextmanager
def _quiet() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="TODO: ", category=UserWarning, module="pgpy")
        yield


def _text(data: bytes) -> str:
    if len(data) > MAX_ARMOURED_BYTES:
        raise OpenPGPError("too large to be an OpenPGP key or signature")
    try:
        return data.decode("ascii")
    except UnicodeDecodeError:
        raise OpenPGPError("not ASCII-armoured OpenPGP data") from None


def load_public_key(data: bytes) -> PublicKey:
    try:
        with _quiet():
            loaded, _others = pgpy.PGPKey.from_blob(_text(data))
    except OpenPGPError:
        raise
    except Exception as error:  # pgpy raises many types for malformed input (ValueError, PGPError, struct errors…)
        raise OpenPGPError(f"not an OpenPGP public key ({type(error).__name__})") from None
    key = loaded.pubkey if not loaded.is_public else loaded
    names = []
    for uid in key.userids[:10]:
        text = " ".join(p for p in (uid.name, f"<{uid.email}>" if uid.email else "", uid.comment) if p)
        names.append(text[:200])
    created = key.created if isinstance(key.created, datetime) else None
    return PublicKey(
        key=key,
        fingerprint=str(key.fingerprint).replace(" ", "").upper(),
        user_ids=names,
        algorithm=getattr(key.key_algorithm, "name", str(key.key_algorithm)),
        created=created.astimezone(UTC) if created else None,
    )


def load_signature(data: bytes) -> Any:
    try:
        with _quiet():
            signature = pgpy.PGPSignature.from_blob(_text(data))
    except OpenPGPError:
        raise
    except Exception as error:
        raise OpenPGPError(f"not an OpenPGP signature ({type(error).__name__})") from None
    if not isinstance(signature, pgpy.PGPSignature):
        raise OpenPGPError("not an OpenPGP signature")
    return signature


class StreamVerifier:
    """Feed the signed file's bytes with `update`, then `result()`."""

    def __init__(self, key: PublicKey, signature: Any) -> None:
        self.key = key
        self.signature = signature
        self.hash_name = getattr(signature.hash_algorithm, "name", "")
        self.text_mode = signature.type == SignatureType.CanonicalDocument
        self._pending_cr = False
        algorithm = HASHES.get(self.hash_name)
        self._hash = hashlib.new(algorithm) if algorithm else None

    def update(self, chunk: bytes) -> None:
        if self._hash is None:
            return
        if self.text_mode:
            chunk = self._canonical(chunk)
        self._hash.update(chunk)

    def _canonical(self, chunk: bytes) -> bytes:
        """Text signatures (type 0x01) hash the text with every line ending as CR LF, as pgpy's `hashdata` does
        (`\\r?\\n` -> `\\r\\n`); a CR at the end of a chunk waits to see whether an LF follows."""
        if self._pending_cr:
            chunk = b"\r" + chunk
        self._pending_cr = chunk.endswith(b"\r")
        if self._pending_cr:
            chunk = chunk[:-1]
        return chunk.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")

    def result(self) -> SignatureCheck:
        sig = self.signature
        created = sig.created.astimezone(UTC) if isinstance(sig.created, datetime) else None
        check = SignatureCheck(
            False, signer_key_id=str(sig.signer or ""), signed_at=created, hash_algorithm=self.hash_name
        )
        if sig.type not in (SignatureType.BinaryDocument, SignatureType.CanonicalDocument) or self._hash is None:
            check.problem = "unsupported"
            return check
        if self._pending_cr:
            self._hash.update(b"\r")
            self._pending_cr = False
        signing_key = self._signing_key()
        if signing_key is None:
            check.problem = "other_key"
            return check
        with _quiet():
            issues = signing_key.check_soundness() | signing_key.check_primitives()
        if issues and issues.causes_signature_verify_to_fail:
            check.problem = "key_unusable"
            check.notes.append(str(issues))
            return check
        self._hash.update(bytes(sig.hashdata(b"")))  # the signature's trailer, after the data
        digest = self._hash.digest()
        if bytes(sig.hash2) != digest[:2] or not _verify_digest(signing_key, sig, digest, self.hash_name):
            check.problem = "signature_invalid"
            return check
        check.valid = True
        if self.hash_name in WEAK_HASHES:
            check.notes.append("weak_hash")
        return check

    def _signing_key(self) -> Any:
        key = self.key.key
        signer = self.signature.signer
        if signer == key.fingerprint.keyid:
            return key
        return key.subkeys.get(signer)


def _verify_digest(signing_key: Any, sig: Any, digest: bytes, hash_name: str) -> bool:
    material = signing_key._key.keymaterial  # pgpy's parsed public key fields
    algorithm = getattr(hashes, hash_name)()
    signature_bytes = bytes(sig.__sig__)
    try:
        if isinstance(material, RSAPub):
            # As pgpy does: an RSA signature shorter than the modulus is left-padded with zeros.
            length = material.n.byte_length()
            signature_bytes = b"\x00" * (length - len(signature_bytes)) + signature_bytes
            material.__pubkey__().verify(signature_bytes, digest, padding.PKCS1v15(), utils.Prehashed(algorithm))
        elif isinstance(material, ECDSAPub):
            material.__pubkey__().verify(signature_bytes, digest, ec.ECDSA(utils.Prehashed(algorithm)))
        elif isinstance(material, EdDSAPub):
            # OpenPGP's EdDSA (v4) signs the digest itself.
            material.__pubkey__().verify(signature_bytes, digest)
        elif isinstance(material, DSAPub):
            material.__pubkey__().verify(signature_bytes, digest, utils.Prehashed(algorithm))
        else:
            return False
    except (InvalidSignature, UnsupportedAlgorithm, ValueError, TypeError, PGPError):
        return False
    return True


def verify_bytes(key: PublicKey, signature: Any, data: bytes) -> SignatureCheck:
    """A small file (a proof, already in memory), through the same path as a stream."""
    verifier = StreamVerifier(key, signature)
    verifier.update(data)
    return verifier.result()
