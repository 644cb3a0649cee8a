"""What the partner does to a report: the draft, the completeness rule and each submitted
version (the partner's form, services/reporting/submissions/, is the screen on top).

- ``find_report``: the report a link names (``NotFound``).
- ``save_draft``: keeps the content, the report's status unchanged.
- ``submit``: stores an immutable version (1, then 2 after a revision request, ...), marks the
  report submitted (``reports.domain.mark_submitted``: no reminder goes out any more),
  records whether it was on time (before ``end_of_day(due_date)`` in the agency's time zone)
  and whether it was sent before its period ended (only with the partner's confirmation),
  and adds ``report.submitted`` to the outbox, all in the caller's transaction.

The goal categories a report narrates are the content's rule (content.py
``goal_categories_of``).

A report is editable while it is owed (``scheduled`` to ``overdue``) or a revision was
requested; a submitted or accepted report is read-only, a cancelled one is owed no more.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.reporting.alliances.models import Alliance
from services.reporting.people import today
from services.reporting.reports.content import goal_categories_of
from services.reporting.reports.domain import mark_submitted, report_event_fields
from services.reporting.reports.models import Report, ReportDraft, ReportReview, ReportVersion
from services.reporting.schedules.domain import ScheduleRules, end_of_day, rules_from_settings
from shared.domain import Conflict, Invalid, NotFound
from shared.events import new_event
from shared.outbox import Outbox

READ_ONLY = ("submitted", "accepted")
REQUIRED = "This field is required."

# section -> the fields a row must have on submission
ROW_REQUIRED: dict[str, tuple[str, ...]] = {
    "meetings": ("date", "topic", "attendees"),
    "dissemination": ("type", "date", "description", "emphasis_area", "number_reached"),
    "outreach": ("date", "event", "city", "state", "emphasis_area", "number_reached"),
    "staff_training": ("audience", "number_reached"),
    "products": ("title", "description"),
}


# The sections whose rows say when something happened: within the period, never ahead of today.
DATED = ("meetings", "dissemination", "outreach")
PERIOD_WORDS = {"quarterly": "quarter", "annual": "year"}
CONFIRM_EARLY = "confirm_early"


def _day(value: date) -> str:
    return f"{value:%B} {value.day}, {value.year}"


def empty_content() -> dict[str, Any]:
    return {section: [] for section in ROW_REQUIRED} | {"narratives": {}}


def find_report(session: Session, report_id: uuid.UUID) -> Report:
    report = session.get(Report, report_id)
    if report is None:
        raise NotFound("No such report.")
    return report


def content_of(session: Session, report: Report) -> dict[str, Any]:
    """What the form shows: the last saved or submitted content, or an empty report."""
    draft = session.get(ReportDraft, report.id)
    return dict(draft.content) if draft is not None else empty_content()


def versions_of(session: Session, report_id: uuid.UUID) -> list[ReportVersion]:
    return list(
        session.scalars(
            select(ReportVersion)
            .where(ReportVersion.report_id == report_id)
            .order_by(ReportVersion.number)
        )
    )


def latest_review(session: Session, report_id: uuid.UUID) -> ReportReview | None:
    """The liaison's latest review of the report (what the partner's page tells: accepted
    and when, or what a revision should change), ``None`` before any."""
    return session.scalars(
        select(ReportReview)
        .where(ReportReview.report_id == report_id)
        .order_by(ReportReview.version.desc())
        .limit(1)
    ).first()


def partner_copy(session: Session, report: Report) -> tuple[ReportVersion, list[ReportReview]]:
    """What the partner prints through its link: the latest version it submitted, with the
    reviews so far (``NotFound`` before the first submission)."""
    versions = versions_of(session, report.id)
    if not versions:
        raise NotFound("Nothing was submitted yet: submit the report to print it.")
    reviews = session.scalars(
        select(ReportReview)
        .where(ReportReview.report_id == report.id)
        .order_by(ReportReview.version)
    )
    return versions[-1], list(reviews)


def _editable(session: Session, report_id: uuid.UUID) -> Report:
    report = session.get(Report, report_id, with_for_update=True)
    if report is None:
        raise NotFound("No such report.")
    if report.status == "cancelled":
        raise Conflict("This report was cancelled; nothing is owed.")
    if report.status in READ_ONLY:
        raise Conflict("This report was already submitted.")
    return report


def _keep(session: Session, report_id: uuid.UUID, content: dict[str, Any], at: datetime) -> None:
    draft = session.get(ReportDraft, report_id)
    if draft is None:
        session.add(ReportDraft(report_id=report_id, content=content, saved_at=at))
    else:
        draft.content, draft.saved_at = content, at


def save_draft(
    session: Session, *, report_id: uuid.UUID, content: dict[str, Any], at: datetime
) -> Report:
    """Keep the content (JSON, as ``schemas.stored`` gives it); the status is unchanged."""
    report = _editable(session, report_id)
    _keep(session, report_id, content, at)
    session.flush()
    return report


def sent_early(report: Report, at: datetime, rules: ScheduleRules) -> bool:
    """Whether a report sent at ``at`` is sent before its period is over (the end of its
    last day in the agency's time zone): it can then cover only part of the period."""
    return at < end_of_day(report.period_end, rules)


def early_warning(report: Report) -> str:
    """What the form says while the report's period is still running."""
    part = PERIOD_WORDS.get(report.kind, "period")
    return (
        f"This period ends on {_day(report.period_end)}: "
        f"a report sent before then covers only part of the {part}."
    )


def check_dates(content: dict[str, Any], report: Report, today: date) -> dict[str, list[str]]:
    """Each dated row's date lies in the report's period and not after ``today`` (the agency's
    date): a report tells what the alliance did in its period, not what it plans."""
    errors: dict[str, list[str]] = {}
    start, end = report.period_start, report.period_end
    for section in DATED:
        for index, row in enumerate(content.get(section, [])):
            value = row.get("date")
            if not value:
                continue
            try:
                day = value if isinstance(value, date) else date.fromisoformat(str(value))
            except ValueError:
                continue  # not a date: the form's schema says so beside the field
            if not start <= day <= end:
                message = f"Enter a date within this report's period, {_day(start)} to {_day(end)}."
            elif day > today:
                message = (
                    f"Enter a date on or before today, {_day(today)}: "
                    "a report tells what already happened."
                )
            else:
                continue
            errors[f"{section}.{index}.date"] = [message]
    return errors


def check_complete(content: dict[str, Any], goal_categories: Mapping[str, str]) -> None:
    """A submission needs at least one meeting (its date, topic and who attended), every row
    complete and the results of at least one goal category; ``Invalid`` names each missing
    field."""
    errors = _missing(content, goal_categories)
    if errors:
        raise Invalid(errors)


def _missing(content: dict[str, Any], goal_categories: Mapping[str, str]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for section, required in ROW_REQUIRED.items():
        for index, row in enumerate(content.get(section, [])):
            for name in required:
                if row.get(name) in (None, ""):
                    errors[f"{section}.{index}.{name}"] = [REQUIRED]
    if not content.get("meetings"):
        errors["meetings.0.date"] = [
            "Enter at least one team meeting: its date, topic and who attended."
        ]
    narratives = content.get("narratives", {})
    if not any(narratives.get(category, {}).get("results") for category in goal_categories):
        first = next(iter(goal_categories))
        errors[f"narratives.{first}.results"] = [
            "Describe the results of at least one goal category."
        ]
    return errors


def _payload(report: Report, alliance: Alliance, version: ReportVersion) -> dict[str, Any]:
    return {
        **report_event_fields(report, alliance),
        "due_date": report.due_date,
        "version": version.number,
        "submitted_at": version.submitted_at,
        "on_time": version.on_time,
    }


def submit(
    session: Session,
    *,
    report_id: uuid.UUID,
    content: dict[str, Any],
    goal_categories: dict[str, str],
    at: datetime,
    outbox: Outbox,
    rules: ScheduleRules | None = None,
    confirm_early: bool = False,
) -> ReportVersion:
    """Store the next version, mark the report submitted and announce it, or refuse with
    ``Invalid`` (incomplete, a date outside the period or after today, or sent before the
    period ends without ``confirm_early``) or ``Conflict`` (already submitted, cancelled).

    Only the alliance's own goal categories among ``goal_categories`` (the agency's) are
    narrated; text for any other is not kept."""
    rules = rules or rules_from_settings()
    report = _editable(session, report_id)
    alliance = session.get(Alliance, report.alliance_id)
    if alliance is None:
        raise NotFound("No such alliance.")
    categories = goal_categories_of(alliance, goal_categories)
    content = {
        **content,
        "narratives": {
            key: value for key, value in content.get("narratives", {}).items() if key in categories
        },
    }
    early = sent_early(report, at, rules)
    errors = {
        **_missing(content, categories),
        **check_dates(content, report, today(at, rules.timezone)),
    }
    if early and not confirm_early:
        errors[CONFIRM_EARLY] = [
            f"Tick the box to send the report before its period ends on "
            f"{_day(report.period_end)}, or save a draft and submit it after then."
        ]
    if errors:
        raise Invalid(errors)
    latest = session.scalar(
        select(func.max(ReportVersion.number)).where(ReportVersion.report_id == report_id)
    )
    version = ReportVersion(
        report_id=report_id,
        number=(latest or 0) + 1,
        content=content,
        submitted_at=at,
        on_time=at < end_of_day(report.due_date, rules),
        sent_early=early,
    )
    session.add(version)
    _keep(session, report_id, content, at)
    if report.status == "revision_requested":
        report.status = "due"  # owed again; mark_submitted records the new submission
    mark_submitted(session, report_id=report_id, at=at)
    report.submitted_at = at
    outbox.add(
        session,
        new_event(
            "report.submitted", producer="reporting", payload=_payload(report, alliance, version)
        ),
    )
    session.flush()
    return version
