"""A revision request's new due date (SPEC, report schedule): the later of the report's
current due date and 14 days after the request (in the agency's time zone), never earlier;
the liaison may choose a later date (form and API), and an earlier one is refused beside
its field. The revision's reminders follow the new due date."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import select, update

from services.reporting.models import OutboxEvent, Report, ReportReminder, ReportReview
from services.reporting.reports import domain as reports
from services.reporting.reviews import views as review_views
from services.reporting.schedules.domain import reminders_for, rules_from_settings
from services.reporting.worker import database
from tests.factories import (
    LIAISON,
    acting_as,
    alliance_signed_event,
    partner_submits,
    run_reporting_task,
)
from tests.integration.test_report_review import COMPLETE, ENDS, SIGNED, api_client, staff_client

pytestmark = pytest.mark.integration

SUBMITTED_AT = datetime(2026, 12, 1, 15, tzinfo=UTC)
REQUESTED_AT = datetime(2026, 12, 6, 15, tzinfo=UTC)  # 2026-12-06 in Detroit: + 14 = 12-20


def submitted_due(monkeypatch: Any, due: date) -> Report:
    """The alliance's first report, due on ``due``, submitted by the partner."""
    signed = alliance_signed_event(signing_date=SIGNED, ends_on=ENDS)
    run_reporting_task("reporting.alliance_signed", signed)
    with database.transaction() as session:
        first = reports.reports_of(session, alliance_id=signed.payload["alliance_id"])[0]
        session.execute(update(Report).where(Report.id == first.id).values(due_date=due))
        session.expunge(first)
    partner_submits(monkeypatch, first.id, COMPLETE, SUBMITTED_AT)
    monkeypatch.setattr(review_views, "now", lambda: REQUESTED_AT)
    return first


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


def ask(client: Any, report: Report, **extra: str) -> Any:
    return client.post(
        f"/staff/reports/{report.id}/review",
        data={"action": "request_revision", "comments": "Add the April meeting.", **extra},
    )


def test_a_due_date_far_ahead_is_kept(clean_databases, redis_client, monkeypatch):
    report = submitted_due(monkeypatch, date(2027, 1, 30))
    assert ask(staff_client(acting_as(LIAISON)), report).status_code == 303
    status, due, reminders, payloads = stored(report)
    assert (status, due) == ("revision_requested", date(2027, 1, 30))
    assert reminders == expected_reminders(date(2027, 1, 30))
    assert payloads == ["2027-01-30"]


def test_a_due_date_near_gives_14_days_after_the_request(
    clean_databases, redis_client, monkeypatch
):
    report = submitted_due(monkeypatch, date(2026, 12, 10))
    assert ask(staff_client(acting_as(LIAISON)), report).status_code == 303
    status, due, reminders, payloads = stored(report)
    assert (status, due) == ("revision_requested", date(2026, 12, 20))
    assert reminders == expected_reminders(date(2026, 12, 20))
    assert payloads == ["2026-12-20"]


def test_the_form_shows_the_due_date_a_revision_would_give(
    clean_databases, redis_client, monkeypatch
):
    report = submitted_due(monkeypatch, date(2027, 1, 30))
    html = staff_client(acting_as(LIAISON)).get(f"/staff/reports/{report.id}").text
    assert 'name="due_date"' in html
    assert "Leave it empty for 2027-01-30" in html


def test_the_liaison_may_choose_a_later_date_on_the_form(
    clean_databases, redis_client, monkeypatch
):
    report = submitted_due(monkeypatch, date(2026, 12, 10))
    answer = ask(staff_client(acting_as(LIAISON)), report, due_date="2027-01-15")
    assert answer.status_code == 303
    status, due, reminders, payloads = stored(report)
    assert (status, due) == ("revision_requested", date(2027, 1, 15))
    assert reminders == expected_reminders(date(2027, 1, 15))
    assert payloads == ["2027-01-15"]


def test_the_liaison_may_choose_a_later_date_in_the_api(clean_databases, redis_client, monkeypatch):
    report = submitted_due(monkeypatch, date(2027, 1, 30))
    client, csrf = api_client(acting_as(LIAISON))
    answer = client.post(
        f"/api/v1/reports/{report.id}/revision-request",
        json={"comments": "Add the April meeting.", "due_date": "2027-02-28"},
        headers=csrf,
    )
    assert answer.status_code == 201, answer.get_json()
    status, due, reminders, payloads = stored(report)
    assert (status, due) == ("revision_requested", date(2027, 2, 28))
    assert reminders == expected_reminders(date(2027, 2, 28))
    assert payloads == ["2027-02-28"]


def nothing_stored(report: Report) -> None:
    status, due, _reminders, payloads = stored(report)
    assert (status, due, payloads) == ("submitted", date(2027, 1, 30), [])
    with database.transaction() as session:
        assert session.scalars(select(ReportReview)).all() == []


def test_an_earlier_date_is_refused_inline_on_the_form(clean_databases, redis_client, monkeypatch):
    report = submitted_due(monkeypatch, date(2027, 1, 30))
    liaison = staff_client(acting_as(LIAISON))
    for chosen in ("2026-12-20", "2027-01-29"):
        refused = ask(liaison, report, due_date=chosen)
        assert refused.status_code == 422
        html = refused.text
        assert 'href="#due-date"' in html  # the error summary links to the field
        assert "Choose 2027-01-30 or later" in html
        assert f'value="{chosen}"' in html  # what was typed is kept
        assert 'aria-invalid="true"' in html
    refused = ask(liaison, report, due_date="next week")
    assert refused.status_code == 422
    assert "Enter a date like 2027-01-30" in refused.text
    nothing_stored(report)


def test_an_earlier_date_is_refused_with_422_in_the_api(clean_databases, redis_client, monkeypatch):
    report = submitted_due(monkeypatch, date(2027, 1, 30))
    client, csrf = api_client(acting_as(LIAISON))
    for chosen, message in (
        ("2026-12-31", "Choose 2027-01-30 or later"),
        ("2030-01-01", "Choose a date no later than"),
        ("30/01/2027", "Enter a date like"),
    ):
        refused = client.post(
            f"/api/v1/reports/{report.id}/revision-request",
            json={"comments": "Add the April meeting.", "due_date": chosen},
            headers=csrf,
        )
        assert refused.status_code == 422
        assert message in " ".join(refused.get_json()["errors"]["due_date"])
    nothing_stored(report)
