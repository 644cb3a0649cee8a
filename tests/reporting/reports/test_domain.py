"""Reporting's reports: schedules stored from the alliance's events, cut short, the deadline
sweep sending each reminder at most once (catch-up, races, submission), and the staff API.

A term's report calendar (``alliance.reports_scheduled``): reporting stores the event once,
in the transaction that adds the term's reports, with the partner's link to the first report
due; notify turns it into the signed-alliance welcome to the partner's contact and the liaison
(term 0) or the renewed term's calendar (term n), once per recipient and term, against real
PostgreSQL, Redis and a real (in-process) SMTP server.

A report not yet submitted opens for staff who may read it (its liaison, the Coordinator;
never a reviewer): where it stands against its due date in words, its reminders sent and planned,
and a button that sends the partner a new link to the report's form. The liaison or the
Coordinator may send one (page and API), never for an accepted or cancelled report nor once
the alliance ended with nothing more owed; the request is recorded and listed by name, and
``report.link_resent`` reaches notify's real consumer, which mails the partner's contact only,
with the link in words."""

from __future__ import annotations

import re
import threading
import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update

from services.notify.models import Message
from services.notify.worker import database as notify_database
from services.reporting import create_app
from services.reporting.models import (
    Alliance,
    OutboxEvent,
    Report,
    ReportLinkResend,
    ReportReminder,
)
from services.reporting.reports import domain as reports
from services.reporting.reports import review as reviews
from services.reporting.reviews import views as review_views
from services.reporting.schedules.domain import (
    ScheduleRules,
    reminders_for,
    reports_for_term,
    rules_from_settings,
)
from services.reporting.worker import database, outbox
from shared.config import load_settings
from shared.domain import Conflict, Forbidden
from shared.events import parse_event
from tests.reporting.factories import run_reporting_task
from tests.review.factories import (
    LIAISON,
    OTHER_LIAISON,
    acting_as,
    alliance_change_event,
    alliance_signed_event,
)
from tests.shared.factories import COORDINATOR, REVIEWER, acting

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
        # An alliance signed with no office named belongs to the top office.
        "office": "agency",
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


PARTNER = "Roofers <b>& Sons</b>"
CONTACT = "dana@example.org"
RENEWED = date(2028, 1, 10)
RENEWAL_ENDS = date(2031, 1, 9)


def scheduled_events() -> list[dict[str, Any]]:
    """The ``alliance.reports_scheduled`` events in reporting's outbox, in order."""
    with database.transaction() as session:
        return [
            row.message
            for row in session.scalars(
                select(OutboxEvent)
                .where(OutboxEvent.type == "alliance.reports_scheduled")
                .order_by(OutboxEvent.id)
            )
        ]


@pytest.fixture
def signed(redis_client: Any) -> Any:
    event = alliance_signed_event(PARTNER, signing_date=SIGNED, ends_on=ENDS)
    run_reporting_task("reporting.alliance_signed", event)
    return event


def renewal(signed: Any) -> Any:
    return alliance_change_event(
        signed,
        "alliance.renewed",
        renewal=1,
        signing_date=RENEWED,
        term_years=3,
        ends_on=RENEWAL_ENDS,
        previous_ends_on=ENDS,
    )


def form_path(report_url: str) -> str:
    """The reporting app's own path of the partner's link (behind the gateway's /reporting)."""
    base = load_settings().public_base_url.rstrip("/")
    match = re.fullmatch(re.escape(base) + r"/reporting(/reports/[^/]+)", report_url)
    assert match, report_url
    return match.group(1)


# -- reporting: the event --------------------------------------------------------------------


@pytest.mark.usefixtures("clean_databases")
def test_scheduling_a_term_stores_one_event_with_the_calendar_and_the_first_reports_link(
    signed,
):
    alliance_id = signed.payload["alliance_id"]
    run_reporting_task("reporting.alliance_signed", signed)  # redelivered: nothing more

    [message] = scheduled_events()
    assert message["producer"] == "reporting"
    payload = parse_event(message, expected_type="alliance.reports_scheduled").payload
    assert payload["alliance_id"] == alliance_id
    assert payload["proposal_id"] == signed.payload["proposal_id"]
    assert payload["reference"] == signed.payload["reference"]
    assert payload["partner_name"] == PARTNER
    assert payload["contact"]["email"] == CONTACT
    assert payload["liaison"]["email"] == LIAISON.email
    assert payload["division"] == "construction_safety_health"
    assert (payload["term"], payload["term_years"]) == (0, 2)
    assert (payload["signing_date"], payload["ends_on"]) == (SIGNED, ENDS)
    with database.transaction() as session:
        stored = reports.reports_of(session, alliance_id=alliance_id)
        expected = [
            (r.id, r.kind, r.period_start, r.period_end, r.due_date) for r in stored if r.term == 0
        ]
    listed = [
        (r["report_id"], r["kind"], r["period_start"], r["period_end"], r["due_date"])
        for r in payload["reports"]
    ]
    assert listed == expected
    assert len(listed) > 1
    due_dates = [r["due_date"] for r in payload["reports"]]
    assert due_dates == sorted(due_dates)

    client = create_app({"TESTING": True, "WTF_CSRF_ENABLED": False}).test_client()
    page = client.get(form_path(payload["report_url"]))
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "Implementation team meetings" in body
    first = payload["reports"][0]
    assert first["period_start"].strftime("%B %-d, %Y") in body


@pytest.mark.usefixtures("clean_databases")
def test_a_renewal_stores_the_new_terms_calendar_once(signed):
    renewed = renewal(signed)
    run_reporting_task("reporting.alliance_renewed", renewed)
    run_reporting_task("reporting.alliance_renewed", renewed)  # redelivered: nothing more

    initial, renewed_term = (
        parse_event(m, expected_type="alliance.reports_scheduled").payload
        for m in scheduled_events()
    )
    assert initial["term"] == 0
    assert (renewed_term["term"], renewed_term["term_years"]) == (1, 3)
    assert (renewed_term["signing_date"], renewed_term["ends_on"]) == (RENEWED, RENEWAL_ENDS)
    assert renewed_term["proposal_id"] == signed.payload["proposal_id"]
    assert renewed_term["reports"][0]["period_start"] == RENEWED
    assert all(r["period_start"] >= RENEWED for r in renewed_term["reports"])
    with database.transaction() as session:
        renewal_ids = {
            r.id
            for r in reports.reports_of(session, alliance_id=signed.payload["alliance_id"])
            if r.term == 1
        }
    assert {r["report_id"] for r in renewed_term["reports"]} == renewal_ids
    assert form_path(renewed_term["report_url"]) != form_path(initial["report_url"])


def stored() -> list[Message]:
    with notify_database.transaction() as session:
        found = sorted(session.scalars(select(Message)), key=lambda m: (m.cause, m.to_address))
        session.expunge_all()
        return found


NOW = datetime(2026, 11, 10, 17, tzinfo=UTC)  # noon in Detroit


@pytest.fixture
def signed_report_link_resend(clean_databases: Any, redis_client: Any, monkeypatch: Any) -> Any:
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


# -- the domain's rules, without the web -------------------------------------------------------


def test_the_domain_records_the_request_and_names_who_asked(signed_report_link_resend):
    report = overdue_report(signed_report_link_resend)
    with database.transaction() as session:
        sent = reviews.resend_link(
            session, acting=acting_as(LIAISON), report_id=report.id, outbox=outbox, now=NOW
        )
        assert (sent.sent_by, sent.sent_by_email, sent.sent_at) == (
            "Lee Liaison",
            LIAISON.email,
            NOW,
        )
    nameless = acting("coord@agency.example", "coordinator", name="")
    with database.transaction() as session:
        sent = reviews.resend_link(
            session, acting=nameless, report_id=report.id, outbox=outbox, now=NOW
        )
        assert sent.sent_by == "coord@agency.example"  # no name known: the address
    for person, error in ((REVIEWER, Forbidden), (acting_as(OTHER_LIAISON), Forbidden)):
        with pytest.raises(error), database.transaction() as session:
            reviews.resend_link(session, acting=person, report_id=report.id, outbox=outbox, now=NOW)
    with database.transaction() as session:
        session.execute(update(Report).where(Report.id == report.id).values(status="cancelled"))
    with pytest.raises(Conflict), database.transaction() as session:
        reviews.resend_link(
            session, acting=COORDINATOR, report_id=report.id, outbox=outbox, now=NOW
        )
    assert resends() == 2
    assert len(link_events()) == 2


def test_due_words_follow_the_agency_day(signed_report_link_resend):
    rules = rules_from_settings()
    report = report_due(signed_report_link_resend, date(2026, 11, 10))
    late_evening = datetime(2026, 11, 11, 3, tzinfo=UTC)  # still November 10 in Detroit
    with database.transaction() as session:
        row = session.get(Report, report.id)
        assert reviews.due_in_words(row, now=late_evening, rules=rules) == "Due today"
        assert (
            reviews.due_in_words(row, now=datetime(2026, 11, 11, 6, tzinfo=UTC), rules=rules)
            == "Overdue by 1 day"
        )
