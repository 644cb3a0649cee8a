"""An imported alliance downstream: reporting schedules its reports from the real signing date
and counts those due before the import as past records (no reminder, nothing overdue); notify
sends no welcome unless the import asked for one."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import select

import services.notify.tasks
from services.notify.models import Message
from services.notify.worker import database as notify_database
from services.reporting.models import OutboxEvent as ReportingOutbox
from services.reporting.reports import domain as reports
from services.reporting.worker import database as reporting_database
from services.reporting.worker import outbox as reporting_outbox
from services.review.base import OutboxEvent as ReviewOutbox
from services.review.imports import domain as importing
from services.review.worker import database as review_database
from services.review.worker import outbox as review_outbox
from shared.events import parse_event
from tests.reporting.factories import run_reporting_task
from tests.review.factories import staff_member
from tests.review.imports.test_domain import file_of, row
from tests.shared.factories import acting

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clean_databases")]

IMPORTED_ON = date(2026, 12, 7)


def import_and_carry(*, welcome: bool) -> list[Any]:
    """Import one alliance signed 2024-03-01 for three years (federal: an annual report each
    agreement year, due 60 days after it), carry its events to reporting, and reporting's to
    notify; the reports as reporting stored them."""
    with review_database.transaction() as session:
        staff_member("lee@agency.example", "liaison", name="Lee Liaison", session=session)
        importing.import_alliances(
            session,
            acting=acting("nia@agency.example", "coordinator"),
            raw=file_of(row()),
            today=IMPORTED_ON,
            outbox=review_outbox,
            welcome=welcome,
        )
    with review_database.transaction() as session:
        [signed] = [
            r.message for r in session.scalars(select(ReviewOutbox)) if r.type == "alliance.signed"
        ]
    run_reporting_task("reporting.alliance_signed", parse_event(signed))
    with reporting_database.transaction() as session:
        [scheduled] = [
            r.message
            for r in session.scalars(select(ReportingOutbox))
            if r.type == "alliance.reports_scheduled"
        ]
    services.notify.tasks.celery.tasks["notify.reports_scheduled"](event=scheduled)
    with reporting_database.transaction() as session:
        alliance_id = parse_event(signed).payload["alliance_id"]
        return [
            (r.period_end, r.due_date, r.status)
            for r in reports.reports_of(session, alliance_id=alliance_id)
        ]


def welcomes() -> list[str]:
    with notify_database.transaction() as session:
        return sorted(
            m.to_address
            for m in session.scalars(select(Message))
            if m.template.startswith("alliance_signed")
        )


@pytest.fixture(autouse=True)
def federal(monkeypatch: pytest.MonkeyPatch, redis_client: Any) -> None:
    monkeypatch.setenv("AGENCY_PROFILE", "federal")


def test_past_reports_are_past_records_and_only_what_is_due_from_now_is_reminded() -> None:
    schedule = import_and_carry(welcome=False)
    assert schedule == [
        (date(2025, 2, 28), date(2025, 4, 29), "cancelled"),  # due before the import
        (date(2026, 2, 28), date(2026, 4, 29), "cancelled"),
        (date(2027, 2, 28), date(2027, 4, 29), "scheduled"),
    ]
    # A sweep on the import day sends nothing for the past years.
    with reporting_database.transaction() as session:
        sent = reports.sweep(
            session, now=datetime(2026, 12, 7, 17, tzinfo=UTC), outbox=reporting_outbox
        )
    assert sum(sent.values()) == 0
    assert welcomes() == []


def test_the_welcome_goes_out_when_the_import_asks() -> None:
    import_and_carry(welcome=True)
    assert welcomes() == ["dana@glr.example.org", "lee@agency.example"]
