"""The public directory and roundtable membership over time, on real PostgreSQL: each test
in a transaction rolled back after it (``session``), but the one over HTTP."""

import json
from datetime import timedelta

import pytest

from services.review.alliances import domain as agreements
from services.review.directory import domain as directory
from services.review.directory.schemas import DirectoryOut
from services.review.queue import domain as queue
from services.review.roundtables import domain as roundtables
from services.review.worker import outbox
from shared.dates import term_end
from tests.review.factories import agency_today, signed_alliance
from tests.shared.factories import COORDINATOR, REVIEWER

pytestmark = pytest.mark.integration

PRIVATE = [
    "dana@example.org",
    "Dana Smith",
    "517-555-0100",
    "517-555-0101",
    "Safety Director",
    "lee@agency.example",
    "Lee Liaison",
    "100 Main St",
    "48933",
    "AP-2026-",
    "members reached",
    "Internal: their last report was thin",
    "Partner dissolved",
]


def roundtable(session, name, starts_on, ends_on=None, parent_id=None, description=""):
    return roundtables.create_roundtable(
        session,
        name=name,
        starts_on=starts_on,
        ends_on=ends_on,
        parent_id=parent_id,
        description=description,
        acting=COORDINATOR,
    ).id


def join(session, roundtable_id, alliance_id, joined_on, today=None):
    return roundtables.join(
        session,
        roundtable_id=roundtable_id,
        alliance_id=alliance_id,
        joined_on=joined_on,
        acting=COORDINATOR,
        today=today if today is not None else agency_today(),
    ).membership.id


def build_program(session):
    """Roofers (active), Ironworkers (Ambassador), Masons (concluded), Painters (terminated
    with notice), in the Construction and Hazard Communication roundtables."""
    today = agency_today()
    long_ago = today - timedelta(days=5 * 365)

    def sign(name, signing_date, website="https://example.org"):
        return signed_alliance(name, signing_date=signing_date, website=website, session=session).id

    roofers = sign(
        "Roofers Association",
        signing_date=today - timedelta(days=200),
        website="https://roofers.example",
    )
    ironworkers = sign("Ironworkers Guild", signing_date=long_ago, website="")
    masons = sign("Masons Council", signing_date=today - timedelta(days=300))
    painters = sign("Painters Union", signing_date=today - timedelta(days=300))
    agreements.renew(
        session,
        alliance_id=ironworkers,
        signing_date=term_end(long_ago, 2),
        term_years=5,
        acting=COORDINATOR,
        outbox=outbox,
        today=agency_today(),
    )
    agreements.designate_ambassador(
        session, alliance_id=ironworkers, acting=COORDINATOR, outbox=outbox, today=agency_today()
    )
    queue.add_comment(
        session,
        acting=REVIEWER,
        proposal_id=alliance_for(session, masons).proposal_id,
        body="Internal: their last report was thin",
    )

    start = today - timedelta(days=365)
    construction = roundtable(
        session,
        "Construction Roundtable",
        start,
        description="Construction hazards and best practices",
    )
    falls = roundtable(session, "Fall Protection Workgroup", start, parent_id=construction)
    design = roundtable(session, "Design for Safety Workgroup", start, parent_id=construction)
    hazcom = roundtable(session, "Hazard Communication Roundtable", start)
    ended = roundtable(session, "Silica Roundtable", start, ends_on=today - timedelta(days=10))
    joined = today - timedelta(days=100)
    for roundtable_id, alliance_id in [
        (construction, roofers),
        (falls, roofers),
        (hazcom, ironworkers),
        (construction, masons),
        (hazcom, painters),
    ]:
        join(session, roundtable_id, alliance_id, joined)
    join(session, ended, roofers, joined)
    agreements.conclude(
        session, alliance_id=masons, acting=COORDINATOR, outbox=outbox, today=agency_today()
    )
    agreements.terminate(
        session,
        alliance_id=painters,
        notice_date=today,
        reason="Partner dissolved",
        acting=COORDINATOR,
        outbox=outbox,
        today=agency_today(),
    )
    session.flush()
    return {
        "today": today,
        "roofers": roofers,
        "ironworkers": ironworkers,
        "construction": construction,
        "falls": falls,
        "design": design,
        "hazcom": hazcom,
    }


@pytest.fixture
def program(session):
    return build_program(session)


def alliance_for(session, alliance_id):
    return agreements.get_alliance(session, alliance_id)


def test_the_directory_lists_active_alliances_and_ambassadors_with_public_facts_only(
    session, program
):
    today = program["today"]
    listing = DirectoryOut().dump(directory.public_directory(session, today=agency_today()))

    assert listing["as_of"] == today.isoformat()
    assert [a["partner_name"] for a in listing["alliances"]] == [
        "Ironworkers Guild",
        "Roofers Association",
    ]
    ironworkers, roofers = listing["alliances"]
    assert roofers == {
        "id": str(program["roofers"]),
        "partner_name": "Roofers Association",
        "website": "https://roofers.example",
        "status": "active",
        "ambassador": False,
        "ambassador_since": None,
        "division": "construction_safety_health",
        "division_label": "Construction Safety & Health",
        "signing_date": (today - timedelta(days=200)).isoformat(),
        "renewed_on": None,
        "goals": [
            {
                "category": "outreach_communication",
                "category_label": "Outreach and communication",
                "description": "Publish fall-protection toolbox talks to members",
                "term": "short",
                "term_label": "Short-term",
            },
            {
                "category": "training_education",
                "category_label": "Training and education",
                "description": "Train 500 roofers in fall protection",
                "term": "long",
                "term_label": "Long-term",
            },
        ],
        "roundtables": [
            {"id": str(program["construction"]), "name": "Construction Roundtable"},
            {
                "id": str(program["falls"]),
                "name": "Construction Roundtable: Fall Protection Workgroup",
            },
        ],
    }
    long_ago = today - timedelta(days=5 * 365)
    assert (
        ironworkers["status"],
        ironworkers["ambassador_since"],
        ironworkers["website"],
        ironworkers["signing_date"],
        ironworkers["renewed_on"],
    ) == (
        "ambassador",
        today.isoformat(),
        "",
        long_ago.isoformat(),
        term_end(long_ago, 2).isoformat(),
    )
    assert [r["name"] for r in ironworkers["roundtables"]] == ["Hazard Communication Roundtable"]

    assert [
        (
            r["name"],
            [m["partner_name"] for m in r["members"]],
            [(w["name"], [m["partner_name"] for m in w["members"]]) for w in r["workgroups"]],
        )
        for r in listing["roundtables"]
    ] == [
        (
            "Construction Roundtable",
            ["Roofers Association"],
            [
                ("Design for Safety Workgroup", []),
                ("Fall Protection Workgroup", ["Roofers Association"]),
            ],
        ),
        ("Hazard Communication Roundtable", ["Ironworkers Guild"], []),
    ]
    published = json.dumps(listing)
    assert [text for text in PRIVATE if text in published] == []


def test_the_federal_profile_names_the_office(session, program, monkeypatch):
    monkeypatch.setenv("AGENCY_PROFILE", "federal")
    listing = DirectoryOut().dump(directory.public_directory(session, today=agency_today()))
    assert listing["division_heading"] == "Office"
