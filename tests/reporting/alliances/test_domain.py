"""Reporting's staff pages: an alliance's reports, the liaison's work list, the
Coordinator's dashboard (figures counted from seeded reports) and the CSV export."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from services.reporting import create_app
from services.reporting.alliances import domain as alliances
from services.reporting.figures import domain as figures
from services.reporting.figures import views as figures_views
from services.reporting.models import Report
from services.reporting.reports import domain as reports
from services.reporting.reports import views as report_views
from services.reporting.schedules.domain import ScheduleRules
from services.reporting.worker import database
from shared.config import load_agency_profile
from tests.factories import (
    COORDINATOR,
    LIAISON,
    OTHER_LIAISON,
    REVIEWER,
    acting_as,
    alliance_signed_event,
    signed_in,
)
from tests.helpers import pin_clock

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


@pytest.fixture(autouse=True)
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


def test_an_alliances_reports_page_shows_each_report_for_any_staff(program):
    app = create_app({"TESTING": True})
    page = signed_in(app, REVIEWER).get(f"/staff/alliances/{program['ola']}/reports")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert text.index("2025-03-15") < text.index("2026-03-15") < text.index("2027-03-15")
    assert "Late" in text
    assert "On time" in text
    assert "Not due yet" in text
    assert (
        signed_in(app, REVIEWER).get(f"/staff/alliances/{uuid.uuid4()}/reports").status_code == 404
    )
    anonymous = app.test_client().get(f"/staff/alliances/{program['ola']}/reports")
    assert anonymous.status_code in (302, 303)
    assert "sign-in" in anonymous.headers["Location"]


def test_the_work_list_shows_a_liaison_only_their_own_alliances(program):
    app = create_app({"TESTING": True})
    lee = signed_in(app, acting_as(LIAISON)).get("/staff/reports").get_data(as_text=True)
    assert "Michigan Roofing" in lee
    assert "evil.example" not in lee
    ola = signed_in(app, acting_as(OTHER_LIAISON)).get("/staff/reports").get_data(as_text=True)
    assert "evil.example" in ola
    assert "Michigan Roofing" not in ola
    with database.transaction() as session:
        mine = figures.work_list(session, acting=acting_as(LIAISON), now=NOW, rules=ANNUAL)
        assert [line.report.due_date for line in mine.to_review] == [date(2025, 3, 15)]
        assert [line.report.due_date for line in mine.overdue] == [date(2026, 3, 15)]
        theirs = figures.work_list(session, acting=acting_as(OTHER_LIAISON), now=NOW, rules=ANNUAL)
        assert len(theirs.to_review) == 2
        assert theirs.overdue == []
        everyone = figures.work_list(session, acting=COORDINATOR, now=NOW, rules=ANNUAL)
        assert len(everyone.to_review) == 3
        assert len(everyone.overdue) == 1
        filtered = figures.work_list(
            session, acting=COORDINATOR, now=NOW, rules=ANNUAL, liaison=LIAISON.email
        )
        assert len(filtered.to_review) == 1
    assert signed_in(app, REVIEWER).get("/staff/reports").status_code == 403
    coordinator = signed_in(app, COORDINATOR).get(f"/staff/reports?liaison={LIAISON.email}")
    assert coordinator.status_code == 200
    assert "evil.example" not in coordinator.get_data(as_text=True)


def test_the_dashboard_counts_for_the_coordinator_only(program):
    app = create_app({"TESTING": True})
    with database.transaction() as session:
        found = figures.dashboard(
            session,
            acting=COORDINATOR,
            now=NOW,
            rules=ANNUAL,
            divisions=["construction_safety_health", "general_industry_safety_health", "other"],
        )
    assert found.active_by_division == [
        ("construction_safety_health", 1),
        ("general_industry_safety_health", 1),
        ("other", 0),
    ]
    assert {year: dict(counts) for year, counts in found.timing_by_year.items()} == {
        2025: {"on_time": 1, "late": 1},
        2026: {"on_time": 1, "overdue": 1},
    }
    page = signed_in(app, COORDINATOR).get("/staff/dashboard")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert 'role="img"' in text
    assert '<title id="timing-chart-title">' in text
    assert "No report with activities has been submitted yet." in text  # people reached
    assert signed_in(app, REVIEWER).get("/staff/dashboard").status_code == 403
    assert signed_in(app, acting_as(LIAISON)).get("/staff/dashboard").status_code == 403


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


def test_the_csv_export_opens_in_excel_and_neutralises_formulas(program):
    app = create_app({"TESTING": True})
    response = signed_in(app, COORDINATOR).get("/staff/reports.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    body = response.data
    assert body.startswith(b"\xef\xbb\xbf")
    assert b"\r\n" in body
    assert b"\n" not in body.replace(b"\r\n", b"")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))
    assert rows[0] == list(figures.CSV_HEADER)
    assert len(rows) == 1 + 6
    partners = {row[1] for row in rows[1:]}
    assert partners == {"Michigan Roofing Contractors Association", "'" + TRICKY}
    # Codes in words, as the pages show them.
    divisions = load_agency_profile().divisions
    assert {row[2] for row in rows[1:]} == {
        divisions["construction_safety_health"],
        divisions["general_industry_safety_health"],
    }
    assert {row[3] for row in rows[1:]} <= {"Quarterly", "Annual"}
    assert {row[4] for row in rows[1:]} == {"Initial term"}
    assert {row[7] for row in rows[1:]} <= set(figures.STATUS_LABELS.values())
    assert "_" not in "".join(row[7] for row in rows[1:])
    on_time = sorted(row[9] for row in rows[1:])
    assert on_time == ["", "", "no", "no", "yes", "yes"]
    lee = signed_in(app, acting_as(LIAISON)).get("/staff/reports.csv").data
    assert len(list(csv.reader(io.StringIO(lee.decode("utf-8-sig"))))) == 1 + 3
    assert signed_in(app, REVIEWER).get("/staff/reports.csv").status_code == 403


@pytest.mark.parametrize("cell", ["=1+1", "+1", "-1", "@SUM(A1)"])
def test_excel_safe_quotes_formula_starts(cell):
    assert figures.excel_safe(cell) == "'" + cell
    assert figures.excel_safe("Builders") == "Builders"
