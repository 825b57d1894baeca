"""Field encryption for protected identities: AES-256-GCM under keys from configuration.

The first configured key encrypts; every key decrypts (rotation). Each ciphertext names its key by a
short fingerprint and is bound to its row through associated data, so an identity copied onto another
witness's row fails to decrypt instead of silently showing the wrong person.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Sequence
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

VERSION = "v1"


class FieldKeyError(Exception):
    """A protected field cannot be decrypted: the key is missing or wrong. Never returns garbage."""


def key_fingerprint(key: bytes) -> str:
    return hashlib.sha256(b"casefile-field-key" + key).hexdigest()[:16]


class FieldCipher:
    def __init__(self, keys: Sequence[bytes]) -> None:
        if not keys:
            raise FieldKeyError("No field encryption key is configured (CASEFILE_FIELD_KEYS).")
        self.keys = {key_fingerprint(k): k for k in keys}
        self.current = key_fingerprint(keys[0])

    def encrypt(self, value: dict[str, Any], context: str) -> str:
        nonce = os.urandom(12)
        plaintext = json.dumps(value, sort_keys=True, ensure_ascii=False).encode()
        sealed = AESGCM(self.keys[self.current]).encrypt(nonce, plaintext, context.encode())
        return f"{VERSION}:{self.current}:{base64.b64encode(nonce + sealed).decode()}"

    def key_of(self, token: str) -> str:
        return token.split(":", 2)[1] if token.count(":") >= 2 else ""

    def decrypt(self, token: str, context: str) -> dict[str, Any]:
        try:
            version, key_id, payload = token.split(":", 2)
            raw = base64.b64decode(payload, validate=True)
        except (ValueError, TypeError):
            raise FieldKeyError("A protected field is malformed.") from None
        if version != VERSION:
            raise FieldKeyError(f"A protected field uses an unknown format ({version[:8]!r}).")
        key = self.keys.get(key_id)
        if key is None:
            raise FieldKeyError(
                f"A protected field was encrypted with key {key_id}, which is not in CASEFILE_FIELD_KEYS."
            )
        if len(raw) < 12 + 16:  # nonce + tag: anything shorter was truncated or forged
            raise FieldKeyError("A protected field is malformed.")
        try:
            plaintext = AESGCM(key).decrypt(raw[:12], raw[12:], context.encode())
        except InvalidTag:
            raise FieldKeyError(
                f"A protected field does not decrypt with key {key_id}: the key is wrong or the data was altered."
            ) from None
        return json.loads(plaintext)
