"""Web captures: asking for one, recording what the browser gave as evidence, and what the record shows.

A capture request is checked before anything is queued (the address must be http(s) and public, or on a network an
administrator allowed), and again, connection by connection, while the page loads (casefile.capture.proxy). Its
artefacts become evidence items like any upload (hashed while stored, ERN, `ingested` entry): the WACZ is the
original, the screenshot, the PDF print and the media are its derivatives. A `captured` entry on the WACZ records the
SHA-256 of the capture's manifest, which each configured time-stamping authority then timestamps.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask_babel import gettext as _
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from casefile.auth.models import User
from casefile.capture.engine import PageCapture
from casefile.capture.models import CaptureState, WebCapture
from casefile.capture.netguard import AddressRefused, Guard
from casefile.cases.models import Case
from casefile.config import Settings
from casefile.custody.actions import Action
from casefile.custody.chain import canonical_bytes
from casefile.custody.ledger import record_custody
from casefile.custody.models import TimestampToken
from casefile.custody.timestamps import TimestampSubject, tokens_for
from casefile.errors import ValidationFailed
from casefile.evidence.models import Derivation, EvidenceItem, EvidenceKind
from casefile.evidence.services import incidents_in_case, ingest
from casefile.parsing import clean_text
from casefile.storage import BlobStore, BlobWriter
from casefile.witnesses.crypto import FieldCipher

MANIFEST_TYPE = "casefile-web-capture-v1"
MAX_URL = 2000
MAX_COOKIES = 8000
COOKIE_CONTEXT = "capture-session"
TOOLS = ("playwright", "warcio", "wacz", "yt-dlp", "rfc3161-client")


def guard_for(settings: Settings) -> Guard:
    return Guard(settings.capture_allow_networks)


def parse_cookies(raw: str, url: str) -> list[dict[str, Any]]:
    """A Cookie header as the user's browser sends it for this site ("a=1; b=2"), for this capture only."""
    cookies = []
    for part in raw.split(";"):
        name, sep, value = part.strip().partition("=")
        if not part.strip():
            continue
        if not sep or not name.strip() or any(c in name for c in " \t\r\n,"):
            raise ValidationFailed(
                _("Give the session as the browser's Cookie header: name=value; name2=value2."), field="cookies"
            )
        cookies.append({"name": name.strip(), "value": value.strip(), "url": url})
    return cookies


def request_capture(
    session: Session,
    settings: Settings,
    cipher: FieldCipher,
    case: Case,
    user: User,
    data: Mapping[str, Any],
) -> WebCapture:
    """Validate and record a capture request (the caller submits its job). Nothing is fetched here."""
    url = clean_text(data.get("url"), "url", max_length=MAX_URL).strip()
    if not url:
        raise ValidationFailed(_("Give the address of the page to capture."), field="url")
    try:
        guard_for(settings).check_url(url)
    except AddressRefused as error:
        raise ValidationFailed(str(error), field="url") from None
    raw_ids = data.get("incident_ids") or []
    if not isinstance(raw_ids, list):
        raise ValidationFailed(_("incident_ids is a list of incident ids."), field="incident_ids")
    incidents = incidents_in_case(session, case, raw_ids)
    note = clean_text(data.get("note"), "note", max_length=5000)
    cookies_raw = clean_text(data.get("cookies"), "cookies", max_length=MAX_COOKIES).strip()
    capture = WebCapture(
        id=uuid.uuid4(),
        case_id=case.id,
        url=url,
        note=note,
        incident_ids=[str(i.id) for i in incidents],
        state=CaptureState.QUEUED,
        created_by_id=user.id,
        details={},
    )
    if cookies_raw:
        cookies = parse_cookies(cookies_raw, url)
        capture.session_cookies = cipher.encrypt({"cookies": cookies}, f"{COOKIE_CONTEXT}:{capture.id}")
    session.add(capture)
    session.flush()
    return capture


def session_cookies(cipher: FieldCipher, capture: WebCapture) -> list[dict[str, Any]]:
    if not capture.session_cookies:
        return []
    return list(cipher.decrypt(capture.session_cookies, f"{COOKIE_CONTEXT}:{capture.id}").get("cookies", []))


def tool_versions() -> dict[str, str]:
    found = {}
    for name in TOOLS:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found


@dataclass(frozen=True)
class Artefact:
    role: str  # web_archive, screenshot, page_print, media
    writer: BlobWriter
    filename: str
    kind: EvidenceKind | None
    derivation: Derivation | None


def artefacts_of(page: PageCapture, wacz: Path) -> list[tuple[str, Path, EvidenceKind | None, Derivation | None]]:
    found: list[tuple[str, Path, EvidenceKind | None, Derivation | None]] = [
        ("web_archive", wacz, EvidenceKind.OPEN_SOURCE, None)
    ]
    if page.screenshot is not None:
        found.append(("screenshot", page.screenshot, EvidenceKind.PHOTO, Derivation.SCREENSHOT))
    if page.pdf is not None:
        found.append(("page_print", page.pdf, EvidenceKind.DOCUMENT, Derivation.PAGE_PRINT))
    found.extend(("media", path, None, Derivation.PAGE_MEDIA) for path in page.media)
    return found


def _host(url: str) -> str:
    return urlsplit(url).hostname or url


def record_capture(
    session: Session,
    store: BlobStore,
    capture: WebCapture,
    user: User,
    page: PageCapture,
    artefacts: Sequence[Artefact],
) -> WebCapture:
    """Every artefact as an evidence item, the manifest, and the `captured` entry, in the caller's transaction."""
    case = capture.case
    title = page.title or _host(page.final_url or capture.url)
    common = {
        "source": (page.final_url or capture.url)[:500],
        "collected_at": page.started_at.isoformat(),
    }
    items: list[tuple[Artefact, EvidenceItem]] = []
    original: EvidenceItem | None = None
    for artefact in artefacts:
        role_title = {
            "web_archive": _("Web capture: %(title)s", title=title),
            "screenshot": _("Screenshot: %(title)s", title=title),
            "page_print": _("PDF print: %(title)s", title=title),
        }.get(artefact.role, _("Media from %(title)s: %(name)s", title=title, name=artefact.filename))
        item = ingest(
            session,
            store,
            case,
            user,
            artefact.writer,
            filename=artefact.filename,
            data={
                **common,
                "title": role_title[:300],
                "description": capture.note if artefact.role == "web_archive" else "",
                **({"kind": artefact.kind.value} if artefact.kind else {}),
            },
            incident_ids=capture.incident_ids if artefact.role == "web_archive" else (),
            parent=original,
            derivation=artefact.derivation,
            provenance={"capture": str(capture.id), "url": capture.url},
        )
        if original is None:
            original = item
            item.text_content = page.text  # the page's text, for search (the WACZ itself is a zip)
        items.append((artefact, item))
    if original is None:
        raise ValueError("a capture's artefacts begin with its web archive")
    manifest = {
        "type": MANIFEST_TYPE,
        "capture_id": str(capture.id),
        "case": case.reference,
        "requested_url": capture.url,
        "final_url": page.final_url,
        "http_status": page.status,
        "title": page.title,
        "page_size": list(page.page_size),
        "captured_at": page.started_at.isoformat(),
        "finished_at": page.finished_at.isoformat() if page.finished_at else None,
        "requested_by": str(user.id),
        "response_headers": [list(h) for h in page.headers],
        "tls": page.tls,
        "browser": page.browser,
        "tools": tool_versions(),
        "connections": page.connections,
        "refused": page.refused,
        "media_errors": page.media_errors,
        "artefacts": [
            {
                "role": artefact.role,
                "ern": item.ern,
                "sha256": item.sha256,
                "size": item.size,
                "media_type": item.media_type,
            }
            for artefact, item in items
        ],
    }
    text = canonical_bytes(manifest).decode("utf-8")
    capture.manifest = text
    capture.manifest_sha256 = hashlib.sha256(text.encode("utf-8")).hexdigest()
    capture.final_url = page.final_url[:MAX_URL]
    capture.http_status = page.status
    capture.title = page.title[:300]
    capture.details = {
        "headers": [list(h) for h in page.headers],
        "tls": page.tls,
        "browser": page.browser,
        "tools": manifest["tools"],
        "connections": page.connections,
        "refused": page.refused,
        "media_errors": page.media_errors,
        "received_bytes": page.received_bytes,
        "page_size": list(page.page_size),
    }
    capture.wacz_item_id = original.id
    capture.captured_at = page.started_at
    capture.finished_at = page.finished_at
    capture.state = CaptureState.DONE
    capture.session_cookies = None
    session.flush()
    record_custody(
        session,
        actor=user,
        action=Action.CAPTURED,
        case_id=case.id,
        evidence_id=original.id,
        sha256=original.sha256,
        details={
            "capture": str(capture.id),
            "url": capture.url,
            "final_url": page.final_url,
            "manifest_sha256": capture.manifest_sha256,
        },
    )
    return capture


def fail(capture: WebCapture, message: str) -> None:
    capture.state = CaptureState.FAILED
    capture.error = message[:2000]
    capture.session_cookies = None


def captures_query(case: Case) -> Select[WebCapture]:
    return select(WebCapture).where(WebCapture.case_id == case.id).order_by(WebCapture.created_at.desc())


def derivatives(session: Session, capture: WebCapture) -> list[EvidenceItem]:
    if capture.wacz_item_id is None:
        return []
    return list(
        session.scalars(
            select(EvidenceItem).where(EvidenceItem.parent_id == capture.wacz_item_id).order_by(EvidenceItem.number)
        )
    )


def screenshot_of(items: Sequence[EvidenceItem]) -> EvidenceItem | None:
    """The capture's full-page screenshot among its derivatives."""
    return next((item for item in items if item.derivation is Derivation.SCREENSHOT), None)


def timestamps(session: Session, capture: WebCapture) -> list[TimestampToken]:
    return tokens_for(session, TimestampSubject.CAPTURE, [str(capture.id)])


def manifest_intact(capture: WebCapture) -> bool:
    """The stored manifest still hashes to what the ledger and the tokens name."""
    return bool(
        capture.manifest and capture.manifest_sha256 == hashlib.sha256(capture.manifest.encode("utf-8")).hexdigest()
    )


def token_json(token: TimestampToken) -> dict[str, Any]:
    return {
        "tsa_url": token.tsa_url,
        "tsa_name": token.tsa_name,
        "gen_time": token.gen_time.isoformat(),
        "serial": token.serial,
        "message_sha256": token.message_sha256,
        "token_base64": base64.b64encode(token.reply).decode("ascii"),
    }


def item_json(item: EvidenceItem) -> dict[str, Any]:
    return {
        "id": str(item.id),
        "ern": item.ern,
        "title": item.title,
        "sha256": item.sha256,
        "size": item.size,
        "media_type": item.media_type,
        "derivation": item.derivation.value if item.derivation else None,
    }


def captures_json(session: Session, captures: Sequence[WebCapture]) -> list[dict[str, Any]]:
    """Captures as the API gives them, with their artefacts and timestamps: three queries for the whole page."""
    archives = [c.wacz_item_id for c in captures if c.wacz_item_id is not None]
    items: dict[uuid.UUID, list[EvidenceItem]] = {}
    originals: dict[uuid.UUID, EvidenceItem] = {}
    if archives:
        for item in session.scalars(
            select(EvidenceItem)
            .where((EvidenceItem.parent_id.in_(archives)) | (EvidenceItem.id.in_(archives)))
            .order_by(EvidenceItem.number)
        ):
            if item.id in archives:
                originals[item.id] = item
            elif item.parent_id is not None:
                items.setdefault(item.parent_id, []).append(item)
    tokens: dict[str, list[TimestampToken]] = {}
    for token in tokens_for(session, TimestampSubject.CAPTURE, [str(c.id) for c in captures]):
        tokens.setdefault(token.subject_id, []).append(token)
    return [
        {
            "id": str(capture.id),
            "case_id": str(capture.case_id),
            "url": capture.url,
            "note": capture.note,
            "incident_ids": list(capture.incident_ids or []),
            "state": capture.state.value,
            "error": capture.error,
            "final_url": capture.final_url,
            "http_status": capture.http_status,
            "title": capture.title,
            "tls": (capture.details or {}).get("tls"),
            "browser": (capture.details or {}).get("browser"),
            "refused": (capture.details or {}).get("refused", []),
            "manifest_sha256": capture.manifest_sha256,
            "job_id": str(capture.job_id) if capture.job_id else None,
            "created_at": capture.created_at.isoformat(),
            "captured_at": capture.captured_at.isoformat() if capture.captured_at else None,
            "finished_at": capture.finished_at.isoformat() if capture.finished_at else None,
            "web_archive": item_json(originals[capture.wacz_item_id]) if capture.wacz_item_id in originals else None,
            "artefacts": [item_json(item) for item in items.get(capture.wacz_item_id, [])]
            if capture.wacz_item_id
            else [],
            "timestamps": [token_json(token) for token in tokens.get(str(capture.id), [])],
        }
        for capture in captures
    ]


def capture_json(session: Session, capture: WebCapture) -> dict[str, Any]:
    return captures_json(session, [capture])[0]
