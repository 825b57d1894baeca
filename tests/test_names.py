"""Cross-script name matching: variants of one name must meet, different names must not."""

from __future__ import annotations

import pytest

from casefile.names import (
    MAX_TOKEN_LENGTH,
    fold_latin,
    likely_same,
    name_key,
    normalize,
    normalize_arabic,
    search_terms,
    similarity,
    transliterate,
)

# Each group: spellings of one name that must share a key and be judged likely the same.
SAME_NAME_GROUPS = [
    ["Mohamed al-Kani", "Mohammed Al Kani", "محمد الكاني", "Muhammad el-Kani", "مُحَمَّد الكَانِي"],
    ["al-Kani", "الكاني", "Kani", "Al Kani", "El-Kani", "الكانى", "al-Kana"],
    ["Kaniyat", "Kaniyet", "الكانيات", "al-Kaniyat"],
    ["Tarhouna", "Tarhuna", "ترهونة", "ترهونه", "Ṭarhūna"],
    ["Khalifa Haftar", "Khalifa Hifter", "خليفة حفتر"],
    ["Gaddafi", "Qaddafi", "Kadhafi", "Gheddafi", "Khadafy", "القذافي"],
    ["Abdel Rahman", "Abdulrahman", "Abd al-Rahman", "Abd ar-Rahman", "Abdurrahman", "عبد الرحمن", "عبدالرحمن"],
    ["Abdullah", "Abdallah", "Abd Allah", "عبد الله", "عبدالله"],
    ["Omar", "Umar", "عمر"],
    ["Saad", "Sa'd", "سعد"],
    ["Youssef", "Yusuf", "يوسف"],
    ["Ashour", "Achour", "عاشور"],
    ["Misrata", "Misurata", "مصراتة"],
    ["Benghazi", "بنغازي"],
    ["Ishaq", "إسحاق"],
    ["Fathi", "فتحي"],
    ["Ben Ali", "Bin Ali", "Ibn Ali", "بن علي"],
    ["Bu Sahmain", "Abu Sahmain", "أبو سهمين"],
    ["Ilham", "إلهام"],  # إل is not the article: the hamza tells them apart.
    ["7aftar", "Haftar"],  # Arabizi.
]

SAME_PAIRS = [(group[0], other) for group in SAME_NAME_GROUPS for other in group[1:]]

DIFFERENT_PAIRS = [
    ("Khalifa Haftar", "Mohamed al-Kani"),
    ("خليفة حفتر", "محمد الكاني"),
    ("Tarhouna", "Tripoli"),
    ("ترهونة", "طرابلس"),
    ("Kaniyat", "Haftar"),
    ("Abdel Rahman", "Abdel Karim"),
    ("عبد الرحمن", "عبد الكريم"),
    ("Kani", "Kaniyat"),
    ("Zawiya", "Zuwara"),
    ("Ahmed", "Mohamed"),
    ("Salem", "Saleh"),
]


@pytest.mark.parametrize(("a", "b"), SAME_PAIRS)
def test_variants_share_a_key(a: str, b: str) -> None:
    assert name_key(a) == name_key(b) != ""


@pytest.mark.parametrize(("a", "b"), SAME_PAIRS)
def test_variants_are_likely_same(a: str, b: str) -> None:
    assert likely_same(a, b)
    assert likely_same(b, a)


@pytest.mark.parametrize(("a", "b"), DIFFERENT_PAIRS)
def test_different_names_are_not_likely_same(a: str, b: str) -> None:
    assert not likely_same(a, b), similarity(a, b)


@pytest.mark.parametrize(("a", "b"), DIFFERENT_PAIRS)
def test_different_names_have_different_keys(a: str, b: str) -> None:
    assert name_key(a) != name_key(b)


def test_documented_keys() -> None:
    assert name_key("Mohamed al-Kani") == "mhmd kn"
    assert name_key("Tarhouna") == "trhn"
    assert name_key("Khalifa Haftar") == "klf hftr"
    assert name_key("Kaniyat") == "knt"


def test_word_order_does_not_matter_for_similarity() -> None:
    assert similarity("Al Kani Mohamed", "Mohamed al-Kani") == 1.0
    assert similarity("الكاني محمد", "Mohamed al-Kani") == 1.0
    assert likely_same("Haftar, Khalifa", "خليفة حفتر")


def test_extra_name_parts_lower_similarity() -> None:
    full = "Mohamed Abdelrahim al-Kani"
    assert similarity("Mohamed al-Kani", "Mohamed al-Kani") > similarity("Mohamed al-Kani", full)
    assert not likely_same("Mohamed", full)


def test_similarity_range_and_empty_input() -> None:
    assert similarity("", "") == 0.0
    assert similarity("Haftar", "") == 0.0
    assert similarity("---", "'") == 0.0
    assert not likely_same("", "")
    for a, b in SAME_PAIRS + DIFFERENT_PAIRS:
        assert 0.0 <= similarity(a, b) <= 1.0
        assert similarity(a, b) == similarity(b, a)


def test_threshold_is_respected() -> None:
    score = similarity("Abdel Rahman", "Abdel Karim")
    assert likely_same("Abdel Rahman", "Abdel Karim", threshold=score)
    assert not likely_same("Abdel Rahman", "Abdel Karim", threshold=min(1.0, score + 0.01))


def test_normalize_arabic_strips_diacritics() -> None:
    assert normalize_arabic("مُحَمَّد") == "محمد"
    assert normalize_arabic("القُرْآنِ") == "القران"
    assert normalize_arabic("صَلَاةٌ") == "صلاه"
    assert normalize_arabic("ٱلرَّحْمَٰن") == "الرحمن"  # superscript alef and alef wasla


def test_normalize_arabic_strips_tatweel() -> None:
    assert normalize_arabic("الكـــاني") == "الكاني"


def test_normalize_arabic_unifies_letter_forms() -> None:
    assert normalize_arabic("الكانى") == normalize_arabic("الكاني") == "الكاني"
    assert normalize_arabic("ترهونة") == normalize_arabic("ترهونه") == "ترهونه"
    assert normalize_arabic("أحمد") == normalize_arabic("إحمد") == normalize_arabic("آحمد") == "احمد"
    assert normalize_arabic("مسؤول") == "مسوول"
    assert normalize_arabic("رئيس") == "رييس"
    assert normalize_arabic("علی") == "علي"  # Persian yeh
    assert normalize_arabic("کاني") == "كاني"  # Persian keheh


def test_normalize_arabic_digits_and_invisibles() -> None:
    assert normalize_arabic("٢٠١٩") == "2019"
    assert normalize_arabic("۲۰۲۰") == "2020"
    assert normalize_arabic("\u200fمحمد\u200c") == "محمد"


def test_normalize_arabic_presentation_forms() -> None:
    # As extracted from many PDFs.
    assert normalize_arabic("ﻣﺤﻤﺪ") == "محمد"
    assert normalize_arabic("ﻻ") == "لا"


def test_normalize_arabic_decomposed_hamza() -> None:
    assert normalize_arabic("\u0627\u0654\u062d\u0645\u062f") == "احمد"


def test_normalize_arabic_leaves_latin_alone() -> None:
    assert normalize_arabic("Mohamed al-Kani") == "Mohamed al-Kani"


def test_fold_latin() -> None:
    assert fold_latin("Ṭarhūna") == "tarhuna"
    assert fold_latin("ʿAbd al-Raḥmān") == "abd al rahman"
    assert fold_latin("  Mohamed   AL-KANI ") == "mohamed al kani"
    assert fold_latin("Qur’an") == "qur an"
    assert fold_latin("al_kani.doc") == "al kani doc"
    assert fold_latin("Tar\u00adhuna") == "tarhuna"  # soft hyphen
    assert fold_latin("Straße") == "strasse"


def test_normalize_both_scripts() -> None:
    assert normalize("Mohamed al-Kani / مُحَمَّد الكـــانى") == "mohamed al kani / محمد الكاني"
    assert normalize("ترهونة") == normalize("ترهونه")
    assert normalize("Tarhūna") == normalize("TARHUNA")


@pytest.mark.parametrize("text", ["مُحَمَّد الكـــانى", "Ṭarhūna", "ﻣﺤﻤﺪ ٢٠١٩", "Abd-al-Raḥmān", ""])
def test_normalize_is_idempotent(text: str) -> None:
    assert normalize(normalize(text)) == normalize(text)


def test_transliterate() -> None:
    assert transliterate("محمد") == "mhmd"
    assert transliterate("الكاني") == "alkany"
    assert transliterate("مُحَمَّد الكـــانى") == "mhmd alkany"
    assert transliterate("خليفة حفتر") == "khlyfh hftr"
    assert transliterate("Tarhūna") == "tarhuna"
    assert transliterate("ترهونة").isascii()


def test_name_key_is_ascii_letters() -> None:
    for group in SAME_NAME_GROUPS:
        for name in group:
            key = name_key(name)
            assert key.isascii()
            assert all(word.isalpha() and word.islower() for word in key.split())


def test_name_key_empty_and_particles_only() -> None:
    assert name_key("") == ""
    assert name_key("al") == ""
    assert name_key("ال") == ""  # a lone article (or آل, "family of") carries no name
    assert name_key("آل سعود") == name_key("Al Saud") == "sd"
    assert name_key("2019") == ""


def test_search_terms_cross_script() -> None:
    assert set(search_terms("الكاني")) & set(search_terms("al-Kani"))
    assert set(search_terms("Tarhouna")) & set(search_terms("ترهونه"))
    assert set(search_terms("Tarhuna")) & set(search_terms("ترهونة"))
    assert set(search_terms("خليفة حفتر")) >= {"klf", "hftr"}
    assert set(search_terms("Khalifa Hifter")) >= {"klf", "hftr"}


def test_search_terms_contents() -> None:
    terms = search_terms("Mohamed al-Kani, Tarhouna (2019)")
    assert terms == ["mohamed", "al", "kani", "tarhouna", "2019", "mhmd", "kn", "trhn"]
    arabic = search_terms("مُحَمَّد الكاني في ترهونة ٢٠١٩")
    assert {"محمد", "الكاني", "ترهونه", "2019", "mhmd", "kn", "trhn"} <= set(arabic)


def test_search_terms_dedup_and_limits() -> None:
    terms = search_terms("Kani kani KANI al-Kani الكاني")
    assert len(terms) == len(set(terms))
    assert "" not in terms
    assert all(t == t.lower() for t in terms)
    long_terms = search_terms("x" * 200 + " " + "م" * 200)
    assert long_terms
    assert all(len(t) <= MAX_TOKEN_LENGTH for t in long_terms)
    assert search_terms("") == []
    assert search_terms(" - ' . ") == []


def test_long_text_similarity_stays_bounded() -> None:
    text = " ".join(["Mohamed al-Kani Tarhouna"] * 200)
    assert similarity(text, text) == 1.0
