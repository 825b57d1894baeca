"""The Tarhouna demonstration case (TRH): real public events, told with honest precision.

Sources are public reporting (UN Fact-Finding Mission on Libya, UNSMIL, US Treasury, HRW). The data here is
a demonstration of the tool; it is not evidence.
"""

from __future__ import annotations

from datetime import date

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from casefile.auth.models import Role, User
from casefile.auth.passwords import generate_password
from casefile.auth.services import create_user
from casefile.cases.models import Case, DatePrecision, LocationPrecision
from casefile.cases.services import create_case, create_incident

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
    for spec in INCIDENTS:
        data = {k: v for k, v in spec.items() if k != "key"}
        create_incident(session, case, data)
    session.flush()
    return True


def _add_admins_as_members(session: Session, case: Case) -> None:
    from casefile.auth.models import CaseRole, Membership

    for user in session.scalars(select(User).where(User.role == Role.ADMIN, User.active.is_(True))):
        session.add(Membership(case_id=case.id, user_id=user.id, role=CaseRole.INVESTIGATOR, can_view_identities=True))
    session.flush()
