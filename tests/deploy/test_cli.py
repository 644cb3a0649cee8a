"""``alliance reporting scan`` and the beat's ``reporting.sweep_deadlines``: a year of daily
scans sends each reminder once and none after a submission; the counts it prints.

Staff accounts and sign-in (shared/staff_auth.py, services/review/staff/) over HTTP,
against the real Redis and PostgreSQL. Who may do what is tested at the domain level in
tests/review/staff/test_domain.py."""

from __future__ import annotations

import os
import signal
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from deploy.cli import main
from deploy.cli import main as alliance
from services.reporting.models import OutboxEvent, Report, ReportReminder
from services.reporting.reports import domain as reports
from services.reporting.worker import database
from services.review.staff import domain as accounts
from services.review.worker import database as review_database
from shared.config import load_settings
from tests.helpers import queued_tasks, start_beat, wait_until
from tests.review.factories import alliance_signed_event

pytestmark = pytest.mark.integration

DETROIT = ZoneInfo("America/Detroit")


def scan(now: datetime | str) -> tuple[int, str]:
    moment = now if isinstance(now, str) else now.isoformat()
    result = CliRunner().invoke(main, ["reporting", "scan", "--now", moment])
    return result.exit_code, result.output


def sign() -> None:
    import services.reporting.tasks

    event = alliance_signed_event(signing_date=date(2026, 1, 15), ends_on=date(2028, 1, 14))
    services.reporting.tasks.celery.tasks["reporting.alliance_signed"](event=event.to_message())


def test_a_year_of_daily_scans_sends_each_reminder_once_and_none_after_submission(
    clean_databases, redis_client
):
    sign()
    with database.transaction() as session:
        first = session.scalars(select(Report).order_by(Report.due_date)).first()
        first_id, first_due = first.id, first.due_date
    submitted_on = first_due - timedelta(days=5)  # after the 14-day reminder, before the 3-day
    day = date(2026, 1, 15)
    totals: Counter[str] = Counter()
    while day <= date(2027, 1, 15):
        noon = datetime(day.year, day.month, day.day, 12, tzinfo=DETROIT)
        code, output = scan(noon)
        assert code == 0, output
        for part in output.strip().split(", "):
            kind, count = part.split(": ")
            totals[kind] += int(count)
        if day == submitted_on:
            with database.transaction() as session:
                reports.mark_submitted(session, report_id=first_id, at=noon.astimezone(UTC))
        day += timedelta(days=1)
    end = datetime(2027, 1, 15, 12, tzinfo=DETROIT)
    with database.transaction() as session:
        events = [
            (row.message["payload"]["report_id"], row.message["payload"]["days"])
            for row in session.scalars(select(OutboxEvent).where(OutboxEvent.type.like("report.%")))
        ]
        due_by_end = session.execute(
            select(ReportReminder.report_id, ReportReminder.days).where(
                ReportReminder.due_at <= end
            )
        ).all()
        skipped = session.scalars(
            select(ReportReminder).where(
                ReportReminder.sent_at.is_not(None), ReportReminder.skipped
            )
        ).all()
    assert len(events) == len(set(events)) == sum(totals.values())
    assert [days for report_id, days in events if report_id == str(first_id)] == [-14]
    expected = {
        (str(report_id), days)
        for report_id, days in due_by_end
        if report_id != first_id or days == -14
    }
    assert set(events) == expected
    assert skipped == []  # daily scans never fall behind


def test_scan_prints_the_counts_and_a_second_run_for_the_same_instant_emits_nothing(
    clean_databases, redis_client
):
    sign()
    with database.transaction() as session:
        due = session.scalars(select(Report.due_date).order_by(Report.due_date)).first()
    moment = datetime(due.year, due.month, due.day, 10, tzinfo=DETROIT)
    assert scan(moment) == (0, "due_soon: 0, due: 1, overdue: 0, escalated: 0\n")
    assert scan(moment) == (0, "due_soon: 0, due: 0, overdue: 0, escalated: 0\n")
    assert [name for name, _ in queued_tasks(redis_client, "reporting")] == []  # no consumer yet


@pytest.mark.parametrize("bad", ["yesterday", "2026-13-01T00:00:00Z", "2026-03-01T09:00:00"])
def test_scan_refuses_a_bad_instant_without_a_traceback(clean_databases, bad):
    code, output = scan(bad)
    assert code == 2
    assert "--now" in output
    assert "Traceback" not in output
    with database.transaction() as session:
        assert session.scalars(select(OutboxEvent)).all() == []


@pytest.mark.e2e
def test_the_real_beat_sends_the_deadline_sweep(tmp_path, clean_databases, redis_client):
    env = {**os.environ, "OUTBOX_RELAY_SECONDS": "1", "BEAT_LEADER_SECONDS": "3"}
    beat = start_beat(env=env, schedule=tmp_path / "schedule", log_path=tmp_path / "beat.log")
    try:
        wait_until(
            lambda: (
                "reporting.sweep_deadlines"
                in {name for name, _ in queued_tasks(redis_client, "reporting")}
            ),
            timeout=20,
            what="reporting.sweep_deadlines in the reporting queue",
        )
    finally:
        beat.send_signal(signal.SIGTERM)
        beat.wait(15)
    import services.reporting.tasks

    # What the beat queued runs as the worker runs it.
    assert services.reporting.tasks.sweep_deadlines() == {
        "due_soon": 0,
        "due": 0,
        "overdue": 0,
        "escalated": 0,
    }


PASSWORD = "correct horse battery staple"


# -- the operator's command -------------------------------------------------------------------


@pytest.mark.usefixtures("clean_databases")
def test_create_coordinator_makes_the_first_coordinator_once():
    runner = CliRunner()
    result = runner.invoke(
        alliance,
        ["create-coordinator", "--email", "Cora@Agency.Example", "--name", "Cora Coordinator"],
        env={"ALLIANCE_PASSWORD": PASSWORD},
    )
    assert result.exit_code == 0, result.output
    assert "created Coordinator cora@agency.example" in result.output
    with review_database.transaction() as session:
        cora = accounts.authenticate(
            session, email="cora@agency.example", password=PASSWORD, settings=load_settings()
        )
        assert cora is not None
        assert cora.roles == ["coordinator"]

    again = runner.invoke(
        alliance,
        ["create-coordinator", "--email", "cora@agency.example", "--name", "Cora Again"],
        env={"ALLIANCE_PASSWORD": PASSWORD},
    )
    assert again.exit_code == 1
    assert "There is already a staff account with this e-mail address." in again.output


@pytest.mark.usefixtures("clean_databases")
def test_create_coordinator_of_an_office_and_refuses_an_office_the_agency_has_not(monkeypatch):
    monkeypatch.setenv("AGENCY_PROFILE", "federal")
    runner = CliRunner()
    result = runner.invoke(
        alliance,
        [
            "create-coordinator",
            "--email",
            "rex@agency.example",
            "--name",
            "Rex",
            "--office",
            "region_5",
        ],
        env={"ALLIANCE_PASSWORD": PASSWORD},
    )
    assert result.exit_code == 0, result.output
    unknown = runner.invoke(
        alliance,
        [
            "create-coordinator",
            "--email",
            "x@agency.example",
            "--name",
            "X",
            "--office",
            "region_11",
        ],
        env={"ALLIANCE_PASSWORD": PASSWORD},
    )
    assert unknown.exit_code == 1
    assert "'region_11' is not one of the agency's offices" in unknown.output
    with review_database.transaction() as session:
        offices = {u.email: u.office for u in accounts.list_staff(session)}
    assert offices == {"rex@agency.example": "region_5"}


@pytest.mark.usefixtures("clean_databases")
def test_create_coordinator_asks_for_the_password_twice_and_refuses_a_weak_one():
    runner = CliRunner()
    weak = runner.invoke(
        alliance,
        ["create-coordinator", "--email", "cora@agency.example", "--name", "Cora"],
        input="short\nshort\n",
        env={"ALLIANCE_PASSWORD": ""},
    )
    assert weak.exit_code == 1
    assert "Use at least 12 characters" in weak.output
    assert "short" not in weak.output  # hidden input is not echoed
    asked = runner.invoke(
        alliance,
        ["create-coordinator", "--email", "cora@agency.example", "--name", "Cora"],
        input=f"{PASSWORD}\n{PASSWORD}\n",
        env={"ALLIANCE_PASSWORD": ""},
    )
    assert asked.exit_code == 0, asked.output
    assert "Repeat for confirmation" in asked.output
    assert PASSWORD not in asked.output
