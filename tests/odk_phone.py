"""A phone as the OpenRosa clients are: HTTP Digest from `requests` (an independent RFC 2617 client), submissions
shaped by the OpenRosa Form Submission API, and submission encryption done as ODK Collect's EncryptionUtils does it
(AES-256-CFB with PKCS#5 padding, IVs from MD5(instanceID ‖ key) with one more increment per file, RSA-OAEP
SHA-256 for the key and the element signature, media files first and the submission XML last)."""

from __future__ import annotations

import base64
import hashlib
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

import requests
from cryptography.hazmat.decrepit.ciphers.modes import CFB
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives import padding as sym_padding
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms
from requests.auth import HTTPDigestAuth

if TYPE_CHECKING:
    from support import Account, Api

FORM_ID = "casefile_field_report"
PHOTOS = Path(__file__).resolve().parent / "data" / "photos"
PHOTO = (PHOTOS / "DSCN0010.jpg").read_bytes()
PHOTO_2 = (PHOTOS / "Canon_40D.jpg").read_bytes()


@dataclass
class Phone:
    server: str  # the address a person enters in ODK Collect
    username: str
    password: str
    session: requests.Session = field(default_factory=requests.Session)

    def __post_init__(self) -> None:
        self.session.auth = HTTPDigestAuth(self.username, self.password)
        self.session.headers.update({"X-OpenRosa-Version": "1.0", "User-Agent": "org.odk.collect.android/v2026.1"})

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.session.get(self.server + path, timeout=30, **kw)

    def head(self, path: str) -> requests.Response:
        return self.session.head(self.server + path, timeout=30)

    def submit(self, xml: bytes, files: dict[str, bytes], *, incomplete: bool = False) -> requests.Response:
        parts: list[tuple[str, Any]] = [("xml_submission_file", ("submission.xml", xml, "text/xml"))]
        parts += [(name, (name, content, "application/octet-stream")) for name, content in files.items()]
        data = {"*isIncomplete*": "yes"} if incomplete else None
        return self.session.post(self.server + "/submission", files=parts, data=data, timeout=60)


def instance_id() -> str:
    return f"uuid:{uuid.uuid4()}"


def report_xml(
    version: str, instance: str, *, description: str, photos: list[str] = (), audio: str = "", **answers: str
) -> bytes:
    """A filled field report as ODK Collect writes it."""
    rows = "".join(f"<{name}>{escape(value)}</{name}>" for name, value in answers.items())
    photo_rows = "".join(f"<photos><photo>{escape(p)}</photo></photos>" for p in photos)
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><data xmlns:jr="http://openrosa.org/javarosa" '
        f'xmlns:orx="http://openrosa.org/xforms" id="{FORM_ID}" version="{escape(version)}">'
        f"<deviceid>collect:test-phone-1</deviceid>{rows}<description>{escape(description)}</description>"
        f"{photo_rows}<audio>{escape(audio)}</audio>"
        f"<meta><instanceID>{escape(instance)}</instanceID></meta></data>"
    ).encode()


def encrypt_submission(
    public_key_b64: str,
    version: str,
    instance: str,
    plain_xml: bytes,
    media: dict[str, bytes],
    *,
    mgf_sha1: bool = True,
) -> tuple[bytes, dict[str, bytes]]:
    """(the submission manifest to post as xml_submission_file, the .enc files) for an encrypted form."""
    public = serialization.load_der_public_key(base64.b64decode(public_key_b64))
    mgf = hashes.SHA1() if mgf_sha1 else hashes.SHA256()  # noqa: S303 - MGF1's hash, as Android's provider uses
    oaep = padding.OAEP(mgf=padding.MGF1(mgf), algorithm=hashes.SHA256(), label=None)
    key = os.urandom(32)
    encrypted_key = base64.b64encode(public.encrypt(key, oaep)).decode()  # type: ignore[union-attr]
    seed = bytearray(hashlib.md5(instance.encode() + key, usedforsecurity=False).digest())
    counter = 0
    signature_lines = [FORM_ID, version, encrypted_key, instance]
    out: dict[str, bytes] = {}

    def encrypt(name: str, content: bytes) -> None:
        nonlocal counter
        seed[counter % 16] = (seed[counter % 16] + 1) % 256
        counter += 1
        padder = sym_padding.PKCS7(128).padder()
        padded = padder.update(content) + padder.finalize()
        encryptor = Cipher(algorithms.AES(key), CFB(bytes(seed))).encryptor()
        out[name + ".enc"] = encryptor.update(padded) + encryptor.finalize()
        signature_lines.append(f"{name}::{hashlib.md5(content, usedforsecurity=False).hexdigest()}")

    for name, content in media.items():
        encrypt(name, content)
    encrypt("submission.xml", plain_xml)
    source = "".join(line + "\n" for line in signature_lines).encode()
    signature = base64.b64encode(public.encrypt(hashlib.md5(source, usedforsecurity=False).digest(), oaep)).decode()  # type: ignore[union-attr]
    media_rows = "".join(f"<media><file>{escape(name)}.enc</file></media>" for name in media)
    manifest = (
        f'<?xml version="1.0" encoding="UTF-8"?><data xmlns="http://www.opendatakit.org/xforms/encrypted" '
        f'id="{FORM_ID}" version="{escape(version)}" encrypted="yes">'
        f"<base64EncryptedKey>{encrypted_key}</base64EncryptedKey>"
        f'<orx:meta xmlns:orx="http://openrosa.org/xforms"><orx:instanceID>{escape(instance)}</orx:instanceID></orx:meta>'
        f"{media_rows}<encryptedXmlFile>submission.xml.enc</encryptedXmlFile>"
        f"<base64EncryptedElementSignature>{signature}</base64EncryptedElementSignature></data>"
    ).encode()
    return manifest, out


@dataclass
class Field:
    api: Api
    account: Account
    case_id: uuid.UUID
    incident_id: str
    form: dict[str, Any]
    phone: Phone
    credential: dict[str, Any]
