"""The words a chart draws besides its labels, and the direction it is laid out in.

The charts are standard library only (no Flask, no gettext): the caller passes the words in its language
(casefile/actors/pictures.py builds them with the page's or the dossier's translations) and ``rtl`` for a
right-to-left language. The defaults are the English words. Counts are given to callables, so that a language
chooses its own plural forms.

Right to left (``rtl=True``): every text the chart writes gets ``direction="rtl"`` (set on each ``<text>``, not
inherited: a chart shown inside a right-to-left page inherits the page's direction in a browser but not in
WeasyPrint, and a text anchored at its start then runs off the wrong edge); titles, legends and captions are
anchored at the right edge and run leftwards; the command chart is mirrored (the first of a layer's actors on the
right, arrows and legend samples pointing left) and the timeline's time runs from right to left, its labels on the
right.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


def _chart_summary(actors: int, relations: int, unsupported: int, contested: int) -> str:
    return (
        f"Command chart with {actors} actor{'s' if actors != 1 else ''} and {relations} "
        f"relationship{'s' if relations != 1 else ''}: {unsupported} without supporting evidence, "
        f"{contested} with contradicting evidence. Superiors are drawn above their subordinates."
    )


def _timeline_summary(events: int, first_year: int | None, last_year: int | None, undated: int) -> str:
    return (
        f"Timeline of {events} event{'s' if events != 1 else ''}"
        + (f" from {first_year} to {last_year}" if first_year is not None else "")
        + f"; {undated} without a known date. Dates are drawn only as precisely as they are known."
    )


def _edge_line(source: str, target: str, relation: str, supporting: int, contradicting: int) -> str:
    return f"{source} → {target}: {relation} ({supporting} supporting, {contradicting} contradicting)"


@dataclass(frozen=True)
class ChartWords:
    rtl: bool = False
    # command chart
    kinds: dict[str, str] = field(
        default_factory=lambda: {
            "person": "person",
            "organisation": "organisation",
            "armed_group": "armed group",
            "unit": "unit",
            "state_body": "state body",
        }
    )
    legend: tuple[str, str, str, str, str] = (
        "command, superior, membership",
        "other link (allied, supplies…)",
        "no supporting evidence",
        "contradicting evidence",
        "n✓ / m✗ supporting / contradicting items",
    )
    isolated: str = "No recorded relationships"
    no_actors: str = "No data: there are no actors to chart."
    related_to: str = "related to"
    chart_summary: Callable[[int, int, int, int], str] = _chart_summary
    edge_line: Callable[[str, str, str, int, int], str] = _edge_line
    # timeline
    no_events: str = "No data: there are no events to show."
    timeline_summary: Callable[[int, int | None, int | None, int], str] = _timeline_summary
    approx: str = "approx. {date}"  # an approximate date
    approx_label: str = "{label} (approx.)"  # an event whose date is approximate
    until: str = "until {date}"
    date_unknown_heading: str = "Date unknown"
    date_unknown: str = "date unknown"


ENGLISH = ChartWords()


def direction(words: ChartWords) -> str:
    """The ``direction`` attribute every text of the chart carries (empty for left to right)."""
    return ' direction="rtl"' if words.rtl else ""
