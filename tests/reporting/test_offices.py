"""The office rule in reporting (services/reporting/people.py ``sees_office_of``): staff read
the reports, evaluations and figures of their offices (the top office's, every office's), a
liaison those of their own alliances; the dashboard rolls each office's alliances up under it;
an alliance moved is filed anew; the reminders and escalations name the office."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import select

from services.reporting.alliances import domain as alliances
from services.reporting.alliances.models import Alliance
from services.reporting.figures import domain as figures
from services.reporting.models import OutboxEvent
from services.reporting.reports import domain as reports
from services.reporting.schedules.domain import rules_from_settings
from services.reporting.worker import outbox
from shared.domain import Forbidden, Invalid
from shared.events import new_event
from tests.review.factories import LIAISON, alliance_signed_event
from tests.shared.factories import acting

pytestmark = pytest.mark.integration

NATIONAL = acting("nia@agency.example", "coordinator")
REGION_V = acting("rex@agency.example", "coordinator", office="region_5")
REGION_VI = acting("dee@agency.example", "coordinator", office="region_6")
NOW = datetime(2026, 6, 2, 16, tzinfo=UTC)


@pytest.fixture(autouse=True)
def federal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENCY_PROFILE", "federal")


def signed(session: Any, name: str, office: str) -> uuid.UUID:
    event = alliance_signed_event(name, office=office)
    alliances.record_signed(session, event=event)
    payload = event.payload
    reports.schedule_term(
        session,
        alliance_id=payload["alliance_id"],
        term=0,
        signing_date=payload["signing_date"],
        ends_on=payload["ends_on"],
        rules=rules_from_settings(),
    )
    session.flush()
    alliance_id: uuid.UUID = payload["alliance_id"]
    return alliance_id


def program(session: Any) -> dict[str, uuid.UUID]:
    return {
        "lansing": signed(session, "Lansing Roofers", "area_lansing"),
        "toledo": signed(session, "Toledo Framers", "area_toledo"),
        "chicago": signed(session, "Chicago Masons", "region_5"),
        "dallas": signed(session, "Dallas Welders", "area_dallas"),
        "national": signed(session, "National Painters", "national_office"),
    }


def by_office(session: Any, person: Any, **filters: Any) -> list[tuple[str, int]]:
    found = figures.dashboard(
        session,
        acting=person,
        now=NOW,
        rules=rules_from_settings(),
        divisions=["national_office", "regional_office", "area_office"],
        **filters,
    )
    return [(name, count) for _slug, name, count in found.active_by_office if count]


def test_reports_of_another_office_are_refused_by_name(rolled_back) -> None:
    session = rolled_back("reporting")
    ids = program(session)

    assert reports.reports_read_by(session, acting=REGION_V, alliance_id=ids["lansing"])
    with pytest.raises(Forbidden, match="belongs to Dallas Area Office, outside your office"):
        reports.reports_read_by(session, acting=REGION_V, alliance_id=ids["dallas"])
    assert reports.reports_read_by(session, acting=NATIONAL, alliance_id=ids["dallas"])
    # Its liaison reads it wherever it is.
    liaison = acting(LIAISON.email, "liaison", staff_id=LIAISON.id, office="region_6")
    assert reports.reports_read_by(session, acting=liaison, alliance_id=ids["lansing"])


def test_the_dashboard_rolls_each_office_up_under_the_one_above(rolled_back) -> None:
    session = rolled_back("reporting")
    program(session)

    assert by_office(session, NATIONAL) == [
        ("National Office", 5),
        ("Region V (Chicago)", 3),
        ("Region VI (Dallas)", 1),
    ]
    assert by_office(session, REGION_V) == [
        ("Region V (Chicago)", 3),
        ("Lansing Area Office", 1),
        ("Toledo Area Office", 1),
    ]
    # The national coordinator opens a region: its figures, its area offices rolled up.
    assert by_office(session, NATIONAL, office="region_5") == by_office(session, REGION_V)
    # Everything else on the dashboard counts the same alliances.
    found = figures.dashboard(
        session,
        acting=REGION_V,
        now=NOW,
        rules=rules_from_settings(),
        divisions=["national_office", "regional_office", "area_office"],
    )
    assert sum(count for _division, count in found.active_by_division) == 3


@pytest.mark.parametrize("office", ["region_6", "area_dallas", "national_office", "atlantis"])
def test_an_office_outside_one_s_own_is_refused_as_a_filter(office: str) -> None:
    with pytest.raises(Invalid) as refused:
        figures.parse_office(office, acting=REGION_V)
    assert list(refused.value.errors) == ["office"]
    assert figures.parse_office("area_lansing", acting=REGION_V) == "area_lansing"


def test_a_moved_alliance_is_filed_under_its_new_office(rolled_back) -> None:
    session = rolled_back("reporting")
    ids = program(session)
    moved = new_event(
        "alliance.moved",
        producer="review",
        payload={
            "alliance_id": ids["lansing"],
            "proposal_id": uuid.uuid4(),
            "reference": "AP-2026-00001",
            "partner_name": "Lansing Roofers",
            "from_office": "area_lansing",
            "office": "area_dallas",
            "moved_at": NOW,
        },
    )
    assert alliances.record_moved(session, event=moved)
    assert session.get(Alliance, ids["lansing"]).office == "area_dallas"
    with pytest.raises(Forbidden):
        reports.reports_read_by(session, acting=REGION_V, alliance_id=ids["lansing"])
    assert reports.reports_read_by(session, acting=REGION_VI, alliance_id=ids["lansing"])


def test_every_reminder_names_the_alliance_s_office(rolled_back) -> None:
    session = rolled_back("reporting")
    ids = program(session)
    first = reports.reports_of(session, alliance_id=ids["toledo"])[0]
    # Long after the due date: the escalation (a late sweep sends only the latest reminder).
    reports.sweep(
        session, now=datetime.combine(date(2027, 6, 1), datetime.min.time(), UTC), outbox=outbox
    )
    sent = [
        row.message
        for row in session.scalars(select(OutboxEvent).order_by(OutboxEvent.id))
        if row.message["payload"].get("report_id") == str(first.id)
    ]
    assert "report.escalated" in {m["type"] for m in sent}
    assert {m["payload"]["office"] for m in sent} == {"area_toledo"}


def test_the_work_list_narrows_to_one_office(rolled_back) -> None:
    session = rolled_back("reporting")
    program(session)
    late = datetime(2027, 6, 1, 16, tzinfo=UTC)  # every first annual report overdue

    def partners(person: Any, **filters: Any) -> set[str]:
        found = figures.work_list(
            session, acting=person, now=late, rules=rules_from_settings(), **filters
        )
        return {line.alliance.partner_name for line in found.overdue}

    assert partners(NATIONAL) == {
        "Lansing Roofers",
        "Toledo Framers",
        "Chicago Masons",
        "Dallas Welders",
        "National Painters",
    }
    assert partners(NATIONAL, office="region_5") == {
        "Lansing Roofers",
        "Toledo Framers",
        "Chicago Masons",
    }
    assert partners(REGION_V, office="area_toledo") == {"Toledo Framers"}
    with pytest.raises(Invalid):
        partners(REGION_V, office="region_6")


def test_the_staff_api_keeps_a_region_to_its_reports(clean_databases, redis_client) -> None:
    """The same rule over HTTP: a Region V Coordinator reads Toledo's reports (an area office
    under Region V) and is refused Dallas's by name; the national one reads both."""
    from services.reporting import create_app
    from services.reporting.worker import database
    from tests.shared.factories import signed_in

    with database.transaction() as session:
        found = program(session)
        dallas_report = reports.reports_of(session, alliance_id=found["dallas"])[0].id
    app = create_app({"TESTING": True, "WTF_CSRF_ENABLED": False})
    rex = signed_in(app, REGION_V)
    assert rex.get(f"/api/v1/alliances/{found['toledo']}/reports").status_code == 200
    refused = rex.get(f"/api/v1/alliances/{found['dallas']}/reports")
    assert refused.status_code == 403
    assert "Dallas Area Office" in str(refused.get_json()["errors"])
    assert rex.get(f"/api/v1/reports/{dallas_report}").status_code == 403
    nia = signed_in(app, NATIONAL)
    assert nia.get(f"/api/v1/alliances/{found['dallas']}/reports").status_code == 200
    assert nia.get(f"/api/v1/reports/{dallas_report}").status_code == 200
