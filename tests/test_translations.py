"""The Arabic catalogue is complete, keeps every placeholder, and compiles.

Messages are re-extracted from the current sources with the same options as the documented workflow, so a new
UI string without an Arabic translation fails here with the list of missing ids. Nothing relies on a compiled
.mo file in the tree: .mo files are build output (see the Makefile) and the test compiles its own.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

ROOT = Path(__file__).resolve().parents[1]
TRANSLATIONS = ROOT / "casefile" / "translations"
AR_PO = TRANSLATIONS / "ar" / "LC_MESSAGES" / "messages.po"

# printf-style conversions as Python's % operator reads them, including "%%"; then any other stray "%", which
# Jinja's new-style gettext (it always applies "% variables") would choke on.
PERCENT = re.compile(r"%(?:\([^)]*\))?[#0 +-]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?[diouxXeEfFgGcrsa%]|%")
# str.format fields, and the doubled braces that escape a literal brace.
BRACE = re.compile(r"\{\{|\}\}|\{[^{}]*\}")


def key(message: Message) -> str:
    return message.id[0] if isinstance(message.id, tuple | list) else message.id


def forms(value: str | tuple[str, ...] | list[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def placeholders(text: str) -> tuple[set[str], set[str], list[str]]:
    """(named/escaped %-tokens, {}-tokens, unnamed %-conversions in order)."""
    percent = PERCENT.findall(text)
    unnamed = [p for p in percent if not p.startswith("%(") and p != "%%"]
    return set(percent), set(BRACE.findall(text)), unnamed


def load(path: Path) -> Catalog:
    with path.open("rb") as fh:
        return read_po(fh)


@pytest.fixture(scope="module")
def arabic() -> Catalog:
    return load(AR_PO)


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    pot = tmp_path_factory.mktemp("i18n") / "messages.pot"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "--quiet",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "-k",
            "lazy_gettext",
            "-o",
            str(pot),
            "--no-location",
            "--omit-header",
            ".",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"pybabel extract failed:\n{done.stderr}"
    catalog = load(pot)
    assert len([m for m in catalog if m.id]) > 100, "extraction found almost nothing: check babel.cfg"
    return catalog


def translated(catalog: Catalog) -> Iterator[Message]:
    return (m for m in catalog if m.id)


def test_header_is_arabic_with_six_plural_forms(arabic: Catalog) -> None:
    assert str(arabic.locale) == "ar"
    assert arabic.num_plurals == 6
    assert "nplurals=6;" in arabic.plural_forms


def test_every_extracted_message_is_translated(extracted: Catalog, arabic: Catalog) -> None:
    missing, fuzzy, plural_mismatch = [], [], []
    for source in translated(extracted):
        target = arabic.get(source.id)
        if target is None:
            missing.append(key(source))
            continue
        if isinstance(source.id, tuple) != isinstance(target.id, tuple) or (
            isinstance(source.id, tuple) and tuple(source.id) != tuple(target.id)
        ):
            plural_mismatch.append(key(source))
            continue
        strings = forms(target.string)
        expected = arabic.num_plurals if isinstance(source.id, tuple) else 1
        if target.fuzzy:
            fuzzy.append(key(source))
        elif len(strings) != expected or not all(s.strip() for s in strings):
            missing.append(key(source))
    problems = []
    if missing:
        problems.append("untranslated in ar/messages.po (run pybabel extract + update, then translate):")
        problems += [f"  {m!r}" for m in missing]
    if fuzzy:
        problems.append("marked fuzzy in ar/messages.po (review, then remove the flag):")
        problems += [f"  {m!r}" for m in fuzzy]
    if plural_mismatch:
        problems.append("singular/plural form differs between the sources and ar/messages.po:")
        problems += [f"  {m!r}" for m in plural_mismatch]
    assert not problems, "\n".join(problems)


def test_catalogue_has_no_empty_or_fuzzy_entries(arabic: Catalog) -> None:
    bad = [key(m) for m in translated(arabic) if m.fuzzy or not all(s.strip() for s in forms(m.string))]
    assert not bad, f"empty or fuzzy msgstr: {bad}"


def test_translations_keep_the_placeholders(arabic: Catalog) -> None:
    wrong = []
    for message in translated(arabic):
        sources = forms(message.id)
        percent: set[str] = set()
        brace: set[str] = set()
        unnamed: list[str] = []
        for text in sources:
            p, b, u = placeholders(text)
            percent |= p
            brace |= b
            unnamed = unnamed or u
        for text in forms(message.string):
            p, b, u = placeholders(text)
            if p != percent or b != brace or u != unnamed:
                wrong.append(f"{key(message)!r}: expected {sorted(percent | brace)}, got {sorted(p | b)} in {text!r}")
    assert not wrong, "placeholders changed:\n" + "\n".join(wrong)


def test_babel_checks_pass(arabic: Catalog) -> None:
    errors = [f"{key(m)!r}: {[str(e) for e in errs]}" for m, errs in arabic.check()]
    assert not errors, "\n".join(errors)


def test_compiled_catalogue_loads_and_translates(arabic: Catalog, tmp_path: Path) -> None:
    mo = tmp_path / "ar" / "LC_MESSAGES" / "messages.mo"
    mo.parent.mkdir(parents=True)
    with mo.open("wb") as fh:
        write_mo(fh, arabic)
    translations = Translations.load(str(tmp_path), ["ar"])
    assert isinstance(translations, Translations), "the compiled catalogue did not load"
    assert translations.gettext("My cases") == "قضاياي"
    assert translations.gettext("Log in") == "تسجيل الدخول"
    assert translations.gettext("%(n)d excluded") % {"n": 3} == "المستبعدة: 3"
    # Arabic plural categories: zero, one, two, few (3–10), many (11–99), other (100, 101, 102 …).
    assert [translations.plural(n) for n in (0, 1, 2, 3, 10, 11, 99, 100, 102, 103, 111)] == [
        0,
        1,
        2,
        3,
        3,
        4,
        4,
        5,
        5,
        3,
        4,
    ]
