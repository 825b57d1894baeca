"""The incident timeline: events on a horizontal time axis with year ticks, one row each, as an SVG document."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from casefile.charts.svg import MARGIN, TITLE_H, empty_svg, id_prefix, num, svg_open
from casefile.charts.text import clean_label, esc, is_rtl, text_width, truncate
from casefile.charts.words import ENGLISH, ChartWords


@dataclass(frozen=True)
class TimelineEvent:
    id: str
    label: str
    start: date | None
    end: date | None
    precision: str  # day / month / year / approximate


_PRECISIONS = ("day", "month", "year", "approximate")
ROW_H = 26.0


def _precision(value: object) -> str:
    text = str(getattr(value, "value", value) or "").strip().lower()
    # Anything unrecognised is drawn as approximate: never more precise than we know.
    return text if text in _PRECISIONS else "approximate"


def _as_date(value: object) -> date | None:
    if isinstance(value, date):
        return date(value.year, value.month, value.day)  # a datetime becomes its date
    return None


def _year_start(year: int) -> int:
    """Ordinal of 1 January ``year``; past 9999, the day after date.max."""
    if year > date.max.year:
        return date.max.toordinal() + 1
    return date(max(year, 1), 1, 1).toordinal()


def _span(d: date, precision: str) -> tuple[int, int]:
    """The days (ordinal, end exclusive) a date of this precision may stand for."""
    if precision == "day":
        return d.toordinal(), d.toordinal() + 1
    if precision == "month":
        after = _year_start(d.year + 1) if d.month == 12 else date(d.year, d.month + 1, 1).toordinal()
        return date(d.year, d.month, 1).toordinal(), after
    # year, and approximate: the app shows approximate dates as "approx. <year>", so the whole year is drawn.
    return _year_start(d.year), _year_start(d.year + 1)


def _date_text(d: date, precision: str) -> str:
    if precision == "day":
        return d.isoformat()
    if precision == "month":
        return f"{d.year:04d}-{d.month:02d}"
    return f"{d.year:04d}"


def _event_dates(event: TimelineEvent, precision: str, words: ChartWords = ENGLISH) -> tuple[int, int, str] | None:
    start, end = _as_date(event.start), _as_date(event.end)
    if start is None and end is None:
        return None
    if start is not None and end is not None and end < start:
        start, end = end, start  # a data-entry slip; still drawn, in order

    def approx(text: str) -> str:
        return words.approx.format(date=text) if precision == "approximate" else text

    if start is None and end is not None:
        lo, hi = _span(end, precision)
        return lo, hi, words.until.format(date=approx(_date_text(end, precision)))
    assert start is not None  # noqa: S101 - for the type checker: both None returned above
    lo, hi = _span(start, precision)
    text = _date_text(start, precision)
    if end is not None:
        _, end_hi = _span(end, precision)
        hi = max(hi, end_hi)
        end_text = _date_text(end, precision)
        if end_text != text:
            text = f"{text} – {end_text}"
    return lo, hi, approx(text)


def render_timeline(events: Sequence[TimelineEvent], *, title: str, words: ChartWords = ENGLISH) -> str:
    """Events on a horizontal time axis with year ticks, one row each, as an SVG document.

    A date is drawn only as precisely as it is known: month precision spans the whole month, year precision the
    whole year, approximate dates the whole year with a faded dashed bar (class ``approximate``) and "approx." in
    the label. An event known to a single day is a point. Events without any date are listed under the axis as
    "Date unknown". ``words`` are the chart's own words in the page's language, and its direction: right to
    left, time runs from right to left and the labels stand on the right (:mod:`casefile.charts.words`).
    """
    title_text = clean_label(title) or "Timeline"
    unique: dict[str, TimelineEvent] = {}
    for event in sorted(events, key=lambda e: (str(e.id), repr(e))):
        unique.setdefault(str(event.id), event)
    if not unique:
        return empty_svg(title_text, words.no_events, "timeline", rtl=words.rtl)
    prefix = id_prefix("tl", (sorted(unique.items()), title_text))
    dated, undated = _rows(unique, words)
    sheet = _measure(title_text, dated, undated, words.rtl)

    desc = _describe(len(unique), dated, undated, sheet, words)
    parts = svg_open(sheet.width, sheet.height, prefix, "timeline", title_text, desc, rtl=words.rtl)
    parts.append(
        f'<rect class="chart-background" x="0" y="0" width="{num(sheet.width)}" height="{num(sheet.height)}" '
        f'fill="#ffffff"/>'
    )
    parts.append(
        f'<text class="chart-title" x="{num(sheet.x(MARGIN))}" y="30" font-size="16" font-weight="bold" '
        f'fill="#1a202c"{sheet.dir}>{esc(truncate(title_text, sheet.width - 2 * MARGIN, 16, bold=True))}</text>'
    )
    if dated:
        parts += _axis(sheet, len(dated))
        parts += _dated_events(sheet, dated, words)
    if undated:
        parts += _undated_events(sheet, undated, words)
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


# --- rows --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Dated:
    lo: int  # first day (ordinal) the event may cover
    hi: int  # the day after the last
    id: str
    label: str  # cleaned, in full
    when: str  # the dates as text, e.g. "approx. 2019" or "2020-06 – 2020-08"
    precision: str
    shown: str  # the label as drawn in its row


@dataclass(frozen=True)
class _Undated:
    label: str
    id: str


def _row_label(label: str, precision: str, words: ChartWords = ENGLISH) -> str:
    if precision != "approximate":
        return truncate(label, 300, 12)
    room = 300 - text_width(words.approx_label.format(label=""), 12)
    return words.approx_label.format(label=truncate(label, room, 12))


def _rows(unique: dict[str, TimelineEvent], words: ChartWords = ENGLISH) -> tuple[list[_Dated], list[_Undated]]:
    """The dated events in date order, and the undated ones by label."""
    dated: list[_Dated] = []
    undated: list[_Undated] = []
    for eid, event in unique.items():
        precision = _precision(event.precision)
        label = clean_label(event.label) or clean_label(eid) or "?"
        when = _event_dates(event, precision, words)
        if when is None:
            undated.append(_Undated(label, eid))
            continue
        lo, hi, text = when
        dated.append(_Dated(lo, hi, eid, label, text, precision, _row_label(label, precision, words)))
    dated.sort(key=lambda row: (row.lo, row.hi, row.id))
    undated.sort(key=lambda row: (row.label.casefold(), row.id))
    return dated, undated


# --- geometry ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Sheet:
    """The canvas and the time axis: which years it shows and where a day falls on it."""

    width: float
    height: float
    plot_left: float
    plot_w: float
    first_year: int
    last_year: int
    years: int
    axis_lo: int  # ordinal of 1 January of the first year
    span_days: int
    rows_top: float
    axis_y: float
    undated_top: float
    rtl: bool = False

    def px(self, ordinal: float) -> float:
        """Where a day falls (left to right; :meth:`x` mirrors it for a right-to-left timeline)."""
        return self.x(self.plot_left + (ordinal - self.axis_lo) / self.span_days * self.plot_w)

    def x(self, value: float) -> float:
        """An x laid out left to right, where it is drawn: mirrored for a right-to-left timeline."""
        return self.width - value if self.rtl else value

    @property
    def dir(self) -> str:
        """Every text's direction: with the same anchor, a right-to-left text runs the mirrored way."""
        return ' direction="rtl"' if self.rtl else ' direction="ltr"'

    @property
    def forward(self) -> float:
        """+1 left to right, -1 right to left: the sign of "later", "further along"."""
        return -1.0 if self.rtl else 1.0


def _measure(title_text: str, dated: list[_Dated], undated: list[_Undated], rtl: bool = False) -> _Sheet:
    label_col = min(320.0, max(140.0, *(text_width(row.shown, 12) + 16 for row in dated))) if dated else 0.0
    plot_left = MARGIN + label_col + 12
    if dated:
        first_year = date.fromordinal(min(row.lo for row in dated)).year
        last_year = date.fromordinal(max(row.hi for row in dated) - 1).year
        years = last_year - first_year + 1
        plot_w = min(1100.0, max(480.0, years * 90.0))
        axis_lo, axis_hi = _year_start(first_year), _year_start(last_year + 1)
    else:
        first_year = last_year = years = 0
        plot_w = 480.0
        axis_lo, axis_hi = 0, 1
    date_col = max([text_width(row.when, 11) + 16 for row in dated] + [120.0])
    canvas_w = max(plot_left + plot_w + date_col + MARGIN, text_width(title_text, 16, bold=True) + 2 * MARGIN)
    if undated:
        canvas_w = max(canvas_w, min(900.0, max(text_width(u.label, 12) for u in undated) + 2 * MARGIN + 24))
    rows_top = TITLE_H + 8
    axis_y = rows_top + len(dated) * ROW_H + 8
    y = axis_y + (36.0 if dated else 0.0)
    undated_top = y + 12
    return _Sheet(
        width=canvas_w,
        height=(undated_top + 22 + len(undated) * 20 if undated else y) + MARGIN / 2,
        plot_left=plot_left,
        plot_w=plot_w,
        first_year=first_year,
        last_year=last_year,
        years=years,
        axis_lo=axis_lo,
        span_days=max(1, axis_hi - axis_lo),
        rows_top=rows_top,
        axis_y=axis_y,
        undated_top=undated_top,
        rtl=rtl,
    )


def _describe(
    event_count: int, dated: list[_Dated], undated: list[_Undated], sheet: _Sheet, words: ChartWords = ENGLISH
) -> str:
    """The description for screen readers: a summary, then every event with its dates."""
    first, last = (sheet.first_year, sheet.last_year) if dated else (None, None)
    desc_lines = [words.timeline_summary(event_count, first, last, len(undated))]
    desc_lines += [f"{row.label}: {row.when}" for row in dated]
    desc_lines += [f"{row.label}: {words.date_unknown}" for row in undated]
    return "\n".join(desc_lines)


# --- markup ------------------------------------------------------------------------------------------------------


def _axis(sheet: _Sheet, row_count: int) -> list[str]:
    """Row bands, month ticks (for up to three years), year grid lines, ticks and labels, and the axis line."""
    s = sheet
    step = next(st for st in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000) if s.plot_w / s.years * st >= 44)
    parts = ['<g class="axis">']
    for i in range(row_count):
        if i % 2 == 0:
            parts.append(
                f'<rect class="row-band" x="{num(MARGIN)}" y="{num(s.rows_top + i * ROW_H)}" '
                f'width="{num(s.width - 2 * MARGIN)}" height="{num(ROW_H)}" fill="#f7fafc"/>'
            )
    if s.years <= 3:
        for year in range(s.first_year, s.last_year + 1):
            for month in range(2, 13):
                mx = s.px(date(year, month, 1).toordinal())
                parts.append(
                    f'<line class="month-tick" x1="{num(mx)}" y1="{num(s.axis_y)}" x2="{num(mx)}" '
                    f'y2="{num(s.axis_y + 4)}" stroke="#a0aec0" stroke-width="0.8"/>'
                )
    for year in range(s.first_year, s.last_year + 2):
        if year % step and year != s.first_year:
            continue
        tx = s.px(_year_start(year))
        parts.append(
            f'<line class="year-grid" x1="{num(tx)}" y1="{num(s.rows_top)}" x2="{num(tx)}" y2="{num(s.axis_y)}" '
            f'stroke="#e2e8f0" stroke-width="1"/>'
        )
        parts.append(
            f'<line class="year-tick" x1="{num(tx)}" y1="{num(s.axis_y)}" x2="{num(tx)}" y2="{num(s.axis_y + 7)}" '
            f'stroke="#4a5568" stroke-width="1"/>'
        )
        if year <= s.last_year:
            label_x = tx + (s.px(_year_start(year + 1)) - tx) / 2 if step == 1 else tx
            parts.append(
                f'<text class="year-label" x="{num(label_x)}" y="{num(s.axis_y + 22)}" text-anchor="middle" '
                f'font-size="11" fill="#4a5568" direction="ltr">{year:04d}</text>'
            )
    parts.append(
        f'<line class="axis-line" x1="{num(s.x(s.plot_left))}" y1="{num(s.axis_y)}" '
        f'x2="{num(s.x(s.plot_left + s.plot_w))}" '
        f'y2="{num(s.axis_y)}" stroke="#4a5568" stroke-width="1.2"/>'
    )
    parts.append("</g>")
    return parts


def _dated_events(sheet: _Sheet, dated: list[_Dated], words: ChartWords = ENGLISH) -> list[str]:
    """One row per event: its label, then a point (known to the day) or a bar (the span it may cover)."""
    parts = ['<g class="events">']
    for i, row in enumerate(dated):
        cy = sheet.rows_top + i * ROW_H + ROW_H / 2
        approx = row.precision == "approximate"
        classes = f"event precision-{row.precision}" + (" approximate" if approx else "")
        parts.append(f'<g class="{classes}" data-event-id="{esc(clean_label(row.id))}">')
        shown_label = words.approx_label.format(label=row.label) if approx else row.label
        parts.append(f"<title>{esc(shown_label)}: {esc(row.when)}</title>")
        parts.append(
            f'<text class="event-label" x="{num(sheet.x(sheet.plot_left - 12))}" y="{num(cy + 4)}" '
            f'font-size="12" fill="#1a202c"{_own_direction(sheet, row.shown, "end")}>{esc(row.shown)}</text>'
        )
        x0, x1 = sorted((sheet.px(row.lo), sheet.px(row.hi)))
        if row.hi - row.lo == 1 and row.precision == "day":
            parts.append(
                f'<circle class="event-point" cx="{num((x0 + x1) / 2)}" cy="{num(cy)}" r="5" fill="#2c5282" '
                f'stroke="#ffffff" stroke-width="1"/>'
            )
            end_x = (x0 + x1) / 2 + 5 * sheet.forward
        else:
            bar_w = max(x1 - x0, 3.0)
            if sheet.rtl:
                x0 = x1 - bar_w  # a bar too short to see grows from its start, which is on the right
            if approx:
                paint = 'fill="#2c5282" fill-opacity="0.22" stroke="#2c5282" stroke-width="1.2" stroke-dasharray="4 3"'
            else:
                paint = 'fill="#2c5282" fill-opacity="0.85" stroke="#2c5282" stroke-width="1"'
            parts.append(
                f'<rect class="event-bar{" approximate" if approx else ""}" x="{num(x0)}" y="{num(cy - 6)}" '
                f'width="{num(bar_w)}" height="12" rx="2" ry="2" {paint}/>'
            )
            end_x = x0 if sheet.rtl else x0 + bar_w
        parts.append(
            f'<text class="event-date" x="{num(end_x + 6 * sheet.forward)}" y="{num(cy + 4)}" font-size="11" '
            f'fill="#4a5568"{sheet.dir}>{esc(row.when)}</text>'
        )
        parts.append("</g>")
    parts.append("</g>")
    return parts


def _own_direction(sheet: _Sheet, label: str, anchor: str) -> str:
    """The anchor and direction of an event's label: a label keeps its own direction (an English title in an
    Arabic timeline reads left to right, its ellipsis at its end); its anchor is chosen so that it still sits on
    the same side of ``x`` as the timeline's own texts (``anchor`` is the one a label of the timeline's direction
    takes)."""
    own_rtl = is_rtl(label)
    if own_rtl == sheet.rtl:
        return f' text-anchor="{anchor}"{sheet.dir}'
    flipped = "start" if anchor == "end" else "end"
    return f' text-anchor="{flipped}" direction="{"rtl" if own_rtl else "ltr"}"'


def _undated_events(sheet: _Sheet, undated: list[_Undated], words: ChartWords = ENGLISH) -> list[str]:
    """The events without any date, listed under the axis."""
    parts = ['<g class="undated-events">']
    parts.append(
        f'<text class="undated-heading" x="{num(sheet.x(MARGIN))}" y="{num(sheet.undated_top + 10)}" font-size="12" '
        f'font-weight="bold" fill="#4a5568"{sheet.dir}>{esc(words.date_unknown_heading)}</text>'
    )
    for i, row in enumerate(undated):
        ly = sheet.undated_top + 30 + i * 20
        shown = truncate(row.label, sheet.width - 2 * MARGIN - 24, 12)
        parts.append(f'<g class="event undated" data-event-id="{esc(clean_label(row.id))}">')
        parts.append(f"<title>{esc(row.label)}: {esc(words.date_unknown)}</title>")
        parts.append(
            f'<circle cx="{num(sheet.x(MARGIN + 6))}" cy="{num(ly - 4)}" r="3" fill="none" stroke="#718096" '
            f'stroke-width="1.2"/>'
        )
        parts.append(
            f'<text class="event-label undated" x="{num(sheet.x(MARGIN + 16))}" y="{num(ly)}" font-size="12" '
            f'fill="#1a202c"{_own_direction(sheet, shown, "start")}>{esc(shown)}</text>'
        )
        parts.append("</g>")
    parts.append("</g>")
    return parts
