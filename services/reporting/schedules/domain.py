"""The report schedule rules (SPEC "Report schedule: the rules"), as pure functions.

Every term (the initial one, each renewal) has its own schedule, computed from that term's
own signing date and end date: a date is never chained from an earlier due date, so month
ends and 29 February never drift.

- Annual reports: one per agreement year. Year n runs from ``signing_date`` plus n years to
  the day before ``signing_date`` plus n + 1 years (29 February plus a year is 28 February);
  the last one ends on the term's end date. Due ``annual_due_days`` after its last day.
- Quarterly reports (state-plan profile): one per fiscal quarter that overlaps the term
  (calendar quarters when the fiscal year starts in January); the first starts on the
  signing date, the last ends on the term's end date. Due ``quarterly_due_days`` after its
  last day.
- A report is on time if submitted before ``end_of_day(due_date)``: the end of its due date
  in the agency's time zone.
- Reminders go out on their day at ``reminder_hour`` in the agency's time zone; their
  instants are UTC, right on both sides of a daylight-saving change.

Nothing here reads a database or the clock; ``rules_from_settings`` alone reads the settings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from shared.config import REMINDER_KINDS, load_settings
from shared.dates import add_years

QUARTERLY = "quarterly"
ANNUAL = "annual"
KINDS = (QUARTERLY, ANNUAL)

DEFAULT_REMINDER_DAYS: tuple[tuple[str, int], ...] = (
    ("due_soon", -14),
    ("due_soon", -3),
    ("due", 0),
    ("overdue", 1),
    ("overdue", 14),
    ("escalated", 30),
)

__all__ = [
    "ANNUAL",
    "DEFAULT_REMINDER_DAYS",
    "KINDS",
    "QUARTERLY",
    "REMINDER_KINDS",
    "Reminder",
    "ReportPeriod",
    "ScheduleRules",
    "ambassador_cut",
    "cut_at",
    "due_date_for",
    "end_of_day",
    "reminders_for",
    "reports_for_term",
    "revision_due_date",
    "rules_from_settings",
]


@dataclass(frozen=True)
class ScheduleRules:
    """Every number of the schedule: configuration (shared/config/reporting.py)."""

    timezone: ZoneInfo  # the agency's (AGENCY_TIMEZONE)
    quarterly: bool  # state_plan profile: True; federal: False
    annual: bool = True
    quarterly_due_days: int = 30
    annual_due_days: int = 60
    fiscal_year_start_month: int = 1  # quarters follow it (federal: 10 = October)
    reminder_days: tuple[tuple[str, int], ...] = DEFAULT_REMINDER_DAYS
    reminder_hour: int = 9  # local time in `timezone`
    revision_days: int = 14  # a revision request's new due date: request day + 14

    def __post_init__(self) -> None:
        if not 1 <= self.fiscal_year_start_month <= 12:
            raise ValueError(f"fiscal_year_start_month {self.fiscal_year_start_month}: 1 to 12")
        if not 0 <= self.reminder_hour <= 23:
            raise ValueError(f"reminder_hour {self.reminder_hour}: 0 to 23")
        for kind, _days in self.reminder_days:
            if kind not in REMINDER_KINDS:
                raise ValueError(f"reminder kind {kind!r}: one of {', '.join(REMINDER_KINDS)}")


def rules_from_settings() -> ScheduleRules:
    """This deployment's rules: the ``REPORT_*`` settings (whose defaults follow
    ``AGENCY_PROFILE``) and ``AGENCY_TIMEZONE``."""
    settings = load_settings()
    reporting = settings.reporting
    return ScheduleRules(
        timezone=settings.agency_timezone,
        quarterly=reporting.quarterly,
        annual=reporting.annual,
        quarterly_due_days=reporting.quarterly_due_days,
        annual_due_days=reporting.annual_due_days,
        fiscal_year_start_month=reporting.fiscal_year_start_month,
        reminder_days=reporting.reminder_days,
        reminder_hour=reporting.reminder_hour,
        revision_days=reporting.revision_days,
    )


@dataclass(frozen=True)
class ReportPeriod:
    """One report a term owes. ``(kind, term, period_start)`` names it: cutting a schedule
    short (``cut_at``) may move its end and due date, never its start."""

    kind: str  # "quarterly" | "annual"
    term: int  # 0 initial term, 1, 2 ... renewals
    period_start: date
    period_end: date
    due_date: date


@dataclass(frozen=True)
class Reminder:
    kind: str  # "due_soon" | "due" | "overdue" | "escalated"
    days: int  # offset from the due date
    due_at: datetime  # aware, UTC: the reminder's day at reminder_hour in the agency's zone


def due_date_for(kind: str, period_end: date, rules: ScheduleRules) -> date:
    """A ``kind`` report's due date, from its period's last day."""
    if kind == QUARTERLY:
        return period_end + timedelta(days=rules.quarterly_due_days)
    if kind == ANNUAL:
        return period_end + timedelta(days=rules.annual_due_days)
    raise ValueError(f"report kind {kind!r}: one of {', '.join(KINDS)}")


def revision_due_date(
    requested_on: date, rules: ScheduleRules, *, current_due: date | None = None
) -> date:
    """The new due date a revision request gives a report: the later of its current due
    date and ``revision_days`` after the request's day (in the agency's time zone). A
    revision never brings a due date forward; the liaison may choose a later one
    (reviews/domain.py ``request_revision``)."""
    earliest = requested_on + timedelta(days=rules.revision_days)
    return max(earliest, current_due) if current_due is not None else earliest


def _annual_periods(signing_date: date, ends_on: date) -> list[tuple[date, date]]:
    periods = []
    year = 0
    while (start := add_years(signing_date, year)) <= ends_on:
        end = add_years(signing_date, year + 1) - timedelta(days=1)
        periods.append((start, min(end, ends_on)))
        year += 1
    return periods


def _quarter_end(day: date, fiscal_year_start_month: int) -> date:
    """The last day of the fiscal quarter holding ``day``."""
    into_year = (day.month - fiscal_year_start_month) % 12  # months since the year began
    months_left = 3 - into_year % 3  # to the first month of the next quarter
    month = day.month + months_left
    next_quarter = date(day.year + (month - 1) // 12, (month - 1) % 12 + 1, 1)
    return next_quarter - timedelta(days=1)


def _quarterly_periods(
    signing_date: date, ends_on: date, fiscal_year_start_month: int
) -> list[tuple[date, date]]:
    periods = []
    start = signing_date
    while start <= ends_on:
        end = _quarter_end(start, fiscal_year_start_month)
        periods.append((start, min(end, ends_on)))
        start = end + timedelta(days=1)
    return periods


def reports_for_term(
    *, term: int, signing_date: date, ends_on: date, rules: ScheduleRules
) -> list[ReportPeriod]:
    """Every report the term signed on ``signing_date`` and ending on ``ends_on`` (its last
    day) owes, ordered by period end, quarterly before annual on the same day."""
    if term < 0:
        raise ValueError(f"term {term}: 0 (the initial term) or more")
    if ends_on < signing_date:
        raise ValueError(f"the term ends ({ends_on}) before it is signed ({signing_date})")
    spans: list[tuple[str, date, date]] = []
    if rules.quarterly:
        quarters = _quarterly_periods(signing_date, ends_on, rules.fiscal_year_start_month)
        spans += [(QUARTERLY, start, end) for start, end in quarters]
    if rules.annual:
        spans += [(ANNUAL, start, end) for start, end in _annual_periods(signing_date, ends_on)]
    spans.sort(key=lambda span: (span[2], KINDS.index(span[0]), span[1]))
    return [
        ReportPeriod(kind, term, start, end, due_date_for(kind, end, rules))
        for kind, start, end in spans
    ]


def _local(day: date, hour: int, rules: ScheduleRules) -> datetime:
    """``day`` at ``hour`` o'clock in the agency's zone, as a UTC instant. An hour a
    daylight-saving change skips counts with the offset before the change."""
    return datetime.combine(day, time(hour), tzinfo=rules.timezone).astimezone(UTC)


def reminders_for(due_date: date, rules: ScheduleRules) -> list[Reminder]:
    """A report's reminders for ``due_date``, earliest first, each on its day at
    ``reminder_hour`` in the agency's time zone."""
    return sorted(
        (
            Reminder(
                kind, days, _local(due_date + timedelta(days=days), rules.reminder_hour, rules)
            )
            for kind, days in rules.reminder_days
        ),
        key=lambda reminder: reminder.due_at,
    )


def end_of_day(day: date, rules: ScheduleRules) -> datetime:
    """The UTC instant ``day`` ends in the agency's time zone (its next day's first
    moment): a report submitted before it is on time."""
    return _local(day + timedelta(days=1), 0, rules)


def cut_at(
    periods: Sequence[ReportPeriod], *, effective_on: date, rules: ScheduleRules
) -> tuple[list[ReportPeriod], list[ReportPeriod]]:
    """Conclusion or termination effective on ``effective_on``: ``(kept, cancelled)``.

    A period that contains the date ends on it (a final report, due from its new end);
    periods starting after it are cancelled (returned as they were); earlier ones stay."""
    kept: list[ReportPeriod] = []
    cancelled: list[ReportPeriod] = []
    for period in periods:
        if period.period_start > effective_on:
            cancelled.append(period)
        elif period.period_end > effective_on:
            due = due_date_for(period.kind, effective_on, rules)
            kept.append(replace(period, period_end=effective_on, due_date=due))
        else:
            kept.append(period)
    return kept, cancelled


def ambassador_cut(
    periods: Sequence[ReportPeriod], *, designated_on: date
) -> tuple[list[ReportPeriod], list[ReportPeriod]]:
    """An Ambassador designated on ``designated_on``: ``(kept, cancelled)``; it owes no
    report whose period starts on or after that date, and every earlier one unchanged."""
    kept = [period for period in periods if period.period_start < designated_on]
    cancelled = [period for period in periods if period.period_start >= designated_on]
    return kept, cancelled
