"""Reporting's reports: schedules stored from the alliance's events, cut short, the deadline
sweep sending each reminder at most once (catch-up, races, submission), and the staff API."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest
from sqlalchemy import func, select

from services.reporting.models import Alliance, RejectedEvent, Report, ReportReminder
from services.reporting.schedules.domain import reports_for_term, rules_from_settings
from services.reporting.worker import database
from tests.reporting.factories import run_reporting_task
from tests.review.factories import alliance_change_event, alliance_signed_event

pytestmark = pytest.mark.integration
SIGNED = date(2026, 1, 15)
ENDS = date(2028, 1, 14)


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
