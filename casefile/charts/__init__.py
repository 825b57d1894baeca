"""Server-side SVG charts: the command chart of a case's actors and a timeline of events.

Both renderers return a complete, well-formed SVG document as a string. The same markup is shown inline in HTML
pages, served as a standalone ``image/svg+xml`` file and embedded in PDFs, so it is deliberately plain:

* no ``<script>``, no event attributes, no ``style`` attributes or ``<style>`` elements (the pages' CSP is
  ``style-src 'self'``), no external references: only presentation attributes (``fill``, ``stroke``,
  ``stroke-dasharray``, ``font-size``, ``text-anchor``…), class names and local ``url(#…)`` marker references;
* every piece of user text goes through :func:`clean_label` (control characters and bidi embedding/override/isolate
  characters removed, whitespace collapsed) and is XML-escaped, quotes included, so a label can never become markup
  or reorder the text around it. Arabic and other scripts are kept as they are;
* ``<title>`` and ``<desc>`` describe the chart for screen readers (the desc lists every relationship or event);
* the output is a pure function of the input: items are ordered by id, not by the order they were passed in.

The work is split by stage: :mod:`~casefile.charts.graph` (the input, normalised), :mod:`~casefile.charts.layout`
(node placement), :mod:`~casefile.charts.routing` (edge paths and label placement), :mod:`~casefile.charts.svg`
(the markup), with :mod:`~casefile.charts.command_chart` running them in turn; :mod:`~casefile.charts.timeline`
draws the incident timeline and :mod:`~casefile.charts.text` cleans and measures labels for both.

Standard library only, so PDF generation and offline tools can use it without Flask.
"""

from __future__ import annotations

from casefile.charts.command_chart import render_command_chart
from casefile.charts.graph import ChartEdge, ChartNode
from casefile.charts.text import clean_label
from casefile.charts.timeline import TimelineEvent, render_timeline

__all__ = [
    "ChartEdge",
    "ChartNode",
    "TimelineEvent",
    "clean_label",
    "render_command_chart",
    "render_timeline",
]
