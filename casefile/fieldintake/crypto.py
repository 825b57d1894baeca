"""OpenRosa submission encryption, the server's half: the form's RSA key pair, and decrypting what a phone
encrypted as ODK Collect does it (its EncryptionUtils):

- a random 256-bit AES key per submission, sent RSA-OAEP-encrypted (`base64EncryptedKey`);
- each media file, in the manifest's order, then the submission XML last, encrypted with AES-256-CFB (128-bit
  segments) after PKCS#5 padding, with an IV made from MD5(instanceID ‖ key) whose byte i mod 16 is incremented
  once more before each file;
- `base64EncryptedElementSignature`: RSA-OAEP of MD5 over "form id, version, encrypted key, instance id, each
  media file's `name::md5`, `submission.xml::md5`", newline-terminated — checked after decryption, so a file
  swapped or truncated on the way is refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterator
from typing import IO

from cryptography.hazmat.decrepit.ciphers.modes import CFB  # what ODK Collect uses; "decrepit" for new designs
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

CHUNK = 1 << 20


class DecryptionFailed(Exception):
    pass


def new_key_pair() -> tuple[bytes, bytes]:
    """(public key as DER SubjectPublicKeyInfo, private key as PKCS#8 DER)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    private = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return public, private


def rsa_decrypt(private_der: bytes, ciphertext: bytes) -> bytes:
    """Java's "RSA/NONE/OAEPWithSHA256AndMGF1Padding" is OAEP with SHA-256, but its mask function's hash depends
    on the provider (SHA-1 in the JDK's and Android's Conscrypt, SHA-256 in Bouncy Castle): both are tried. OAEP's
    own check makes a wrong guess fail, never decrypt to garbage."""
    key = serialization.load_der_private_key(private_der, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise DecryptionFailed("the form's key is not an RSA key")
    for mgf in (hashes.SHA1(), hashes.SHA256()):  # noqa: S303 - MGF1's hash, as the clients use it  # nosec B303
        try:
            return key.decrypt(ciphertext, padding.OAEP(mgf=padding.MGF1(mgf), algorithm=hashes.SHA256(), label=None))
        except ValueError:
            continue
    raise DecryptionFailed("the submission's key was not encrypted with this form's public key")


def iv_seed(instance_id: str, key: bytes) -> bytes:
    return hashlib.md5(instance_id.encode("utf-8") + key, usedforsecurity=False).digest()


def iv_for(seed: bytes, index: int) -> bytes:
    """The IV of the `index`-th file encrypted (0-based): the seed with index+1 increments, byte i mod 16 each."""
    iv = bytearray(seed)
    for i in range(index + 1):
        iv[i % 16] = (iv[i % 16] + 1) % 256
    return bytes(iv)


def decrypt_stream(source: IO[bytes], key: bytes, iv: bytes) -> Iterator[bytes]:
    """The plaintext of one encrypted file, chunk by chunk, its PKCS#5 padding removed at the end."""
    decryptor = Cipher(algorithms.AES(key), CFB(iv)).decryptor()
    held = b""
    while chunk := source.read(CHUNK):
        plain = held + decryptor.update(chunk)
        held, plain = plain[-16:], plain[:-16]
        if plain:
            yield plain
    held += decryptor.finalize()
    pad = held[-1] if held else 0
    if not 1 <= pad <= 16 or len(held) < pad or held[-pad:] != bytes([pad]) * pad:
        raise DecryptionFailed("a file's padding is wrong: it was not encrypted with this submission's key")
    if held[:-pad]:
        yield held[:-pad]


def signature_source(
    form_id: str, version: str | None, encrypted_key_b64: str, instance_id: str, files: list[tuple[str, str]]
) -> bytes:
    """What the element signature signs: `files` are (plaintext name, md5 hex) with the submission XML last."""
    lines = [form_id, *([version] if version else []), encrypted_key_b64, instance_id]
    lines += [f"{name}::{md5}" for name, md5 in files]
    return "".join(line + "\n" for line in lines).encode("utf-8")


def check_signature(private_der: bytes, signature_b64: str, source: bytes) -> None:
    try:
        expected = rsa_decrypt(private_der, base64.b64decode(signature_b64, validate=True))
    except (ValueError, DecryptionFailed):
        raise DecryptionFailed("the submission's signature cannot be read with this form's key") from None
    if not hmac.compare_digest(expected, hashlib.md5(source, usedforsecurity=False).digest()):
        raise DecryptionFailed("the decrypted files do not match the submission's signature")
