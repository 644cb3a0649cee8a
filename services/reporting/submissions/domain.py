"""The partner's report: the draft, the completeness rule and each submitted version.

- ``find_report``: the report a link names (``NotFound``).
- ``save_draft``: keeps the content, the report's status unchanged.
- ``submit``: stores an immutable version (1, then 2 after a revision request, ...), marks the
  report submitted (``reports.domain.mark_submitted``: no reminder goes out any more),
  records whether it was on time (before ``end_of_day(due_date)`` in the agency's time zone)
  and adds ``report.submitted`` to the outbox, all in the caller's transaction.

A report is editable while it is owed (``scheduled`` to ``overdue``) or a revision was
requested; a submitted or accepted report is read-only, a cancelled one is owed no more.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.reporting.alliances.models import Alliance
from services.reporting.reports.domain import mark_submitted, report_event_fields
from services.reporting.reports.models import Report
from services.reporting.reviews.models import ReportReview
from services.reporting.schedules.domain import ScheduleRules, end_of_day, rules_from_settings
from services.reporting.submissions.models import ReportDraft, ReportVersion
from shared.domain import Conflict, Invalid, NotFound
from shared.events import new_event
from shared.outbox import Outbox

READ_ONLY = ("submitted", "accepted")
REQUIRED = "This field is required."

# section -> the fields a row must have on submission
ROW_REQUIRED: dict[str, tuple[str, ...]] = {
    "meetings": ("date",),
    "dissemination": ("type", "date", "description", "emphasis_area", "number_reached"),
    "outreach": ("date", "event", "city", "state", "emphasis_area", "number_reached"),
    "staff_training": ("audience", "number_reached"),
    "products": ("title", "description"),
}


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


def check_complete(content: dict[str, Any], goal_categories: dict[str, str]) -> None:
    """A submission needs at least one meeting date, every row complete and the results of
    at least one goal category; ``Invalid`` names each missing field."""
    errors: dict[str, list[str]] = {}
    for section, required in ROW_REQUIRED.items():
        for index, row in enumerate(content.get(section, [])):
            for name in required:
                if row.get(name) in (None, ""):
                    errors[f"{section}.{index}.{name}"] = [REQUIRED]
    if not content.get("meetings"):
        errors["meetings.0.date"] = ["Enter the date of at least one team meeting."]
    narratives = content.get("narratives", {})
    if not any(narratives.get(category, {}).get("results") for category in goal_categories):
        first = next(iter(goal_categories))
        errors[f"narratives.{first}.results"] = [
            "Describe the results of at least one goal category."
        ]
    if errors:
        raise Invalid(errors)


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
) -> ReportVersion:
    """Store the next version, mark the report submitted and announce it, or refuse with
    ``Invalid`` (incomplete) or ``Conflict`` (already submitted, cancelled)."""
    rules = rules or rules_from_settings()
    report = _editable(session, report_id)
    check_complete(content, goal_categories)
    latest = session.scalar(
        select(func.max(ReportVersion.number)).where(ReportVersion.report_id == report_id)
    )
    version = ReportVersion(
        report_id=report_id,
        number=(latest or 0) + 1,
        content=content,
        submitted_at=at,
        on_time=at < end_of_day(report.due_date, rules),
    )
    session.add(version)
    _keep(session, report_id, content, at)
    if report.status == "revision_requested":
        report.status = "due"  # owed again; mark_submitted records the new submission
    mark_submitted(session, report_id=report_id, at=at)
    report.submitted_at = at
    alliance = session.get(Alliance, report.alliance_id)
    if alliance is None:
        raise NotFound("No such alliance.")
    outbox.add(
        session,
        new_event(
            "report.submitted", producer="reporting", payload=_payload(report, alliance, version)
        ),
    )
    session.flush()
    return version
