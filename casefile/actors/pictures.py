"""The case's pictures: the command chart and the incident timeline, as SVG (pages, downloads, PDFs).

Their words are translated here, in the page's language (or, for a dossier, in the dossier's: ``translate`` and
``language``), and a right-to-left language lays them out right to left (casefile/charts/words.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection

from flask_babel import gettext
from sqlalchemy.orm import Session

from casefile.actors import services
from casefile.actors.models import SUPERIOR_IS_SOURCE, SUPERIOR_IS_TARGET, Actor
from casefile.cases.models import Case
from casefile.cases.services import incidents_of
from casefile.charts import ChartEdge, ChartNode, TimelineEvent, render_command_chart, render_timeline
from casefile.charts.words import ENGLISH, ChartWords
from casefile.labels import ACTOR_KIND_LABELS, N_, RTL_LANGUAGES, current_language, word_for
from casefile.legal import services as legal
from casefile.links.models import EvidenceLink

Translate = Callable[[str], str]

# The charts' own words (the defaults of casefile.charts.words are their English).
CHART_TITLE = N_("Command chart of %(ref)s")
TIMELINE_TITLE = N_("Incidents of %(ref)s")
LEGEND = (
    N_("command, superior, membership"),
    N_("other link (allied, supplies…)"),
    N_("no supporting evidence"),
    N_("contradicting evidence"),
    N_("n✓ / m✗ supporting / contradicting items"),
)
ISOLATED = N_("No recorded relationships")
NO_ACTORS = N_("No data: there are no actors to chart.")
RELATED_TO = N_("related to")
CHART_SUMMARY = N_(
    "Command chart. Actors: %(actors)d; relationships: %(relations)d; without supporting evidence: "
    "%(unsupported)d; with contradicting evidence: %(contested)d. Superiors are drawn above their subordinates."
)
EDGE_LINE = N_("%(source)s → %(target)s: %(relation)s (supporting: %(supporting)d, contradicting: %(contradicting)d)")
NO_EVENTS = N_("No data: there are no events to show.")
TIMELINE_SUMMARY = N_(
    "Timeline of the incidents. Events: %(events)d; without a known date: %(undated)d. Dates are drawn only as "
    "precisely as they are known."
)
TIMELINE_SPAN = N_("From %(first)s to %(last)s.")
APPROX = N_("approx. %(date)s")
APPROX_LABEL = N_("%(label)s (approx.)")
UNTIL = N_("until %(date)s")
DATE_UNKNOWN_HEADING = N_("Date unknown")
DATE_UNKNOWN = N_("date unknown")


def chart_words(translate: Translate | None = None, language: str | None = None) -> ChartWords:
    """The charts' words in ``language`` (the page's by default) through ``translate`` (the page's gettext by
    default); English keeps the charts' own English."""
    language = (language or current_language()).split("_")[0]
    if language == "en":
        return ENGLISH
    t = translate or gettext

    def summary(actors: int, relations: int, unsupported: int, contested: int) -> str:
        values = {"actors": actors, "relations": relations, "unsupported": unsupported, "contested": contested}
        return t(CHART_SUMMARY) % values

    def edge_line(source: str, target: str, relation: str, supporting: int, contradicting: int) -> str:
        values = {"supporting": supporting, "contradicting": contradicting}
        return t(EDGE_LINE) % {"source": source, "target": target, "relation": relation, **values}

    def timeline_summary(events: int, first: int | None, last: int | None, undated: int) -> str:
        text = t(TIMELINE_SUMMARY) % {"events": events, "undated": undated}
        return text if first is None else f"{text} {t(TIMELINE_SPAN) % {'first': first, 'last': last}}"

    return ChartWords(
        rtl=language in RTL_LANGUAGES,
        kinds={code: t(word) for code, word in ACTOR_KIND_LABELS.items()},
        legend=(t(LEGEND[0]), t(LEGEND[1]), t(LEGEND[2]), t(LEGEND[3]), t(LEGEND[4])),
        isolated=t(ISOLATED),
        no_actors=t(NO_ACTORS),
        related_to=t(RELATED_TO),
        chart_summary=summary,
        edge_line=edge_line,
        no_events=t(NO_EVENTS),
        timeline_summary=timeline_summary,
        approx=t(APPROX).replace("%(date)s", "{date}"),
        approx_label=t(APPROX_LABEL).replace("%(label)s", "{label}"),
        until=t(UNTIL).replace("%(date)s", "{date}"),
        date_unknown_heading=t(DATE_UNKNOWN_HEADING),
        date_unknown=t(DATE_UNKNOWN),
    )


def command_chart_svg(
    s: Session,
    case: Case,
    evidence_ids: Collection[uuid.UUID] | None = None,
    link: Callable[[Actor], str] | None = None,
    *,
    translate: Translate | None = None,
    language: str | None = None,
) -> str:
    """The chart of the case's actors. With `evidence_ids` (a dossier), evidence counts only that evidence,
    so a chart sent out never reflects items withheld from it. With `link` (the pages), each actor's box leads to
    what it gives for the actor (its page); a chart sent out links nowhere. Its words are in the page's language,
    or in `language` through `translate` (a dossier's)."""
    t = translate or gettext
    actors = services.active_actors(s, case)
    relations = services.relations_of(s, case)
    counts = legal.link_counts(s, EvidenceLink.relation_id, [r.id for r in relations], evidence_ids)
    nodes = [ChartNode(str(a.id), a.name, a.kind.value, link(a) if link else "") for a in actors]
    edges = []
    for r in relations:
        supporting, contradicting = counts.get(r.id, (0, 0))
        dates = ""
        if r.valid_from or r.valid_to:
            dates = f" · {r.valid_from.year if r.valid_from else '…'}–{r.valid_to.year if r.valid_to else '…'}"
        edges.append(
            ChartEdge(
                str(r.source_actor_id),
                str(r.target_actor_id),
                r.relation.value,
                f"{word_for(r.relation.value, 'relation', t)}{dates}",
                supporting,
                contradicting,
                r.relation in SUPERIOR_IS_SOURCE or r.relation in SUPERIOR_IS_TARGET,
            )
        )
    return render_command_chart(
        nodes, edges, title=t(CHART_TITLE) % {"ref": case.reference}, words=chart_words(translate, language)
    )


def timeline_svg(s: Session, case: Case, *, translate: Translate | None = None, language: str | None = None) -> str:
    t = translate or gettext
    events = [
        TimelineEvent(str(i.id), i.title, i.start_date, i.end_date, i.date_precision.value)
        for i in incidents_of(s, case)
    ]
    return render_timeline(
        events, title=t(TIMELINE_TITLE) % {"ref": case.reference}, words=chart_words(translate, language)
    )
