"""Real peers for the capture and timestamp tests, on loopback (the machine is offline):

- `TestSite`: a website over HTTPS with its own test CA (an article, a page with an embedded video file, a redirect,
  a page that loads more content with JavaScript, a page that changes, a redirect to the metadata address);
- `LocalTSA`: a time-stamping authority that is OpenSSL's own implementation (`openssl ts -reply`) behind a small
  HTTP handler, with its own root and a TSA certificate carrying the critical timeStamping EKU.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
import subprocess
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

PEM = serialization.Encoding.PEM


def tool(name: str) -> str:
    """A console script installed beside the interpreter running the tests (`wacz validate`, …)."""
    return str(Path(sys.executable).parent / name)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_ca(common_name: str) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    now = datetime.datetime.now(datetime.UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def issue(
    ca: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    common_name: str,
    *,
    sans: list[x509.GeneralName] | None = None,
    eku: x509.ObjectIdentifier,
    key_usage: x509.KeyUsage,
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    now = datetime.datetime.now(datetime.UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=10))
        .add_extension(x509.ExtendedKeyUsage([eku]), critical=eku == ExtendedKeyUsageOID.TIME_STAMPING)
        .add_extension(key_usage, critical=True)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(ca_key, hashes.SHA256()), key


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.write_bytes(key.private_bytes(PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))


def _serve(server: ThreadingHTTPServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return thread


# A small MP4 is not needed: the capture must keep the served bytes exactly, whatever they are.
VIDEO = os.urandom(200_000)
ARTICLE = (
    "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Exhumation at Tarhouna</title></head><body>"
    "<h1>Exhumation at Tarhouna</h1><p>Teams recovered remains from the mass grave near the Kaniyat farm.</p>"
    + "<p>Paragraph of the article that makes the page long enough to scroll.</p>" * 120
    + "</body></html>"
)
VIDEO_PAGE = (
    "<!doctype html><html><head><meta charset='utf-8'><title>Video of the exhumation</title></head><body>"
    "<h1>Video</h1><video controls src='/media/exhumation.mp4'></video></body></html>"
)
SCRIPTED = (
    "<!doctype html><html><head><meta charset='utf-8'><title>Statement</title></head><body><h1>Statement</h1>"
    "<div id='loaded'>loading</div><script>fetch('/data/statement.json').then(r => r.json())"
    ".then(d => { document.getElementById('loaded').textContent = d.text; });</script></body></html>"
)
STATEMENT = b'{"text": "The brigade denies holding detainees at the farm."}'


class TestSite:
    """An HTTPS site on 127.0.0.1 whose certificate names `localhost` and 127.0.0.1, issued by its own CA."""

    __test__ = False  # not a test class, whatever its name

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.ca, ca_key = make_ca("Casefile Test Site CA")
        cert, key = issue(
            self.ca,
            ca_key,
            "localhost",
            sans=[x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))],
            eku=ExtendedKeyUsageOID.SERVER_AUTH,
            key_usage=x509.KeyUsage(True, False, False, False, False, False, False, False, False),
        )
        self.ca_file = folder / "site-ca.pem"
        self.ca_file.write_bytes(self.ca.public_bytes(PEM))
        (folder / "site.pem").write_bytes(cert.public_bytes(PEM) + self.ca.public_bytes(PEM))
        _write_key(folder / "site.key", key)
        self.changing = "<html><head><title>Militia statement</title></head><body><p>First version</p></body></html>"
        self.video = VIDEO
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: bytes, content_type: str, **headers: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for name, value in headers.items():
                    self.send_header(name.replace("_", "-"), value)
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                html = "text/html; charset=utf-8"
                routes = {
                    "/article": (200, ARTICLE.encode(), html),
                    "/video": (200, VIDEO_PAGE.encode(), html),
                    "/media/exhumation.mp4": (200, site.video, "video/mp4"),
                    "/scripted": (200, SCRIPTED.encode(), html),
                    "/data/statement.json": (200, STATEMENT, "application/json"),
                    "/changing": (200, site.changing.encode(), html),
                }
                if self.path == "/whoami":
                    cookie = self.headers.get("Cookie") or "no cookie"
                    body = f"<html><head><title>Who am I</title></head><body><p>{cookie}</p></body></html>"
                    self._send(200, body.encode(), html)
                elif self.path == "/old-address":
                    self._send(301, b"", "text/plain", Location="/article")
                elif self.path == "/to-metadata":
                    self._send(302, b"", "text/plain", Location="http://169.254.169.254/latest/meta-data/")
                elif self.path in routes:
                    status, body, content_type = routes[self.path]
                    self._send(status, body, content_type, X_Served_By="casefile-test-site")
                else:
                    self._send(404, b"not found", "text/plain")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(folder / "site.pem", folder / "site.key")
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.thread = _serve(self.server)

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def url(self, path: str, host: str = "localhost") -> str:
        return f"https://{host}:{self.port}{path}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


TSA_CONFIG = """
[ tsa ]
default_tsa = tsa_config
[ tsa_config ]
serial = {serial}
crypto_device = builtin
signer_digest = sha256
default_policy = 1.3.6.1.4.1.99999.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = no
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


class LocalTSA:
    """`openssl ts -reply` answering RFC 3161 requests over HTTP on 127.0.0.1."""

    def __init__(self, folder: Path, name: str = "Casefile Test TSA") -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.root, root_key = make_ca(f"{name} Root")
        cert, key = issue(
            self.root,
            root_key,
            name,
            eku=ExtendedKeyUsageOID.TIME_STAMPING,
            key_usage=x509.KeyUsage(True, True, False, False, False, False, False, False, False),
        )
        self.root_file = folder / "tsa-root.pem"
        self.root_file.write_bytes(self.root.public_bytes(PEM))
        self.cert_file = folder / "tsa.pem"
        self.cert_file.write_bytes(cert.public_bytes(PEM))
        self.key_file = folder / "tsa.key"
        _write_key(self.key_file, key)
        (folder / "serial").write_text("01\n")
        self.config = folder / "tsa.cnf"
        self.config.write_text(TSA_CONFIG.format(serial=folder / "serial"))
        self.requests = 0
        lock = threading.Lock()
        tsa = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                query = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with lock, tempfile.TemporaryDirectory(dir=folder) as work:
                    (Path(work) / "query.tsq").write_bytes(query)
                    done = subprocess.run(
                        [
                            "openssl",
                            "ts",
                            "-reply",
                            "-config",
                            str(tsa.config),
                            "-queryfile",
                            str(Path(work) / "query.tsq"),
                            "-inkey",
                            str(tsa.key_file),
                            "-signer",
                            str(tsa.cert_file),
                            "-out",
                            str(Path(work) / "reply.tsr"),
                        ],
                        capture_output=True,
                        check=False,
                    )
                    reply = (Path(work) / "reply.tsr").read_bytes() if done.returncode == 0 else b""
                    tsa.requests += 1
                self.send_response(200 if reply else 500)
                self.send_header("Content-Type", "application/timestamp-reply")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = _serve(self.server)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/tsa"

    def openssl_verify(self, token: Path, data: Path) -> subprocess.CompletedProcess[str]:
        """`openssl ts -verify` of a stored reply over a file, against this TSA's root: what a recipient runs."""
        return subprocess.run(
            ["openssl", "ts", "-verify", "-in", str(token), "-data", str(data), "-CAfile", str(self.root_file)],
            capture_output=True,
            text=True,
            check=False,
        )

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
