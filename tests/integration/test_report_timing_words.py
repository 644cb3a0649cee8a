"""A report past its due date and not submitted says Overdue on every staff page (the work
list, the alliance's reports, the report's own page), in its status and its timing alike:
never "Overdue" beside "Not due yet". Past its due date means by the clock, or as the
deadline sweep already marked it (an operator's ``scan --now`` ahead of the clock)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from services.reporting.models import Report
from services.reporting.reports import domain as reports
from services.reporting.schedules.domain import end_of_day, rules_from_settings
from services.reporting.worker import database, outbox
from tests.factories import LIAISON, acting_as, alliance_signed_event, run_reporting_task
from tests.integration.test_report_review import staff_client

pytestmark = pytest.mark.integration


def signed_on(signing: date) -> list[Report]:
    event = alliance_signed_event(signing_date=signing, ends_on=signing + timedelta(days=729))
    run_reporting_task("reporting.alliance_signed", event)
    with database.transaction() as session:
        found = reports.reports_of(session, alliance_id=event.payload["alliance_id"])
        session.expunge_all()
        return found


def row_of(html: str, report: Report) -> str:
    period = f"{report.period_start.isoformat()} to {report.period_end.isoformat()}"
    rows = [row for row in re.findall(r"<tr>.*?</tr>", html, re.S) if period in row]
    assert len(rows) == 1, rows
    return rows[0]


def assert_says_overdue(report: Report) -> None:
    liaison = staff_client(acting_as(LIAISON))
    listed = liaison.get(f"/staff/alliances/{report.alliance_id}/reports").text
    row = row_of(listed, report)
    assert '<td data-label="Status">Overdue</td>' in row
    assert '<td data-label="On time">Overdue</td>' in row
    assert "Not due yet" not in row

    work = liaison.get("/staff/reports").text
    overdue = work.split('id="overdue"', 1)[1]
    assert '<td data-label="Status">Overdue</td>' in row_of(overdue, report)

    page = liaison.get(f"/staff/reports/{report.id}").text
    assert "Status: <strong>Overdue</strong>" in page
    assert "Not due yet" not in page


def test_a_report_the_sweep_marked_overdue_is_not_called_not_due_yet(
    clean_databases: Any, redis_client: Any
) -> None:
    today = datetime.now(UTC).date()
    owed = next(r for r in signed_on(today) if r.due_date > today + timedelta(days=1))
    ahead = end_of_day(owed.due_date, rules_from_settings()) + timedelta(days=2)
    with database.transaction() as session:
        reports.sweep(session, now=ahead, outbox=outbox)  # the operator's scan --now
    with database.transaction() as session:
        assert session.get(Report, owed.id).status == "overdue"
    assert_says_overdue(owed)


def test_a_report_past_its_due_date_says_overdue_before_the_sweep_ran(
    clean_databases: Any, redis_client: Any
) -> None:
    today = datetime.now(UTC).date()
    past = next(r for r in signed_on(today - timedelta(days=400)) if r.due_date < today)
    assert past.status == "scheduled"  # no sweep ran
    assert_says_overdue(past)
