"""The public directory and roundtable membership over time, on real PostgreSQL: each test
in a transaction rolled back after it (``session``), but the one over HTTP."""

from datetime import timedelta

import pytest

from services.review import create_app
from services.review.alliances import domain as agreements
from services.review.directory import domain as directory
from services.review.directory.schemas import DirectoryOut
from services.review.queue import domain as queue
from services.review.roundtables import domain as roundtables
from services.review.worker import database, outbox
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


@pytest.mark.usefixtures("clean_databases")
def test_anyone_reads_the_directory_as_json_and_as_a_page():
    with database.transaction() as session:
        program = build_program(session)
    client = create_app({"TESTING": True}).test_client()

    as_json = client.get("/api/v1/directory")
    assert (as_json.status_code, as_json.headers["Cache-Control"]) == (200, "public, max-age=300")
    with database.transaction() as session:
        assert as_json.get_json() == DirectoryOut().dump(
            directory.public_directory(session, today=agency_today())
        )
    spec = client.get("/api/v1/openapi.json").get_json()["paths"]["/api/v1/directory"]["get"]
    assert spec["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/DirectoryOut"
    }
    assert [a["partner_name"] for a in as_json.get_json()["alliances"]] == [
        "Ironworkers Guild",
        "Roofers Association",
    ]

    page = client.get("/directory")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<title>Alliance directory | MIOSHA Alliance Program</title>" in html
    assert 'class="usa-banner"' in html  # the shared USWDS layout
    for text in (
        "Roofers Association",
        "Ironworkers Guild",
        "Ambassador since",
        "Fall Protection Workgroup",
        "Construction Safety &amp; Health",
        'href="https://roofers.example"',
    ):
        assert text in html, text
    today = program["today"].strftime("%B %-d, %Y")
    assert f'Ambassador since</dt>\n        <dd class="margin-left-0">{today}</dd>' in html
    for text in ("Masons Council", "Painters Union", "Silica Roundtable", *PRIVATE):
        assert text not in html, text
