"""The dossier PDF: rendered from a dossier document with WeasyPrint, read back with poppler's pdftotext.

No database and no Flask app: the builder may render the PDF from the CLI, so the renderer must work without one.
"""

from __future__ import annotations

import copy
import hashlib
import io
import logging
import re
import shutil
import subprocess
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from casefile.charts import ChartEdge, ChartNode, TimelineEvent, render_command_chart, render_timeline
from casefile.dossier.pdf import (
    LocalOnlyFetcher,
    render_dossier_html,
    render_dossier_pdf,
    text_direction,
)

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils (pdftotext) is required")

ARABIC_NAME = "محمد الكاني"
ARABIC_PLACE = "ترهونة"
HOSTILE = "<b>x</b>"


def sha256(label: str) -> str:
    return hashlib.sha256(label.encode()).hexdigest()


def sha512(label: str) -> str:
    return hashlib.sha512(label.encode()).hexdigest()


def trail(ern: str, first_seq: int) -> list[dict[str, Any]]:
    return [
        {
            "seq": first_seq,
            "at": "2020-06-12T09:14:03+00:00",
            "actor": "amal@ngo.example",
            "action": "ingested",
            "details": {"filename": f"{ern}.bin", "size": 1200, "note": "uploaded from field kit"},
            "sha256": sha256(ern),
            "entry_hash": sha256(f"entry-{first_seq}"),
        },
        {
            "seq": first_seq + 7,
            "at": "2021-02-01T16:40:00Z",
            "actor": "legal@ngo.example",
            "action": "exported",
            "details": {"dossier": "TRH-D-0001"},
            "sha256": sha256(ern),
            "entry_hash": sha256(f"entry-{first_seq + 7}"),
        },
    ]


def make_document(sections: list[str] | None = None) -> dict[str, Any]:
    """A dossier document; `sections` may name annexes (evidence, custody) too, which go to the profile's annexes."""
    chosen = sections or ["summary", "incidents", "actors", "charges", "evidence", "custody"]
    return {
        "schema": "casefile-dossier/2",
        "dossier": {
            "id": "7f1d2c3e-0a9b-4c8d-9e7f-112233445566",
            "title": f"Tarhouna mass graves — referral {HOSTILE}",
            "generated_at": "2026-11-27T10:30:00+00:00",
            "generated_by": "legal@ngo.example",
            "organisation": "Libya Accountability Project",
            "profile": {
                "code": "icc-otp-art15",
                "title": "ICC Office of the Prosecutor — article 15 communication",
                "recipient": "Office of the Prosecutor, International Criminal Court",
                "consent_purpose": "share_icc",
                "language": "en",
                "sections": [s for s in chosen if s not in ("evidence", "custody")],
                "annexes": [s for s in chosen if s in ("evidence", "custody")],
            },
        },
        "case": {
            "reference": "TRH",
            "title": "Tarhouna",
            "summary": "Mass graves found in June 2020 after the Kaniyat militia left Tarhouna.\n"
            "Summary executions at Tarhouna prison; enforced disappearances.",
            "situation": "ICC-01/11 Situation in Libya",
        },
        "incidents": [
            {
                "id": "inc-1",
                "title": f"Mass grave at the dump site, {ARABIC_PLACE}",
                "description": "Eleven graves located by the GASMP.",
                "date_display": "June 2020",
                "place_name": f"{ARABIC_PLACE} (Tarhouna)",
                "latitude": 32.435,
                "longitude": 13.634,
                "location_precision": "vicinity",
                "violation_types": ["Killing", "Enforced disappearance"],
            },
            {
                "id": "inc-2",
                "title": "Executions at Tarhouna prison",
                "description": "",
                "date_display": "c. 2019",
                "place_name": "Tarhouna prison",
                "latitude": None,
                "longitude": None,
                "location_precision": "unknown",
                "violation_types": ["Summary execution"],
            },
        ],
        "actors": [
            {
                "id": "act-1",
                "name": "Mohamed al-Kani",
                "kind": "person",
                "aliases": [ARABIC_NAME, "Mohammed Khalifa al-Kani"],
                "description": "Leader of the Kaniyat militia.",
                "date_of_birth": "1970",
                "nationality": "Libyan",
                "identifiers": [{"type": "passport", "value": "LY-A1234567"}],
            },
            {
                "id": "act-2",
                "name": "Kaniyat militia",
                "kind": "armed_group",
                "aliases": ["الكانيات", "9th Brigade"],
                "description": "",
                "date_of_birth": None,
                "nationality": None,
                "identifiers": [],
            },
            {
                "id": "act-3",
                "name": "Khalifa Haftar",
                "kind": "person",
                "aliases": [],
                "description": "",
                "date_of_birth": None,
                "nationality": None,
                "identifiers": [],
            },
        ],
        "relations": [
            {
                "source": "act-1",
                "target": "act-2",
                "relation": "commands",
                "valid_from": "2015",
                "valid_to": "2020-06",
                "confidence": "high",
                "supporting": ["TRH-00001"],
                "contradicting": [],
            },
            {
                "source": "act-3",
                "target": "act-2",
                "relation": "commands",
                "valid_from": "2019-04",
                "valid_to": None,
                "confidence": "low",
                "supporting": 0,
                "contradicting": 0,
            },
        ],
        "involvements": [
            {
                "actor": "act-2",
                "incident": "inc-1",
                "degree": "perpetrator",
                "mode_of_liability": "direct",
                "status": "alleged",
                "supporting": 1,
                "contradicting": 1,
            }
        ],
        "charges": [
            {
                "suspect": "Mohamed al-Kani",
                "offence": {
                    "code": "rome-7-1-a",
                    "title": "Murder as a crime against humanity",
                    "reference": "art. 7(1)(a)",
                },
                "mode": {"code": "rome-25-3-b", "title": "Ordering", "reference": "art. 25(3)(b)"},
                "incidents": ["Executions at Tarhouna prison"],
                "elements": [
                    {
                        "code": "rome-7-1-a.e1",
                        "group": "Murder",
                        "text": "The perpetrator killed one or more persons.",
                        "reference": "EoC art. 7(1)(a), element 1",
                        "supporting": ["TRH-00001"],
                        "contradicting": ["TRH-00003"],
                    },
                    {
                        "code": "rome-7-ctx.e1",
                        "group": "Contextual elements of crimes against humanity",
                        "text": "The conduct was part of a widespread or systematic attack directed against a civilian "
                        "population.",
                        "reference": "art. 7(1)",
                        "supporting": [],
                        "contradicting": [],
                    },
                    {
                        "code": "rome-25-3-b.e1",
                        "group": "Ordering",
                        "text": "The accused ordered the conduct.",
                        "reference": "art. 25(3)(b)",
                        "supporting": ["TRH-00002"],
                        "contradicting": [],
                    },
                ],
            }
        ],
        "evidence": [
            {
                "ern": f"TRH-{n:05d}",
                "title": title,
                "kind": kind,
                "classification": "confidential",
                "media_type": media,
                "size": size,
                "sha256": sha256(f"item-{n}"),
                "sha512": sha512(f"item-{n}"),
                "collected_at": "2020-06-10T08:00:00+00:00",
                "source": source,
                "source_reliability": grade[0],
                "info_credibility": grade[1],
                "witness": witness,
                "parent_ern": None,
                "derivation": None,
                "file": f"data/evidence/TRH-{n:05d}.bin",
                "description": "",
            }
            for n, title, kind, media, size, source, grade, witness in [
                (1, f"Testimony of W-017 {HOSTILE}", "testimony", "audio/ogg", 5_400_000, "Interview", "B2", "W-017"),
                (
                    2,
                    f"Photograph of grave 3 at {ARABIC_PLACE}",
                    "photo",
                    "image/jpeg",
                    2_100_000,
                    "Field team",
                    "A1",
                    None,
                ),
                (
                    3,
                    "Militia statement denying involvement",
                    "document",
                    "application/pdf",
                    80_000,
                    "Social media",
                    "C3",
                    None,
                ),
            ]
        ],
        "excluded": [
            {"ern": "TRH-00009", "title": "Testimony of W-021", "reasons": ["witness has not consented to share_icc"]},
        ],
        "custody": {
            "tree_head": {
                "tree_size": 412,
                "root_hash": sha256("root"),
                "timestamp": "2026-11-27T10:29:58+00:00",
                "signature": "c2lnbmF0dXJl",
                "key_id": sha256("key")[:16],
            },
            "public_key_id": sha256("key")[:16],
        },
        "trails": {f"TRH-{n:05d}": trail(f"TRH-{n:05d}", 10 * n) for n in (1, 2, 3)},
    }


def charts(document: dict[str, Any]) -> tuple[str, str]:
    nodes = [ChartNode(a["id"], a["name"], a["kind"]) for a in document["actors"]]
    edges = [
        ChartEdge(
            r["source"],
            r["target"],
            r["relation"],
            r["relation"],
            len(r["supporting"]) if isinstance(r["supporting"], list) else r["supporting"],
            len(r["contradicting"]) if isinstance(r["contradicting"], list) else r["contradicting"],
            True,
        )
        for r in document["relations"]
    ]
    events = [
        TimelineEvent("inc-1", document["incidents"][0]["title"], date(2020, 6, 1), None, "month"),
        TimelineEvent("inc-2", document["incidents"][1]["title"], date(2019, 1, 1), None, "approximate"),
    ]
    return render_command_chart(nodes, edges, title="Command chart"), render_timeline(events, title="Timeline")


def render(document: dict[str, Any], **kwargs: Any) -> bytes:
    chart, timeline = charts(document)
    out = io.BytesIO()
    render_dossier_pdf(document, command_chart_svg=chart, timeline_svg=timeline, out=out, **kwargs)
    return out.getvalue()


def pdftotext(pdf: bytes, tmp_path: Path, *, layout: bool = False) -> str:
    path = tmp_path / "dossier.pdf"
    path.write_bytes(pdf)
    args = ["pdftotext", "-enc", "UTF-8", *(["-layout"] if layout else []), str(path), "-"]
    return subprocess.run(args, check=True, capture_output=True, timeout=60).stdout.decode("utf-8")


def plain(text: str) -> str:
    """pdftotext's output without the bidi embedding marks it puts around right-to-left runs in RTL paragraphs."""
    return re.sub("[\u202a-\u202e\u2066-\u2069]", "", text)


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.fixture(scope="module")
def full_pdf() -> bytes:
    return render(make_document())


@pytest.fixture(scope="module")
def full_text(full_pdf: bytes, tmp_path_factory: pytest.TempPathFactory) -> str:
    return pdftotext(full_pdf, tmp_path_factory.mktemp("pdf"))


def test_output_is_a_pdf(full_pdf: bytes) -> None:
    assert full_pdf.startswith(b"%PDF-")
    assert full_pdf.rstrip().endswith(b"%%EOF")


def test_rendering_logs_no_problem(caplog: pytest.LogCaptureFixture) -> None:
    # WeasyPrint reports a stylesheet it could not load, a refused URL or bad CSS through logging, not exceptions.
    with caplog.at_level(logging.WARNING, logger="weasyprint"):
        render(make_document())
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_only_dejavu_fonts_are_embedded(full_pdf: bytes, tmp_path: Path) -> None:
    path = tmp_path / "fonts.pdf"
    path.write_bytes(full_pdf)
    listing = subprocess.run(["pdffonts", str(path)], check=True, capture_output=True, timeout=60, text=True).stdout
    fonts = {line.split()[0].split("+", 1)[-1] for line in listing.splitlines()[2:] if line.strip()}
    assert "DejaVu-Sans" in fonts and "DejaVu-Sans-Mono" in fonts  # the stylesheet was applied
    assert all(font.startswith("DejaVu-Sans") for font in fonts), fonts


def test_arabic_is_extracted_in_logical_order(full_text: str) -> None:
    assert ARABIC_NAME in full_text
    assert ARABIC_PLACE in full_text
    assert "الكانيات" in full_text


def test_every_hash_and_ern_is_complete(full_text: str) -> None:
    joined = squeeze(full_text)
    document = make_document()
    for item in document["evidence"]:
        assert item["ern"] in full_text
        # A wrapped hash is still the whole hash once line breaks are removed: no hyphen was inserted.
        assert item["sha256"] in joined, item["ern"]
    assert document["custody"]["tree_head"]["root_hash"] in joined
    # Three items, three hashes at full length on a line of their own (the index keeps them unwrapped).
    for item in document["evidence"]:
        assert item["sha256"] in full_text


def test_cover(full_text: str) -> None:
    cover = full_text.split("\f")[0]
    for expected in (
        "Libya Accountability Project",
        "Office of the Prosecutor, International Criminal Court",
        "ICC Office of the Prosecutor — article 15 communication",
        "TRH",
        "ICC-01/11 Situation in Libya",
        "2026-11-27 10:30:00 UTC",
        "Verify this dossier: see README.txt in the package",
        "412",
    ):
        assert expected in cover, expected
    assert make_document()["custody"]["tree_head"]["root_hash"] in squeeze(cover)


def test_element_matrix_shows_the_evidence_and_no_gaps_unless_asked(full_text: str, tmp_path: Path) -> None:
    charges = full_text[full_text.index("Charges and element matrix\n") :]
    assert "rome-7-ctx.e1" in charges
    matrix = charges[charges.index("What must be proved") :]
    assert "TRH-00003" in matrix  # the contradicting ERN is in the matrix, not only in the index
    assert "GAP" not in full_text and "CONTESTED" not in full_text
    document = make_document()
    document["analysis"] = [
        {
            "suspect": "Khalifa Haftar",
            "offence": "rome-7-1-a",
            "elements": 3,
            "gaps": ["rome-7-ctx.e1"],
            "contested": ["rome-7-1-a.e1"],
        }
    ]
    text = pdftotext(render(document), tmp_path)
    annex = text[text.rindex("Annex 3") :]
    assert "Analysis: unproven and contested elements" in annex and "GAP" in annex and "CONTESTED" in annex
    assert "rome-7-ctx.e1" in annex and "rome-7-1-a.e1" in annex


def test_unsupported_relation_is_flagged(full_text: str) -> None:
    assert "UNSUPPORTED" in full_text
    assert "Khalifa Haftar" in full_text


def test_excluded_item_with_reason(full_text: str) -> None:
    assert "TRH-00009" in full_text
    assert "Testimony of W-021" in full_text
    assert "witness has not consented to share_icc" in full_text


def test_evidence_index_and_custody_trail(full_text: str) -> None:
    assert "B2" in full_text and "A1" in full_text and "C3" in full_text
    assert "W-017" in full_text
    assert re.search(r"2020-06-12\s+09:14:03\s+UTC", full_text)  # the time column may wrap date and time
    # entry hash prefixes of each item's trail
    for n in (1, 2, 3):
        assert sha256(f"entry-{10 * n}")[:16] in full_text


def test_user_text_is_escaped(full_text: str) -> None:
    assert HOSTILE in full_text
    html = render_dossier_html(make_document(), command_chart_svg=None, timeline_svg=None)
    assert "&lt;b&gt;x&lt;/b&gt;" in html
    assert "<b>x</b>" not in html


def test_bidi_controls_in_user_text_are_removed() -> None:
    document = make_document()
    document["evidence"][0]["title"] = "Innocent \u202etxt.exe"
    html = render_dossier_html(document, command_chart_svg=None, timeline_svg=None)
    assert "\u202e" not in html
    assert "Innocent txt.exe" in html


def test_user_text_keeps_its_own_direction() -> None:
    html = render_dossier_html(make_document(), command_chart_svg=None, timeline_svg=None)
    assert '<html lang="en" dir="ltr">' in html
    assert f'<span dir="rtl" class="alias">{ARABIC_NAME}</span>' in html
    assert text_direction(ARABIC_NAME) == "rtl"
    assert text_direction("  (12) Tarhouna") == "ltr"
    assert text_direction("2020") == "auto"


def test_language_and_translation(tmp_path: Path) -> None:
    translations = {
        "Evidence index": "فهرس الوثائق",
        "Supporting evidence": "بينات داعمة",
        "Page {page} of {pages}": "صفحة {page} من {pages}",
    }
    document = make_document()
    kwargs: dict[str, Any] = {"translate": lambda s: translations.get(s, s), "language": "ar"}
    html = render_dossier_html(document, command_chart_svg=None, timeline_svg=None, **kwargs)
    assert '<html lang="ar" dir="rtl">' in html
    # The translated page label reaches the CSS as escapes around the page counters, never as raw text.
    style = html.split("<style>")[1].split("</style>")[0]
    assert "صفحة" not in style
    assert '"\\635 \\641 \\62d \\629  " counter(page) " \\645 \\646  " counter(pages)' in style

    text = plain(pdftotext(render(document, **kwargs), tmp_path))
    assert "فهرس الوثائق" in text
    assert "بينات داعمة" in text
    assert "صفحة" in text
    assert ARABIC_NAME in text
    for item in document["evidence"]:
        assert item["sha256"] in squeeze(text)


def test_sections_not_in_the_profile_are_absent(tmp_path: Path) -> None:
    document = make_document(sections=["summary", "evidence"])
    text = pdftotext(render(document), tmp_path)
    assert "Evidence index" in text
    assert "Excluded from this dossier" in text
    for absent in ("Charges and element matrix", "Custody trail", "Relations", "What must be proved", "UNSUPPORTED"):
        assert absent not in text, absent
    assert ARABIC_NAME not in text  # the actors section (the only place the alias appears) is left out
    assert "Command chart" not in text
    for item in document["evidence"]:
        assert item["sha256"] in squeeze(text)


def test_sections_follow_the_profile_order_and_annexes_come_last(tmp_path: Path) -> None:
    document = make_document(sections=["incidents", "summary", "nonsense", "incidents", "evidence"])
    text = pdftotext(render(document), tmp_path)
    assert text.index("Mass grave at the dump site") < text.index("Excluded from this dossier")
    assert text.index("Excluded from this dossier") < text.rindex("Annex 1 — Evidence index")
    assert text.count("Incidents\n") >= 2  # contents on the cover, then the section once


def test_empty_document_renders(tmp_path: Path) -> None:
    document = make_document()
    for key in ("incidents", "actors", "relations", "involvements", "charges", "evidence", "excluded"):
        document[key] = []
    document["trails"] = {}
    out = io.BytesIO()
    render_dossier_pdf(document, command_chart_svg=None, timeline_svg=None, out=out)
    text = pdftotext(out.getvalue(), tmp_path)
    assert "No item was excluded." in text
    assert "No evidence items." in text


def test_layout_text_keeps_the_hash_on_one_line(full_pdf: bytes, tmp_path: Path) -> None:
    layout = pdftotext(full_pdf, tmp_path, layout=True)
    for item in make_document()["evidence"]:
        assert item["sha256"] in layout


def large_document(items: int) -> dict[str, Any]:
    """A dossier past both compact thresholds (over 150 items, over 400 custody entries)."""
    document = make_document(sections=["evidence", "custody"])
    template = document["evidence"][1]
    document["evidence"] = [
        {**template, "ern": f"TRH-{n:05d}", "title": f"{ARABIC_PLACE} capture {n}", "sha256": sha256(f"item-{n}")}
        for n in range(1, items + 1)
    ]
    document["trails"] = {f"TRH-{n:05d}": trail(f"TRH-{n:05d}", 10 * n) for n in range(1, items + 1)}
    return document


@pytest.mark.parametrize("language", ["en", "ar"])
def test_large_dossier_lists_every_item_on_one_line(language: str, tmp_path: Path) -> None:
    document = large_document(210)
    pdf = render(document, language=language)
    layout = plain(pdftotext(pdf, tmp_path, layout=True))
    lines = layout.splitlines()
    for item in document["evidence"]:
        # Whole and on one line in both directions: a cut or wrapped hash could not be compared by eye.
        row = [line for line in lines if item["sha256"] in line]
        assert row, item["ern"]
        assert item["ern"] in row[0]
        last = document["trails"][item["ern"]][-1]
        summary = [line for line in lines if last["entry_hash"][:16] in line]
        assert summary and item["ern"] in summary[0], item["ern"]
    if language == "en":  # untranslated English in a right-to-left page is reordered around its number
        assert "420 entries: each item's trail is summarised here" in layout
    # One line per item in both tables (no hash wraps, no row grows): 10 pages; pdftotext ends each with a form feed.
    assert layout.count("\f") <= 12


def test_no_outside_resources_are_fetched(tmp_path: Path) -> None:
    fetcher = LocalOnlyFetcher(Path(__file__).resolve().parents[2] / "templates")
    for url in ("http://127.0.0.1:9/x.png", "https://example.org/a.css", "file:///etc/passwd", "ftp://x/y"):
        with pytest.raises(ValueError, match="refused"):
            fetcher.fetch(url)
    assert fetcher.fetch("data:text/plain,ok").read() == b"ok"
    stylesheet = fetcher.fetch((Path(__file__).resolve().parents[2] / "templates" / "dossier" / "pdf.css").as_uri())
    assert stylesheet.content_type == "text/css"

    document = copy.deepcopy(make_document())
    document["dossier"]["title"] = '<img src="http://127.0.0.1:9/beacon.png">'
    # A remote reference would be escaped text anyway; make sure the renderer finishes without touching the network.
    out = io.BytesIO()
    render_dossier_pdf(document, command_chart_svg=None, timeline_svg=None, out=out)
    assert out.getvalue().startswith(b"%PDF")
