"""The work list (``/staff/reports``) shows the reports due in the next 30 days (``view``:
due from today to today + 30 in the agency's time zone, not submitted) and finds reports by
part of the partner organization's name (``partner``: case aside, ``%`` and ``_`` taken
literally), both GET parameters that combine with each other and with the Coordinator's
liaison filter; labelled fields, a count of the reports shown, a "No reports match" message,
and a refused filter beside its field (400)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update

from services.reporting.figures import domain as figures
from services.reporting.figures import views as figures_views
from services.reporting.models import Report
from services.reporting.reports import domain as reports
from services.reporting.schedules.domain import rules_from_settings
from services.reporting.worker import database
from shared.domain import Invalid
from tests.factories import (
    COORDINATOR,
    LIAISON,
    OTHER_LIAISON,
    acting_as,
    alliance_signed_event,
    run_reporting_task,
)
from tests.helpers import pin_clock
from tests.integration.test_report_review import staff_client

pytestmark = pytest.mark.integration

# The alliance's reports are signed far after NOW (nothing due) and moved by hand.
SIGNED = date(2030, 1, 15)
ENDS = date(2031, 1, 14)
NOW = datetime(2026, 12, 1, 17, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _pinned_clock(monkeypatch: Any) -> None:
    """The work list reads the clock: it reads NOW."""
    pin_clock(monkeypatch, figures_views, NOW)


def today() -> date:
    return NOW.astimezone(rules_from_settings().timezone).date()


def alliance(name: str, *, liaison: Any = LIAISON) -> list[Report]:
    event = alliance_signed_event(name, signing_date=SIGNED, ends_on=ENDS)
    payload = event.payload
    payload["liaison"] = {"id": liaison.id, "name": liaison.name, "email": liaison.email}
    run_reporting_task("reporting.alliance_signed", event)
    with database.transaction() as session:
        found = reports.reports_of(session, alliance_id=payload["alliance_id"])
        session.expunge_all()
        return found


def move(report: Report, *, due: date, status: str | None = None) -> Report:
    values: dict[str, Any] = {"due_date": due}
    if status is not None:
        values["status"] = status
        if status == "submitted":
            values["submitted_at"] = NOW
    with database.transaction() as session:
        session.execute(update(Report).where(Report.id == report.id).values(**values))
    return report


def linked(html: str) -> set[str]:
    """The reports a page links, by id."""
    return set(re.findall(r'href="/staff/reports/([0-9a-f-]{36})"', html))


@pytest.fixture
def due(clean_databases: Any, redis_client: Any) -> dict[str, Report]:
    """Reports of two partners due around today, in every state the view tells apart."""
    roofers = alliance("Michigan Roofing Contractors Association")
    safe = alliance("100% Safe_Builders", liaison=OTHER_LIAISON)
    day = today()
    return {
        "today": move(roofers[0], due=day),
        "in_30": move(roofers[1], due=day + timedelta(days=30)),
        "in_31": move(roofers[2], due=day + timedelta(days=31)),
        "past": move(roofers[3], due=day - timedelta(days=1)),
        "submitted": move(roofers[4], due=day + timedelta(days=3), status="submitted"),
        "revision": move(roofers[5], due=day + timedelta(days=10), status="revision_requested"),
        "safe_soon": move(safe[0], due=day + timedelta(days=7)),
    }


def test_due_in_the_next_30_days_counts_from_today_to_30_days_on_not_submitted(due):
    html = staff_client(COORDINATOR).get("/staff/reports?view=due_soon").text
    table = html.split('id="due-soon"', 1)[1]
    expected = {"today", "in_30", "revision", "safe_soon"}
    assert linked(table) == {str(due[key].id) for key in expected}
    assert "4 reports match: due in the next 30 days." in html
    assert f"due from today to {(today() + timedelta(days=30)).isoformat()}" in html
    assert 'id="overdue"' not in html  # the view shows one table
    # The labelled fields keep what was asked.
    assert '<label class="usa-label" for="filter-view">Show</label>' in html
    assert '<option value="due_soon" selected>Due in the next 30 days</option>' in html
    assert '<label class="usa-label" for="filter-partner">Partner</label>' in html


def test_a_liaison_sees_their_own_alliances_due_soon(due):
    html = staff_client(acting_as(LIAISON)).get("/staff/reports?view=due_soon").text
    assert str(due["safe_soon"].id) not in html
    assert "3 reports match: due in the next 30 days." in html


def test_the_partner_search_matches_part_of_the_name_case_aside(due):
    coordinator = staff_client(COORDINATOR)
    html = coordinator.get("/staff/reports?view=due_soon&partner=ROOFING").text
    assert linked(html.split('id="due-soon"', 1)[1]) == {
        str(due[key].id) for key in ("today", "in_30", "revision")
    }
    assert "3 reports match: due in the next 30 days, partner name containing “ROOFING”." in html
    assert 'value="ROOFING"' in html
    # The default view, narrowed by partner: the roofers' report to review and overdue one.
    html = coordinator.get("/staff/reports?partner=roofing").text
    assert linked(html) == {str(due["submitted"].id), str(due["past"].id)}
    assert "2 reports match: partner name containing “roofing”." in html
    html = coordinator.get("/staff/reports?partner=safe").text
    assert "No reports match: partner name containing “safe”." in html


@pytest.mark.parametrize(("typed", "found"), [("%", True), ("_", True), ("0% S", True)])
def test_wildcards_are_characters_like_any_other(due, typed, found):
    html = (
        staff_client(COORDINATOR)
        .get(
            "/staff/reports",
            query_string={
                "view": "due_soon",
                "partner": typed,
            },
        )
        .text
    )
    assert linked(html) == {str(due["safe_soon"].id)}


def test_the_filters_combine_with_the_liaison_filter(due):
    coordinator = staff_client(COORDINATOR)
    html = coordinator.get(
        "/staff/reports", query_string={"view": "due_soon", "liaison": OTHER_LIAISON.email}
    ).text
    assert linked(html) == {str(due["safe_soon"].id)}
    assert "1 report matches: due in the next 30 days, liaison Ola Other." in html
    html = coordinator.get(
        "/staff/reports",
        query_string={"view": "due_soon", "liaison": OTHER_LIAISON.email, "partner": "roof"},
    ).text
    assert linked(html) == set()
    assert "No reports match: due in the next 30 days, partner name containing “roof”" in html
    assert "No reports match: none is due in the next 30 days." in html


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"partner": "x" * 201}, "filter-partner", "Type at most 200 characters of the name."),
        ({"view": "everything"}, "filter-view", "Choose which reports to show from the list."),
    ],
)
def test_a_refused_filter_comes_back_beside_its_field(due, query, field, message):
    answer = staff_client(COORDINATOR).get("/staff/reports", query_string=query)
    assert answer.status_code == 400
    html = answer.text
    assert f'href="#{field}"' in html  # the error summary links the field
    assert message in html
    assert 'aria-invalid="true"' in html


def test_the_domain_refuses_a_bad_filter_by_field():
    with pytest.raises(Invalid) as refused:
        figures.check_work_filters("soon", "y" * 201)
    assert set(refused.value.errors) == {"view", "partner"}
    assert figures.check_work_filters("", "  roof   ing ") == ("work", "roof ing")
