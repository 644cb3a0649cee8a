"""The demo's program (deploy/demo.py): the OSHA slide's 71 national and 278 regional and
area-office alliances (a State Plan's divisions at MIOSHA's scale), the same every time; its
own CSV file imports cleanly into an empty system, which then holds its alliances and their
report schedules; importing it twice changes nothing. Its roundtables meet and publish
products through review's roundtable functions."""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select

from deploy import demo
from services.reporting.alliances.models import Alliance as ScheduledAlliance
from services.reporting.reports.models import Report
from services.reporting.worker import database as reporting_database
from services.review.alliances.models import Alliance
from services.review.base import OutboxEvent
from services.review.imports import domain as importing
from services.review.roundtables import domain as tables
from services.review.roundtables.models import RoundtableMeeting, RoundtableProduct
from services.review.worker import database as review_database
from services.review.worker import outbox
from shared.config import load_agency_profile
from shared.events import parse_event
from tests.reporting.factories import run_reporting_task
from tests.review.factories import signed_alliance
from tests.shared.factories import COORDINATOR

pytestmark = pytest.mark.integration

TODAY = date(2026, 12, 7)


@pytest.fixture
def federal(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AGENCY_PROFILE", "federal")
    return load_agency_profile()


def test_the_federal_demo_is_the_slide_s_program_and_the_same_every_time(federal: Any) -> None:
    program = demo.build_alliances(federal, today=TODAY)
    assert program.alliances == 71 + 278
    assert program.by_office["national_office"] == 71
    offices = federal.offices
    regions = Counter(
        next(o.slug for o in offices.upward(office) if o.parent == "national_office")
        for office, count in program.by_office.items()
        if office != "national_office"
        for _ in range(count)
    )
    assert sorted(regions) == [f"region_{n}" for n in (1, 10, 2, 3, 4, 5, 6, 7, 8, 9)]
    assert set(regions.values()) <= {27, 28}
    assert demo.build_alliances(federal, today=TODAY).csv == program.csv
    assert demo.build_alliances(federal, today=TODAY, seed=7).csv != program.csv


def test_a_state_plan_demo_has_its_divisions() -> None:
    program = demo.build_alliances(load_agency_profile(), today=TODAY)
    assert program.by_office == {
        "consultation_education_training": 18,
        "general_industry_safety_health": 18,
        "construction_safety_health": 18,
    }


def load(profile: Any) -> tuple[demo.DemoProgram, Any]:
    """The demo's staff, and a function that imports its file as the top Coordinator."""
    program = demo.build_alliances(profile, today=TODAY)
    with review_database.transaction() as session:
        ids = demo.ensure_staff(session, program.people, password="a long demo password 1")
    first = program.people[0]
    coordinator = demo.acting_as(first, ids[first.email])

    def run() -> importing.ImportResult:
        with review_database.transaction() as session:
            return importing.import_alliances(
                session, acting=coordinator, raw=program.csv, today=TODAY, outbox=outbox
            )

    return program, run


def signed_events() -> list[dict[str, Any]]:
    with review_database.transaction() as session:
        return [
            r.message for r in session.scalars(select(OutboxEvent)) if r.type == "alliance.signed"
        ]


@pytest.mark.usefixtures("clean_databases", "redis_client")
def test_the_federal_demo_file_imports_into_an_empty_system_once(federal: Any) -> None:
    program, run = load(federal)
    first = run()
    assert first.plan.ok, importing.problems_in_words(first.plan.problems)[:5]
    assert len(first.alliance_ids) == 349
    with review_database.transaction() as session:
        by_office = Counter(
            a.office or "national_office" for a in session.scalars(select(Alliance))
        )
    assert dict(by_office) == program.by_office
    signed = len(signed_events())
    second = run()
    assert (second.plan.new, len(second.plan.unchanged)) == ([], 349)
    with review_database.transaction() as session:
        assert int(session.scalar(select(func.count()).select_from(Alliance)) or 0) == 349
    assert len(signed_events()) == signed


@pytest.mark.usefixtures("clean_databases", "redis_client")
def test_the_state_plan_demo_file_reproduces_its_alliances_and_report_schedules() -> None:
    program, run = load(load_agency_profile())
    assert program.alliances == 54
    assert run().plan.ok
    signed = signed_events()
    for message in signed:
        run_reporting_task("reporting.alliance_signed", parse_event(message))
    with reporting_database.transaction() as session:
        scheduled = int(session.scalar(select(func.count()).select_from(ScheduledAlliance)) or 0)
        per_alliance = Counter(r.alliance_id for r in session.scalars(select(Report)))
    assert scheduled == len(signed) >= 45
    # A quarterly and an annual calendar for every signed alliance, from its signing date.
    assert min(per_alliance.values()) >= 4


@pytest.mark.usefixtures("clean_databases", "redis_client")
def test_the_demo_s_roundtables_meet_and_publish_through_review_s_functions() -> None:
    for name in ("Lansing Roofers", "Detroit Glaziers"):
        signed_alliance(name, signing_date=date(2023, 3, 1))
    work = demo.roundtables(today=TODAY, coordinator=COORDINATOR)
    assert (work.memberships, work.meetings, work.products) == (10, 10, 12)
    with review_database.transaction() as session:
        held = [m.held_on for m in session.scalars(select(RoundtableMeeting))]
        products = list(session.scalars(select(RoundtableProduct)))
        public = [p.title for p, _ in tables.public_products(session)]
    assert all(day <= TODAY for day in held)
    assert len(public) == 8  # a product of each roundtable but the first is not listed
    assert {p.kind for p in products} == set(tables.PRODUCT_KINDS)
    # Loaded twice, nothing more.
    assert demo.roundtables(today=TODAY, coordinator=COORDINATOR).products == 0
