"""Text in charts: user labels made safe to draw, XML escaping, and drawn-width estimates.

There are no font metrics on the server, so widths are generous estimates for DejaVu Sans (a wide font); labels
that would not fit are shortened with an ellipsis and the caller keeps the full text in a ``<title>``.
"""

from __future__ import annotations

import html
import unicodedata

# Bidi embeddings/overrides (LRE RLE PDF LRO RLO), isolates (LRI RLI FSI PDI) and the invisible marks (LRM RLM ALM).
# Renderers apply the Unicode bidi algorithm to Arabic or Hebrew on their own; these only serve to disguise text.
_BIDI_CONTROLS = frozenset(chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C))
_LINE_BREAKS = frozenset("\u2028\u2029\u0085")

FONT_FAMILY = "DejaVu Sans, Noto Sans, Noto Naskh Arabic, Arial, sans-serif"


def clean_label(value: object) -> str:
    """User text made safe to draw: no control, bidi-control or non-XML characters, whitespace collapsed.

    The result still needs escaping (:func:`esc`) before it goes into markup.
    """
    if value is None:
        return ""
    out: list[str] = []
    for ch in str(value):
        cp = ord(ch)
        if ch in _BIDI_CONTROLS or ch == "\ufeff":
            continue
        if ch in _LINE_BREAKS or ch in "\t\n\r\v\f":
            out.append(" ")
            continue
        category = unicodedata.category(ch)
        if category in ("Cc", "Cs"):  # C0/C1 controls, lone surrogates
            continue
        if 0xFDD0 <= cp <= 0xFDEF or (cp & 0xFFFE) == 0xFFFE:  # noncharacters (U+FFFE/U+FFFF are not XML)
            continue
        out.append(ch)
    return " ".join("".join(out).split())


def esc(text: str) -> str:
    """Escape for XML text and (double- or single-quoted) attribute values."""
    return html.escape(text, quote=True)


def _char_em(ch: str) -> float:
    if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
        return 0.0
    if unicodedata.east_asian_width(ch) in ("W", "F"):
        return 1.0
    if ch in "iljI.,;:'|!()[]{} ·":
        return 0.36
    if ch.isupper() or ch in "mwMW@%&—…✓✗":
        return 0.78
    return 0.6


def text_width(text: str, size: float, *, bold: bool = False) -> float:
    """A generous estimate of the drawn width (DejaVu Sans is wide; no font metrics on the server)."""
    return sum(_char_em(ch) for ch in text) * size * (1.08 if bold else 1.0)


def truncate(text: str, max_width: float, size: float, *, bold: bool = False) -> str:
    """Shorten to fit ``max_width`` with a trailing ellipsis; the caller keeps the full text in a <title>."""
    if text_width(text, size, bold=bold) <= max_width:
        return text
    budget = max_width - text_width("…", size, bold=bold)
    scale = size * (1.08 if bold else 1.0)
    used = 0.0
    cut = 0
    for i, ch in enumerate(text):
        used += _char_em(ch) * scale
        if used > budget:
            break
        cut = i + 1
    head = text[:cut].rstrip()
    while head and unicodedata.category(head[-1]) in ("Mn", "Me", "Cf"):  # don't end on a dangling mark or ZWJ
        head = head[:-1]
    return head.rstrip() + "…"


def is_rtl(text: str) -> bool:
    """Whether the first strong character is right-to-left (Arabic, Hebrew…)."""
    for ch in text:
        bidi = unicodedata.bidirectional(ch)
        if bidi in ("R", "AL"):
            return True
        if bidi == "L":
            return False
    return False


def wrap(text: str, max_width: float, size: float, *, bold: bool = False, max_lines: int = 3) -> list[str]:
    """Break a label into lines that fit ``max_width`` (at spaces; a word too long for a line is broken inside),
    at most ``max_lines``: the last line of a longer label ends with an ellipsis and the caller keeps the full text
    in a <title>. Widths are the same estimates as :func:`text_width`, for Arabic as for Latin."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if text_width(candidate, size, bold=bold) <= max_width:
            current = candidate
            continue
        if current:
            lines.append(current)
        current = word
        while text_width(current, size, bold=bold) > max_width:  # one word wider than a line: break it
            head = _fitting(current, max_width, size, bold=bold)
            lines.append(head)
            current = current[len(head) :]
    if current:
        lines.append(current)
    if len(lines) > max_lines:
        rest = " ".join(lines[max_lines - 1 :])
        lines = [*lines[: max_lines - 1], truncate(rest, max_width, size, bold=bold)]
    return lines or [""]


def _fitting(word: str, max_width: float, size: float, *, bold: bool) -> str:
    """The longest start of ``word`` that fits (at least one character, never ending on a combining mark)."""
    scale = size * (1.08 if bold else 1.0)
    used = 0.0
    cut = 0
    for i, ch in enumerate(word):
        used += _char_em(ch) * scale
        if used > max_width and cut:
            break
        cut = i + 1
    while cut < len(word) and unicodedata.category(word[cut]) in ("Mn", "Me", "Cf"):
        cut += 1  # keep a mark with its letter
    return word[:cut]
