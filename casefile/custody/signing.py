"""Ed25519 instance key handling, signed Merkle tree heads and OpenSSL-compatible detached signatures.

Signatures are plain (pure) Ed25519 over the exact message bytes, so a recipient without
Casefile can check them with ``openssl pkeyutl -verify -pubin -inkey pub.pem -rawin``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from casefile.custody.chain import canonical_bytes, format_timestamp

TREE_HEAD_TYPE = "casefile-tree-head-v1"
SIGNATURE_SIZE = 64
_HEX_LOWER = frozenset("0123456789abcdef")


# --- keys -----------------------------------------------------------------------------------------


def generate_private_key_pem() -> bytes:
    """A fresh Ed25519 key as unencrypted PKCS#8 PEM (protect it with file permissions)."""
    return Ed25519PrivateKey.generate().private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.NoEncryption(),
    )


def load_private_key(pem: bytes) -> Ed25519PrivateKey:
    """Load a PKCS#8 PEM private key; ValueError unless it is Ed25519."""
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("instance key must be Ed25519")
    return key


def load_public_key(pem: bytes) -> Ed25519PublicKey:
    """Load a SubjectPublicKeyInfo PEM public key; ValueError unless it is Ed25519."""
    key = serialization.load_pem_public_key(pem)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("public key must be Ed25519")
    return key


def public_key_pem(private_key: Ed25519PrivateKey) -> bytes:
    """SubjectPublicKeyInfo PEM of the private key's public half."""
    return private_key.public_key().public_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PublicFormat.SubjectPublicKeyInfo,
    )


def key_id(key: Ed25519PublicKey | Ed25519PrivateKey | bytes) -> str:
    """Hex SHA-256 of the public key's DER SubjectPublicKeyInfo (accepts a key or public PEM)."""
    if isinstance(key, bytes):
        key = load_public_key(key)
    elif isinstance(key, Ed25519PrivateKey):
        key = key.public_key()
    der = key.public_bytes(
        encoding=serialization.Encoding.DER,
        format=serialization.PublicFormat.SubjectPublicKeyInfo,
    )
    return hashlib.sha256(der).hexdigest()


# --- tree heads -----------------------------------------------------------------------------------


def _canonical_timestamp(timestamp: str | datetime) -> str:
    """Accept an aware datetime or the ledger's exact ISO string form; anything else is ValueError.

    Insisting on one spelling keeps one signed message per head (no "Z" vs "+00:00" twins).
    """
    if isinstance(timestamp, datetime):
        return format_timestamp(timestamp)
    if not isinstance(timestamp, str):
        raise TypeError("timestamp must be an ISO-8601 string or datetime")
    try:
        parsed = datetime.fromisoformat(timestamp)
    except ValueError:
        raise ValueError(f"timestamp is not ISO-8601: {timestamp[:64]!r}") from None
    if parsed.tzinfo is None or format_timestamp(parsed) != timestamp:
        raise ValueError(f"timestamp must be UTC as YYYY-MM-DDTHH:MM:SS.ffffff+00:00, got {timestamp[:64]!r}")
    return timestamp


def tree_head_message(tree_size: int, root_hash_hex: str, timestamp: str) -> bytes:
    """The exact bytes that are signed for a tree head (canonical JSON, typed)."""
    if type(tree_size) is not int:
        raise TypeError("tree_size must be an int")
    if tree_size < 0:
        raise ValueError("tree_size must be >= 0")
    if not isinstance(root_hash_hex, str):
        raise TypeError("root_hash must be a hex string")
    if len(root_hash_hex) != 64 or not _HEX_LOWER.issuperset(root_hash_hex):
        raise ValueError("root_hash must be 64 lowercase hex digits")
    return canonical_bytes(
        {
            "tree_size": tree_size,
            "root_hash": root_hash_hex,
            "timestamp": _canonical_timestamp(timestamp),
            "type": TREE_HEAD_TYPE,
        }
    )


@dataclass(frozen=True)
class SignedTreeHead:
    tree_size: int
    root_hash: str  # lowercase hex
    timestamp: str  # ISO-8601 UTC with microseconds and +00:00
    signature: str  # base64 of the 64-byte Ed25519 signature over tree_head_message()
    key_id: str  # hex SHA-256 of the signer's DER SubjectPublicKeyInfo

    def message(self) -> bytes:
        return tree_head_message(self.tree_size, self.root_hash, self.timestamp)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SignedTreeHead:
        """Strict parse of JSON input: exactly the five fields with the right JSON types."""
        expected = {"tree_size": int, "root_hash": str, "timestamp": str, "signature": str, "key_id": str}
        if not isinstance(data, Mapping) or set(data) != set(expected):
            raise ValueError(f"tree head must have exactly the fields {sorted(expected)}")
        for name, kind in expected.items():
            value = data[name]
            if type(value) is not kind:
                raise ValueError(f"tree head field {name} must be {kind.__name__}")
        return cls(**{name: data[name] for name in expected})


def sign_tree_head(
    private_key: Ed25519PrivateKey, tree_size: int, root_hex: str, timestamp: str | datetime
) -> SignedTreeHead:
    timestamp = _canonical_timestamp(timestamp)
    message = tree_head_message(tree_size, root_hex, timestamp)
    return SignedTreeHead(
        tree_size=tree_size,
        root_hash=root_hex,
        timestamp=timestamp,
        signature=base64.b64encode(private_key.sign(message)).decode("ascii"),
        key_id=key_id(private_key),
    )


def _decode_signature(text: str) -> bytes | None:
    if not isinstance(text, str):
        return None
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == SIGNATURE_SIZE else None


def verify_tree_head(public_key_pem: bytes, sth: SignedTreeHead) -> bool:
    """True iff ``sth`` is well formed and signed by this key.

    ValueError if ``public_key_pem`` is not an Ed25519 public key (a caller mistake, not
    a forgery); every defect of the tree head itself gives False.
    """
    public_key = load_public_key(public_key_pem)
    if not isinstance(sth, SignedTreeHead):
        raise TypeError("sth must be a SignedTreeHead")
    if sth.key_id != key_id(public_key):
        return False
    signature = _decode_signature(sth.signature)
    if signature is None:
        return False
    try:
        message = sth.message()
    except (TypeError, ValueError):
        return False
    return _verify(public_key, message, signature)


# --- detached signatures --------------------------------------------------------------------------


def sign_bytes(private_key: Ed25519PrivateKey, data: bytes) -> bytes:
    """Raw 64-byte Ed25519 signature, the format ``openssl pkeyutl -rawin -sigfile`` reads."""
    return private_key.sign(bytes(data))


def verify_bytes(public_pem: bytes, data: bytes, sig: bytes) -> bool:
    """True iff ``sig`` is a valid Ed25519 signature over ``data`` by the key in ``public_pem``."""
    public_key = load_public_key(public_pem)
    if not isinstance(sig, (bytes, bytearray)) or len(sig) != SIGNATURE_SIZE:
        return False
    return _verify(public_key, bytes(data), bytes(sig))


def _verify(public_key: Ed25519PublicKey, message: bytes, signature: bytes) -> bool:
    try:
        public_key.verify(signature, message)
    except InvalidSignature:
        return False
    return True
