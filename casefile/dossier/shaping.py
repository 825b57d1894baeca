"""Arabic shaping and bidi reordering for the text of SVG charts in the dossier PDF.

WeasyPrint 70 draws SVG <text> one character at a time (weasyprint/svg/text.py), so inside the charts Arabic
would come out unjoined and in logical (reversed) order. HTML text is unaffected: Pango shapes and reorders it.
For SVG labels only, the text is therefore shaped here (Arabic Presentation Forms, which DejaVu Sans covers) and
put in visual order (the Unicode bidi algorithm, simplified for one line without explicit embeddings, which
clean_label removes anyway). Vowel marks are dropped from chart labels: drawn alone they would not attach.

:func:`shape_svg_text` applies both to every ``<text>`` element of an SVG document that holds right-to-left text;
:func:`shape_arabic` and :func:`visual_order` are its two steps. Standard library only.
"""

from __future__ import annotations

import functools
import html
import re
import unicodedata

__all__ = ["shape_arabic", "shape_svg_text", "visual_order"]

_SVG_TEXT = re.compile(r"(<text\b[^>]*>)([^<]+)(?=</text>)")
_HARAKAT = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06dc\u06df-\u06e8\u06ea-\u06ed]")
# Presentation forms that DejaVu Sans has glyphs for: all of Forms-B, and these parts of Forms-A (Persian, Urdu…).
_FORM_RANGES = (
    (0xFE70, 0xFEFC),
    (0xFB52, 0xFBA3),
    (0xFBAA, 0xFBAD),
    (0xFBD3, 0xFBDC),
    (0xFBDE, 0xFBDF),
    (0xFBE4, 0xFBE9),
    (0xFBFC, 0xFBFF),
)
_MIRROR = str.maketrans("()[]{}<>«»‹›", ")(][}{><»«›‹")
_NEUTRAL = frozenset({"B", "S", "WS", "ON", "BN", "LRE", "LRO", "RLE", "RLO", "PDF", "LRI", "RLI", "FSI", "PDI", ""})


def shape_svg_text(svg: str) -> str:
    """``svg`` with the right-to-left text of every ``<text>`` element shaped and in visual order."""
    return _SVG_TEXT.sub(_visual_svg_text, svg)


def _visual_svg_text(match: re.Match[str]) -> str:
    text = html.unescape(match.group(2))
    if not any(unicodedata.bidirectional(ch) in ("R", "AL") for ch in text):
        return match.group(0)
    return match.group(1) + html.escape(visual_order(shape_arabic(text)), quote=True)


@functools.cache
def _arabic_forms() -> dict[tuple[str, str], str]:
    """(letter or lam+alef, "isolated"|"final"|"initial"|"medial") → presentation form, from Unicode decompositions."""
    forms: dict[tuple[str, str], str] = {}
    for low, high in _FORM_RANGES:
        for code in range(low, high + 1):
            found = re.fullmatch(
                r"<(isolated|final|initial|medial)> ([0-9A-F]{4})(?: ([0-9A-F]{4}))?",
                unicodedata.decomposition(chr(code)),
            )
            if not found:
                continue
            base = chr(int(found[2], 16)) + (chr(int(found[3], 16)) if found[3] else "")
            if len(base) == 1 or base[0] == "\u0644":  # single letters and the mandatory lam-alef ligatures
                forms.setdefault((base, found[1]), chr(code))
    return forms


def shape_arabic(text: str) -> str:
    """Replace Arabic letters by their contextual presentation forms (logical order is kept)."""
    forms = _arabic_forms()
    text = _HARAKAT.sub("", text)

    def joining(ch: str) -> str:
        if ch in ("\u0640", "\u200d"):  # tatweel, zero-width joiner: join on both sides, no form of their own
            return "C"
        if (ch, "initial") in forms or (ch, "medial") in forms:
            return "D"
        return "R" if (ch, "final") in forms else "U"

    kinds = [joining(ch) for ch in text]
    out: list[str] = []
    i = 0
    while i < len(text):
        ch, kind = text[i], kinds[i]
        if kind not in ("D", "R"):
            out.append(ch)
            i += 1
            continue
        joins_before = i > 0 and kinds[i - 1] in ("D", "C")
        pair = text[i : i + 2]
        if len(pair) == 2 and (pair, "isolated") in forms:
            out.append(forms.get((pair, "final" if joins_before else "isolated"), pair))
            i += 2
            continue
        joins_after = kind == "D" and i + 1 < len(text) and kinds[i + 1] in ("D", "R", "C")
        form = ("medial" if joins_after else "final") if joins_before else ("initial" if joins_after else "isolated")
        out.append(forms.get((ch, form)) or forms.get((ch, "final" if joins_before else "isolated")) or ch)
        i += 1
    return "".join(out)


_BRACKETS = {"(": ")", "[": "]", "{": "}"}


def _resolve_brackets(text: str, types: list[str], sor: str) -> None:
    """UAX #9 rule N0: a pair of brackets takes the direction of what it encloses (or of its context)."""
    pairs: list[tuple[int, int]] = []
    stack: list[tuple[str, int]] = []
    for i, ch in enumerate(text):
        if types[i] != "ON":
            continue
        if ch in _BRACKETS:
            stack.append((_BRACKETS[ch], i))
        elif ch in _BRACKETS.values():
            for depth in range(len(stack) - 1, -1, -1):
                if stack[depth][0] == ch:
                    pairs.append((stack[depth][1], i))
                    del stack[depth:]
                    break
    for opening, closing in sorted(pairs):
        inside = {"R" if t in ("R", "EN", "AN") else t for t in types[opening + 1 : closing]} & {"L", "R"}
        if not inside:
            continue
        if sor in inside:
            direction = sor
        else:  # only the opposite direction inside: keep it if the context before is also opposite
            direction = next(
                (
                    "R" if t in ("R", "EN", "AN") else "L"
                    for t in reversed(types[:opening])
                    if t in ("L", "R", "EN", "AN")
                ),
                sor,
            )
        types[opening] = types[closing] = direction


def visual_order(text: str) -> str:
    """One line of text in visual (left-to-right drawing) order: rules W1–W7, N1–N2, I1–I2, L2 and L4 of UAX #9."""
    types = [unicodedata.bidirectional(ch) for ch in text]
    n = len(types)
    base = next((1 if t in ("R", "AL") else 0 for t in types if t in ("L", "R", "AL")), 0)
    sor = "R" if base else "L"
    previous = sor
    for i, t in enumerate(types):  # W1: a mark takes the type of what it marks
        if t == "NSM":
            types[i] = previous
        previous = types[i]
    last_strong = sor
    for i, t in enumerate(types):  # W2: European digits after Arabic letters are Arabic numbers
        if t in ("L", "R", "AL"):
            last_strong = t
        elif t == "EN" and last_strong == "AL":
            types[i] = "AN"
    types = ["R" if t == "AL" else t for t in types]  # W3
    for i in range(1, n - 1):  # W4: one separator between two numbers joins them
        if types[i] == "ES" and types[i - 1] == "EN" == types[i + 1]:
            types[i] = "EN"
        elif types[i] == "CS" and types[i - 1] == types[i + 1] and types[i - 1] in ("EN", "AN"):
            types[i] = types[i - 1]
    i = 0
    while i < n:  # W5: terminators (%, currency…) next to European numbers
        if types[i] != "ET":
            i += 1
            continue
        j = i
        while j < n and types[j] == "ET":
            j += 1
        if (i > 0 and types[i - 1] == "EN") or (j < n and types[j] == "EN"):
            types[i:j] = ["EN"] * (j - i)
        i = j
    types = ["ON" if t in ("ES", "ET", "CS") else t for t in types]  # W6
    last_strong = sor
    for i, t in enumerate(types):  # W7: European numbers in a left-to-right context are left-to-right
        if t in ("L", "R"):
            last_strong = t
        elif t == "EN" and last_strong == "L":
            types[i] = "L"
    _resolve_brackets(text, types, sor)  # N0
    i = 0
    while i < n:  # N1, N2: neutrals between the same direction take it, others the paragraph's
        if types[i] not in _NEUTRAL:
            i += 1
            continue
        j = i
        while j < n and types[j] in _NEUTRAL:
            j += 1
        before = sor if i == 0 else ("R" if types[i - 1] in ("R", "EN", "AN") else "L")
        after = sor if j == n else ("R" if types[j] in ("R", "EN", "AN") else "L")
        types[i:j] = [before if before == after else sor] * (j - i)
        i = j
    if base:  # I1, I2
        levels = [2 if t in ("L", "EN", "AN") else 1 for t in types]
    else:
        levels = [1 if t == "R" else 2 if t in ("EN", "AN") else 0 for t in types]
    chars = [ch.translate(_MIRROR) if level % 2 else ch for ch, level in zip(text, levels, strict=True)]  # L4
    for level in range(max(levels, default=0), 0, -1):  # L2: reverse runs, highest level first
        i = 0
        while i < n:
            if levels[i] < level:
                i += 1
                continue
            j = i
            while j < n and levels[j] >= level:
                j += 1
            chars[i:j] = chars[i:j][::-1]
            levels[i:j] = levels[i:j][::-1]
            i = j
    return "".join(chars)
