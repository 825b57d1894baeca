"""The dossier PDF signed as a PDF (PAdES baseline, with pyHanko), so that a lawyer's PDF reader shows it as signed
by the organisation and unaltered since, without the bag beside it.

The instance's Ed25519 key signs the bag and the ledger; PDF readers (and poppler's pdfsig) do not all accept
Ed25519, so the PDF is signed with a separate document-signing key and certificate: CASEFILE_DOCUMENT_SIGNING, a PEM
file holding an ECDSA or RSA private key and its certificate chain (leaf first), as the organisation's CA or a
qualified provider issued it. Without one, a self-signed P-256 certificate in the organisation's name is made once
into the instance folder: the signature then shows the document unaltered, and its signer as not (yet) trusted.
With a time-stamping authority configured the signature carries an RFC 3161 timestamp (PAdES B-T).
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from casefile.config import Settings, instance_secret
from casefile.errors import CasefileError
from casefile.workers import outside_event_loop

FILE_NAME = "document_signing.pem"
FIELD = "CasefileSignature"
# id-kp-documentSigning (RFC 9336): what the certificate is for.
DOCUMENT_SIGNING = x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36")


class SigningUnavailable(CasefileError):
    """The document-signing key or certificate cannot be used; the message says which and why (a dossier build
    fails with it: an unsigned PDF is not silently sent)."""


def make_document_signer_pem(organisation: str) -> bytes:
    """A P-256 key and a self-signed certificate in the organisation's name, valid ten years, as one PEM."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, f"{organisation} (Casefile dossiers)"[:64]),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation[:64] or "Casefile"),
        ]
    )
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False, False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([DOCUMENT_SIGNING, ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ) + cert.public_bytes(serialization.Encoding.PEM)


@dataclass(frozen=True)
class DocumentSigner:
    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
    chain: tuple[x509.Certificate, ...]  # leaf first

    @property
    def certificate(self) -> x509.Certificate:
        return self.chain[0]


def document_signer(settings: Settings) -> DocumentSigner:
    path = settings.document_signing_path or settings.instance_path / FILE_NAME
    if settings.document_signing_path is None:
        instance_secret(path, lambda: make_document_signer_pem(settings.organisation))
    try:
        raw = Path(path).read_bytes()
        key = serialization.load_pem_private_key(raw, password=None)
        chain = tuple(x509.load_pem_x509_certificates(raw))
    except (OSError, ValueError, TypeError) as error:
        raise SigningUnavailable(f"The document-signing file {path} cannot be used: {error}") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise SigningUnavailable(f"{path}: the document-signing key must be ECDSA or RSA")
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    if not chain or chain[0].public_key().public_bytes(
        serialization.Encoding.DER, spki
    ) != key.public_key().public_bytes(serialization.Encoding.DER, spki):
        raise SigningUnavailable(f"{path}: the first certificate is not the key's")
    return DocumentSigner(key, chain)


@dataclass(frozen=True)
class SignedPdf:
    data: bytes
    signer: str  # the certificate's subject
    certificate_sha256: str
    timestamped_by: str | None  # the TSA whose token the signature carries
    timestamp_errors: tuple[str, ...]


def sign_pdf(pdf: bytes, signer: DocumentSigner, *, reason: str, location: str, tsa_urls: Sequence[str]) -> SignedPdf:
    """The PDF with one PAdES signature over all of it, timestamped by the first configured TSA that answers (PAdES
    B-T); if none does, signed without a timestamp, and the errors say why (the dossier records them)."""
    errors: list[str] = []
    for url in [*tsa_urls, None]:
        try:
            return outside_event_loop(functools.partial(_signed, pdf, signer, reason, location, url, errors))
        except _TimestampFailed as error:
            errors.append(f"{url}: {error}")
    raise AssertionError("signing without a timestamp cannot fail for want of one")  # pragma: no cover


class _TimestampFailed(Exception):
    pass


def _signed(
    pdf: bytes, signer: DocumentSigner, reason: str, location: str, tsa_url: str | None, errors: list[str]
) -> SignedPdf:
    # pyHanko is heavy: imported where dossiers are built, not by every web process.
    from asn1crypto import keys as asn1_keys
    from asn1crypto import x509 as asn1_x509
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from pyhanko.sign.timestamps import HTTPTimeStamper, TimestampRequestError
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    certs = [asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER)) for c in signer.chain]
    key_info = asn1_keys.PrivateKeyInfo.load(
        signer.key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    simple = signers.SimpleSigner(
        signing_cert=certs[0], signing_key=key_info, cert_registry=SimpleCertificateStore.from_certs(certs)
    )
    meta = signers.PdfSignatureMetadata(
        field_name=FIELD,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=reason,
        location=location,
    )
    timestamper = HTTPTimeStamper(tsa_url, timeout=30) if tsa_url else None
    try:
        out = signers.PdfSigner(meta, signer=simple, timestamper=timestamper).sign_pdf(
            IncrementalPdfFileWriter(BytesIO(pdf))
        )
    except TimestampRequestError as error:
        raise _TimestampFailed(str(error)[:300]) from None
    return SignedPdf(
        data=out.getvalue(),
        signer=signer.certificate.subject.rfc4514_string(),
        certificate_sha256=signer.certificate.fingerprint(hashes.SHA256()).hex(),
        timestamped_by=tsa_url,
        timestamp_errors=tuple(errors),
    )
