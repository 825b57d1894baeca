"""RFC 3161 trusted timestamps: ask a time-stamping authority (TSA) for a token over a message, and check one.

A token proves that the message's SHA-256 existed no later than the TSA's clock says, independently of this
instance's clock and keys: what an insider who holds the signing key cannot back-date. Casefile asks every configured
TSA (CASEFILE_TSA_URLS) for a token over each signed checkpoint's tree-head message and over each web capture's
manifest, and keeps the whole DER TimeStampResp, so that a recipient can check it with
`openssl ts -verify -in token.tsr -data message -CAfile roots.pem`.

The ASN.1 and CMS work is rfc3161-client's (Trail of Bits); this module adds the HTTP exchange (RFC 3161 §3.4) and
the checks Casefile relies on: status granted, nonce echoed, imprint equal to the message's SHA-256, the signature
and the TSA certificate (critical timeStamping EKU) chaining to a configured root. Standard library, cryptography
and rfc3161-client only: no Flask, no database.
"""

from __future__ import annotations

import hashlib
import ssl
import urllib.request
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.utils import CryptographyDeprecationWarning
from rfc3161_client import (
    HashAlgorithm,
    TimestampRequestBuilder,
    TimeStampResponse,
    VerificationError,
    VerifierBuilder,
    decode_timestamp_response,
)

QUERY_TYPE = "application/timestamp-query"
REPLY_TYPE = "application/timestamp-reply"
# A reply is a few kilobytes (a token and the TSA's certificates); anything far larger is not one.
MAX_REPLY_BYTES = 256 * 1024
TIMEOUT_SECONDS = 30


class TimestampError(Exception):
    """A TSA could not be asked, or its token does not prove what it should (the message says which)."""


@dataclass(frozen=True)
class TokenInfo:
    gen_time: datetime
    serial: str
    tsa_name: str
    policy: str
    message_sha256: str  # hex


def load_roots(path: Path | None) -> list[x509.Certificate]:
    """The roots a token must chain to: a PEM file, or the system's bundle when none is configured."""
    if path is None:
        default = ssl.get_default_verify_paths().cafile
        if default is None:
            raise TimestampError("No CA bundle for time-stamping authorities: set CASEFILE_TSA_CA_FILE.")
        path = Path(default)
    try:
        with warnings.catch_warnings():
            # Distribution bundles still carry a few old roots with non-positive serial numbers.
            warnings.simplefilter("ignore", CryptographyDeprecationWarning)
            roots = x509.load_pem_x509_certificates(path.read_bytes())
    except (OSError, ValueError) as error:
        raise TimestampError(f"The TSA roots in {path} cannot be read: {error}") from None
    return roots


def _info(response: TimeStampResponse) -> TokenInfo:
    tst = response.tst_info
    name = tst.name
    tsa_name = getattr(name, "value", name)
    return TokenInfo(
        gen_time=tst.gen_time.astimezone(UTC),
        serial=format(tst.serial_number, "x"),
        tsa_name=(tsa_name.rfc4514_string() if isinstance(tsa_name, x509.Name) else str(tsa_name or ""))[:300],
        policy=tst.policy.dotted_string if tst.policy is not None else "",
        message_sha256=tst.message_imprint.message.hex(),
    )


def verify_reply(
    reply: bytes, message_sha256: str, roots: list[x509.Certificate], *, nonce: int | None = None
) -> TokenInfo:
    """Check a stored (or just received) TimeStampResp over the message whose SHA-256 is given."""
    try:
        response = decode_timestamp_response(reply)
    except ValueError as error:
        raise TimestampError(f"not a timestamp reply: {error}") from None
    if response.tst_info.message_imprint.hash_algorithm.dotted_string != "2.16.840.1.101.3.4.2.1":
        raise TimestampError("the token is not over a SHA-256 imprint")
    builder = VerifierBuilder(roots=list(roots), nonce=nonce)
    try:
        builder.build().verify(response, bytes.fromhex(message_sha256))
    except VerificationError as error:
        raise TimestampError(str(error)) from None
    except ValueError as error:  # malformed certificates or signature inside an otherwise parsable reply
        raise TimestampError(f"the token cannot be checked: {error}") from None
    return _info(response)


def request_token(url: str, message: bytes, roots: list[x509.Certificate]) -> tuple[bytes, TokenInfo]:
    """Ask one TSA for a token over `message` (hashed with SHA-256 here; only the hash leaves), with a fresh
    nonce and the TSA's certificate requested, and check the reply before returning it."""
    if not url.startswith(("https://", "http://")):
        raise TimestampError(f"{url[:80]}: a TSA is reached over http(s)")
    request = (
        TimestampRequestBuilder()
        .data(message)
        .hash_algorithm(HashAlgorithm.SHA256)  # the library's default is SHA-512; Casefile's hashes are SHA-256
        .nonce(nonce=True)
        .cert_request(cert_request=True)
        .build()
    )
    http = urllib.request.Request(  # noqa: S310 - the scheme is checked above
        url, data=request.as_bytes(), headers={"Content-Type": QUERY_TYPE, "Accept": REPLY_TYPE}, method="POST"
    )
    try:
        # The scheme was checked above: http(s) only, never file: or a custom one.
        with urllib.request.urlopen(http, timeout=TIMEOUT_SECONDS) as answer:  # noqa: S310  # nosec B310
            reply = answer.read(MAX_REPLY_BYTES + 1)
    except OSError as error:
        raise TimestampError(f"{url}: {error}") from None
    if len(reply) > MAX_REPLY_BYTES:
        raise TimestampError(f"{url}: the reply is larger than a timestamp reply can be")
    info = verify_reply(reply, hashlib.sha256(message).hexdigest(), roots, nonce=request.nonce)
    return reply, info
