"""Field encryption of protected identities (DESIGN §2 Witness, §6): AES-GCM under configured keys, the first key
encrypts and every key decrypts, each ciphertext bound to its witness, and any failure is a FieldKeyError, never
garbage and never the plaintext."""

from __future__ import annotations

import base64
import os
import uuid

import pytest

from casefile.witnesses.crypto import FieldCipher, FieldKeyError, key_fingerprint
from casefile.witnesses.services import context

OLD = b"o" * 32
NEW = b"n" * 32
IDENTITY = {
    "full_name": "Zubaida Qarawi-Test",
    "other_names": "زبيدة القراوي",
    "contact": "+218-91-5550199",
    "date_of_birth": "1984-03-02",
    "address": "",
    "notes": "",
}
SECRETS = ("Zubaida", "Qarawi", "5550199", "زبيدة")


def ctx() -> str:
    return context(uuid.uuid4())


def assert_no_plaintext(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, (secret, text)


def test_round_trip_keeps_every_field_and_script() -> None:
    cipher = FieldCipher([OLD])
    where = ctx()
    token = cipher.encrypt(IDENTITY, where)
    assert cipher.decrypt(token, where) == IDENTITY
    assert_no_plaintext(token)
    assert token.startswith("v1:")


def test_first_key_encrypts_and_every_key_decrypts() -> None:
    where = ctx()
    under_old = FieldCipher([OLD]).encrypt(IDENTITY, where)
    rotated = FieldCipher([NEW, OLD])
    assert rotated.current == key_fingerprint(NEW)
    under_new = rotated.encrypt(IDENTITY, where)
    assert rotated.key_of(under_old) == key_fingerprint(OLD)
    assert rotated.key_of(under_new) == key_fingerprint(NEW)
    assert rotated.decrypt(under_old, where) == IDENTITY
    assert rotated.decrypt(under_new, where) == IDENTITY
    # The order of the list decides which key encrypts, not which keys decrypt.
    assert FieldCipher([OLD, NEW]).decrypt(under_new, where) == IDENTITY
    assert FieldCipher([OLD, NEW]).key_of(FieldCipher([OLD, NEW]).encrypt(IDENTITY, where)) == key_fingerprint(OLD)


def test_ciphertext_is_bound_to_its_witness() -> None:
    cipher = FieldCipher([OLD])
    mine, theirs = ctx(), ctx()
    token = cipher.encrypt(IDENTITY, mine)
    with pytest.raises(FieldKeyError) as caught:
        cipher.decrypt(token, theirs)
    assert_no_plaintext(str(caught.value))
    assert key_fingerprint(OLD) in str(caught.value)


def test_missing_key_is_a_clear_error_naming_the_key() -> None:
    where = ctx()
    token = FieldCipher([OLD]).encrypt(IDENTITY, where)
    with pytest.raises(FieldKeyError) as caught:
        FieldCipher([NEW]).decrypt(token, where)
    message = str(caught.value)
    assert key_fingerprint(OLD) in message
    assert "CASEFILE_FIELD_KEYS" in message
    assert_no_plaintext(message)


def test_wrong_key_under_the_same_key_id_is_refused_not_garbage() -> None:
    # A ciphertext that claims the configured key's id but was sealed under another key must not decrypt.
    where = ctx()
    token = FieldCipher([OLD]).encrypt(IDENTITY, where)
    forged = token.replace(key_fingerprint(OLD), key_fingerprint(NEW))
    with pytest.raises(FieldKeyError) as caught:
        FieldCipher([NEW]).decrypt(forged, where)
    assert_no_plaintext(str(caught.value))


@pytest.mark.parametrize("position", [0, 5, 17, 30, -3])
def test_tampered_ciphertext_is_refused(position: int) -> None:
    cipher = FieldCipher([OLD])
    where = ctx()
    token = cipher.encrypt(IDENTITY, where)
    version, key_id, payload = token.split(":", 2)
    index = position % (len(payload.rstrip("=")))
    original = payload[index]
    replacement = "B" if original != "B" else "C"
    tampered = f"{version}:{key_id}:{payload[:index]}{replacement}{payload[index + 1 :]}"
    assert tampered != token
    with pytest.raises(FieldKeyError) as caught:
        cipher.decrypt(tampered, where)
    assert_no_plaintext(str(caught.value))


def test_tampered_raw_bytes_are_refused() -> None:
    cipher = FieldCipher([OLD])
    where = ctx()
    token = cipher.encrypt(IDENTITY, where)
    version, key_id, payload = token.split(":", 2)
    raw = bytearray(base64.b64decode(payload))
    for index in (0, 12, len(raw) // 2, len(raw) - 1):  # nonce, body, tag
        flipped = bytearray(raw)
        flipped[index] ^= 0x01
        bad = f"{version}:{key_id}:{base64.b64encode(bytes(flipped)).decode()}"
        with pytest.raises(FieldKeyError):
            cipher.decrypt(bad, where)
    truncated = f"{version}:{key_id}:{base64.b64encode(bytes(raw[:-1])).decode()}"
    with pytest.raises(FieldKeyError):
        cipher.decrypt(truncated, where)


@pytest.mark.parametrize(
    "token",
    ["", "garbage", "v1:abc", "v1:abc:not base64!", "v2:{kid}:AAAA", "v1:{kid}:", "v1:{kid}:AAAA", ":::"],
)
def test_malformed_tokens_are_field_key_errors(token: str) -> None:
    cipher = FieldCipher([OLD])
    with pytest.raises(FieldKeyError):
        cipher.decrypt(token.format(kid=key_fingerprint(OLD)), ctx())


def test_same_plaintext_twice_gives_different_ciphertexts() -> None:
    cipher = FieldCipher([OLD])
    where = ctx()
    tokens = {cipher.encrypt(IDENTITY, where) for _ in range(20)}
    assert len(tokens) == 20
    nonces = {base64.b64decode(t.split(":", 2)[2])[:12] for t in tokens}
    assert len(nonces) == 20
    for token in tokens:
        assert cipher.decrypt(token, where) == IDENTITY


def test_no_key_configured_is_refused() -> None:
    with pytest.raises(FieldKeyError, match="CASEFILE_FIELD_KEYS"):
        FieldCipher([])


def test_key_ids_do_not_reveal_the_key() -> None:
    key = os.urandom(32)
    fingerprint = key_fingerprint(key)
    token = FieldCipher([key]).encrypt(IDENTITY, ctx())
    assert fingerprint in token
    assert base64.b64encode(key).decode() not in token
    assert key.hex() not in token
    assert key.hex()[:16] != fingerprint
