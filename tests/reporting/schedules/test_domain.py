"""The report schedule rules: pure, no database, no app.

Every expected date and instant below was worked out by hand from SPEC "Report schedule: the
rules" (a quarterly report is due 30 days after its last day, an annual one 60 days after;
reminders at 9:00 in America/Detroit). 2026: daylight-saving time starts Sunday 8 March and
ends Sunday 1 November; 9:00 EST is 14:00 UTC and 9:00 EDT is 13:00 UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.reporting.schedules.domain import (
    Reminder,
    ReportPeriod,
    ScheduleRules,
    ambassador_cut,
    cut_at,
    end_of_day,
    reminders_for,
    reports_for_term,
    revision_due_date,
    rules_from_settings,
)
from shared.config import ConfigurationError, read_settings

pytestmark = pytest.mark.unit

DETROIT = ZoneInfo("America/Detroit")
STATE_PLAN = ScheduleRules(timezone=DETROIT, quarterly=True)
FEDERAL = ScheduleRules(timezone=DETROIT, quarterly=False, fiscal_year_start_month=10)


def q(start: date, end: date, due: date, term: int = 0) -> ReportPeriod:
    return ReportPeriod("quarterly", term, start, end, due)


def a(start: date, end: date, due: date, term: int = 0) -> ReportPeriod:
    return ReportPeriod("annual", term, start, end, due)


def utc(year: int, month: int, day: int, hour: int) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


# -- signed in the week daylight-saving time starts (Monday 9 March 2026) ---------------------

MARCH_ANNUALS = [
    # 8 March + 60 days: 23 days to 31 March, 30 in April, 7 May.
    a(date(2026, 3, 9), date(2027, 3, 8), date(2027, 5, 7)),
    a(date(2027, 3, 9), date(2028, 3, 8), date(2028, 5, 7)),
]


def test_a_state_plan_term_signed_in_a_daylight_saving_week():
    schedule = reports_for_term(
        term=0, signing_date=date(2026, 3, 9), ends_on=date(2028, 3, 8), rules=STATE_PLAN
    )
    assert schedule == [
        q(date(2026, 3, 9), date(2026, 3, 31), date(2026, 4, 30)),  # the first starts signed
        q(date(2026, 4, 1), date(2026, 6, 30), date(2026, 7, 30)),
        q(date(2026, 7, 1), date(2026, 9, 30), date(2026, 10, 30)),
        q(date(2026, 10, 1), date(2026, 12, 31), date(2027, 1, 30)),
        MARCH_ANNUALS[0],
        q(date(2027, 1, 1), date(2027, 3, 31), date(2027, 4, 30)),
        q(date(2027, 4, 1), date(2027, 6, 30), date(2027, 7, 30)),
        q(date(2027, 7, 1), date(2027, 9, 30), date(2027, 10, 30)),
        q(date(2027, 10, 1), date(2027, 12, 31), date(2028, 1, 30)),
        q(date(2028, 1, 1), date(2028, 3, 8), date(2028, 4, 7)),  # the last ends with the term
        MARCH_ANNUALS[1],
    ]


def test_a_federal_term_has_annual_reports_only():
    schedule = reports_for_term(
        term=0, signing_date=date(2026, 3, 9), ends_on=date(2028, 3, 8), rules=FEDERAL
    )
    assert schedule == MARCH_ANNUALS


def test_reminders_on_either_side_of_the_spring_change():
    # Due Wednesday 11 March 2026; the 3-days-before reminder falls on the change day itself.
    assert reminders_for(date(2026, 3, 11), STATE_PLAN) == [
        Reminder("due_soon", -14, utc(2026, 2, 25, 14)),  # EST
        Reminder("due_soon", -3, utc(2026, 3, 8, 13)),  # 9:00 EDT, hours after the change
        Reminder("due", 0, utc(2026, 3, 11, 13)),
        Reminder("overdue", 1, utc(2026, 3, 12, 13)),
        Reminder("overdue", 14, utc(2026, 3, 25, 13)),
        Reminder("escalated", 30, utc(2026, 4, 10, 13)),
    ]


def test_reminders_on_either_side_of_the_autumn_change():
    # The third quarter of 2026 is due Friday 30 October, two days before the change.
    assert reminders_for(date(2026, 10, 30), STATE_PLAN) == [
        Reminder("due_soon", -14, utc(2026, 10, 16, 13)),  # EDT
        Reminder("due_soon", -3, utc(2026, 10, 27, 13)),
        Reminder("due", 0, utc(2026, 10, 30, 13)),
        Reminder("overdue", 1, utc(2026, 10, 31, 13)),
        Reminder("overdue", 14, utc(2026, 11, 13, 14)),  # EST
        Reminder("escalated", 30, utc(2026, 11, 29, 14)),
    ]


def test_a_reminder_on_the_fall_back_day_is_at_nine_standard_time():
    due = {r.kind: r.due_at for r in reminders_for(date(2026, 11, 1), STATE_PLAN)}
    assert due["due"] == utc(2026, 11, 1, 14)
    assert due["due"].astimezone(DETROIT).hour == 9
    assert due["due"].tzinfo is UTC


def test_the_reminder_hour_and_days_are_configuration():
    rules = ScheduleRules(
        timezone=DETROIT, quarterly=True, reminder_hour=16, reminder_days=(("due", 0),)
    )
    assert reminders_for(date(2026, 7, 30), rules) == [
        Reminder("due", 0, utc(2026, 7, 30, 20))  # 16:00 EDT
    ]


# -- the end of a due date in the agency's zone -----------------------------------------------


@pytest.mark.parametrize(
    ("day", "ends_at"),
    [
        (date(2026, 1, 15), utc(2026, 1, 16, 5)),  # midnight EST
        (date(2026, 3, 7), utc(2026, 3, 8, 5)),  # the day before the spring change
        (date(2026, 3, 8), utc(2026, 3, 9, 4)),  # the change day, 23 hours: midnight EDT
        (date(2026, 10, 31), utc(2026, 11, 1, 4)),
        (date(2026, 11, 1), utc(2026, 11, 2, 5)),  # the fall-back day, 25 hours
        (date(2026, 12, 31), utc(2027, 1, 1, 5)),
    ],
)
def test_a_due_date_ends_at_midnight_agency_time(day, ends_at):
    assert end_of_day(day, STATE_PLAN) == ends_at


def test_the_change_days_are_23_and_25_hours_long():
    spring = end_of_day(date(2026, 3, 8), STATE_PLAN) - end_of_day(date(2026, 3, 7), STATE_PLAN)
    autumn = end_of_day(date(2026, 11, 1), STATE_PLAN) - end_of_day(date(2026, 10, 31), STATE_PLAN)
    assert (spring, autumn) == (timedelta(hours=23), timedelta(hours=25))


# -- signed on 31 August ----------------------------------------------------------------------

AUGUST_ANNUALS = [
    # 30 August + 60 days: 1 to 31 August, 30 in September, 29 October.
    a(date(2026, 8, 31), date(2027, 8, 30), date(2027, 10, 29)),
    a(date(2027, 8, 31), date(2028, 8, 30), date(2028, 10, 29)),
]


def test_a_state_plan_term_signed_on_31_august():
    schedule = reports_for_term(
        term=0, signing_date=date(2026, 8, 31), ends_on=date(2028, 8, 30), rules=STATE_PLAN
    )
    assert schedule == [
        q(date(2026, 8, 31), date(2026, 9, 30), date(2026, 10, 30)),
        q(date(2026, 10, 1), date(2026, 12, 31), date(2027, 1, 30)),
        q(date(2027, 1, 1), date(2027, 3, 31), date(2027, 4, 30)),
        q(date(2027, 4, 1), date(2027, 6, 30), date(2027, 7, 30)),
        AUGUST_ANNUALS[0],
        q(date(2027, 7, 1), date(2027, 9, 30), date(2027, 10, 30)),
        q(date(2027, 10, 1), date(2027, 12, 31), date(2028, 1, 30)),
        q(date(2028, 1, 1), date(2028, 3, 31), date(2028, 4, 30)),
        q(date(2028, 4, 1), date(2028, 6, 30), date(2028, 7, 30)),
        q(date(2028, 7, 1), date(2028, 8, 30), date(2028, 9, 29)),  # 1 in Aug + 29 in Sep
        AUGUST_ANNUALS[1],
    ]


def test_a_federal_term_signed_on_31_august():
    schedule = reports_for_term(
        term=0, signing_date=date(2026, 8, 31), ends_on=date(2028, 8, 30), rules=FEDERAL
    )
    assert schedule == AUGUST_ANNUALS


def test_annual_years_never_drift_from_a_month_end():
    # Five years from 31 August 2026: every year starts on 31 August and ends on 30 August.
    schedule = reports_for_term(
        term=0, signing_date=date(2026, 8, 31), ends_on=date(2031, 8, 30), rules=FEDERAL
    )
    assert [(p.period_start, p.period_end, p.due_date) for p in schedule] == [
        (date(2026, 8, 31), date(2027, 8, 30), date(2027, 10, 29)),
        (date(2027, 8, 31), date(2028, 8, 30), date(2028, 10, 29)),
        (date(2028, 8, 31), date(2029, 8, 30), date(2029, 10, 29)),
        (date(2029, 8, 31), date(2030, 8, 30), date(2030, 10, 29)),
        (date(2030, 8, 31), date(2031, 8, 30), date(2031, 10, 29)),
    ]


def test_quarters_follow_the_fiscal_year():
    # Quarters of a year starting in October are the calendar ones; a year starting in
    # November has August-October, November-January, February-April, May-July.
    october = ScheduleRules(
        timezone=DETROIT, quarterly=True, annual=False, fiscal_year_start_month=10
    )
    november = ScheduleRules(
        timezone=DETROIT, quarterly=True, annual=False, fiscal_year_start_month=11
    )
    signed, ends = date(2026, 8, 31), date(2027, 8, 30)
    assert reports_for_term(term=0, signing_date=signed, ends_on=ends, rules=october) == [
        q(date(2026, 8, 31), date(2026, 9, 30), date(2026, 10, 30)),
        q(date(2026, 10, 1), date(2026, 12, 31), date(2027, 1, 30)),
        q(date(2027, 1, 1), date(2027, 3, 31), date(2027, 4, 30)),
        q(date(2027, 4, 1), date(2027, 6, 30), date(2027, 7, 30)),
        q(date(2027, 7, 1), date(2027, 8, 30), date(2027, 9, 29)),
    ]
    assert reports_for_term(term=0, signing_date=signed, ends_on=ends, rules=november) == [
        q(date(2026, 8, 31), date(2026, 10, 31), date(2026, 11, 30)),
        q(date(2026, 11, 1), date(2027, 1, 31), date(2027, 3, 2)),  # 28 days in Feb 2027
        q(date(2027, 2, 1), date(2027, 4, 30), date(2027, 5, 30)),
        q(date(2027, 5, 1), date(2027, 7, 31), date(2027, 8, 30)),
        q(date(2027, 8, 1), date(2027, 8, 30), date(2027, 9, 29)),
    ]


# -- signed on 29 February --------------------------------------------------------------------

LEAP_ANNUALS = [
    # 29 February 2028 plus a year is 28 February 2029: the first year ends the day before.
    # 27 February + 60 days: 1 to 28 February, 31 in March, 28 April.
    a(date(2028, 2, 29), date(2029, 2, 27), date(2029, 4, 28)),
    a(date(2029, 2, 28), date(2030, 2, 27), date(2030, 4, 28)),
]


def test_a_state_plan_term_signed_on_29_february():
    schedule = reports_for_term(
        term=0, signing_date=date(2028, 2, 29), ends_on=date(2030, 2, 27), rules=STATE_PLAN
    )
    assert schedule == [
        q(date(2028, 2, 29), date(2028, 3, 31), date(2028, 4, 30)),
        q(date(2028, 4, 1), date(2028, 6, 30), date(2028, 7, 30)),
        q(date(2028, 7, 1), date(2028, 9, 30), date(2028, 10, 30)),
        q(date(2028, 10, 1), date(2028, 12, 31), date(2029, 1, 30)),
        LEAP_ANNUALS[0],
        q(date(2029, 1, 1), date(2029, 3, 31), date(2029, 4, 30)),
        q(date(2029, 4, 1), date(2029, 6, 30), date(2029, 7, 30)),
        q(date(2029, 7, 1), date(2029, 9, 30), date(2029, 10, 30)),
        q(date(2029, 10, 1), date(2029, 12, 31), date(2030, 1, 30)),
        q(date(2030, 1, 1), date(2030, 2, 27), date(2030, 3, 29)),  # 1 in Feb + 29 in March
        LEAP_ANNUALS[1],
    ]


def test_a_federal_term_signed_on_29_february():
    schedule = reports_for_term(
        term=0, signing_date=date(2028, 2, 29), ends_on=date(2030, 2, 27), rules=FEDERAL
    )
    assert schedule == LEAP_ANNUALS


def test_29_february_comes_back_in_the_next_leap_year():
    # Each year counts from the signing date, not from the year before: 2032 starts on the
    # 29th again.
    schedule = reports_for_term(
        term=0, signing_date=date(2028, 2, 29), ends_on=date(2033, 2, 27), rules=FEDERAL
    )
    assert [(p.period_start, p.period_end) for p in schedule] == [
        (date(2028, 2, 29), date(2029, 2, 27)),
        (date(2029, 2, 28), date(2030, 2, 27)),
        (date(2030, 2, 28), date(2031, 2, 27)),
        (date(2031, 2, 28), date(2032, 2, 28)),
        (date(2032, 2, 29), date(2033, 2, 27)),
    ]


# -- renewals ---------------------------------------------------------------------------------


def test_a_renewal_has_its_own_schedule_from_its_own_signing_date():
    # The initial term (9 March 2026 to 8 March 2028) is renewed for four years on
    # 20 February 2028: the renewal counts from that day, not from the first term's dates.
    schedule = reports_for_term(
        term=1, signing_date=date(2028, 2, 20), ends_on=date(2032, 2, 19), rules=FEDERAL
    )
    assert schedule == [
        a(date(2028, 2, 20), date(2029, 2, 19), date(2029, 4, 20), term=1),
        a(date(2029, 2, 20), date(2030, 2, 19), date(2030, 4, 20), term=1),
        a(date(2030, 2, 20), date(2031, 2, 19), date(2031, 4, 20), term=1),
        a(date(2031, 2, 20), date(2032, 2, 19), date(2032, 4, 19), term=1),  # 29 Feb 2032
    ]


def test_a_renewal_starts_its_quarters_on_its_signing_date():
    schedule = reports_for_term(
        term=2, signing_date=date(2028, 5, 15), ends_on=date(2029, 5, 14), rules=STATE_PLAN
    )
    assert schedule == [
        q(date(2028, 5, 15), date(2028, 6, 30), date(2028, 7, 30), term=2),
        q(date(2028, 7, 1), date(2028, 9, 30), date(2028, 10, 30), term=2),
        q(date(2028, 10, 1), date(2028, 12, 31), date(2029, 1, 30), term=2),
        q(date(2029, 1, 1), date(2029, 3, 31), date(2029, 4, 30), term=2),
        q(date(2029, 4, 1), date(2029, 5, 14), date(2029, 6, 13), term=2),  # 17 + 13
        # 14 May + 60 days: 17 to 31 May, 30 in June, 13 July.
        a(date(2028, 5, 15), date(2029, 5, 14), date(2029, 7, 13), term=2),
    ]


@pytest.mark.parametrize(
    ("term", "signed", "ends"),
    [(-1, date(2026, 3, 9), date(2028, 3, 8)), (0, date(2026, 3, 9), date(2026, 3, 8))],
)
def test_a_term_that_cannot_be_is_refused(term, signed, ends):
    with pytest.raises(ValueError, match="term"):
        reports_for_term(term=term, signing_date=signed, ends_on=ends, rules=STATE_PLAN)


# -- conclusion, termination, Ambassadors -----------------------------------------------------


def march_term() -> list[ReportPeriod]:
    return reports_for_term(
        term=0, signing_date=date(2026, 3, 9), ends_on=date(2028, 3, 8), rules=STATE_PLAN
    )


def test_termination_mid_quarter_ends_the_periods_holding_it():
    kept, cancelled = cut_at(march_term(), effective_on=date(2026, 8, 15), rules=STATE_PLAN)
    assert kept == [
        q(date(2026, 3, 9), date(2026, 3, 31), date(2026, 4, 30)),
        q(date(2026, 4, 1), date(2026, 6, 30), date(2026, 7, 30)),
        q(date(2026, 7, 1), date(2026, 8, 15), date(2026, 9, 14)),  # 16 in Aug + 14 in Sep
        # 15 August + 60 days: 16 to 31 August, 30 in September, 14 October.
        a(date(2026, 3, 9), date(2026, 8, 15), date(2026, 10, 14)),
    ]
    assert cancelled == [
        q(date(2026, 10, 1), date(2026, 12, 31), date(2027, 1, 30)),
        q(date(2027, 1, 1), date(2027, 3, 31), date(2027, 4, 30)),
        q(date(2027, 4, 1), date(2027, 6, 30), date(2027, 7, 30)),
        q(date(2027, 7, 1), date(2027, 9, 30), date(2027, 10, 30)),
        q(date(2027, 10, 1), date(2027, 12, 31), date(2028, 1, 30)),
        q(date(2028, 1, 1), date(2028, 3, 8), date(2028, 4, 7)),
        MARCH_ANNUALS[1],
    ]


def test_a_conclusion_on_a_quarters_last_day_keeps_that_quarter_whole():
    kept, cancelled = cut_at(march_term(), effective_on=date(2026, 6, 30), rules=STATE_PLAN)
    assert kept == [
        q(date(2026, 3, 9), date(2026, 3, 31), date(2026, 4, 30)),
        q(date(2026, 4, 1), date(2026, 6, 30), date(2026, 7, 30)),
        a(date(2026, 3, 9), date(2026, 6, 30), date(2026, 8, 29)),  # 31 in July + 29 in Aug
    ]
    assert len(cancelled) == 8  # 11 reports, 3 kept
    assert min(p.period_start for p in cancelled) == date(2026, 7, 1)


def test_a_cut_after_the_term_keeps_everything():
    kept, cancelled = cut_at(march_term(), effective_on=date(2028, 6, 1), rules=STATE_PLAN)
    assert (kept, cancelled) == (march_term(), [])


def test_an_ambassador_owes_no_report_starting_on_or_after_the_designation():
    kept, cancelled = ambassador_cut(march_term(), designated_on=date(2027, 1, 1))
    assert kept == [
        q(date(2026, 3, 9), date(2026, 3, 31), date(2026, 4, 30)),
        q(date(2026, 4, 1), date(2026, 6, 30), date(2026, 7, 30)),
        q(date(2026, 7, 1), date(2026, 9, 30), date(2026, 10, 30)),
        q(date(2026, 10, 1), date(2026, 12, 31), date(2027, 1, 30)),
        MARCH_ANNUALS[0],  # started before the designation: still owed, unchanged
    ]
    assert [p.period_start for p in cancelled] == [
        date(2027, 1, 1),  # starts on the designation day
        date(2027, 4, 1),
        date(2027, 7, 1),
        date(2027, 10, 1),
        date(2028, 1, 1),
        date(2027, 3, 9),
    ]


def test_a_revision_request_gives_a_new_due_date_14_days_later():
    assert revision_due_date(date(2026, 12, 20), STATE_PLAN) == date(2027, 1, 3)


def test_a_revision_request_never_brings_the_due_date_forward():
    requested = date(2026, 12, 6)
    kept = revision_due_date(requested, STATE_PLAN, current_due=date(2027, 1, 30))
    assert kept == date(2027, 1, 30)
    later = revision_due_date(requested, STATE_PLAN, current_due=date(2026, 12, 10))
    assert later == date(2026, 12, 20)


# -- the rules from the settings --------------------------------------------------------------


def test_the_state_plan_profile_reports_quarterly_on_calendar_quarters():
    reporting = read_settings({}).reporting
    assert (reporting.quarterly, reporting.fiscal_year_start_month) == (True, 1)
    assert (reporting.quarterly_due_days, reporting.annual_due_days) == (30, 60)
    assert reporting.reminder_days == (
        ("due_soon", -14),
        ("due_soon", -3),
        ("due", 0),
        ("overdue", 1),
        ("overdue", 14),
        ("escalated", 30),
    )
    assert (reporting.reminder_hour, reporting.revision_days) == (9, 14)


def test_the_federal_profile_has_no_quarterlies_and_an_october_fiscal_year():
    reporting = read_settings({"AGENCY_PROFILE": "federal"}).reporting
    assert (reporting.quarterly, reporting.fiscal_year_start_month, reporting.annual) == (
        False,
        10,
        True,
    )
    chosen = read_settings(
        {
            "AGENCY_PROFILE": "federal",
            "REPORT_QUARTERLY": "yes",
            "REPORT_FISCAL_YEAR_START_MONTH": "7",
        }
    ).reporting
    assert (chosen.quarterly, chosen.fiscal_year_start_month) == (True, 7)


def test_rules_from_settings(monkeypatch):
    monkeypatch.setenv("AGENCY_PROFILE", "federal")
    monkeypatch.setenv("AGENCY_TIMEZONE", "America/Chicago")
    monkeypatch.setenv("REPORT_REMINDER_DAYS", "due_soon:-7,due:0,escalated:21")
    monkeypatch.setenv("REPORT_REMINDER_HOUR", "8")
    monkeypatch.setenv("REPORT_ANNUAL_DUE_DAYS", "45")
    monkeypatch.setenv("REPORT_REVISION_DAYS", "10")
    assert rules_from_settings() == ScheduleRules(
        timezone=ZoneInfo("America/Chicago"),
        quarterly=False,
        fiscal_year_start_month=10,
        annual_due_days=45,
        reminder_days=(("due_soon", -7), ("due", 0), ("escalated", 21)),
        reminder_hour=8,
        revision_days=10,
    )


@pytest.mark.parametrize(
    ("variable", "value", "why"),
    [
        ("REPORT_REMINDER_DAYS", "soon:-3", "'soon:-3' is not kind:days"),
        ("REPORT_REMINDER_DAYS", "due:zero", "'zero' is not a whole number"),
        ("REPORT_REMINDER_DAYS", "due:0,due_soon:-3", "the days must rise"),
        ("REPORT_REMINDER_HOUR", "24", "from 0 to 23"),
        ("REPORT_FISCAL_YEAR_START_MONTH", "13", "from 1 to 12"),
        ("REPORT_QUARTERLY", "sometimes", "true or false"),
    ],
)
def test_a_bad_schedule_setting_is_refused(variable, value, why):
    with pytest.raises(ConfigurationError, match=variable) as refused:
        read_settings({variable: value})
    assert why in str(refused.value)
