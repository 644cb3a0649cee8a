"""What the liaison review tests (API and pages) share: the submission time, what is stored,
the reminders expected, the staff client, the events and the count of reviews."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, select

from services.reporting import create_app
from services.reporting.models import OutboxEvent, Report, ReportReminder, ReportReview
from services.reporting.schedules.domain import reminders_for, rules_from_settings
from services.reporting.worker import database
from tests.shared.factories import signed_in

REQUESTED_AT = datetime(2026, 12, 6, 15, tzinfo=UTC)  # 2026-12-06 in Detroit: + 14 = 12-20


def stored(report: Report) -> tuple[str, date, list[tuple[str, datetime]], list[Any]]:
    with database.transaction() as session:
        row = session.get(Report, report.id)
        live = session.scalars(
            select(ReportReminder)
            .where(ReportReminder.report_id == report.id, ~ReportReminder.skipped)
            .order_by(ReportReminder.due_at)
        )
        payloads = [
            event.message["payload"]["due_date"]
            for event in session.scalars(
                select(OutboxEvent).where(OutboxEvent.type == "report.revision_requested")
            )
        ]
        return row.status, row.due_date, [(r.kind, r.due_at) for r in live], payloads


def expected_reminders(due: date) -> list[tuple[str, datetime]]:
    return [
        (r.kind, r.due_at)
        for r in reminders_for(due, rules_from_settings())
        if r.due_at > REQUESTED_AT
    ]


def nothing_stored(report: Report) -> None:
    status, due, _reminders, payloads = stored(report)
    assert (status, due, payloads) == ("submitted", date(2027, 1, 30), [])
    with database.transaction() as session:
        assert session.scalars(select(ReportReview)).all() == []


def staff_client(person: Any) -> Any:
    """A signed-in client of an app that checks no CSRF token (the HTML form's tests)."""
    app = create_app({"TESTING": True, "WTF_CSRF_ENABLED": False})
    return signed_in(app, person)


def events(kind: str) -> list[dict[str, Any]]:
    with database.transaction() as session:
        return [
            row.message["payload"]
            for row in session.scalars(select(OutboxEvent).where(OutboxEvent.type == kind))
        ]


def review_count() -> int:
    with database.transaction() as session:
        return session.scalar(select(func.count()).select_from(ReportReview)) or 0
