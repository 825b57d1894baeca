"""Load one web page in headless Chromium and record it the way the Berkeley Protocol asks: every request and
response (a HAR with its bodies as files, turned into a WACZ by casefile.capture.archive), a full-page PNG, a PDF
print, the final URL, status and headers, the TLS certificate chain the browser was given, the page's text, and the
media on the page at best quality (yt-dlp). No Flask, no database: the job stores what this returns.

The browser starts empty for every capture (no profile, no cookies but those the user supplied for this capture),
with service workers blocked (they would answer from a cache the archive never sees), and every connection it or
yt-dlp opens goes through the guarded proxy.
"""

from __future__ import annotations

import base64
import contextlib
import ipaddress
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from casefile.capture.netguard import Guard
from casefile.capture.proxy import REFUSED_HEADER, GuardedProxy

# Chromium's calls home (updates, safe browsing, sync) stay off: they would be recorded and they leak the capture.
CHROMIUM_ARGS = [
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
    "--disable-default-apps",
    "--disable-features=Translate,OptimizationHints,OptimizationGuideModelDownloading,MediaRouter",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--no-pings",
    # WebRTC would send UDP around the proxy (and the guard): only proxied traffic leaves the browser.
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
]
VIEWPORT = {"width": 1280, "height": 900}
# How long the page may keep loading resources after `load` before it is taken as it stands.
SETTLE_MS = 3_000
MAX_TEXT_CHARS = 1_000_000
MAX_MEDIA = 5


class CaptureFailed(Exception):
    """The page could not be captured; the message says why, in words a user can act on."""


@dataclass
class PageCapture:
    requested_url: str
    final_url: str = ""
    status: int | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    title: str = ""
    text: str = ""
    page_size: tuple[int, int] = (0, 0)  # the document's full width and height in CSS pixels, as screenshotted
    tls: dict[str, Any] | None = None
    browser: str = ""
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    finished_at: datetime | None = None
    har: Path = Path()
    screenshot: Path | None = None
    pdf: Path | None = None
    media: list[Path] = field(default_factory=list)
    media_errors: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    connections: dict[str, str] = field(default_factory=dict)
    received_bytes: int = 0


def judge_chain(host: str, chain_der: Sequence[bytes], roots: Sequence[x509.Certificate]) -> dict[str, Any]:
    """The chain as the browser received it (PEM, leaf first) and whether it validates for `host` against the
    given roots at the time of capture. Recorded either way: a page served with a bad certificate is still a page
    someone published, and the record says so."""
    certs = [x509.load_der_x509_certificate(der) for der in chain_der]
    described = [
        {
            "subject": cert.subject.rfc4514_string(),
            "issuer": cert.issuer.rfc4514_string(),
            "not_before": cert.not_valid_before_utc.isoformat(),
            "not_after": cert.not_valid_after_utc.isoformat(),
            "serial": format(cert.serial_number, "x"),
            "pem": cert.public_bytes(serialization.Encoding.PEM).decode("ascii"),
        }
        for cert in certs
    ]
    result: dict[str, Any] = {"chain": described, "valid": False, "problem": ""}
    if not certs:
        result["problem"] = "no certificate was received"
        return result
    if not roots:
        result["problem"] = "no trusted roots to check against"
        return result
    try:
        address = _ip(host)
        subject: x509.DNSName | x509.IPAddress = x509.IPAddress(address) if address else x509.DNSName(host)
        verifier = PolicyBuilder().store(Store(list(roots))).build_server_verifier(subject)
        verifier.verify(certs[0], certs[1:])
        result["valid"] = True
    except (VerificationError, ValueError) as error:
        result["problem"] = str(error)[:500]
    return result


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def download_media(url: str, folder: Path, proxy: str, max_bytes: int, timeout: float) -> tuple[list[Path], str]:
    """The video and audio a page holds, at the best quality offered, through the proxy. A page with none is not
    an error (the empty list and no message); a page whose media cannot be fetched says why."""
    # yt-dlp and Playwright are heavy: imported by the capture job only, never by the web process.
    import yt_dlp
    from yt_dlp.utils import DownloadError

    folder.mkdir(parents=True, exist_ok=True)
    options = {
        "outtmpl": str(folder / "%(autonumber)03d.%(ext)s"),
        "format": "bv*+ba/b",
        "proxy": proxy,
        # The site's certificate was checked and recorded by the browser capture; the downloader goes through the
        # same guarded proxy and its bytes are hashed on arrival.
        "nocheckcertificate": True,
        "max_filesize": max_bytes,
        "playlistend": MAX_MEDIA,
        "socket_timeout": timeout,
        "quiet": True,
        "no_warnings": True,
        "noprogress": True,
        "restrictfilenames": True,
        "cachedir": False,
        "logger": _SilentLogger(),
    }
    try:
        with yt_dlp.YoutubeDL(options) as downloader:
            downloader.extract_info(url, download=True)
    except DownloadError as error:
        message = str(error)
        if "Unsupported URL" in message or "No video formats" in message:
            return [], ""
        return sorted(p for p in folder.iterdir() if p.is_file()), message.replace("ERROR: ", "")[:500]
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.endswith((".part", ".ytdl")))
    return files, ""


class _SilentLogger:
    def debug(self, msg: str) -> None:
        pass

    def info(self, msg: str) -> None:
        pass

    def warning(self, msg: str) -> None:
        pass

    def error(self, msg: str) -> None:
        pass


def capture_page(
    url: str,
    workdir: Path,
    *,
    guard: Guard,
    browser_path: str,
    timeout: float,
    max_bytes: int,
    roots: Sequence[x509.Certificate],
    cookies: Sequence[dict[str, Any]] = (),
    progress: Callable[[str], None] = lambda _step: None,
) -> PageCapture:
    # Playwright is heavy: imported by the capture job only.
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    if not Path(browser_path).is_file():
        raise CaptureFailed(
            f"No browser for captures at {browser_path}: install Debian's chromium or set CASEFILE_CAPTURE_BROWSER."
        )
    result = PageCapture(requested_url=url, har=workdir / "page.har.zip")
    deadline_ms = int(timeout * 1000)
    with GuardedProxy(guard, max_bytes) as proxy:
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=browser_path,
                    args=CHROMIUM_ARGS,
                    # <-loopback> stops Chromium sending loopback addresses around the proxy: every address is
                    # judged by the guard.
                    proxy={"server": proxy.url, "bypass": "<-loopback>"},
                )
                result.browser = f"Chromium {browser.version}"
                context = browser.new_context(
                    ignore_https_errors=True,
                    record_har_path=str(result.har),
                    record_har_content="attach",
                    service_workers="block",
                    accept_downloads=False,
                    viewport=VIEWPORT,  # type: ignore[arg-type]
                )
                if cookies:
                    context.add_cookies(list(cookies))  # type: ignore[arg-type]
                page = context.new_page()
                page.set_default_timeout(deadline_ms)
                cdp = context.new_cdp_session(page)
                cdp.send("Network.enable")
                progress("Loading the page")
                try:
                    response = page.goto(url, wait_until="load", timeout=deadline_ms)
                except PlaywrightError as error:
                    raise CaptureFailed(_load_failure(str(error), proxy)) from None
                # A page that never stops polling is captured as it stands.
                with contextlib.suppress(PlaywrightError):
                    page.wait_for_load_state("networkidle", timeout=SETTLE_MS)
                if response is None:
                    raise CaptureFailed("The page did not answer.")
                if response.header_value(REFUSED_HEADER) and proxy.traffic.refused:
                    # The proxy's own refusal, not the site's answer: its text names the address and why.
                    raise CaptureFailed(response.text().removeprefix("Refused by Casefile: ")[:500])
                result.final_url = page.url
                result.status = response.status
                result.headers = [(h["name"], h["value"]) for h in response.headers_array()]
                result.title = page.title()[:300]
                result.text = page.inner_text("body")[:MAX_TEXT_CHARS] if page.query_selector("body") else ""
                parts = urlsplit(result.final_url)
                if parts.scheme == "https" and parts.hostname:
                    origin = f"https://{parts.netloc}"
                    try:
                        chain = cdp.send("Network.getCertificate", {"origin": origin}).get("tableNames", [])
                    except PlaywrightError:
                        chain = []
                    result.tls = {
                        "origin": origin,
                        **(response.security_details() or {}),
                        **judge_chain(parts.hostname, [base64.b64decode(c) for c in chain], roots),
                    }
                progress("Taking the screenshot and the PDF print")
                size = page.evaluate(
                    "() => [document.documentElement.scrollWidth, document.documentElement.scrollHeight]"
                )
                result.page_size = (int(size[0]), int(size[1]))
                result.screenshot = workdir / "screenshot.png"
                page.screenshot(path=str(result.screenshot), full_page=True, type="png", timeout=deadline_ms)
                result.pdf = workdir / "page.pdf"
                page.pdf(path=str(result.pdf), print_background=True)
                context.close()  # writes the HAR
                browser.close()
        except PlaywrightError as error:
            raise CaptureFailed(_load_failure(str(error), proxy)) from None
        if proxy.traffic.over_limit:
            raise CaptureFailed(f"The page is larger than the capture limit of {max_bytes // 1024**2} MB.")
        progress("Looking for video and audio on the page")
        started = time.monotonic()
        result.media, media_error = download_media(
            result.final_url, workdir / "media", proxy.url, max(max_bytes - proxy.traffic.received, 0), timeout
        )
        if media_error:
            result.media_errors.append(media_error)
        if time.monotonic() - started > timeout:
            result.media_errors.append("The media download took longer than the capture time limit.")
        result.refused = list(proxy.traffic.refused)
        result.connections = dict(proxy.traffic.connections)
        result.received_bytes = proxy.traffic.received
    result.finished_at = datetime.now(UTC)
    return result


def _load_failure(message: str, proxy: GuardedProxy) -> str:
    if proxy.traffic.refused:
        return proxy.traffic.refused[-1]  # the navigation's own, refused as it failed
    if proxy.traffic.over_limit:
        return "The page is larger than the capture limit."
    first = message.strip().splitlines()[0] if message.strip() else "unknown error"
    return f"The page could not be loaded: {first[:300]}"
