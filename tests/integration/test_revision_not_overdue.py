"""A report sent back for a revision is owed again by its new due date: until that day has
passed it is never called overdue (the work list, the report's page, the alliance's reports,
the CSV), however late its first version came and whatever past-due notices went out before;
once the new date has passed it is overdue everywhere. Its earlier submission, judged against
the new date, no longer makes it "on time"."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update

from services.reporting.models import Report
from services.reporting.reports import domain as reports
from services.reporting.schedules.domain import rules_from_settings
from services.reporting.worker import database, outbox
from tests.factories import (
    COORDINATOR,
    LIAISON,
    acting_as,
    alliance_signed_event,
    partner_submits,
    run_reporting_task,
)
from tests.integration.test_report_review import COMPLETE, ENDS, SIGNED, staff_client

pytestmark = pytest.mark.integration


@pytest.fixture
def revised(clean_databases: Any, redis_client: Any, monkeypatch: Any) -> Report:
    """A report past due, swept (its past-due notices sent), submitted late, and sent back
    for a revision today: owed again in 14 days."""
    today = datetime.now(UTC).astimezone(rules_from_settings().timezone).date()
    event = alliance_signed_event(signing_date=SIGNED, ends_on=ENDS)
    run_reporting_task("reporting.alliance_signed", event)
    with database.transaction() as session:
        late = reports.reports_of(session, alliance_id=event.payload["alliance_id"])[0]
        session.expunge(late)
    assert late.due_date < today - timedelta(days=20)
    with database.transaction() as session:
        reports.sweep(session, now=datetime.now(UTC), outbox=outbox)
        assert session.get(Report, late.id).status == "overdue"
    partner_submits(monkeypatch, late.id, COMPLETE, datetime.now(UTC) - timedelta(days=1))
    asked = staff_client(acting_as(LIAISON)).post(
        f"/staff/reports/{late.id}/review",
        data={"action": "request_revision", "comments": "Add the city of each event."},
    )
    assert asked.status_code == 303
    with database.transaction() as session:
        row = session.get(Report, late.id)
        assert row is not None
        assert (row.status, row.due_date) == ("revision_requested", today + timedelta(days=14))
        session.expunge(row)
    return row


def row_of(html: str, report: Report) -> str:
    period = f"{report.period_start.isoformat()} to {report.period_end.isoformat()}"
    rows = [row for row in re.findall(r"<tr>.*?</tr>", html, re.S) if period in row]
    assert len(rows) == 1, rows
    return rows[0]


def csv_row(report: Report) -> dict[str, str]:
    answer = staff_client(COORDINATOR).get("/staff/reports.csv")
    rows = list(csv.DictReader(io.StringIO(answer.get_data(as_text=True).lstrip("\ufeff"))))
    period = f"{report.period_start.isoformat()}/{report.period_end.isoformat()}"
    [row] = [row for row in rows if row["period"] == period and row["kind"] == "Quarterly"]
    return row


def test_a_revision_not_yet_due_is_never_called_overdue(revised):
    liaison = staff_client(acting_as(LIAISON))
    work = liaison.get("/staff/reports").text
    assert str(revised.id) not in work.split('id="overdue"', 1)[1]
    soon = liaison.get("/staff/reports?view=due_soon").text
    row = row_of(soon.split('id="due-soon"', 1)[1], revised)
    assert '<td data-label="Status">Revision requested</td>' in row
    assert "Overdue" not in row

    page = liaison.get(f"/staff/reports/{revised.id}").text
    assert "Status: <strong>Revision requested</strong>" in page
    assert '<span id="due-words">(Revision due in 14 days)</span>' in page
    assert "Overdue" not in page  # its earlier notices are "Past-due notice"s
    assert "Past-due notice, 1 day after the due date" in page

    listed = liaison.get(f"/staff/alliances/{revised.alliance_id}/reports").text
    row = row_of(listed, revised)
    assert '<td data-label="Status">Revision requested</td>' in row
    assert '<td data-label="On time">Not due yet</td>' in row
    assert "Overdue" not in row

    exported = csv_row(revised)
    assert (exported["status"], exported["on time"]) == ("Revision requested", "")


def test_a_revision_past_its_new_due_date_is_overdue_everywhere(revised):
    yesterday = datetime.now(UTC).astimezone(rules_from_settings().timezone).date() - timedelta(
        days=1
    )
    with database.transaction() as session:
        session.execute(update(Report).where(Report.id == revised.id).values(due_date=yesterday))
    liaison = staff_client(acting_as(LIAISON))
    work = liaison.get("/staff/reports").text
    assert f'href="/staff/reports/{revised.id}"' in work.split('id="overdue"', 1)[1]
    page = liaison.get(f"/staff/reports/{revised.id}").text
    assert '<span id="due-words">(Overdue by 1 day)</span>' in page
    listed = liaison.get(f"/staff/alliances/{revised.alliance_id}/reports").text
    assert '<td data-label="On time">Overdue</td>' in row_of(listed, revised)
    assert csv_row(revised)["on time"] == "no"
