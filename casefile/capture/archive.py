"""A capture's HAR (Playwright's, bodies attached as files) as a WARC, then a WACZ (webrecorder's `wacz` package)
that replays in ReplayWeb.page and passes `wacz validate`.

Why not har2warc: it reads the whole HAR with its bodies into memory and rebuilds query strings from the parsed
parameters (losing repeated ones), and an archive must say exactly what was requested. Here each body is streamed
from the HAR's zip into warcio, which computes the WARC block and payload digests. The browser stores bodies
decoded, so Content-Encoding and Transfer-Encoding are dropped and Content-Length states the stored length, as every
HAR-to-WARC writer must.
"""

from __future__ import annotations

import base64
import json
import zipfile
from datetime import datetime
from io import BytesIO
from pathlib import Path
from typing import IO, Any

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

SKIPPED_RESPONSE_HEADERS = frozenset({"content-encoding", "transfer-encoding", "content-length"})
PSEUDO = ":"  # HTTP/2 pseudo-headers (:authority, :path …) are not HTTP/1.1 header lines


def _http_version(value: str | None) -> str:
    value = (value or "").upper()
    return value if value in ("HTTP/1.0", "HTTP/1.1") else "HTTP/1.1"


def _request_record(writer: WARCWriter, entry: dict[str, Any]) -> Any:
    request = entry["request"]
    url = request["url"]
    target = url.split("#", 1)[0]
    # The request line carries the path and query exactly as requested, never rebuilt from parsed parameters.
    rest = target.split("://", 1)[-1]
    path = "/" + rest.split("/", 1)[1] if "/" in rest else "/"
    headers = [(h["name"], h["value"]) for h in request.get("headers", []) if not h["name"].startswith(PSEUDO)]
    body = (request.get("postData") or {}).get("text", "")
    payload = body.encode("utf-8") if body else b""
    status = StatusAndHeaders(f"{request['method']} {path} {_http_version(request.get('httpVersion'))}", headers)
    return writer.create_warc_record(
        target, "request", payload=BytesIO(payload), length=len(payload), http_headers=status
    )


def _response_record(writer: WARCWriter, entry: dict[str, Any], body: IO[bytes], length: int) -> Any:
    response = entry["response"]
    headers = [
        (h["name"], h["value"])
        for h in response.get("headers", [])
        if h["name"].lower() not in SKIPPED_RESPONSE_HEADERS and not h["name"].startswith(PSEUDO)
    ]
    headers.append(("Content-Length", str(length)))
    status_line = f"{response['status']} {response.get('statusText') or 'OK'}"
    status = StatusAndHeaders(status_line, headers, protocol=_http_version(response.get("httpVersion")))
    warc_headers = {"WARC-Date": _warc_date(entry.get("startedDateTime"))}
    return writer.create_warc_record(
        entry["request"]["url"].split("#", 1)[0],
        "response",
        payload=body,
        length=length,
        http_headers=status,
        warc_headers_dict=warc_headers,
    )


def _warc_date(value: str | None) -> str:
    if not value:
        return datetime.now().astimezone().strftime("%Y-%m-%dT%H:%M:%SZ")
    return datetime.fromisoformat(value.replace("Z", "+00:00")).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def har_to_warc(har_zip: Path, warc_path: Path, info: dict[str, str]) -> int:
    """Write the WARC; the number of responses recorded. Entries the browser never got an answer for (status 0:
    refused by the guard, cancelled) are left out: there is nothing to replay."""
    count = 0
    with zipfile.ZipFile(har_zip) as archive, warc_path.open("wb") as out:
        log = json.loads(archive.read("har.har"))["log"]
        writer = WARCWriter(out, gzip=True, warc_version="1.1")
        writer.write_record(writer.create_warcinfo_record(warc_path.name, info))
        names = set(archive.namelist())
        for entry in log.get("entries", []):
            response = entry.get("response") or {}
            if not response.get("status") or entry["request"]["method"] == "CONNECT":
                continue
            content = response.get("content") or {}
            attached = content.get("_file")
            if attached and attached in names:
                length = archive.getinfo(attached).file_size
                with archive.open(attached) as body:
                    writer.write_request_response_pair(
                        _request_record(writer, entry), _response_record(writer, entry, body, length)
                    )
            else:
                text = content.get("text", "")
                data = base64.b64decode(text) if content.get("encoding") == "base64" else text.encode("utf-8")
                writer.write_request_response_pair(
                    _request_record(writer, entry), _response_record(writer, entry, BytesIO(data), len(data))
                )
            count += 1
    return count


def make_wacz(warc_path: Path, wacz_path: Path, *, url: str, title: str) -> None:
    """Package the WARC with its CDX index and pages list (`wacz create`); raises RuntimeError if it refuses."""
    # wacz pulls in frictionless: imported by the capture job only.
    from wacz.main import main as wacz_main

    pages = wacz_path.with_suffix(".pages.jsonl")
    with pages.open("w", encoding="utf-8") as file:
        file.write(json.dumps({"format": "json-pages-1.0", "id": "pages", "title": "All Pages"}) + "\n")
        # Matched to the archived response by URL (wacz adds that record's timestamp).
        file.write(json.dumps({"id": "capture", "url": url.split("#", 1)[0], "title": title or url}) + "\n")
    code = wacz_main(
        [
            "create",
            "-o",
            str(wacz_path),
            "--pages",
            str(pages),
            "--hash-type",
            "sha256",
            "--title",
            title or url,
            str(warc_path),
        ]
    )
    pages.unlink(missing_ok=True)
    if code not in (0, None):
        raise RuntimeError(f"the web archive could not be packaged (wacz exit status {code})")
