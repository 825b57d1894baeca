"""Issue 19: in Arabic, no English reaches a reader, neither on the pages of a case nor in its dossier PDF.

tests/test_translations.py proves every message id of the templates and the code has an Arabic translation. That
does not prove a page shows them: a stored code printed as it is (``photo``, ``public``, ``commands``), a word list
the page forgot to pass through gettext, a catalogue text read from the English YAML, a Python dict or repr
rendered into a page. This test reads what an Arabic reader reads and fails on English in it.

How: the demo case (tests/support.py ``load_demo``) is loaded, a member logs in with Arabic as their language, and
every main page of the case is fetched. Each page's visible text is extracted (text nodes outside ``script``,
``style``, ``template`` and hidden elements, and the attributes a user reads: ``title``, ``alt``, ``placeholder``,
``aria-label`` and the picker's ``data-*`` messages), and every run of Latin-script words in it is judged:

* a run that is, case-insensitively, an English UI text (a msgid of the Arabic catalogue, a word of
  casefile/labels.py or casefile/cases/thesaurus.py, a title or text of the legal catalogue) always fails: it is a
  translation the page did not use;
* otherwise a run passes when it is the case's own data (a whole word sequence of a text stored in the database:
  titles, names, descriptions, file names, which keep their language), or when each of its words is a token a
  reader needs as it is (ERNs, hashes, e-mails, addresses, file names, dates, numbers, units, the product name…),
  or when it sits in an element marked as an identifier (``dir="ltr"`` with ``class="mono"``, ``<code>``);
* anything else fails, with the page and the run.

The same judgement reads a built Arabic dossier's PDF (pdftotext), where the data is what the dossier holds.
"""

from __future__ import annotations

import io
import re
import subprocess
import uuid
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Enum, String, Text, select

from casefile.db import session_scope

from support import REPO, Account, build_dossier_now, csrf_token, load_demo, login

AR_PO = REPO / "casefile" / "translations" / "ar" / "LC_MESSAGES" / "messages.po"
# What a dossier PDF writes as it is, for the recipient to type or run: file names of the package, commands.
JSON_DATA = ("aliases", "identifiers", "extracted")
PDF_TECHNICAL = ["README.txt dossier.json data/custody/ data/evidence/ verify_dossier.py pdfsig bagit.py openssl"]

LATIN_RUN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.,:;/@#%&'’()\[\]+=\-–—·…\s]*[A-Za-z0-9)\]%.…]|[A-Za-z]")
LATIN_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@/:\-]*[A-Za-z0-9]|[A-Za-z]")

# Tokens a reader needs as they are, in any language: identifiers, numbers, file names, and the names of products,
# standards and instruments that Arabic text writes in Latin letters too.
ALLOWED_TOKENS = [
    re.compile(p)
    for p in (
        r"[A-Z]{2,5}-\d{3,6}(-\d+)?",  # ERNs (TRH-00001)
        r"[A-Z]{1,3}-\d{3,4}",  # witness codes (W-0001)
        r"[0-9a-f]{8,128}",  # hashes, key ids
        r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}",  # ids
        r"[\w.+-]+@[\w-]+(\.[\w-]+)+",  # e-mails
        r"(https?|s3|file)://\S*",  # addresses
        r"[\w().-]*\.(txt|jpg|jpeg|png|pdf|json|zip|csv|xlsx|xls|svg|wacz|md|mp4|mp3|wav|html|xml|tsr|pem|sig|asc)",
        r"(image|text|application|audio|video)/[\w.+-]+",  # media types
        r"\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d)?Z?|T\d\d:\d\d(:\d\d)?",  # ISO date-times
        r"[A-Z][A-Z0-9_]+(-\d+)?",  # acronyms and constants: ERN, GPS, SHA-256, UTF-8, CFSP, CASEFILE_TSA_URLS
        r"Casefile|ProofMode|OpenPGP|OpenTimestamps|XLSForm|KoboCollect|Collect|Tella|Open|Data|Kit|Markdown|"
        r"JavaScript|Excel|Cookie|Natural|Earth|FreeOTP|Aegis|BagIt|Ed25519|PAdES|Bitcoin|Fed|Reg|Tus-Resumable|"
        r"Upload-\w+|English|px|KiB|MiB|GiB|kB|MB|GB",
        r"\d+([.,:/–-]\d+)*[a-zA-Z]?",  # numbers, dates, times
        r"[A-F][1-6]?|[a-z]|[ivx]{1,4}",  # a grading (A–F, B2), a pinpoint (1(a)(ii)(A)), a placeholder (n✓ / m✗)
        r"https?|xlsx|xls|csv|md|txt|json|zip|pdf",  # a scheme or a file type on its own
    )
]


def allowed_token(word: str) -> bool:
    return any(p.fullmatch(word) for p in ALLOWED_TOKENS)


# --- what English text is: every English string the interface could show ---------------------------------------


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"%\([a-z_]+\)[sd]|%[sd]|\{[a-z_]*\}", " ", text)).strip(" .:;,·—–-").lower()


def english_strings() -> set[str]:
    """msgids of the Arabic catalogue, the word lists, the violation types and the legal catalogue's texts."""
    from casefile import labels
    from casefile.cases.thesaurus import VIOLATION_TYPES
    from casefile.legal.catalogue import load_catalogue

    with AR_PO.open("rb") as fh:
        catalog = read_po(fh)
    texts: set[str] = set()
    for message in catalog:
        if message.id:
            texts.update(message.id if isinstance(message.id, tuple | list) else [message.id])
    for words in (*labels.WORDS.values(), labels.DETAIL_LABELS):
        texts.update(words.values())
    texts.update(str(v._args[0]) if hasattr(v, "_args") else str(v) for v in VIOLATION_TYPES.values())
    catalogue = load_catalogue()
    for framework in catalogue.frameworks:
        texts.update([framework.title, framework.note])
        for item in (*framework.contextual_groups, *framework.offences, *framework.modes_of_liability):
            texts.add(item.title)
            texts.update(e.text for e in item.elements)
    normalised = {_norm(t) for t in texts}
    return {t for t in normalised if re.search(r"[a-z]{2}", t)}


# --- the visible text of a page ---------------------------------------------------------------------------------

READ_ATTRIBUTES = ("title", "alt", "placeholder", "aria-label", "data-placeholder", "data-empty", "data-choose")
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@dataclass
class Piece:
    text: str
    identifier: bool  # inside an element marked as an identifier (dir=ltr mono, <code>)


@dataclass
class _Frame:
    tag: str
    hidden: bool
    identifier: bool


class VisibleText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.pieces: list[Piece] = []
        self.stack: list[_Frame] = []

    @property
    def hidden(self) -> bool:
        return bool(self.stack) and self.stack[-1].hidden

    @property
    def identifier(self) -> bool:
        return bool(self.stack) and self.stack[-1].identifier

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        classes = a.get("class", "").split()
        hidden = (
            self.hidden
            or tag in ("script", "style", "template", "noscript", "head", "title")
            or "hidden" in a
            or a.get("aria-hidden") == "true"
            or (tag == "input" and a.get("type") == "hidden")
        )
        identifier = self.identifier or tag in ("code", "kbd", "samp") or ("mono" in classes and a.get("dir") == "ltr")
        if not hidden:
            for name in READ_ATTRIBUTES:
                if a.get(name):
                    self.pieces.append(Piece(a[name], identifier))
            if tag == "input" and a.get("type") in ("submit", "button") and a.get("value"):
                self.pieces.append(Piece(a["value"], identifier))
        if tag not in VOID:
            self.stack.append(_Frame(tag, hidden, identifier))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        if data.strip() and not self.hidden:
            self.pieces.append(Piece(data, self.identifier))


def visible_text(html: str) -> list[Piece]:
    parser = VisibleText()
    parser.feed(html)
    parser.close()
    return parser.pieces


# --- the judgement ----------------------------------------------------------------------------------------------


# In a PDF read back as text nothing says which words sit in a code span: the permanent codes of the legal
# catalogue and of the profiles (rome-28-a.e1, icc-otp-art15), which the PDF prints as identifiers beside their
# words so that a reader finds them in dossier.json, and paths of the package (evidence/…, data/custody/).
PDF_IDENTIFIERS = [re.compile(r"[a-z0-9]+(-[a-z0-9]+)+(\.e\d+)?"), re.compile(r"[\w.-]*/[\w./<>-]*")]


@dataclass
class Judge:
    """English a reader would read: :meth:`problems` of a page's (or a PDF's) text, given the English the
    interface could show and the data the page may show as it is. ``pdf``: the text comes from pdftotext, which
    loses the markup (codes are recognised by their form) and breaks lines inside data."""

    english: set[str]
    data: list[str] = field(default_factory=list)
    pdf: bool = False

    def __post_init__(self) -> None:
        data = [*self.data, *(d.replace("-", "") for d in self.data if "-" in d)] if self.pdf else self.data
        self._data_blob = "\n".join(data)
        self._data_exact = {" ".join(d.split()) for d in data}

    def is_data(self, run: str, *, truncated: bool = False, wrapped: bool = False) -> bool:
        """Whether ``run`` is a whole word sequence of some stored text (a start of one, where it is cut with …;
        a start or an end of one, where a PDF's line breaks it)."""
        head = r"(?<![A-Za-z0-9])" + re.escape(run)
        if re.search(head + ("" if truncated or wrapped else r"(?![A-Za-z0-9])"), self._data_blob):
            return True
        return wrapped and re.search(re.escape(run) + r"(?![A-Za-z0-9])", self._data_blob) is not None

    def allowed(self, word: str) -> bool:
        return allowed_token(word) or (self.pdf and any(p.fullmatch(word) for p in PDF_IDENTIFIERS))

    def problems(self, pieces: Iterable[Piece]) -> Iterator[str]:
        for piece in pieces:
            text = " ".join(piece.text.split())
            if not text or text in self._data_exact or piece.identifier:
                continue
            for match in LATIN_RUN.finditer(text):
                whole = match.group(0)
                truncated = "…" in whole or text[match.end() :].lstrip().startswith("…")
                run = whole.split("…")[0].strip(" .,:;()[]·—–-'’")
                if not re.search(r"[A-Za-z]", run):
                    continue
                words = [w.strip(".,:;()[]'’") for w in LATIN_WORD.findall(run) if re.search("[A-Za-z]", w)]
                if all(self.allowed(w) for w in words if w):
                    continue
                # English UI text fails even where the data has the same words; only a PDF line's broken end or
                # start that continues stored text is taken for that text.
                wrapped = self.pdf and (match.start() <= 2 or match.end() >= len(text) - 2)
                if wrapped and self.is_data(run, truncated=truncated, wrapped=True):
                    continue
                if _norm(run) in self.english:
                    yield f"English UI text {run!r} in {text[:160]!r}"
                    continue
                if self.is_data(run, truncated=truncated):
                    continue
                bad = [w for w in words if w and not self.allowed(w) and not self.is_data(w)]
                if bad and truncated and self.is_data(bad[-1], truncated=True):
                    bad = bad[:-1]
                if bad:
                    yield f"Latin words {bad} in {text[:160]!r}"


def database_texts(app: Flask) -> list[str]:
    """Every free text the database holds (titles, names, descriptions, file names, metadata read from files…):
    data keeps its language. Enumerations and columns holding nothing but codes (one lower-case identifier) are
    not data: their values must be shown in words."""
    from casefile.db import Base

    code = re.compile(r"[a-z0-9_.:-]+")
    texts: list[str] = []
    with app.app_context(), session_scope() as s:
        for mapper in Base.registry.mappers:
            table = mapper.local_table
            for column in table.columns:
                if isinstance(column.type, String | Text) and not isinstance(column.type, Enum):
                    values = [v for (v,) in s.execute(select(column)).all() if isinstance(v, str) and v.strip()]
                    if values and not all(code.fullmatch(v) for v in values):
                        texts.extend(values)
                elif column.type.__class__.__name__ == "JSON" and column.name in (
                    "aliases",
                    "identifiers",
                    "extracted",
                ):
                    for (value,) in s.execute(select(column)).all():
                        texts.extend(_strings(value))
    return texts


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


# --- the test ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def english() -> set[str]:
    return english_strings()


def arabic_client(app: Flask, client: FlaskClient, account: Account) -> FlaskClient:
    login(client, account)
    page = client.get("/")
    response = client.post("/language", data={"locale": "ar", "csrf_token": csrf_token(page.get_data(as_text=True))})
    assert response.status_code == 302
    return client


def demo_pages(app: Flask, case_id: uuid.UUID) -> list[str]:
    from casefile.actors.models import Actor
    from casefile.evidence.models import EvidenceItem
    from casefile.legal.models import Charge
    from casefile.witnesses.models import Witness

    c = f"/cases/{case_id}"
    pages = [
        c,
        f"{c}/evidence",
        f"{c}/witnesses",
        f"{c}/actors",
        f"{c}/chart",
        f"{c}/chart.svg",
        f"{c}/timeline.svg",
        f"{c}/charges",
        f"{c}/charges/new",
        f"{c}/dossiers",
        f"{c}/imports",
        f"{c}/field",
        f"{c}/members",
        f"{c}/jobs",
        f"{c}/map",
        f"{c}/captures",
        f"{c}/work",
        f"{c}/activity",
        f"{c}/relations/new",
        f"{c}/involvements/new",
        f"{c}/evidence/upload",
        "/search?q=Tarhouna",
        f"/search?q=Kaniyat&case={case_id}",
        "/jobs",
        "/",
        "/custody",
        "/no-such-page",
    ]
    with app.app_context(), session_scope() as s:
        for item_id in s.scalars(select(EvidenceItem.id).where(EvidenceItem.case_id == case_id)):
            pages += [f"/evidence/{item_id}", f"/evidence/{item_id}/custody"]
        pages += [f"/actors/{a}" for a in s.scalars(select(Actor.id).where(Actor.case_id == case_id))]
        pages += [f"/charges/{ch}" for ch in s.scalars(select(Charge.id).where(Charge.case_id == case_id))]
        pages += [f"/witnesses/{w}" for w in s.scalars(select(Witness.id).where(Witness.case_id == case_id))]
        from casefile.cases.models import Incident

        pages += [f"/incidents/{i}" for i in s.scalars(select(Incident.id).where(Incident.case_id == case_id))]
    return pages


def test_the_judge_tells_english_from_data_and_identifiers(english: set[str]) -> None:
    judge = Judge(english, ["Discovery of mass graves in Tarhouna", "Mohamed al-Kani"])
    html = (
        "<p>الاسم: <bdi>Mohamed al-Kani</bdi> · Discovery of mass graves in Tar…</p>"
        '<span class="mono" dir="ltr">rome-28-a.e1</span><p>TRH-00001 · SHA-256 · 2020-06-05</p>'
        '<input type="hidden" value="Public"><script>var x = "Photo";</script>'
    )
    assert list(judge.problems(visible_text(html))) == []
    for english_value in ("<td>Public</td>", "<td>photo</td>", '<p title="Open as SVG">x</p>', "<dd>commands</dd>"):
        assert list(judge.problems(visible_text(english_value))), english_value
    assert list(judge.problems(visible_text("<dd>{'classification': {'from': 'public'}}</dd>")))
    assert list(judge.problems(visible_text("<p>Murder as a crime against humanity</p>")))
    assert list(judge.problems(visible_text("<p>charge_element rome-28-a.e1</p>")))


def test_no_english_on_the_arabic_pages_of_the_demo_case(
    app: Flask,
    client: FlaskClient,
    make_user: Callable[..., Account],
    add_member: Callable[..., None],
    english: set[str],
) -> None:
    case_id = load_demo(app)
    member = make_user("legal")
    add_member(case_id, member, "legal", True)
    arabic_client(app, client, member)
    judge = Judge(english, database_texts(app))
    found: dict[str, list[str]] = {}
    pages = demo_pages(app, case_id)
    assert len(pages) > 40
    for path in pages:
        response = client.get(path)
        assert response.status_code == (404 if path == "/no-such-page" else 200), (path, response.status_code)
        html = response.get_data(as_text=True)
        if response.mimetype == "text/html":
            assert '<html lang="ar" dir="rtl"' in html, path
        problems = list(dict.fromkeys(judge.problems(visible_text(html))))
        if problems:
            found[path] = problems
    report = "\n".join(f"{path}\n  " + "\n  ".join(problems) for path, problems in found.items())
    assert not found, f"English in the Arabic pages:\n{report}"


def test_no_english_in_an_arabic_dossier_pdf(
    app: Flask,
    make_user: Callable[..., Account],
    add_member: Callable[..., None],
    api_for: Callable[..., tuple[Any, Account]],
    english: set[str],
    tmp_path: Path,
) -> None:
    case_id = load_demo(app)
    api, builder = api_for("legal")
    add_member(case_id, builder, "legal")
    dossier = build_dossier_now(
        api,
        app,
        case_id,
        {"profile": "icc-otp-art15", "title": "ترهونة — بلاغ", "language": "ar", "analysis": True},
    )
    assert dossier["status"] == "ready", dossier
    download = api.get(f"/dossiers/{dossier['id']}/download")
    assert download.status_code == 200
    with zipfile.ZipFile(io.BytesIO(download.get_data())) as archive:
        pdf = archive.read(next(n for n in archive.namelist() if n.endswith("data/dossier.pdf")))
    (tmp_path / "dossier.pdf").write_bytes(pdf)
    done = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(tmp_path / "dossier.pdf"), "-"], capture_output=True, timeout=120, check=True
    )
    text = re.sub("[\u202a-\u202e\u2066-\u2069]", "", done.stdout.decode("utf-8"))
    judge = Judge(english, [*database_texts(app), *PDF_TECHNICAL], pdf=True)
    lines = [Piece(line, False) for line in text.splitlines()]
    problems = list(dict.fromkeys(judge.problems(lines)))
    assert not problems, "English in the Arabic dossier PDF:\n  " + "\n  ".join(problems)
    # The catalogue is there in Arabic, and said to be Casefile's working translation.
    assert "أركان الجرائم" in text or "الجرائم ضد الإنسانية" in text
    assert "ترجمة عمل" in text
