"""Reporting's staff pages: an alliance's reports, the liaison's work list, the
Coordinator's dashboard (figures counted from seeded reports) and the CSV export.

The annual evaluation and the alliance copy's status, on PostgreSQL: status transitions
from the events of an alliance's life, evaluations recorded by the liaison and the
Coordinator (refused for anyone else with nothing stored, a missing justification shown
inline), sharing, and the year's roll-up of the latest submitted versions."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from services.reporting.alliances import domain as alliances
from services.reporting.alliances.models import Alliance
from services.reporting.figures import domain as figures
from services.reporting.figures import views as figures_views
from services.reporting.models import Report
from services.reporting.reports import domain as reports
from services.reporting.reports import views as report_views
from services.reporting.schedules.domain import ScheduleRules
from services.reporting.worker import database
from tests.helpers import pin_clock
from tests.reporting.factories import run_reporting_task
from tests.review.factories import (
    LIAISON,
    OTHER_LIAISON,
    alliance_change_event,
    alliance_signed_event,
)
from tests.shared.factories import COORDINATOR

pytestmark = pytest.mark.integration

DETROIT = ZoneInfo("America/Detroit")
ANNUAL = ScheduleRules(timezone=DETROIT, quarterly=False)
SIGNED = date(2024, 1, 15)
ENDS = date(2027, 1, 14)  # annual reports due 2025-03-15, 2026-03-15, 2027-03-15
TRICKY = '=HYPERLINK("http://evil.example") Builders'


def local(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=DETROIT).astimezone(UTC)


NOW = local(date(2026, 12, 1))  # 2026's reports are due or overdue, 2027's not yet


def seed(name: str, liaison, division: str) -> uuid.UUID:
    event = alliance_signed_event(name, signing_date=SIGNED, ends_on=ENDS)
    event.payload["liaison"] = {"id": liaison.id, "name": liaison.name, "email": liaison.email}
    event.payload["division"] = division
    with database.transaction() as session:
        alliances.record_signed(session, event=event)
        reports.schedule_term(
            session,
            alliance_id=event.payload["alliance_id"],
            term=0,
            signing_date=SIGNED,
            ends_on=ENDS,
            rules=ANNUAL,
        )
    return event.payload["alliance_id"]


def submit(alliance_id: uuid.UUID, due: date, at: datetime) -> None:
    with database.transaction() as session:
        report = session.scalars(
            select(Report).where(Report.alliance_id == alliance_id, Report.due_date == due)
        ).one()
        reports.mark_submitted(session, report_id=report.id, at=at)


@pytest.fixture
def _pinned_clock(monkeypatch) -> None:
    """The pages read the clock: theirs is pinned to NOW, as every call here is."""
    for module in (figures_views, report_views):
        pin_clock(monkeypatch, module, NOW)


@pytest.fixture
def program(clean_databases, redis_client) -> dict[str, uuid.UUID]:
    """Lee's alliance: 2025's report on time, 2026's overdue. Ola's: 2025's late, 2026's on
    time, both waiting for review. 2027's reports are not due yet."""
    lee = seed("Michigan Roofing Contractors Association", LIAISON, "construction_safety_health")
    ola = seed(TRICKY, OTHER_LIAISON, "general_industry_safety_health")
    submit(lee, date(2025, 3, 15), local(date(2025, 3, 1)))
    submit(ola, date(2025, 3, 15), local(date(2025, 3, 16), hour=0))  # a day late
    submit(ola, date(2026, 3, 15), local(date(2026, 3, 15), hour=23))  # the last hour
    return {"lee": lee, "ola": ola}


@pytest.mark.usefixtures("_pinned_clock")
def test_a_concluded_alliance_is_not_active(program):
    with database.transaction() as session:
        reports.cut_schedule(
            session, alliance_id=program["ola"], effective_on=date(2026, 6, 30), rules=ANNUAL
        )
        alliances.record_status(session, alliance_id=program["ola"], status="concluded")
    with database.transaction() as session:
        found = figures.dashboard(
            session,
            acting=COORDINATOR,
            now=NOW,
            rules=ANNUAL,
            divisions=["construction_safety_health", "general_industry_safety_health"],
        )
    assert found.active_by_division == [
        ("construction_safety_health", 1),
        ("general_industry_safety_health", 0),
    ]


ENDS_EVALUATIONS = date(2027, 1, 14)


def status_of(alliance_id: uuid.UUID) -> str:
    with database.transaction() as session:
        alliance = session.get(Alliance, alliance_id)
        assert alliance is not None
        return alliance.status


@pytest.fixture
def signed(clean_databases: Any, redis_client: Any) -> Any:
    event = alliance_signed_event(signing_date=SIGNED, ends_on=ENDS_EVALUATIONS)
    run_reporting_task("reporting.alliance_signed", event)
    return event


@pytest.fixture
def alliance_id(signed: Any) -> uuid.UUID:
    found: uuid.UUID = signed.payload["alliance_id"]
    return found


# -- status ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("task", "fields", "status"),
    [
        ("alliance_concluded", {"concluded_on": date(2025, 6, 30)}, "concluded"),
        (
            "alliance_terminated",
            {"notice_date": date(2025, 5, 31), "effective_on": date(2025, 6, 30)},
            "terminated",
        ),
        ("ambassador_designated", {"designated_on": date(2025, 6, 30)}, "ambassador"),
    ],
)
def test_the_events_of_an_alliance_set_its_status(signed, task, fields, status):
    alliance_id = signed.payload["alliance_id"]
    assert status_of(alliance_id) == "active"
    event_type = "alliance." + task.removeprefix("alliance_")
    run_reporting_task(f"reporting.{task}", alliance_change_event(signed, event_type, **fields))
    assert status_of(alliance_id) == status


def test_a_renewal_makes_an_alliance_active_again(signed):
    alliance_id = signed.payload["alliance_id"]
    with database.transaction() as session:
        session.get(Alliance, alliance_id).status = "concluded"
    renewal = alliance_change_event(
        signed,
        "alliance.renewed",
        renewal=1,
        signing_date=date(2027, 1, 15),
        term_years=2,
        previous_ends_on=ENDS_EVALUATIONS,
        ends_on=date(2029, 1, 14),
    )
    run_reporting_task("reporting.alliance_renewed", renewal)
    assert status_of(alliance_id) == "active"
