"""Ed25519 instance keys, signed tree heads and OpenSSL-compatible detached signatures."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.rsa import generate_private_key as generate_rsa_key

from casefile.custody.merkle import merkle_root
from casefile.custody.signing import (
    TREE_HEAD_TYPE,
    SignedTreeHead,
    generate_private_key_pem,
    key_id,
    load_private_key,
    load_public_key,
    public_key_pem,
    sign_bytes,
    sign_tree_head,
    tree_head_message,
    verify_bytes,
    verify_tree_head,
)

OPENSSL = "/usr/bin/openssl"
ROOT = merkle_root([hashlib.sha256(str(i).encode()).digest() for i in range(1000)]).hex()
TS = "2024-03-01T09:30:00.123456+00:00"


@pytest.fixture(scope="module")
def key() -> Ed25519PrivateKey:
    return load_private_key(generate_private_key_pem())


@pytest.fixture(scope="module")
def other_key() -> Ed25519PrivateKey:
    return load_private_key(generate_private_key_pem())


# --- keys -----------------------------------------------------------------------------------------


def test_generated_key_is_unencrypted_pkcs8_pem() -> None:
    pem = generate_private_key_pem()
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----\n")
    assert isinstance(load_private_key(pem), Ed25519PrivateKey)
    assert generate_private_key_pem() != pem


def test_public_key_pem_and_key_id(key: Ed25519PrivateKey) -> None:
    pem = public_key_pem(key)
    assert pem.startswith(b"-----BEGIN PUBLIC KEY-----\n")
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    expected = hashlib.sha256(der).hexdigest()
    assert key_id(key) == key_id(key.public_key()) == key_id(pem) == expected
    assert load_public_key(pem).public_bytes_raw() == key.public_key().public_bytes_raw()


def test_non_ed25519_keys_are_refused() -> None:
    rsa = generate_rsa_key(public_exponent=65537, key_size=2048)
    rsa_pem = rsa.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    rsa_pub = rsa.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    with pytest.raises(ValueError):
        load_private_key(rsa_pem)
    with pytest.raises(ValueError):
        load_public_key(rsa_pub)
    with pytest.raises(ValueError):
        load_public_key(b"not a key")


# --- tree heads -----------------------------------------------------------------------------------


def test_tree_head_message_is_canonical_json() -> None:
    message = tree_head_message(1000, ROOT, TS)
    assert (
        message
        == (
            '{"root_hash":"' + ROOT + '","timestamp":"' + TS + '","tree_size":1000,"type":"' + TREE_HEAD_TYPE + '"}'
        ).encode()
    )
    assert json.loads(message) == {
        "tree_size": 1000,
        "root_hash": ROOT,
        "timestamp": TS,
        "type": TREE_HEAD_TYPE,
    }


@pytest.mark.parametrize(
    ("size", "root", "ts", "error"),
    [
        (-1, ROOT, TS, ValueError),
        (True, ROOT, TS, TypeError),
        ("1", ROOT, TS, TypeError),
        (1, ROOT.upper(), TS, ValueError),
        (1, ROOT[:-1], TS, ValueError),
        (1, bytes.fromhex(ROOT), TS, TypeError),
        (1, ROOT, "2024-03-01T09:30:00.123456Z", ValueError),  # one spelling only
        (1, ROOT, "2024-03-01T09:30:00+00:00", ValueError),  # microseconds required
        (1, ROOT, "2024-03-01T11:30:00.123456+02:00", ValueError),  # must be UTC
        (1, ROOT, "2024-03-01T09:30:00.123456", ValueError),  # naive
        (1, ROOT, "yesterday", ValueError),
    ],
)
def test_tree_head_message_rejects_bad_fields(size: object, root: object, ts: str, error: type) -> None:
    with pytest.raises(error):
        tree_head_message(size, root, ts)  # type: ignore[arg-type]


def test_sign_and_verify_tree_head(key: Ed25519PrivateKey) -> None:
    sth = sign_tree_head(key, 1000, ROOT, TS)
    assert (sth.tree_size, sth.root_hash, sth.timestamp, sth.key_id) == (1000, ROOT, TS, key_id(key))
    assert len(base64.b64decode(sth.signature, validate=True)) == 64
    assert verify_tree_head(public_key_pem(key), sth)
    # JSON round trip, as carried in a dossier.
    again = SignedTreeHead.from_dict(json.loads(json.dumps(sth.to_dict())))
    assert again == sth
    assert verify_tree_head(public_key_pem(key), again)


def test_sign_tree_head_accepts_aware_datetime(key: Ed25519PrivateKey) -> None:
    moment = datetime(2024, 3, 1, 11, 30, 0, 123456, tzinfo=timezone(timedelta(hours=2)))
    sth = sign_tree_head(key, 5, ROOT, moment)
    assert sth.timestamp == TS
    assert verify_tree_head(public_key_pem(key), sth)
    with pytest.raises(ValueError):
        sign_tree_head(key, 5, ROOT, datetime(2024, 3, 1))  # naive


@pytest.mark.parametrize(
    "change",
    [
        {"tree_size": 1001},
        {"tree_size": 999},
        {"tree_size": 0},
        {"root_hash": "0" * 64},
        {"root_hash": ROOT[:-1] + ("0" if ROOT[-1] != "0" else "1")},
        {"timestamp": "2024-03-01T09:30:00.123457+00:00"},
        {"timestamp": "2024-03-01T09:30:00.123456Z"},  # same instant, other spelling
        {"key_id": "0" * 64},
        {"signature": ""},
        {"signature": "not base64!"},
        {"signature": base64.b64encode(b"\x00" * 64).decode()},
        {"root_hash": ROOT.upper()},
        {"tree_size": -1},
    ],
)
def test_tampered_tree_head_rejected(key: Ed25519PrivateKey, change: dict[str, object]) -> None:
    sth = sign_tree_head(key, 1000, ROOT, TS)
    tampered = dataclasses.replace(sth, **change)  # type: ignore[arg-type]
    assert not verify_tree_head(public_key_pem(key), tampered)


def test_flipped_signature_bit_rejected(key: Ed25519PrivateKey) -> None:
    sth = sign_tree_head(key, 1000, ROOT, TS)
    raw = bytearray(base64.b64decode(sth.signature))
    for pos in (0, 31, 32, 63):
        forged = bytearray(raw)
        forged[pos] ^= 0x01
        bad = dataclasses.replace(sth, signature=base64.b64encode(bytes(forged)).decode())
        assert not verify_tree_head(public_key_pem(key), bad)


def test_wrong_key_rejected(key: Ed25519PrivateKey, other_key: Ed25519PrivateKey) -> None:
    sth = sign_tree_head(key, 1000, ROOT, TS)
    assert not verify_tree_head(public_key_pem(other_key), sth)
    # Even if the forger also rewrites key_id to match the other key.
    relabelled = dataclasses.replace(sth, key_id=key_id(other_key))
    assert not verify_tree_head(public_key_pem(other_key), relabelled)


def test_from_dict_is_strict(key: Ed25519PrivateKey) -> None:
    good = sign_tree_head(key, 3, ROOT, TS).to_dict()
    for bad in (
        {**good, "extra": 1},
        {k: v for k, v in good.items() if k != "signature"},
        {**good, "tree_size": "3"},
        {**good, "tree_size": True},
        {**good, "root_hash": None},
        [],
    ):
        with pytest.raises(ValueError):
            SignedTreeHead.from_dict(bad)  # type: ignore[arg-type]


# --- detached signatures and OpenSSL interop ------------------------------------------------------


def test_sign_bytes_roundtrip(key: Ed25519PrivateKey, other_key: Ed25519PrivateKey) -> None:
    data = "تقرير التحقيق".encode() * 1000
    sig = sign_bytes(key, data)
    assert len(sig) == 64
    assert verify_bytes(public_key_pem(key), data, sig)
    assert not verify_bytes(public_key_pem(key), data + b"\n", sig)
    assert not verify_bytes(public_key_pem(other_key), data, sig)
    assert not verify_bytes(public_key_pem(key), data, sig[:63])
    assert not verify_bytes(public_key_pem(key), data, sig + b"\x00")
    assert not verify_bytes(public_key_pem(key), data, bytes(64))


def openssl(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([OPENSSL, *map(str, args)], capture_output=True, text=True, check=False, timeout=60)


def openssl_verify(pub: Path, file: Path, sig: Path) -> subprocess.CompletedProcess[str]:
    return openssl("pkeyutl", "-verify", "-pubin", "-inkey", pub, "-rawin", "-in", file, "-sigfile", sig)


def test_openssl_verifies_our_detached_signature(tmp_path: Path, key: Ed25519PrivateKey) -> None:
    pub = tmp_path / "pub.pem"
    pub.write_bytes(public_key_pem(key))
    file = tmp_path / "dossier.pdf"
    file.write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 64 + "شهادة".encode())
    sig = tmp_path / "dossier.pdf.sig"
    sig.write_bytes(sign_bytes(key, file.read_bytes()))

    ok = openssl_verify(pub, file, sig)
    assert ok.returncode == 0, ok.stderr
    assert "Signature Verified Successfully" in ok.stdout

    data = bytearray(file.read_bytes())
    data[len(data) // 2] ^= 0x01
    file.write_bytes(bytes(data))
    bad = openssl_verify(pub, file, sig)
    assert bad.returncode != 0
    assert "Signature Verified Successfully" not in bad.stdout


def test_we_verify_openssl_signatures_with_our_key_pem(tmp_path: Path) -> None:
    # The PKCS#8 PEM we write is usable by OpenSSL, and its raw signatures verify here.
    priv = tmp_path / "instance.pem"
    priv.write_bytes(generate_private_key_pem())
    file = tmp_path / "data.bin"
    file.write_bytes(b"custody export\n" * 100)
    sig = tmp_path / "data.bin.sig"
    result = openssl("pkeyutl", "-sign", "-inkey", priv, "-rawin", "-in", file, "-out", sig)
    assert result.returncode == 0, result.stderr
    public_pem = public_key_pem(load_private_key(priv.read_bytes()))
    assert verify_bytes(public_pem, file.read_bytes(), sig.read_bytes())
    assert sig.read_bytes() == sign_bytes(load_private_key(priv.read_bytes()), file.read_bytes())
    derived = openssl("pkey", "-in", priv, "-pubout")
    assert derived.returncode == 0, derived.stderr
    assert derived.stdout.encode() == public_pem


def test_openssl_verifies_tree_head_signature(tmp_path: Path, key: Ed25519PrivateKey) -> None:
    # A recipient without Casefile rebuilds the message and checks the head with OpenSSL.
    sth = sign_tree_head(key, 1000, ROOT, TS)
    pub = tmp_path / "pub.pem"
    pub.write_bytes(public_key_pem(key))
    msg = tmp_path / "head.json"
    msg.write_bytes(tree_head_message(sth.tree_size, sth.root_hash, sth.timestamp))
    sig = tmp_path / "head.sig"
    sig.write_bytes(base64.b64decode(sth.signature))
    assert openssl_verify(pub, msg, sig).returncode == 0
    msg.write_bytes(tree_head_message(sth.tree_size + 1, sth.root_hash, sth.timestamp))
    assert openssl_verify(pub, msg, sig).returncode != 0
