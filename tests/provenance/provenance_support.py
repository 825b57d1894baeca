"""What the provenance tests make for themselves (imported by a unique name, like tests/support.py): a ProofMode-format
bundle signed with an OpenPGP key generated here (pgpy), and C2PA-signed JPEGs made with c2pa-python's Builder under
a test certificate authority (ES256)."""

from __future__ import annotations

import csv
import datetime
import hashlib
import io
import json
import warnings
import zipfile
from collections.abc import Callable
from typing import Any

import c2pa
import pgpy
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from opentimestamps.core.notary import BitcoinBlockHeaderAttestation, PendingAttestation
from opentimestamps.core.op import OpAppend, OpSHA256
from opentimestamps.core.serialize import BytesSerializationContext
from opentimestamps.core.timestamp import DetachedTimestampFile, Timestamp
from pgpy.constants import EllipticCurveOID, HashAlgorithm, KeyFlags, PubKeyAlgorithm

from support import PHOTOS

PHOTO = (PHOTOS / "DSCN0010.jpg").read_bytes()
PHOTO_NAME = "IMG_20200605_143012.jpg"
SIGNER_CN = "Field Camera Signer"
CALENDAR = "https://alice.btc.calendar.opentimestamps.org"
BLOCK = 654321


def new_pgp_key(algorithm: PubKeyAlgorithm = PubKeyAlgorithm.ECDSA, size: Any = EllipticCurveOID.NIST_P256) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pgpy's notes on checks it has not implemented
        key = pgpy.PGPKey.new(algorithm, size)
        key.add_uid(
            pgpy.PGPUID.new("ProofMode", email="noone@proofmode.witness.org"),
            usage={KeyFlags.Sign},
            hashes=[HashAlgorithm.SHA512, HashAlgorithm.SHA256],
        )
    return key


def detached(key: Any, data: bytes) -> bytes:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return str(key.sign(data)).encode()


def fingerprint(key: Any) -> str:
    return str(key.fingerprint).replace(" ", "").upper()


def ots_proof(digest: bytes) -> bytes:
    """An OpenTimestamps proof of `digest`: one calendar's pending attestation and a Bitcoin block attestation."""
    stamp = Timestamp(digest)
    pending = stamp.ops.add(OpAppend(b"\x01" * 16)).ops.add(OpSHA256())
    pending.attestations.add(PendingAttestation(CALENDAR))
    confirmed = stamp.ops.add(OpAppend(b"\x02" * 16)).ops.add(OpSHA256())
    confirmed.attestations.add(BitcoinBlockHeaderAttestation(BLOCK))
    context = BytesSerializationContext()
    DetachedTimestampFile(OpSHA256(), stamp).serialize(context)
    return context.getbytes()


PROOF_FIELDS = {
    "File Path": f"/storage/emulated/0/DCIM/Camera/{PHOTO_NAME}",
    "File Modified": "2020-06-05T14:30:12.000Z",
    "Proof Generated": "2020-06-05T14:30:15.118Z",
    "Location.Latitude": "32.3475",
    "Location.Longitude": "13.6371",
    "Location.Altitude": "312.0",
    "Location.Accuracy": "8.5",
    "Location.Provider": "gps",
    "Location.Time": "1591367412000",
    "NetworkType": "Mobile",
    "Network": "Libyana",
    "DataType": "LTE",
    "DeviceID": "a1b2c3d4e5f60718",
    "Hardware": "SM-A515F",
    "Manufacturer": "samsung",
    "ScreenSize": "6.46",
    "Language": "ar",
    "Locale": "ar_LY",
}


def make_bundle(
    key: Any,
    photo: bytes = PHOTO,
    *,
    flip: bool = False,
    name: str = PHOTO_NAME,
    other_files: dict[str, bytes] | None = None,
    drop: tuple[str, ...] = (),
) -> bytes:
    """A ProofMode "share proof" ZIP for `photo`, signed with `key`. With `flip`, one byte of the photo is changed
    after everything was signed (the bundle is otherwise the same)."""
    sha = hashlib.sha256(photo).hexdigest()
    fields = {**PROOF_FIELDS, "File Hash SHA256": sha}
    proof_json = json.dumps(fields, indent=2).encode()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(list(fields))
    writer.writerow(list(fields.values()))
    proof_csv = out.getvalue().encode()
    stored = bytearray(photo)
    if flip:
        stored[len(stored) // 2] ^= 0x01
    files = {
        name: bytes(stored),
        f"{sha}.proof.json": proof_json,
        f"{sha}.proof.csv": proof_csv,
        f"{sha}.asc": detached(key, photo),
        f"{sha}.proof.json.asc": detached(key, proof_json),
        f"{sha}.proof.csv.asc": detached(key, proof_csv),
        "pubkey.asc": str(key.pubkey).encode(),
        f"{sha}.ots": ots_proof(hashlib.sha256(photo).digest()),
        "HowToVerifyProofData.txt": b"Verify with gpg --verify <sha256>.asc <file>\n",
        **(other_files or {}),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, data in files.items():
            if member not in drop and not any(member.endswith(d) for d in drop):
                archive.writestr(member, data)
    return buffer.getvalue()


# --- C2PA ---------------------------------------------------------------------------------------------------------


def _certificate(
    subject: x509.Name, issuer: x509.Name, public: Any, signing: Any, *, ca: bool, days: int = 30
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=not ca,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=ca,
                crl_sign=ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
    )
    if not ca:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False
        ).add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(signing.public_key()), critical=False)
    return builder.sign(signing, hashes.SHA256())


def c2pa_signer_info() -> tuple[bytes, bytes]:
    """A test CA and an ES256 signing certificate under it: (PEM chain, leaf first; PEM private key)."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "Casefile Test CA"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Casefile tests"),
        ]
    )
    ca = _certificate(ca_name, ca_name, ca_key.public_key(), ca_key, ca=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, SIGNER_CN),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Casefile tests"),
        ]
    )
    leaf = _certificate(name, ca_name, key.public_key(), ca_key, ca=False)
    chain = leaf.public_bytes(serialization.Encoding.PEM) + ca.public_bytes(serialization.Encoding.PEM)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return chain, private


def jpeg_signer(c2pa_signer_info: tuple[bytes, bytes]) -> Callable[..., bytes]:
    """Sign a JPEG with C2PA Content Credentials: `actions` in its c2pa.actions assertion; `parent` (signed bytes)
    becomes its parentOf ingredient (an edit of that file)."""
    chain, private = c2pa_signer_info

    def sign(
        source: bytes, actions: list[dict[str, Any]], *, title: str = "photo.jpg", parent: bytes | None = None
    ) -> bytes:
        manifest = {
            "claim_generator_info": [{"name": "Casefile test camera", "version": "1.0"}],
            "title": title,
            "format": "image/jpeg",
            "assertions": [{"label": "c2pa.actions", "data": {"actions": actions}}],
        }
        signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, chain, private, None))
        out = io.BytesIO()
        with c2pa.Builder(manifest) as builder:
            if parent is not None:
                builder.add_ingredient(
                    {"title": "original.jpg", "relationship": "parentOf", "label": "original"},
                    "image/jpeg",
                    io.BytesIO(parent),
                )
            builder.sign(signer, "image/jpeg", io.BytesIO(source), out)
        signer.close()
        return out.getvalue()

    return sign
