"""Arabic in the PDF's SVG charts: WeasyPrint draws SVG text unshaped, so casefile.dossier.shaping joins the letters
(presentation forms) and puts right-to-left text in visual order before the charts go into the PDF."""

from __future__ import annotations

from casefile.dossier.shaping import shape_arabic, shape_svg_text, visual_order


def test_letters_take_their_joining_forms() -> None:
    # meem initial, hah medial, meem medial, dal final
    assert shape_arabic("محمد") == "\ufee3\ufea4\ufee4\ufeaa"
    # alef and dal join only on the right: the next letter starts a new word shape
    assert shape_arabic("الكاني") == "\ufe8d\ufedf\ufedc\ufe8e\ufee7\ufef2"


def test_lam_alef_is_one_ligature_and_vowel_marks_are_dropped() -> None:
    assert shape_arabic("لا") == "\ufefb"
    assert shape_arabic("مُحَمَّد") == shape_arabic("محمد")


def test_text_without_arabic_letters_is_unchanged() -> None:
    assert shape_arabic("Tarhouna 2020 (W-0007)") == "Tarhouna 2020 (W-0007)"


def test_visual_order_reverses_right_to_left_runs_only() -> None:
    assert visual_order("abc محمد") == "abc دمحم"
    assert visual_order("محمد 2020") == "2020 دمحم"  # numbers keep their own order
    assert visual_order("محمد (abc)") == "(abc) دمحم"
    assert visual_order("(محمد)") == "(دمحم)"  # brackets are mirrored as they are reversed
    assert visual_order("W-0007 شاهد") == "W-0007 دهاش"


def test_svg_text_elements_are_shaped_and_stay_escaped() -> None:
    svg = '<svg><text x="1">محمد &amp; co</text><text>plain &lt;b&gt;</text></svg>'
    assert shape_svg_text(svg) == (
        '<svg><text x="1">co &amp; \ufeaa\ufee4\ufea4\ufee3</text><text>plain &lt;b&gt;</text></svg>'
    )
