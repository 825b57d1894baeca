"""The Tarhouna demonstration case (TRH): real public events, told with honest precision.

Sources are public reporting (UN Fact-Finding Mission on Libya, UNSMIL, US Treasury, HRW). The data here is
a demonstration of the tool; it is not evidence.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from casefile.actors.models import Actor
from casefile.actors.services import create_actor, create_involvement, create_relation
from casefile.auth.models import CaseRole, Membership, Role, User
from casefile.auth.passwords import generate_password
from casefile.auth.services import create_user
from casefile.cases.models import Case, DatePrecision, LocationPrecision
from casefile.cases.services import create_case, create_incident
from casefile.components import blob_store, field_cipher
from casefile.evidence.models import EvidenceItem
from casefile.evidence.services import ingest
from casefile.legal.services import create_charge
from casefile.links.services import link_evidence
from casefile.witnesses.services import create_witness, ingest_evidence, record_consent

DEMO_REFERENCE = "TRH"
DEMO_OWNER = "demo-investigator@casefile.invalid"

INCIDENTS = [
    {
        "key": "graves",
        "title": "Discovery of mass graves in Tarhouna",
        "description": (
            "After the Kaniyat militia withdrew from Tarhouna on 5 June 2020, residents and the General "
            "Authority for Search and Identification of Missing Persons began uncovering mass graves in "
            "and around the town, including agricultural land south of the town centre. At least eleven "
            "mass graves were reported in June 2020; exhumations continued for months."
        ),
        "start_date": date(2020, 6, 1),
        "end_date": date(2020, 6, 30),
        "date_precision": DatePrecision.MONTH,
        "place_name": "Tarhouna (ترهونة), Libya",
        "latitude": 32.4350,
        "longitude": 13.6340,
        "location_precision": LocationPrecision.LOCALITY,
        "violation_types": ["killing", "mass_grave"],
        "victim_count": None,
        "victim_count_source": "",
    },
    {
        "key": "prison",
        "title": "Summary executions at Tarhouna prison",
        "description": (
            "Detainees held by the Kaniyat at Tarhouna prison (the 'Al-Dawa' complex) were reportedly killed "
            "without any trial; bodies later recovered from graves bore signs of execution. Dates of individual "
            "killings are known only approximately."
        ),
        "start_date": date(2019, 1, 1),
        "end_date": date(2020, 6, 5),
        "date_precision": DatePrecision.APPROXIMATE,
        "place_name": "Tarhouna prison, Tarhouna, Libya",
        "latitude": None,
        "longitude": None,
        "location_precision": LocationPrecision.VICINITY,
        "violation_types": ["summary_execution", "arbitrary_detention", "torture"],
        "victim_count": None,
        "victim_count_source": "",
    },
    {
        "key": "disappearances",
        "title": "Enforced disappearances of Tarhouna residents",
        "description": (
            "Families report relatives taken from their homes or at checkpoints by Kaniyat members and never "
            "seen again; hundreds of missing-person reports were lodged with the search authority."
        ),
        "start_date": date(2015, 1, 1),
        "end_date": date(2020, 6, 5),
        "date_precision": DatePrecision.YEAR,
        "place_name": "Tarhouna district, Libya",
        "latitude": None,
        "longitude": None,
        "location_precision": LocationPrecision.LOCALITY,
        "violation_types": ["enforced_disappearance", "arbitrary_detention"],
        "victim_count": None,
        "victim_count_source": "",
    },
    {
        "key": "displacement",
        "title": "Forced displacement of families from Tarhouna",
        "description": (
            "Whole families fled or were driven out of Tarhouna under threat during the Kaniyat's control and in "
            "the fighting of June 2020; homes were looted and burned."
        ),
        "start_date": date(2020, 6, 1),
        "end_date": None,
        "date_precision": DatePrecision.MONTH,
        "place_name": "Tarhouna, Libya",
        "latitude": None,
        "longitude": None,
        "location_precision": LocationPrecision.LOCALITY,
        "violation_types": ["forced_displacement", "pillage", "destruction_of_property"],
        "victim_count": None,
        "victim_count_source": "",
    },
]


def load_demo(session: Session, app: Flask) -> bool:
    """Create the demo case once. Returns False when it already exists."""
    if session.scalar(select(Case.id).where(Case.reference == DEMO_REFERENCE)):
        return False
    owner = session.scalar(select(User).where(User.email == DEMO_OWNER))
    if owner is None:
        # The demo's author is a deactivated placeholder account: nobody can log in as it.
        owner = create_user(session, DEMO_OWNER, Role.INVESTIGATOR, generate_password(), "Demo investigator")
        owner.active = False
    case = create_case(
        session,
        owner,
        {
            "reference": DEMO_REFERENCE,
            "title": "Tarhouna mass graves",
            "situation": "ICC-01/11 Situation in Libya",
            "summary": (
                "Killings, enforced disappearances and displacement in Tarhouna, Libya, under the Kaniyat (al-Kaniyat, "
                "also spelled Kaniyet) militia led by Mohamed al-Kani (محمد الكاني), until the town changed hands in "
                "June 2020. The Kaniyat were aligned with Khalifa Haftar's Libyan Arab Armed Forces from 2019."
            ),
        },
    )
    _add_admins_as_members(session, case)
    incidents: dict[str, Any] = {}
    for spec in INCIDENTS:
        data = {k: v for k, v in spec.items() if k != "key"}
        incidents[str(spec["key"])] = create_incident(session, case, data)
    session.flush()
    _add_evidence(session, app, case, owner, incidents)
    _add_witnesses(session, app, case, owner, incidents)
    _add_actors_and_charge(session, case, owner, incidents)
    return True


def _add_actors_and_charge(session: Session, case: Case, owner: User, incidents: dict[str, Any]) -> None:
    """al-Kani and the Kaniyat, Haftar and his forces; the Kaniyat–Haftar link alleged but thinly supported;
    a charge against Haftar (murder as a crime against humanity, art. 28(a)) whose matrix shows the gap on
    effective command and control; and the Global Magnitsky criterion of serious human rights abuse against
    al-Kani, for a sanctions submission about him."""

    def actor(kind: str, name: str, aliases: list[str], description: str, **extra: Any) -> Actor:
        return create_actor(
            session, case, owner, {"kind": kind, "name": name, "aliases": aliases, "description": description, **extra}
        )

    kani = actor(
        "person",
        "Mohamed al-Kani",
        ["محمد الكاني", "Mohammed Al Kani", "al-Kana"],
        "Leader of the Kaniyat militia in Tarhouna; designated by the US Treasury under the Global "
        "Magnitsky programme in November 2020.",
        nationality="Libyan",
        place_of_birth="Tarhouna, Libya (as reported)",
        # Not his: a value marked as the demonstration's own, so the identification section has one to show.
        identifiers=[{"type": "national ID (demonstration value)", "value": "LY-DEMO-0000001"}],
    )
    kaniyat = actor(
        "armed_group",
        "Kaniyat",
        ["الكانيات", "Kaniyet", "al-Kaniyat", "9th Brigade"],
        "Armed group that controlled Tarhouna until June 2020.",
    )
    haftar = actor(
        "person",
        "Khalifa Haftar",
        ["خليفة حفتر", "Khalifa Hifter"],
        "Commander of the Libyan Arab Armed Forces (LAAF).",
        nationality="Libyan",
    )
    laaf = actor(
        "armed_group",
        "Libyan Arab Armed Forces",
        ["LAAF", "القوات المسلحة العربية الليبية", "LNA"],
        "Forces under Khalifa Haftar's command.",
    )
    relations = {
        "kani_commands": create_relation(
            session,
            case,
            {
                "source_actor_id": kani.id,
                "target_actor_id": kaniyat.id,
                "relation": "commands",
                "valid_from": date(2015, 1, 1),
                "valid_to": date(2020, 6, 5),
                "confidence": "high",
            },
        ),
        "haftar_commands": create_relation(
            session,
            case,
            {
                "source_actor_id": haftar.id,
                "target_actor_id": laaf.id,
                "relation": "commands",
                "valid_from": date(2014, 5, 16),
                "confidence": "high",
            },
        ),
        "kaniyat_laaf": create_relation(
            session,
            case,
            {
                "source_actor_id": kaniyat.id,
                "target_actor_id": laaf.id,
                "relation": "subordinate_unit_of",
                "valid_from": date(2019, 4, 1),
                "valid_to": date(2020, 6, 5),
                "confidence": "low",
                "note": "Alleged: the Kaniyat joined the LAAF offensive on Tripoli in April 2019.",
            },
        ),
    }
    prison = create_involvement(
        session,
        case,
        {
            "incident_id": incidents["prison"].id,
            "actor_id": kaniyat.id,
            "degree": "direct_perpetrator",
            "mode_of_liability": "rome-25-3-a",
            "status": "suspected",
        },
    )
    create_involvement(
        session,
        case,
        {
            "incident_id": incidents["prison"].id,
            "actor_id": kani.id,
            "degree": "gave_orders",
            "mode_of_liability": "rome-25-3-b",
            "status": "alleged",
        },
    )
    create_involvement(
        session,
        case,
        {
            "incident_id": incidents["disappearances"].id,
            "actor_id": kaniyat.id,
            "degree": "direct_perpetrator",
            "status": "alleged",
        },
    )
    charge = create_charge(
        session,
        case,
        {
            "suspect_id": haftar.id,
            "offence_code": "rome-7-1-a",
            "mode_code": "rome-28-a",
            "incident_ids": [incidents["prison"].id, incidents["graves"].id],
            "note": "Command responsibility turns on the Kaniyat's subordination to the LAAF.",
        },
    )
    items = {i.title: i for i in session.scalars(select(EvidenceItem).where(EvidenceItem.case_id == case.id))}
    note = items["Field note on detentions at the prison"]
    photo = items["Excavation site, south of the town centre"]
    statement = items["Statement of W-0001"]
    link_evidence(session, note, owner, "involvement", prison.id, "supports", "Detentions by Kaniyat members.")
    link_evidence(
        session,
        statement,
        owner,
        "actor_relation",
        relations["kani_commands"].id,
        "supports",
        "The witness describes al-Kani giving orders at the prison.",
    )
    link_evidence(
        session,
        photo,
        owner,
        "charge_element",
        charge.id,
        "supports",
        "Bodies recovered from graves.",
        element_code="rome-7-1-a.e1",
    )
    link_evidence(
        session,
        statement,
        owner,
        "charge_element",
        charge.id,
        "supports",
        "Killings of detainees.",
        element_code="rome-7-1-a.e1",
    )
    # The link between the militia and Haftar's command is the gap the demo is about: nothing supports it yet.
    glomag = create_charge(
        session,
        case,
        {
            "suspect_id": kani.id,
            "offence_code": "eo13818-1-a-ii-a",
            "incident_ids": [incidents["prison"].id, incidents["graves"].id, incidents["disappearances"].id],
            "note": "Serious human rights abuse in Tarhouna by the militia he led.",
        },
    )
    for item, element, why in (
        (photo, "eo13818-1-a-ii-a.e2", "Bodies recovered from graves."),
        (note, "eo13818-1-a-ii-a.e2", "Detainees taken to the prison and not seen again."),
        (statement, "eo13818-1-a-ii-a.e3", "The witness describes al-Kani giving orders at the prison."),
    ):
        link_evidence(session, item, owner, "charge_element", glomag.id, "supports", why, element_code=element)


def _add_witnesses(session: Session, app: Flask, case: Case, owner: User, incidents: dict[str, Any]) -> None:
    """Two pseudonymous witnesses: W-0001 consented to sharing with the ICC, W-0002 refused it.
    Their names are invented for the demonstration."""
    cipher = field_cipher(app)
    store = blob_store(app)
    people = [
        (
            {"full_name": "Demo Witness One (أحمد المثال)", "contact": "+218 00 000 0001", "risk_level": "high"},
            [("internal_analysis", True), ("share_icc", True), ("share_un", True), ("share_sanctions", True)],
            "Interview about the detention of a brother at the prison complex (demonstration text).",
            date(2020, 7, 14),
            "prison",
        ),
        (
            {"full_name": "Demo Witness Two (فاطمة المثال)", "contact": "+218 00 000 0002", "risk_level": "extreme"},
            [("internal_analysis", True), ("share_icc", False), ("share_sanctions", False)],
            "Interview about the discovery of the graves (demonstration text).",
            date(2020, 7, 20),
            "graves",
        ),
    ]
    for identity, consents, text, when, incident in people:
        witness = create_witness(session, cipher, case, owner, identity)
        for purpose, granted in consents:
            record_consent(
                session,
                witness,
                owner,
                {"purpose": purpose, "granted": granted, "recorded_on": when, "how_recorded": "signed consent form"},
            )
        with store.writer() as writer:
            writer.write(f"Statement of {witness.code}\n\n{text}\n".encode())
            ingest_evidence(
                session,
                store,
                case,
                owner,
                writer,
                filename=f"{witness.code}-statement.txt",
                data={
                    "title": f"Statement of {witness.code}",
                    "source": witness.code,
                    "source_reliability": "B",
                    "info_credibility": "2",
                    "classification": "confidential",
                    "interview_date": when,
                    "interview_place": "Tripoli",
                    "interviewer": "NGO investigator",
                    "language": "Arabic",
                    "interpreter": "none",
                },
                witness_id=witness.id,
                incident_ids=[incidents[incident].id],
            )


def _demo_files() -> list[tuple[str, bytes, dict[str, Any], list[str]]]:
    """Stand-in files: two real camera photos shipped with the package (see demo/photos/SOURCE.md)."""
    photos = Path(__file__).resolve().parent / "photos"
    files: list[tuple[str, bytes, dict[str, Any], list[str]]] = []
    for name, title in (
        ("DSCN0010.jpg", "Excavation site, south of the town centre"),
        ("DSCN0021.jpg", "Marked grave, agricultural land"),
    ):
        data = (photos / name).read_bytes()
        files.append(
            (
                name,
                data,
                {
                    "kind": "photo",
                    "title": title,
                    "source": "NGO field team",
                    "source_reliability": "B",
                    "info_credibility": "2",
                    "classification": "confidential",
                    "collected_by": "Field team 2",
                    "collection_place": "Tarhouna",
                    "graphic": False,
                },
                ["graves"],
            )
        )
    report = (
        "Field note (demonstration text)\n\nResidents describe detainees taken to the prison complex and not seen "
        "again. Names withheld.\nشهادة: أُخذ المحتجزون إلى السجن ولم يُشاهدوا مرة أخرى.\n"
    ).encode()
    files.append(
        (
            "field-note.txt",
            report,
            {
                "kind": "report",
                "title": "Field note on detentions at the prison",
                "source": "NGO researcher",
                "source_reliability": "C",
                "info_credibility": "3",
                "classification": "confidential",
            },
            ["prison", "disappearances"],
        )
    )
    return files


def _add_evidence(session: Session, app: Flask, case: Case, owner: User, incidents: dict[str, Any]) -> None:
    store = blob_store(app)
    for name, data, fields, incident_keys in _demo_files():
        with store.writer() as writer:
            writer.write(data)
            ingest(
                session,
                store,
                case,
                owner,
                writer,
                filename=name,
                data=fields,
                incident_ids=[incidents[k].id for k in incident_keys],
            )


def _add_admins_as_members(session: Session, case: Case) -> None:
    for user in session.scalars(select(User).where(User.role == Role.ADMIN, User.active.is_(True))):
        session.add(Membership(case_id=case.id, user_id=user.id, role=CaseRole.INVESTIGATOR, can_view_identities=True))
    session.flush()
