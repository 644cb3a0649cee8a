"""A report not yet submitted opens for staff who may read it (its liaison, the Coordinator;
never a reviewer): where it stands against its due date in words, its reminders sent and planned,
and a button that sends the partner a new link to the report's form. The liaison or the
Coordinator may send one (page and API), never for an accepted or cancelled report nor once
the alliance ended with nothing more owed; the request is recorded and listed by name, and
``report.link_resent`` reaches notify's real consumer, which mails the partner's contact only,
with the link in words.

Reporting's reports: schedules stored from the alliance's events, cut short, the deadline
sweep sending each reminder at most once (catch-up, races, submission), and the staff API."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update

from services.reporting import create_app
from services.reporting.models import OutboxEvent, Report, ReportLinkResend
from services.reporting.reports import domain as reports
from services.reporting.reviews import views as review_views
from services.reporting.worker import database, outbox
from tests.reporting.factories import partner_submits, run_reporting_task
from tests.reporting.reviews.test_views import COMPLETE, api_client
from tests.review.factories import (
    LIAISON,
    acting_as,
    alliance_change_event,
    alliance_signed_event,
    conflict_declared_event,
)
from tests.shared.factories import COORDINATOR, signed_in

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 10, 17, tzinfo=UTC)  # noon in Detroit
SIGNED = date(2026, 1, 15)
ENDS = date(2028, 1, 14)


@pytest.fixture
def signed(clean_databases: Any, redis_client: Any, monkeypatch: Any) -> Any:
    """An alliance signed on SIGNED whose liaison is Lee; the report pages' clock at NOW."""
    event = alliance_signed_event(signing_date=SIGNED, ends_on=ENDS)
    run_reporting_task("reporting.alliance_signed", event)
    monkeypatch.setattr(review_views, "now", lambda: NOW)
    return event


def report_due(signed: Any, due: date) -> Report:
    """The alliance's first report, moved to ``due`` (its reminders left as scheduled)."""
    with database.transaction() as session:
        first = reports.reports_of(session, alliance_id=signed.payload["alliance_id"])[0]
        session.execute(update(Report).where(Report.id == first.id).values(due_date=due))
        session.expunge(first)
    return first


def overdue_report(signed: Any) -> Report:
    """The first report (due 2026-04-30), swept at NOW: its past-due notices went out."""
    with database.transaction() as session:
        first = reports.reports_of(session, alliance_id=signed.payload["alliance_id"])[0]
        session.expunge(first)
    with database.transaction() as session:
        reports.sweep(session, now=NOW, outbox=outbox)
    return first


def link_events() -> list[dict[str, Any]]:
    with database.transaction() as session:
        return [
            row.message
            for row in session.scalars(
                select(OutboxEvent).where(OutboxEvent.type == "report.link_resent")
            )
        ]


def resends() -> int:
    with database.transaction() as session:
        return session.scalar(select(func.count()).select_from(ReportLinkResend)) or 0


def test_the_coordinator_sends_one_through_the_api(signed):
    report = overdue_report(signed)
    client, csrf = api_client(COORDINATOR)
    answer = client.post(f"/api/v1/reports/{report.id}/link", headers=csrf)
    assert answer.status_code == 201, answer.get_json()
    body = answer.get_json()
    assert body["report_id"] == str(report.id)
    assert body["sent_by"] == COORDINATOR.name
    found = client.get(f"/api/v1/reports/{report.id}").get_json()
    assert [link["sent_by"] for link in found["links_sent"]] == [COORDINATOR.name]
    [event] = link_events()
    assert event["payload"]["sent_by"] == COORDINATOR.name


def test_a_conflicted_liaison_is_refused(signed):
    report = overdue_report(signed)
    run_reporting_task("reporting.conflict_declared", conflict_declared_event(LIAISON.id))
    client, csrf = api_client(acting_as(LIAISON))
    refused = client.post(f"/api/v1/reports/{report.id}/link", headers=csrf)
    assert refused.status_code == 403
    assert "conflict of interest" in refused.get_json()["errors"]["_request"][0]
    assert resends() == 0


def test_no_such_report_is_404(signed):
    client, csrf = api_client(COORDINATOR)
    assert client.post(f"/api/v1/reports/{uuid.uuid4()}/link", headers=csrf).status_code == 404


def test_once_the_alliance_ended_only_a_report_still_owed_gets_a_new_link(signed, monkeypatch):
    first = report_due(signed, date(2026, 4, 30))
    partner_submits(monkeypatch, first.id, COMPLETE, datetime(2026, 4, 20, 15, tzinfo=UTC))
    run_reporting_task(
        "reporting.alliance_concluded",
        alliance_change_event(signed, "alliance.concluded", concluded_on=date(2026, 8, 15)),
    )
    with database.transaction() as session:
        found = reports.reports_of(session, alliance_id=signed.payload["alliance_id"])
        owed = [r for r in found if r.status not in ("submitted", "cancelled")]
        cancelled = [r for r in found if r.status == "cancelled"]
    assert owed
    assert cancelled
    final = max(owed, key=lambda r: r.period_end)
    assert final.period_end == date(2026, 8, 15)  # the final report, still owed
    client, csrf = api_client(acting_as(LIAISON))
    submitted = client.post(f"/api/v1/reports/{first.id}/link", headers=csrf)
    assert submitted.status_code == 409
    assert "The alliance was concluded" in submitted.get_json()["errors"]["_request"][0]
    gone = client.post(f"/api/v1/reports/{cancelled[0].id}/link", headers=csrf)
    assert gone.status_code == 409
    assert "cancelled" in gone.get_json()["errors"]["_request"][0]
    assert client.post(f"/api/v1/reports/{final.id}/link", headers=csrf).status_code == 201
    assert resends() == 1


DETROIT = ZoneInfo("America/Detroit")


def local(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=DETROIT).astimezone(UTC)


# -- the staff API ----------------------------------------------------------------------------


def test_the_api_lists_an_alliances_reports_by_due_date(clean_databases, redis_client):
    signed = alliance_signed_event(signing_date=SIGNED, ends_on=ENDS)
    run_reporting_task("reporting.alliance_signed", signed)
    alliance_id = signed.payload["alliance_id"]
    with database.transaction() as session:
        first = reports.reports_of(session, alliance_id=alliance_id)[0]
        reports.sweep(session, now=local(first.due_date - timedelta(days=14)), outbox=outbox)
        expected = [
            {
                "id": str(r.id),
                "alliance_id": str(alliance_id),
                "kind": r.kind,
                "term": 0,
                "period_start": r.period_start.isoformat(),
                "period_end": r.period_end.isoformat(),
                "due_date": r.due_date.isoformat(),
                "status": r.status,
                "submitted_at": None,
                "reminders": [
                    {
                        "kind": m.kind,
                        "days": m.days,
                        "sent_at": m.sent_at.isoformat() if m.sent_at else None,
                        "skipped": False,
                    }
                    for m in r.reminders
                ],
            }
            for r in reports.reports_of(session, alliance_id=alliance_id)
        ]
    app = create_app({"TESTING": True})
    client = signed_in(app, COORDINATOR)
    response = client.get(f"/api/v1/alliances/{alliance_id}/reports")
    assert response.status_code == 200
    assert response.json == expected
    assert response.json[0]["status"] == "due_soon"
    assert response.json[0]["reminders"][0]["sent_at"] is not None
    assert [r["due_date"] for r in response.json] == sorted(str(r["due_date"]) for r in expected)

    missing = client.get(f"/api/v1/alliances/{uuid.uuid4()}/reports")
    assert (missing.status_code, missing.json) == (
        404,
        {"errors": {"_request": ["No such alliance."]}},
    )
    anonymous = app.test_client().get(f"/api/v1/alliances/{alliance_id}/reports")
    assert anonymous.status_code == 401
    document = client.get("/api/v1/openapi.json").json
    assert "/api/v1/alliances/{alliance_id}/reports" in document["paths"]
