"""The legal catalogue in Arabic (casefile/legal/catalogue/*.ar.yaml): every code has its Arabic, the files say
they are Casefile's working translation, and the loader refuses a translation that does not fit its framework."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from flask import Flask

import casefile.legal
from casefile.labels import catalogue_text
from casefile.legal.catalogue import Catalogue, CatalogueError, load_catalogue, load_catalogue_dir

DATA_DIR = Path(casefile.legal.__file__).parent / "catalogue"
ARABIC = re.compile(r"[\u0600-\u06ff]")


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue()


def fields(catalogue: Catalogue) -> list[tuple[str, str, str, str]]:
    """(code, field, English, Arabic) for every text of every item."""
    rows = []
    for fw in catalogue.frameworks:
        items = [fw, *fw.contextual_groups, *fw.offences, *fw.modes_of_liability]
        for item in items:
            entries = [item] if item is fw else [item, *item.elements]
            for entry in entries:
                for name in ("title", "text", "reference", "note"):
                    english = getattr(entry, name, "")
                    if english:
                        rows.append((entry.code, name, english, getattr(entry, f"{name}_ar")))
    return rows


def test_every_code_has_its_arabic(catalogue: Catalogue) -> None:
    rows = fields(catalogue)
    assert len({code for code, *_ in rows}) == len(catalogue.codes()) == 270
    missing = [f"{code} {name}" for code, name, _en, ar in rows if not ar]
    assert not missing, "no Arabic for:\n" + "\n".join(missing)
    not_arabic = [f"{code} {name}: {ar!r}" for code, name, _en, ar in rows if not ARABIC.search(ar)]
    assert not not_arabic, "\n".join(not_arabic)
    same = [f"{code} {name}" for code, name, en, ar in rows if en == ar]
    assert not same


def test_the_arabic_uses_the_official_terms(catalogue: Catalogue) -> None:
    assert catalogue.framework("rome").title_ar == "نظام روما الأساسي للمحكمة الجنائية الدولية"
    assert "الجرائم ضد الإنسانية" in catalogue.contextual_group("rome-7-ctx").title_ar
    assert "القتل العمد" in catalogue.offence("rome-7-1-a").title_ar
    assert "الإبادة" in catalogue.offence("rome-7-1-b").title_ar
    assert "الاختفاء القسري للأشخاص" in catalogue.offence("rome-7-1-i").title_ar
    assert "جريمة الحرب" in catalogue.offence("rome-8-2-c-i-1").title_ar
    assert catalogue.mode("rome-28-a").title_ar == "مسؤولية القادة العسكريين"
    # Pinpoints in the Arabic lettering of the official Arabic Statute; the elements are those of أركان الجرائم.
    assert catalogue.offence("rome-7-1-a").reference_ar == "المادة 7(1)(أ)؛ أركان الجرائم، المادة 7(1)(أ)"
    assert catalogue.element("rome-8-2-c-i-4.e1").reference_ar.startswith("المادة 8(2)(ج)(1)")


def test_each_translation_file_says_it_is_a_working_translation() -> None:
    for path in sorted(DATA_DIR.glob("*.ar.yaml")):
        head = path.read_text(encoding="utf-8").split("\n\n", 1)[0]
        assert "WORKING TRANSLATION, NOT THE OFFICIAL ARABIC TEXT" in head and "ترجمة عمل" in head, path.name
        english = path.with_name(path.name.replace(".ar.yaml", ".yaml"))
        assert english.exists()
    assert len(list(DATA_DIR.glob("*.ar.yaml"))) == len(list(DATA_DIR.glob("*.yaml"))) / 2


def test_localised_falls_back_to_english(catalogue: Catalogue) -> None:
    offence = catalogue.offence("rome-7-1-a")
    assert offence.localised("title", "ar") == offence.title_ar
    assert offence.localised("title", "ar_EG") == offence.title_ar
    assert offence.localised("title", "en") == offence.title == "Murder as a crime against humanity"
    assert offence.localised("title", "fr") == offence.title


def test_pages_read_the_catalogue_in_their_language(app: Flask, catalogue: Catalogue) -> None:
    from flask_babel import force_locale

    offence = catalogue.offence("rome-7-1-a")
    with app.test_request_context("/"):
        with force_locale("ar"):
            assert catalogue_text(offence, "title") == offence.title_ar
        with force_locale("en"):
            assert catalogue_text(offence, "title") == offence.title
    assert catalogue_text(offence, "title", "ar") == offence.title_ar  # outside a request, the language given


def test_the_api_carries_the_arabic_beside_the_english(catalogue: Catalogue) -> None:
    rome = catalogue.to_dict()["frameworks"][0]
    assert rome["title"] == "Rome Statute of the International Criminal Court"
    assert rome["title_ar"] == "نظام روما الأساسي للمحكمة الجنائية الدولية"
    element = rome["offences"][0]["elements"][0]
    assert element["text"] and ARABIC.search(element["text_ar"]) and ARABIC.search(element["reference_ar"])


def copy_catalogue(tmp_path: Path) -> Path:
    target = tmp_path / "catalogue"
    shutil.copytree(DATA_DIR, target)
    return target


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("rome-99-z:\n  title: شيء\n", "not a code of framework 'rome'"),
        ("rome-7-1-a.e1:\n  title: شيء\n", "no English 'title' to translate"),
        ("rome-7-1-a:\n  note: ملاحظة\n", "no English 'note' to translate"),
        ("rome-7-1-a.e2:\n  text: ''\n", "'text' must be a non-empty string"),
        ("eughr:\n  title: شيء\n", "not a code of framework 'rome'"),
    ],
)
def test_the_loader_refuses_a_translation_that_does_not_fit(tmp_path: Path, extra: str, expected: str) -> None:
    directory = copy_catalogue(tmp_path)
    path = directory / "rome_statute.ar.yaml"
    text = path.read_text(encoding="utf-8")
    if extra.split(":", 1)[0] + ":" in text and "rome-99" not in extra and "eughr" not in extra:
        # replace the item's existing Arabic by the faulty one (a mapping may not repeat a key)
        code = extra.split(":", 1)[0]
        text = re.sub(rf"(?m)^{re.escape(code)}:\n(  .*\n|    .*\n)+", "", text)
    path.write_text(text + "\n" + extra, encoding="utf-8")
    with pytest.raises(CatalogueError, match=re.escape(expected)):
        load_catalogue_dir(directory)


def test_a_translation_without_its_framework_is_refused(tmp_path: Path) -> None:
    directory = copy_catalogue(tmp_path)
    (directory / "lost.ar.yaml").write_text("rome:\n  title: شيء\n", encoding="utf-8")
    with pytest.raises(CatalogueError, match="without its framework file"):
        load_catalogue_dir(directory)


def test_a_catalogue_without_translations_still_loads_in_english(tmp_path: Path) -> None:
    directory = copy_catalogue(tmp_path)
    for path in directory.glob("*.ar.yaml"):
        path.unlink()
    plain = load_catalogue_dir(directory)
    offence = plain.offence("rome-7-1-a")
    assert offence.title_ar == "" and offence.localised("title", "ar") == offence.title
