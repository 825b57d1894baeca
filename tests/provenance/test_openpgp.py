"""Signatures are checked over a stream (the file is hashed in chunks, never held whole): the outcome agrees with
pgpy's own `PGPKey.verify`, for RSA, ECDSA and EdDSA keys and for SHA-256 and SHA-512."""

from __future__ import annotations

import os
import warnings
from typing import Any

import pytest
from pgpy.constants import EllipticCurveOID, HashAlgorithm, PubKeyAlgorithm

from casefile.provenance.openpgp import OpenPGPError, StreamVerifier, load_public_key, load_signature, verify_bytes

from provenance_support import new_pgp_key

DATA = os.urandom(3 * 1024 * 1024 + 17)  # several chunks, not a multiple of the chunk size


@pytest.mark.parametrize(
    ("algorithm", "size"),
    [
        (PubKeyAlgorithm.RSAEncryptOrSign, 2048),
        (PubKeyAlgorithm.ECDSA, EllipticCurveOID.NIST_P256),
        (PubKeyAlgorithm.EdDSA, EllipticCurveOID.Ed25519),
    ],
)
@pytest.mark.parametrize("digest", [HashAlgorithm.SHA256, HashAlgorithm.SHA512])
def test_streamed_verification_agrees_with_pgpy(algorithm: Any, size: Any, digest: Any) -> None:
    key = new_pgp_key(algorithm, size)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        signature = key.sign(DATA, hash=digest)
        assert bool(key.pubkey.verify(DATA, signature))
    public = load_public_key(str(key.pubkey).encode())
    verifier = StreamVerifier(public, load_signature(str(signature).encode()))
    for start in range(0, len(DATA), 1 << 20):
        verifier.update(DATA[start : start + (1 << 20)])
    result = verifier.result()
    assert result.valid and result.problem == "" and result.hash_algorithm == digest.name
    assert result.signed_at is not None

    changed = bytearray(DATA)
    changed[len(DATA) // 2] ^= 0x01
    refused = verify_bytes(public, load_signature(str(signature).encode()), bytes(changed))
    assert not refused.valid and refused.problem == "signature_invalid"


def test_another_key_and_garbage_are_named() -> None:
    mine, theirs = new_pgp_key(), new_pgp_key()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        signature = str(theirs.sign(b"photo")).encode()
    result = verify_bytes(load_public_key(str(mine.pubkey).encode()), load_signature(signature), b"photo")
    assert not result.valid and result.problem == "other_key"
    for garbage in (
        b"",
        b"\xff\xfe not armour",
        b"-----BEGIN PGP SIGNATURE-----\n\nAAAA\n-----END PGP SIGNATURE-----\n",
    ):
        with pytest.raises(OpenPGPError):
            load_signature(garbage)
        with pytest.raises(OpenPGPError):
            load_public_key(garbage)
    with pytest.raises(OpenPGPError):
        load_public_key(b"x" * (2 * 1024 * 1024))
