"""The referral dossier as a PDF: ``data/dossier.pdf`` in the bag, rendered from the dossier document.

The input is the machine-readable dossier document (the same dict that is written as ``data/dossier.json``,
:class:`casefile.dossier.document.DossierDocument`); the output is a PDF written to a binary file object. It is
read leniently (a missing or mistyped part renders as empty), so a partial document still renders. The PDF is a
reading copy for the recipient: the JSON, the evidence files and the signed manifests are what a verifier checks,
and the cover says so.

Rendering needs no Flask app (the builder may run from the CLI): a Jinja2 environment of our own, rooted at
``<repo>/templates`` with autoescaping on, renders ``templates/dossier/pdf.html`` and WeasyPrint lays it out.

* Every piece of user text is escaped by the template; only the two SVG charts from :mod:`casefile.charts`
  (complete documents with every label escaped by that module) are inserted as markup. Bidi embedding, override
  and isolate controls are stripped from user text so a crafted title cannot visually reorder an ERN or a hash.
* User text keeps its own direction: each user-text element gets ``dir`` from its first strong character (the
  HTML ``dir="auto"`` rule, computed here because WeasyPrint does not resolve ``auto`` itself), while the page
  direction follows the dossier language (``rtl`` for Arabic).
* Headings go through ``translate`` (a gettext-like callable, identity by default), so the dossier can be produced
  in the recipient's language.
* Nothing is fetched from the network: the URL fetcher serves ``data:`` URLs and files under ``templates/`` only.
* One font family, DejaVu Sans (it shapes Arabic), and DejaVu Sans Mono for ERNs and hashes.
"""

from __future__ import annotations

import copy
import functools
import io
import mimetypes
import re
import resource
import time
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, BinaryIO, SupportsIndex, SupportsInt, cast
from urllib.parse import unquote, urlsplit

import jinja2
import weasyprint
from babel.dates import format_date
from markupsafe import Markup
from weasyprint.urls import URLFetcher, URLFetcherResponse

from casefile import REPO_ROOT
from casefile.dossier.document import ANNEXES, SECTIONS, DossierDocument
from casefile.dossier.markdown import render_markdown
from casefile.dossier.shaping import shape_svg_text
from casefile.labels import (
    ACTION_LABELS,
    CATALOGUE_TRANSLATION_NOTICE,
    CHANGED_VALUE_WORDS,
    DETAIL_LABELS,
    DETAIL_VALUE_WORDS,
    TARGET_LABELS,
    profile_words,
    word_for,
)
from casefile.legal.catalogue import LANGUAGES as CATALOGUE_LANGUAGES
from casefile.legal.catalogue import load_catalogue

__all__ = [
    "LocalOnlyFetcher",
    "RenderedPdf",
    "html_to_pdf",
    "render_dossier_html",
    "render_dossier_pdf",
    "text_direction",
]

TEMPLATES_DIR = REPO_ROOT / "templates"
TEMPLATE_NAME = "dossier/pdf.html"

# Past these, the evidence index has one line per item and the custody trail one summary line per item.
COMPACT_EVIDENCE_ITEMS = 150
FULL_CUSTODY_ENTRIES = 400

RTL_LANGUAGES = frozenset({"ar", "fa", "he", "ps", "ur", "yi", "ckb", "sd", "ug"})

# Bidi embeddings/overrides (LRE RLE PDF LRO RLO), isolates (LRI RLI FSI PDI), the marks (LRM RLM ALM) and the
# other C0/C1 controls except tab and newline. The renderer applies the bidi algorithm by itself; these characters
# in user text only serve to disguise it.
_STRIP = dict.fromkeys(
    [
        *range(0x202A, 0x202F),
        *range(0x2066, 0x206A),
        0x200E,
        0x200F,
        0x061C,
        *(c for c in range(0x00, 0x20) if c not in (0x09, 0x0A)),
        *range(0x7F, 0xA0),
    ]
)

Translate = Callable[[str], str]


def _identity(text: str) -> str:
    return text


# --------------------------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------------------------


def render_dossier_pdf(
    document: DossierDocument,
    *,
    command_chart_svg: str | None,
    timeline_svg: str | None,
    out: BinaryIO,
    translate: Translate | None = None,
    language: str | None = None,
) -> None:
    """Render the dossier document as a PDF and write the bytes to ``out``.

    ``command_chart_svg`` and ``timeline_svg`` are SVG documents from :mod:`casefile.charts` (or ``None`` to leave
    the chart out); ``translate`` is a gettext-like callable for headings and labels (identity by default);
    ``language`` sets ``<html lang dir>`` and defaults to the profile's language, then "en".
    """
    html = render_dossier_html(
        document,
        command_chart_svg=command_chart_svg,
        timeline_svg=timeline_svg,
        translate=translate,
        language=language,
    )
    out.write(html_to_pdf(html).data)


@dataclass(frozen=True)
class RenderedPdf:
    data: bytes
    pages: int
    layout_seconds: float
    seconds: float
    # VmRSS when the rendering started and the process's peak RSS after it (KiB): in a worker forked for the
    # rendering, their difference is the memory the rendering itself took.
    rss_start_kib: int
    peak_rss_kib: int


def html_to_pdf(html: str) -> RenderedPdf:
    """Lay out the HTML of :func:`render_dossier_html` and write the PDF. Plain data in and out (picklable),
    so the dossier builder can run it in a worker process while it streams the evidence files."""
    rss_start = _rss_kib()
    started = time.perf_counter()
    laid_out = weasyprint.HTML(
        string=html,
        base_url=(TEMPLATES_DIR / "dossier").as_uri() + "/",
        url_fetcher=LocalOnlyFetcher(TEMPLATES_DIR),
    ).render()
    layout_seconds = time.perf_counter() - started
    out = io.BytesIO()
    laid_out.write_pdf(out)
    return RenderedPdf(
        data=out.getvalue(),
        pages=len(laid_out.pages),
        layout_seconds=layout_seconds,
        seconds=time.perf_counter() - started,
        rss_start_kib=rss_start,
        peak_rss_kib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    )


def _rss_kib() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def render_dossier_html(
    document: DossierDocument,
    *,
    command_chart_svg: str | None,
    timeline_svg: str | None,
    translate: Translate | None = None,
    language: str | None = None,
) -> str:
    """The HTML that :func:`render_dossier_pdf` lays out (useful for debugging and tests)."""
    translate = translate or _identity
    dossier = _mapping(document.get("dossier"))
    profile = _mapping(dossier.get("profile"))
    language = str(language or profile.get("language") or "en")
    direction = "rtl" if language.replace("_", "-").split("-")[0].lower() in RTL_LANGUAGES else "ltr"
    template = _environment().get_template(TEMPLATE_NAME)
    view = _view(_localised(document, language, translate))
    annexes = _sections(profile.get("annexes"), ANNEXES)
    if document.get("analysis") is not None:
        annexes.append("analysis")
    return template.render(
        _=translate,
        label=lambda code, kind: word_for(code, kind, translate),
        lang=language,
        direction=direction,
        sections=_sections(profile.get("sections"), SECTIONS),
        annexes=annexes,
        doc=view,
        command_chart=_svg(command_chart_svg),
        timeline=_svg(timeline_svg),
    )


def _localised(document: DossierDocument, language: str, translate: Translate) -> DossierDocument:
    """The document as the PDF shows it in ``language``: dossier.json keeps the legal catalogue's English texts,
    the dates as the app showed them and the violation types' English words (it is the same for every reader);
    the PDF shows the catalogue's texts in its language (by their codes, casefile/legal/catalogue/*.ar.yaml), the
    dates and violation types in words of its language, and the profile's name and recipient translated."""
    code = language.replace("-", "_").split("_")[0].lower()
    if code == "en":
        return document
    shown: dict[str, Any] = copy.deepcopy(dict(document))
    catalogue = load_catalogue()

    def text(item_code: object, name: str, english: object) -> str:
        if isinstance(item_code, str) and item_code in catalogue:
            for look_up in (catalogue.element, catalogue.offence, catalogue.mode, catalogue.framework):
                try:
                    return look_up(item_code).localised(name, code)
                except KeyError:
                    continue
        return str(english or "")

    for charge in _list(shown.get("charges")):
        for key in ("offence", "mode"):
            part = charge.get(key)
            if isinstance(part, dict):
                part["title"] = text(part.get("code"), "title", part.get("title"))
                part["reference"] = text(part.get("code"), "reference", part.get("reference"))
        for element in _list(charge.get("elements")):
            element["text"] = text(element.get("code"), "text", element.get("text"))
            element["reference"] = text(element.get("code"), "reference", element.get("reference"))
            element["group"] = word_for(element.get("group"), "element_group", translate)
    dates: dict[str, str] = {}
    for incident in _list(shown.get("incidents")):
        incident["date_display"] = dates[str(incident.get("id"))] = _date_display(incident, code, translate)
    for record in [*_list(shown.get("incidents")), *_list(shown.get("conduct"))]:
        record["violation_types"] = [translate(str(v)) for v in _list(record.get("violation_types"))]
        for involvement in _list(record.get("involvements")):
            _mode_words(involvement, text)
    for record in _list(shown.get("conduct")):
        record["date_display"] = dates.get(str(record.get("incident_id")), record.get("date_display"))
    for involvement in _list(shown.get("involvements")):
        _mode_words(involvement, text)
    dossier = shown.get("dossier")
    profile = dossier.get("profile") if isinstance(dossier, dict) else None
    if isinstance(profile, dict):
        profile["title"], profile["recipient"] = profile_words(
            str(profile.get("code") or ""),
            str(profile.get("title") or ""),
            str(profile.get("recipient") or ""),
            translate,
        )
    if code in CATALOGUE_LANGUAGES and shown.get("charges"):
        shown["catalogue_notice"] = translate(CATALOGUE_TRANSLATION_NOTICE)
    return cast("DossierDocument", shown)


def _mode_words(involvement: Any, text: Callable[[object, str, object], str]) -> None:
    if isinstance(involvement, dict) and involvement.get("mode_of_liability"):
        involvement["mode_of_liability"] = text(
            involvement["mode_of_liability"], "title", involvement["mode_of_liability"]
        )


def _date_display(incident: Mapping[str, Any], language: str, translate: Translate) -> str:
    """An incident's dates as precisely as they are known, in ``language`` (the app's format_incident_date)."""
    precision = str(incident.get("date_precision") or "day")

    def one(value: str) -> str:
        day = date.fromisoformat(value)
        if precision == "day":
            return format_date(day, "d MMMM y", locale=language)
        if precision == "month":
            return format_date(day, "MMMM y", locale=language)
        year = format_date(day, "y", locale=language)
        return year if precision == "year" else translate("approx. %(year)s") % {"year": year}

    start, end = incident.get("start_date"), incident.get("end_date")
    if not start:
        return translate("date unknown")
    shown = one(str(start))
    if end and end != start and (last := one(str(end))) != shown:
        return f"{shown} – {last}"
    return shown


def text_direction(value: object) -> str:
    """``rtl`` or ``ltr`` from the first strong character (HTML's ``dir=auto``), ``auto`` when there is none."""
    for ch in str(value or ""):
        bidi = unicodedata.bidirectional(ch)
        if bidi == "L":
            return "ltr"
        if bidi in ("R", "AL"):
            return "rtl"
    return "auto"


# --------------------------------------------------------------------------------------------------------------
# Network isolation
# --------------------------------------------------------------------------------------------------------------


class LocalOnlyFetcher(URLFetcher):
    """Serves ``data:`` URLs and files inside ``root``; refuses everything else (no network, no other files)."""

    def __init__(self, root: Path) -> None:
        super().__init__(allowed_protocols=("data", "file"), allow_redirects=False)
        self._root = root.resolve()

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme == "data":
            return super().fetch(url, headers)
        if scheme == "file" and parts.netloc in ("", "localhost"):
            path = Path(unquote(parts.path)).resolve()
            if path.is_relative_to(self._root) and path.is_file():
                media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                return URLFetcherResponse(path.as_uri(), path.read_bytes(), headers={"Content-Type": media_type})
        raise ValueError(f"refused to fetch {url[:200]!r}: the dossier PDF uses no outside resources")


# --------------------------------------------------------------------------------------------------------------
# Template environment and filters
# --------------------------------------------------------------------------------------------------------------


def clean_text(value: object) -> str:
    """User text as shown: bidi controls and other control characters removed, tabs and newlines kept."""
    if value is None:
        return ""
    return str(value).translate(_STRIP)


def _finalize(value: object) -> object:
    # Runs on every {{ … }} before escaping: strip disguising characters from plain strings (Markup — the charts —
    # was cleaned by its producer and stays as it is).
    if value is None:
        return ""
    if isinstance(value, str) and not isinstance(value, Markup):
        return clean_text(value)
    return value


def _format_time(value: object, precision: str = "seconds") -> str:
    """An ISO timestamp as ``2020-06-05 14:03:22 UTC`` (or only the date); anything unparseable is shown as given."""
    if not value:
        return ""
    text = str(value)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    if precision == "date":
        # A date is shown in UTC, like every time in the dossier.
        return (moment.astimezone(UTC) if moment.tzinfo else moment).strftime("%Y-%m-%d")
    if moment.tzinfo is None:
        return moment.strftime("%Y-%m-%d %H:%M:%S")
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") + " UTC"


def _format_size(value: object) -> str:
    if not isinstance(value, str | bytes | SupportsInt | SupportsIndex):
        return str(value or "")  # None, or nothing int() takes
    try:
        size = int(value)
    except ValueError:
        return str(value or "")
    if size < 1024:
        return f"{size} B"
    amount = float(size)
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        amount /= 1024
        if amount < 1024 or unit == "TiB":
            return f"{amount:.1f} {unit} ({size:,} B)"
    return f"{size} B"  # pragma: no cover - the loop always returns


# A read and how a download ended: counted (a download once), not listed in the PDF's trails.
UUID_TEXT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
READ_ACTIONS = frozenset({"viewed", "downloaded", "download_completed", "download_aborted"})
# What a reader of the custody section looks for, listed per item: acquisition, transfers, derivatives, exports,
# changes to the record and integrity checks. Other entries (links to the case's analysis, notes) are counted.
CUSTODY_ACTIONS = frozenset(
    {
        "ingested",
        "acquisition_recorded",
        "captured",
        "transferred",
        "derivative_created",
        "metadata_changed",
        "exported",
        "fixity_verified",
        "fixity_failed",
    }
)
# Increasing restriction (casefile.evidence.models.Classification): the dossier is marked with its highest.
CLASSIFICATION_ORDER = {"public": 0, "confidential": 1, "under_seal": 2, "secret": 3}


def _detail_words(value: object, translate: Translate) -> str:
    """A nested detail in words (a description change as "field: before → after"), never a dict's repr."""
    if isinstance(value, bool):
        return translate("yes") if value else translate("no")
    if isinstance(value, Mapping):
        parts = []
        for name, change in value.items():
            label = translate(DETAIL_LABELS[name]) if name in DETAIL_LABELS else str(name)
            if isinstance(change, Mapping) and ("from" in change or "to" in change):
                kind = CHANGED_VALUE_WORDS.get(str(name))

                def one(v: object, kind: str | None = kind) -> str:
                    if v in (None, ""):
                        return translate("(empty)")
                    return word_for(v, kind, translate) if kind else _detail_words(v, translate)

                parts.append(f"{label}: {one(change.get('from'))} → {one(change.get('to'))}")
            else:
                parts.append(f"{label}: {_detail_words(change, translate)}")
        return "; ".join(parts)
    if isinstance(value, list | tuple):
        return ", ".join(_detail_words(v, translate) for v in value)
    return str(value)


def _summarise_details(
    details: object, translate: Translate = lambda m: m, incidents: Mapping[str, str] | None = None, limit: int = 240
) -> str:
    """A custody entry's details for a reader: keys in words, empty values left out, incidents by title, link
    targets by kind, ids (which mean nothing on paper) left to data/custody/; shortened, capped at ``limit``."""
    if not details:
        return ""
    if not isinstance(details, Mapping):
        text = str(details)
    else:
        parts = []
        for key in sorted(details, key=str):
            value = details[key]
            if value in (None, "", [], {}) or (isinstance(value, str) and UUID_TEXT.fullmatch(value)):
                continue
            if key == "target_id":
                continue  # shown with its kind, below (a witness's pseudonym; an id is left out above)
            if key == "incidents" and isinstance(value, list):
                shown = "; ".join((incidents or {}).get(str(v), str(v)) for v in value)
            elif key == "target_type":
                target = details.get("target_id")
                named = f" {target}" if isinstance(target, str) and not UUID_TEXT.fullmatch(target) else ""
                shown = translate(TARGET_LABELS.get(str(value), str(value))) + named
            elif key == "stance":
                shown = translate(str(value))  # supports, contradicts, context: words in the catalogue
            elif key in DETAIL_VALUE_WORDS and isinstance(value, str):
                shown = word_for(value, DETAIL_VALUE_WORDS[key], translate)
            elif isinstance(value, str):
                shown = value
            else:
                shown = _detail_words(value, translate)
            if len(shown) > 80:
                shown = shown[:79] + "…"
            label = translate(DETAIL_LABELS[key]) if key in DETAIL_LABELS else str(key)
            parts.append(f"{label}: {shown}")
        text = "; ".join(parts)
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _hash_prefix(value: object, length: int = 16) -> str:
    text = str(value or "")
    return text[:length] + "…" if len(text) > length else text


@functools.cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        finalize=_finalize,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        textdir=text_direction,
        utc=_format_time,
        filesize=_format_size,
        details=_summarise_details,
        hashprefix=_hash_prefix,
        page_label_css=_page_label_css,
    )
    return env


def _page_label_css(label: str) -> Markup:
    """A translated "Page {page} of {pages}" as a CSS ``content`` value with page counters.

    Every character of the label that is not an ASCII letter, digit or space is written as a CSS escape (``\\645 ``:
    the space ends the escape and is not part of the text), so the value is safe inside a quoted CSS string and,
    unchanged, inside an HTML ``<style>`` element.
    """
    content: list[str] = []
    for piece in re.split(r"(\{page\}|\{pages\})", label):
        if piece == "{page}":
            content.append("counter(page)")
        elif piece == "{pages}":
            content.append("counter(pages)")
        elif piece:
            escaped = "".join(
                ch if (ch.isascii() and (ch.isalnum() or ch == " ")) else f"\\{ord(ch):x} " for ch in piece
            )
            content.append(f'"{escaped}"')
    return Markup(" ".join(content) or "counter(page)")  # noqa: S704 - every character escaped above  # nosec B704


def _svg(value: str | None) -> Markup | None:
    if not value or not value.strip():
        return None
    # Built by casefile.charts: a complete SVG document, every label XML-escaped there. Only an XML declaration
    # or doctype in front would be out of place inside HTML.
    body = re.sub(r"^\s*(<\?xml[^>]*\?>\s*)?(<!DOCTYPE[^>]*>\s*)?", "", value)
    body = shape_svg_text(body)  # WeasyPrint draws SVG text unshaped: see casefile.dossier.shaping
    return Markup(body)  # noqa: S704 - trusted chart markup from casefile.charts, label text re-escaped  # nosec B704


# --------------------------------------------------------------------------------------------------------------
# The view of the document the template reads
# --------------------------------------------------------------------------------------------------------------


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: object) -> list[Any]:
    if value is None or isinstance(value, str | bytes | Mapping):
        return []
    return list(value) if isinstance(value, Iterable) else []


def _sections(value: object, known: tuple[str, ...]) -> list[str]:
    """The profile's sections (or annexes) in the profile's order, known names only, each once."""
    wanted: list[str] = []
    for name in _list(value):
        name = str(name)
        if name in known and name not in wanted:
            wanted.append(name)
    return wanted


def _evidence_refs(value: object) -> tuple[int, list[str]]:
    """Supporting/contradicting evidence given either as a count or as a list of ERNs."""
    if isinstance(value, bool):
        return int(value), []
    if isinstance(value, int):
        return value, []
    refs = [str(v) for v in _list(value)]
    return len(refs), refs


def _grading(item: Mapping[str, Any]) -> str:
    """Admiralty grading, e.g. ``B2``: source reliability (A–F) then information credibility (1–6)."""
    return f"{item.get('source_reliability') or ''}{item.get('info_credibility') or ''}"


def _view(document: Mapping[str, Any]) -> dict[str, Any]:
    actors = [_mapping(a) for a in _list(document.get("actors"))]
    incidents = [_mapping(i) for i in _list(document.get("incidents"))]
    evidence = [_mapping(e) for e in _list(document.get("evidence"))]
    excluded = [_mapping(e) for e in _list(document.get("excluded"))]
    actor_names = {str(a.get("id")): a.get("name") for a in actors if a.get("id") is not None}
    incident_titles = {str(i.get("id")): i.get("title") for i in incidents if i.get("id") is not None}

    def actor_name(ref: object) -> object:
        return actor_names.get(str(ref), ref)

    def incident_title(ref: object) -> object:
        return incident_titles.get(str(ref), ref)

    relations = []
    for rel in map(_mapping, _list(document.get("relations"))):
        n_sup, sup = _evidence_refs(rel.get("supporting"))
        n_con, con = _evidence_refs(rel.get("contradicting"))
        relations.append(
            {
                **rel,
                "source_name": actor_name(rel.get("source")),
                "target_name": actor_name(rel.get("target")),
                "n_supporting": n_sup,
                "supporting_erns": sup,
                "n_contradicting": n_con,
                "contradicting_erns": con,
            }
        )

    involvements = []
    for inv in map(_mapping, _list(document.get("involvements"))):
        n_sup, sup = _evidence_refs(inv.get("supporting"))
        n_con, con = _evidence_refs(inv.get("contradicting"))
        involvements.append(
            {
                **inv,
                "actor_name": actor_name(inv.get("actor")),
                "incident_title": incident_title(inv.get("incident")),
                "n_supporting": n_sup,
                "supporting_erns": sup,
                "n_contradicting": n_con,
                "contradicting_erns": con,
            }
        )

    charges = []
    for charge in map(_mapping, _list(document.get("charges"))):
        elements = []
        previous_group: object = object()
        for element in map(_mapping, _list(charge.get("elements"))):
            elements.append(
                {
                    **element,
                    "supporting": [str(e) for e in _list(element.get("supporting"))],
                    "contradicting": [str(e) for e in _list(element.get("contradicting"))],
                    "new_group": element.get("group") != previous_group and bool(element.get("group")),
                }
            )
            previous_group = element.get("group")
        charges.append(
            {
                **charge,
                "suspect_name": actor_name(charge.get("suspect")),
                "offence": _mapping(charge.get("offence")),
                "mode": _mapping(charge.get("mode")) or None,
                "incidents": [incident_title(i) for i in _list(charge.get("incidents"))],
                "elements": elements,
            }
        )

    items = []
    for item in evidence:
        items.append({**item, "grading": _grading(item)})

    trails = _mapping(document.get("trails"))
    custody_items: list[dict[str, Any]] = []
    seen: set[str] = set()
    for item in evidence:
        ern = str(item.get("ern") or "")
        seen.add(ern)
        custody_items.append(
            {"ern": ern, "title": item.get("title"), "entries": [_mapping(e) for e in _list(trails.get(ern))]}
        )
    for ern in sorted(str(k) for k in trails if str(k) not in seen):
        custody_items.append({"ern": ern, "title": None, "entries": [_mapping(e) for e in _list(trails.get(ern))]})

    # Reads are counted, not listed: a trail of views would bury the acquisition, transfers and checks a reader of
    # the PDF looks for (dossier.json and data/custody/ keep every entry).
    for trail in custody_items:
        trail["reads"] = sum(1 for e in trail["entries"] if e.get("action") in ("viewed", "downloaded"))
        trail["other"] = sum(1 for e in trail["entries"] if e.get("action") not in CUSTODY_ACTIONS | READ_ACTIONS)
        trail["entries"] = [e for e in trail["entries"] if e.get("action") in CUSTODY_ACTIONS]
    custody_entries = sum(len(t["entries"]) for t in custody_items)
    custody = _mapping(document.get("custody"))
    levels = [str(i.get("classification") or "") for i in items]
    marking = max(levels, key=lambda level: CLASSIFICATION_ORDER.get(level, 0), default="public")
    dossier = _mapping(document.get("dossier"))
    return {
        "marking": marking,
        "cover_letter": render_markdown(str(dossier.get("cover_letter") or "")),
        "narrative": render_markdown(str(dossier.get("narrative") or "")),
        "targets": [
            {
                **t,
                "aliases": [str(v) for v in _list(t.get("aliases"))],
                "identifiers": [_mapping(x) for x in _list(t.get("identifiers"))],
                "positions": [_mapping(x) for x in _list(t.get("positions"))],
            }
            for t in map(_mapping, _list(document.get("targets")))
        ],
        "conduct": [
            {
                **c,
                "involvements": [_mapping(v) for v in _list(c.get("involvements"))],
                "violation_types": [str(v) for v in _list(c.get("violation_types"))],
                "supporting": [str(e) for e in _list(c.get("supporting"))],
                "contradicting": [str(e) for e in _list(c.get("contradicting"))],
            }
            for c in map(_mapping, _list(document.get("conduct")))
        ],
        "exculpatory": [
            {
                **e,
                "contradicts": [str(v) for v in _list(e.get("contradicts"))],
                "notes": [str(v) for v in _list(e.get("notes"))],
            }
            for e in map(_mapping, _list(document.get("exculpatory")))
        ],
        "analysis": [
            {
                **a,
                "gaps": [str(v) for v in _list(a.get("gaps"))],
                "contested": [str(v) for v in _list(a.get("contested"))],
            }
            for a in map(_mapping, _list(document.get("analysis")))
        ],
        "people": {str(k): _mapping(v) for k, v in _mapping(document.get("people")).items()},
        "incident_titles": {str(i.get("id")): str(i.get("title") or "") for i in incidents},
        "action_labels": ACTION_LABELS,
        "catalogue_notice": document.get("catalogue_notice") or "",
        "schema": document.get("schema"),
        "dossier": dossier,
        "profile": _mapping(dossier.get("profile")),
        "case": _mapping(document.get("case")),
        "incidents": [{**i, "violation_types": [str(v) for v in _list(i.get("violation_types"))]} for i in incidents],
        "actors": [
            {
                **a,
                "aliases": [str(v) for v in _list(a.get("aliases"))],
                "identifiers": [_mapping(x) for x in _list(a.get("identifiers"))],
            }
            for a in actors
        ],
        "relations": relations,
        "involvements": involvements,
        "charges": charges,
        "evidence": items,
        "excluded": [{**e, "reasons": [str(r) for r in _list(e.get("reasons"))]} for e in excluded],
        "withheld_count": int(document.get("withheld_count") or len(excluded)),
        "custody": {"tree_head": _mapping(custody.get("tree_head")), "public_key_id": custody.get("public_key_id")},
        "custody_items": custody_items,
        # Large dossiers get the compact layouts (see the template): one line per item, so the PDF stays short
        # and quick to lay out; every detail is in dossier.json and data/custody/ anyway.
        "compact_evidence": len(items) > COMPACT_EVIDENCE_ITEMS,
        "custody_entries": custody_entries,
        "summarise_custody": custody_entries > FULL_CUSTODY_ENTRIES,
        "ern_width": max((len(t["ern"]) for t in custody_items), default=3),
    }
