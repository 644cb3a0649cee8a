"""Reporting's reports: schedules stored from the alliance's events, cut short, the deadline
sweep sending each reminder at most once (catch-up, races, submission), and the staff API."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from services.reporting import create_app
from services.reporting.models import Alliance, OutboxEvent, RejectedEvent, Report, ReportReminder
from services.reporting.reports import domain as reports
from services.reporting.schedules.domain import (
    ScheduleRules,
    reminders_for,
    reports_for_term,
    rules_from_settings,
)
from services.reporting.worker import database, outbox
from tests.factories import (
    COORDINATOR,
    alliance_change_event,
    alliance_signed_event,
    run_reporting_task,
    signed_in,
)

pytestmark = pytest.mark.integration

DETROIT = ZoneInfo("America/Detroit")
ANNUAL = ScheduleRules(timezone=DETROIT, quarterly=False)
STATE_PLAN = ScheduleRules(timezone=DETROIT, quarterly=True)
SIGNED = date(2026, 1, 15)
ENDS = date(2028, 1, 14)
ZERO = {"due_soon": 0, "due": 0, "overdue": 0, "escalated": 0}


def local(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=DETROIT).astimezone(UTC)


def schedule(session, rules=ANNUAL, **dates) -> uuid.UUID:
    """An alliance recorded as alliance.signed records it, with its term's schedule."""
    from services.reporting.alliances import domain as alliances

    event = alliance_signed_event(**dates)
    alliances.record_signed(session, event=event)
    payload = event.payload
    reports.schedule_term(
        session,
        alliance_id=payload["alliance_id"],
        term=0,
        signing_date=payload["signing_date"],
        ends_on=payload["ends_on"],
        rules=rules,
    )
    session.flush()
    return payload["alliance_id"]


def sent_events(session) -> list[tuple[str, str, int]]:
    """(type, report id, days) of each reminder event in the outbox, in order."""
    return [
        (row.type, row.message["payload"]["report_id"], row.message["payload"]["days"])
        for row in session.scalars(
            select(OutboxEvent).where(OutboxEvent.type.like("report.%")).order_by(OutboxEvent.id)
        )
    ]


# -- the schedule, stored ---------------------------------------------------------------------


def test_schedule_term_stores_each_report_and_its_reminders_once(rolled_back):
    session = rolled_back("reporting")
    alliance_id = schedule(session, STATE_PLAN)
    expected = reports_for_term(term=0, signing_date=SIGNED, ends_on=ENDS, rules=STATE_PLAN)
    stored = reports.reports_of(session, alliance_id=alliance_id)
    assert [
        (r.kind, r.term, r.period_start, r.period_end, r.due_date, r.status) for r in stored
    ] == sorted(
        ((p.kind, p.term, p.period_start, p.period_end, p.due_date, "scheduled") for p in expected),
        key=lambda row: (row[4], row[2], row[0]),
    )
    first = stored[0]
    assert [(m.kind, m.days, m.due_at) for m in first.reminders] == [
        (r.kind, r.days, r.due_at) for r in reminders_for(first.due_date, STATE_PLAN)
    ]
    again = reports.schedule_term(
        session,
        alliance_id=alliance_id,
        term=0,
        signing_date=SIGNED,
        ends_on=ENDS,
        rules=STATE_PLAN,
    )
    assert again == 0
    assert session.scalar(select(func.count()).select_from(ReportReminder)) == 6 * len(expected)


def test_signed_and_renewed_consumers_schedule_each_term_and_ignore_a_redelivery(
    clean_databases, redis_client
):
    signed = alliance_signed_event(signing_date=SIGNED, ends_on=ENDS)
    renewed = alliance_change_event(
        signed,
        "alliance.renewed",
        renewal=1,
        signing_date=date(2028, 1, 10),
        term_years=3,
        ends_on=date(2031, 1, 9),
        previous_ends_on=ENDS,
    )
    for event, name in (
        (signed, "reporting.alliance_signed"),
        (renewed, "reporting.alliance_renewed"),
    ):
        run_reporting_task(name, event)
        run_reporting_task(name, event)  # redelivered: nothing more
    with database.transaction() as session:
        terms = Counter(session.scalars(select(Report.term)))
        reminders = session.scalar(select(func.count()).select_from(ReportReminder))
        assert session.scalar(select(func.count()).select_from(RejectedEvent)) == 0
        assert session.get(Alliance, signed.payload["alliance_id"]).ends_on == date(2031, 1, 9)
    rules = rules_from_settings()
    initial = reports_for_term(term=0, signing_date=SIGNED, ends_on=ENDS, rules=rules)
    renewal = reports_for_term(
        term=1, signing_date=date(2028, 1, 10), ends_on=date(2031, 1, 9), rules=rules
    )
    assert terms == {0: len(initial), 1: len(renewal)}
    assert reminders == len(rules.reminder_days) * (len(initial) + len(renewal))


def test_termination_ends_the_current_period_and_cancels_the_later_ones(clean_databases):
    signed = alliance_signed_event(signing_date=SIGNED, ends_on=ENDS)
    run_reporting_task("reporting.alliance_signed", signed)
    terminated = alliance_change_event(
        signed, "alliance.terminated", notice_date=date(2026, 4, 1), effective_on=date(2026, 5, 1)
    )
    run_reporting_task("reporting.alliance_terminated", terminated)
    run_reporting_task("reporting.alliance_terminated", terminated)
    with database.transaction() as session:
        stored = reports.reports_of(session, alliance_id=signed.payload["alliance_id"])
        kept = [r for r in stored if r.status != "cancelled"]
        cancelled = [r for r in stored if r.status == "cancelled"]
        assert all(r.period_start <= date(2026, 5, 1) for r in kept)
        assert all(r.period_start > date(2026, 5, 1) for r in cancelled)
        final = [r for r in kept if r.period_end == date(2026, 5, 1)]
        assert [r.kind for r in final] == (
            ["quarterly", "annual"] if rules_from_settings().quarterly else ["annual"]
        )
        # A cancelled report's reminders never go out, even long after their moment.
        sent = reports.sweep(session, now=local(date(2030, 1, 1)), outbox=outbox)
        assert sum(sent.values()) == len(kept)
        assert {e[1] for e in sent_events(session)} == {str(r.id) for r in kept}
        assert all(m.sent_at is None and m.skipped for r in cancelled for m in r.reminders)


def test_an_ambassador_owes_no_report_starting_on_or_after_the_designation(rolled_back):
    session = rolled_back("reporting")
    alliance_id = schedule(session, STATE_PLAN)
    cancelled = reports.cut_for_ambassador(
        session, alliance_id=alliance_id, designated_on=date(2027, 1, 15), rules=STATE_PLAN
    )
    stored = reports.reports_of(session, alliance_id=alliance_id)
    assert cancelled == len([r for r in stored if r.period_start >= date(2027, 1, 15)]) > 0
    assert {r.status for r in stored if r.period_start >= date(2027, 1, 15)} == {"cancelled"}
    assert {r.status for r in stored if r.period_start < date(2027, 1, 15)} == {"scheduled"}
    assert (
        reports.cut_for_ambassador(
            session, alliance_id=alliance_id, designated_on=date(2027, 1, 15), rules=STATE_PLAN
        )
        == 0
    )


# -- the sweep ----------------------------------------------------------------------------------


def test_after_a_three_week_gap_only_the_most_recent_reminder_goes_out(rolled_back):
    session = rolled_back("reporting")
    alliance_id = schedule(session)
    [first, *_] = reports.reports_of(session, alliance_id=alliance_id)
    due = first.due_date
    assert reports.sweep(session, now=local(due - timedelta(days=15)), outbox=outbox) == ZERO
    # Down from 14 days before the due date to 7 days after: -14, -3, 0 and +1 all passed.
    after = local(due + timedelta(days=7))
    assert reports.sweep(session, now=after, outbox=outbox) == {**ZERO, "overdue": 1}
    assert sent_events(session) == [("report.overdue", str(first.id), 1)]
    assert [(m.days, m.sent_at, m.skipped) for m in first.reminders] == [
        (-14, after, True),
        (-3, after, True),
        (0, after, True),
        (1, after, False),
        (14, None, False),
        (30, None, False),
    ]
    assert first.status == "overdue"
    assert reports.sweep(session, now=after, outbox=outbox) == ZERO


def test_a_submitted_report_gets_no_more_reminders(rolled_back):
    session = rolled_back("reporting")
    alliance_id = schedule(session)
    first = reports.reports_of(session, alliance_id=alliance_id)[0]
    soon = local(first.due_date - timedelta(days=10))
    assert reports.sweep(session, now=soon, outbox=outbox) == {**ZERO, "due_soon": 1}
    reports.mark_submitted(session, report_id=first.id, at=soon)
    assert first.status == "submitted"
    reports.sweep(session, now=local(date(2030, 1, 1)), outbox=outbox)  # the later report's
    assert [e for e in sent_events(session) if e[1] == str(first.id)] == [
        ("report.due_soon", str(first.id), -14)
    ]


def test_the_reminder_event_names_the_report_and_the_people(rolled_back):
    session = rolled_back("reporting")
    alliance_id = schedule(session)
    first = reports.reports_of(session, alliance_id=alliance_id)[0]
    reports.sweep(session, now=local(first.due_date), outbox=outbox)
    [row] = session.scalars(select(OutboxEvent)).all()
    assert (row.type, row.message["producer"]) == ("report.due", "reporting")
    payload = row.message["payload"]
    assert payload == {
        "report_id": str(first.id),
        "alliance_id": str(alliance_id),
        "proposal_id": str(session.get(Alliance, alliance_id).signed["proposal_id"]),
        "reference": payload["reference"],
        "partner_name": "Michigan Roofing Contractors Association",
        "contact": payload["contact"],
        "liaison": payload["liaison"],
        "kind": "annual",
        "term": 0,
        "period_start": "2026-01-15",
        "period_end": "2027-01-14",
        "due_date": first.due_date.isoformat(),
        "reminder": "due",
        "days": 0,
        "report_url": payload["report_url"],
    }
    # The partner's signed link to the report's form (services/reporting/reports/tokens.py).
    from services.reporting.reports.tokens import read_token
    from shared.config import load_settings

    base = load_settings().public_base_url.rstrip("/")
    assert payload["report_url"].startswith(f"{base}/reporting/reports/")
    assert read_token(payload["report_url"].rsplit("/", 1)[1]) == first.id
    assert (payload["contact"]["email"], payload["liaison"]["email"]) == (
        "dana@example.org",
        "lee@agency.example",
    )


def test_two_sweeps_at_the_same_moment_send_each_reminder_once(clean_databases, redis_client):
    for n in range(30):
        run_reporting_task("reporting.alliance_signed", alliance_signed_event(f"Partner {n}"))
    with database.transaction() as session:
        due = session.scalars(select(Report.due_date).order_by(Report.due_date)).first()
    moment = local(due)  # every first report's "due" (and catch-up of its due_soon ones)
    barrier = threading.Barrier(2)
    results: list[Counter[str]] = []

    def one_sweep() -> None:
        with database.transaction() as session:
            barrier.wait()
            results.append(reports.sweep(session, now=moment, outbox=outbox))

    threads = [threading.Thread(target=one_sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(results) == 2
    with database.transaction() as session:
        events = sent_events(session)
        first_reports = session.scalar(
            select(func.count()).select_from(Report).where(Report.due_date == due)
        )
        # A third sweep, a redelivered one, at the same moment: nothing more.
        assert reports.sweep(session, now=moment, outbox=outbox) == ZERO
    assert len(events) == len(set(events)) == first_reports
    assert len({report_id for _type, report_id, _days in events}) == first_reports
    assert sum((results[0] + results[1]).values()) == first_reports


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
