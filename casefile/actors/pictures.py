"""The case's pictures: the command chart and the incident timeline, as SVG (pages, downloads, PDFs)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from casefile.actors import services
from casefile.actors.forms import RELATION_LABELS
from casefile.actors.models import SUPERIOR_IS_SOURCE, SUPERIOR_IS_TARGET, Actor
from casefile.cases.models import Case
from casefile.cases.services import incidents_of
from casefile.charts import ChartEdge, ChartNode, TimelineEvent, render_command_chart, render_timeline
from casefile.legal import services as legal
from casefile.links.models import EvidenceLink


def command_chart_svg(
    s: Session,
    case: Case,
    evidence_ids: Collection[uuid.UUID] | None = None,
    link: Callable[[Actor], str] | None = None,
) -> str:
    """The chart of the case's actors. With `evidence_ids` (a dossier), evidence counts only that evidence,
    so a chart sent out never reflects items withheld from it. With `link` (the pages), each actor's box leads to
    what it gives for the actor (its page); a chart sent out links nowhere."""
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
                f"{RELATION_LABELS[r.relation]}{dates}",
                supporting,
                contradicting,
                r.relation in SUPERIOR_IS_SOURCE or r.relation in SUPERIOR_IS_TARGET,
            )
        )
    return render_command_chart(nodes, edges, title=_("Command chart of %(ref)s", ref=case.reference))


def timeline_svg(s: Session, case: Case) -> str:
    events = [
        TimelineEvent(str(i.id), i.title, i.start_date, i.end_date, i.date_precision.value)
        for i in incidents_of(s, case)
    ]
    return render_timeline(events, title=_("Incidents of %(ref)s", ref=case.reference))
