"""What the liaison (or the Coordinator) does to a report: read it, accept it or ask for a
revision, have a new link sent to the partner (the review pages and API,
services/reporting/reviews/, are the screens on top).

- ``report_file``: the report with its reminders, versions, reviews and resent links, in any
  status, for whoever ``may_read`` it: the alliance's liaison and the Coordinator (a
  reviewer reviews proposals, not the partner's reports), unless they declared a conflict of
  interest with the partner (``check_may_read``).
- ``resend_link``: the alliance's liaison or the Coordinator has a new signed link to the
  report's form sent to the partner (``report.link_resent``; the request is recorded as a
  ``ReportLinkResend``): not for an accepted or cancelled report, nor once the alliance ended
  and the partner owes nothing more on it (``Conflict``).
- ``may_review``: the alliance's liaison (reporting's alliance copy names them: staff id or
  e-mail) or the Coordinator; anyone else is refused (``Forbidden``), and so is one who
  declared a conflict of interest with the partner (people.py: reading the report,
  its PDF included, is refused by ``check_may_read``, reviewing it by ``check_no_conflict``).
- ``accept``: the latest version is accepted; ``report.accepted`` goes out.
- ``request_revision``: the report is owed again by ``revision_due_date`` (the later of its
  current due date and ``REPORT_REVISION_DAYS`` after the request day in the agency's time
  zone), or by a later date the liaison chooses (an earlier one is refused, ``Invalid`` on
  ``due_date``), with its own reminders (a new round of ``report_reminders``; the unsent ones
  of earlier rounds are skipped, never sent); ``report.revision_requested``
  carries the comments, the new due date and the partner's signed link.

Only a submitted report can be reviewed (``Conflict`` otherwise: reviewing twice too). Every
function runs in the caller's transaction and never commits.
"""

from __future__ import annotations

import difflib
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from services.reporting.alliances.models import Alliance
from services.reporting.people import (
    check_may_read,
    check_no_conflict,
    hidden_from,
    is_liaison_of,
    today,
)
from services.reporting.reports.domain import report_event_fields, shown_status, timing
from services.reporting.reports.models import (
    Report,
    ReportLinkResend,
    ReportReminder,
    ReportReview,
    ReportVersion,
)
from services.reporting.reports.tokens import report_url
from services.reporting.schedules.domain import (
    ScheduleRules,
    reminders_for,
    revision_due_date,
    rules_from_settings,
)
from shared.domain import Acting, Conflict, Forbidden, Invalid, NotFound
from shared.events import new_event
from shared.outbox import Outbox

MAX_COMMENTS = 10000
MAX_EXTRA_DAYS = 366  # how far past the earliest revision due date a liaison may go
SOON_DAYS = 30  # within this many days a report's page counts the days to its due date


@dataclass(frozen=True)
class ReportFile:
    """A report with everything its review page shows."""

    report: Report
    alliance: Alliance
    versions: list[ReportVersion]
    reviews: list[ReportReview]
    reminders: list[ReportReminder] = field(default_factory=list)
    resends: list[ReportLinkResend] = field(default_factory=list)

    @property
    def latest(self) -> ReportVersion | None:
        return self.versions[-1] if self.versions else None


def may_review(acting: Acting, alliance: Alliance) -> bool:
    """The alliance's liaison or the Coordinator, unless they declared a conflict of interest
    with the partner."""
    if hidden_from(acting, alliance.partner_name):
        return False
    return acting.is_coordinator or (
        acting.has_any_role("liaison") and is_liaison_of(acting, alliance)
    )


def may_read(acting: Acting, alliance: Alliance) -> bool:
    """The alliance's liaison or the Coordinator, unless they declared a conflict of interest
    with the partner: those who answer for the partner's reports read them."""
    return may_review(acting, alliance) and not hidden_from(acting, alliance.partner_name)


def _check(acting: Acting, alliance: Alliance) -> None:
    check_no_conflict(acting, alliance.partner_name)
    check_may_read(acting, alliance)  # of another office: not theirs to review
    if not may_review(acting, alliance):
        raise Forbidden("Only the alliance's liaison or the Coordinator may review its reports.")


def _load(session: Session, report_id: uuid.UUID, *, lock: bool = False) -> tuple[Report, Alliance]:
    report = session.get(Report, report_id, with_for_update=lock)
    if report is None:
        raise NotFound("No such report.")
    alliance = session.get(Alliance, report.alliance_id)
    if alliance is None:
        raise NotFound("No such alliance.")
    return report, alliance


def report_file(session: Session, *, acting: Acting, report_id: uuid.UUID) -> ReportFile:
    """The report, its reminders, versions, reviews and resent links, whatever its status:
    for its liaison or the Coordinator, neither in conflict with the partner."""
    report, alliance = _load(session, report_id)
    check_may_read(acting, alliance)
    if not may_read(acting, alliance):
        raise Forbidden("Only the alliance's liaison and the Coordinator may read its reports.")
    versions = list(
        session.scalars(
            select(ReportVersion)
            .where(ReportVersion.report_id == report_id)
            .order_by(ReportVersion.number)
        )
    )
    reviews = list(
        session.scalars(
            select(ReportReview)
            .where(ReportReview.report_id == report_id)
            .order_by(ReportReview.version)
        )
    )
    reminders = list(
        session.scalars(
            select(ReportReminder)
            .where(ReportReminder.report_id == report_id)
            .order_by(ReportReminder.due_at, ReportReminder.round, ReportReminder.days)
        )
    )
    resends = list(
        session.scalars(
            select(ReportLinkResend)
            .where(ReportLinkResend.report_id == report_id)
            .order_by(ReportLinkResend.sent_at)
        )
    )
    return ReportFile(
        report=report,
        alliance=alliance,
        versions=versions,
        reviews=reviews,
        reminders=reminders,
        resends=resends,
    )


def due_in_words(report: Report, *, now: datetime, rules: ScheduleRules) -> str:
    """Where a report still owed stands against its due date, in the agency's time zone:
    "Overdue by 12 days", "Due today", "Due tomorrow", "Due in 5 days" (within
    ``SOON_DAYS``), else "Not due yet"; a revision says "Revision due ...". Empty for a
    report not owed (submitted, accepted, cancelled)."""
    kind = timing(report, now=now, rules=rules)
    if kind not in ("open", "overdue"):
        return ""
    days = (report.due_date - today(now, rules.timezone)).days
    if kind == "overdue":
        late = max(-days, 1)
        return f"Overdue by {late} day{'' if late == 1 else 's'}"
    prefix = "Revision due" if report.status == "revision_requested" else "Due"
    if days == 0:
        return f"{prefix} today"
    if days == 1:
        return f"{prefix} tomorrow"
    if days <= SOON_DAYS:
        return f"{prefix} in {days} days"
    return "Revision not due yet" if report.status == "revision_requested" else "Not due yet"


# -- a new link to the report's form, sent to the partner


def may_resend(acting: Acting, alliance: Alliance) -> bool:
    """Who may have the partner sent a new link: whoever may review the alliance's reports."""
    return may_review(acting, alliance)


OWED_AGAIN = ("scheduled", "due_soon", "due", "overdue", "revision_requested")
ENDED = ("concluded", "terminated")


def resend_refusal(report: Report, alliance: Alliance) -> str:
    """Why no new link can be sent for the report now ("" when one can)."""
    if report.status == "accepted":
        return "The report was accepted: the partner has nothing more to do on it."
    if report.status == "cancelled":
        return "The report was cancelled: the partner owes it no more."
    if alliance.status in ENDED and report.status not in OWED_AGAIN:
        return (
            f"The alliance was {alliance.status} and the partner owes nothing more on this report."
        )
    return ""


def resend_link(
    session: Session,
    *,
    acting: Acting,
    report_id: uuid.UUID,
    outbox: Outbox,
    now: datetime,
    rules: ScheduleRules | None = None,
) -> ReportLinkResend:
    """Send the partner's contact a new signed link to the report's form
    (``report.link_resent``, with who asked) and record the request: the alliance's liaison
    or the Coordinator (``Forbidden`` otherwise), not for a report ``resend_refusal`` refuses
    (``Conflict``). A report of an ended alliance the partner still owes (its final report)
    may have its link sent again."""
    rules = rules or rules_from_settings()
    report, alliance = _load(session, report_id, lock=True)
    check_no_conflict(acting, alliance.partner_name)
    check_may_read(acting, alliance)
    if not may_resend(acting, alliance):
        raise Forbidden(
            "Only the alliance's liaison or the Coordinator may send the partner a new link."
        )
    refusal = resend_refusal(report, alliance)
    if refusal:
        raise Conflict(refusal)
    sent_by = (acting.name or acting.email)[:200]
    resend = ReportLinkResend(
        report_id=report.id, sent_by=sent_by, sent_by_email=acting.email, sent_at=now
    )
    session.add(resend)
    payload = {
        **report_event_fields(report, alliance),
        "due_date": report.due_date,
        "status": shown_status(report, now=now, rules=rules),
        "report_url": report_url(report.id),
        "sent_by": sent_by,
        "sent_at": now,
    }
    outbox.add(session, new_event("report.link_resent", producer="reporting", payload=payload))
    session.flush()
    return resend


def printable_version(found: ReportFile, number: int | None) -> ReportVersion:
    """The version to print: ``number``, or the latest when none is asked for."""
    if not found.versions:
        raise NotFound("The partner has not submitted this report yet: there is nothing to print.")
    if number is None:
        return found.versions[-1]
    for version in found.versions:
        if version.number == number:
            return version
    raise NotFound(f"This report has no version {number}.")


def earliest_revision_due_date(
    report: Report, *, now: datetime, rules: ScheduleRules | None = None
) -> date:
    """The due date a revision request made at ``now`` gives ``report`` unless the liaison
    chooses a later one."""
    rules = rules or rules_from_settings()
    return revision_due_date(today(now, rules.timezone), rules, current_due=report.due_date)


def _reviewable(
    session: Session, acting: Acting, report_id: uuid.UUID
) -> tuple[Report, Alliance, int]:
    report, alliance = _load(session, report_id, lock=True)
    _check(acting, alliance)
    if report.status != "submitted":
        raise Conflict(f"Only a submitted report can be reviewed; this one is {report.status}.")
    latest = session.scalar(
        select(func.max(ReportVersion.number)).where(ReportVersion.report_id == report_id)
    )
    if latest is None:
        raise Conflict("This report has no submitted version to review.")
    reviewed = session.scalar(
        select(ReportReview.id).where(
            ReportReview.report_id == report_id, ReportReview.version == latest
        )
    )
    if reviewed is not None:
        raise Conflict("This version of the report was already reviewed.")
    return report, alliance, latest


def _payload(report: Report, alliance: Alliance, review: ReportReview) -> dict[str, Any]:
    return {
        **report_event_fields(report, alliance),
        "version": review.version,
        "comments": review.comments,
        "due_date": report.due_date,
        "reviewed_by": review.reviewed_by,
        "reviewed_at": review.reviewed_at,
    }


def accept(
    session: Session,
    *,
    acting: Acting,
    report_id: uuid.UUID,
    outbox: Outbox,
    now: datetime,
) -> ReportReview:
    """Accept the report's latest version: status ``accepted``, ``report.accepted``."""
    report, alliance, version = _reviewable(session, acting, report_id)
    review = ReportReview(
        report_id=report.id,
        version=version,
        decision="accepted",
        comments="",
        reviewed_by=acting.email,
        reviewed_by_name=acting.name[:200] or None,
        reviewed_at=now,
    )
    session.add(review)
    report.status = "accepted"
    outbox.add(
        session,
        new_event(
            "report.accepted", producer="reporting", payload=_payload(report, alliance, review)
        ),
    )
    session.flush()
    return review


def request_revision(
    session: Session,
    *,
    acting: Acting,
    report_id: uuid.UUID,
    comments: str,
    outbox: Outbox,
    now: datetime,
    rules: ScheduleRules | None = None,
    due_date: date | None = None,
) -> ReportReview:
    """Ask for a revision of the latest version: owed again by the revision due date (or
    the later ``due_date`` the liaison chose), with a new round of reminders;
    ``report.revision_requested`` with the partner's link."""
    rules = rules or rules_from_settings()
    comments = comments.strip()
    errors: dict[str, list[str]] = {}
    if not comments:
        errors["comments"] = ["Say what the partner should change."]
    elif len(comments) > MAX_COMMENTS:
        errors["comments"] = [f"At most {MAX_COMMENTS} characters."]
    if errors:
        raise Invalid(errors)
    report, alliance, version = _reviewable(session, acting, report_id)
    earliest = earliest_revision_due_date(report, now=now, rules=rules)
    if due_date is not None and due_date < earliest:
        raise Invalid(
            {
                "due_date": [
                    f"Choose {earliest.isoformat()} or later: a revision never brings the due "
                    f"date forward and gives the partner at least {rules.revision_days} days."
                ]
            }
        )
    if due_date is not None and due_date > earliest + timedelta(days=MAX_EXTRA_DAYS):
        latest = earliest + timedelta(days=MAX_EXTRA_DAYS)
        raise Invalid({"due_date": [f"Choose a date no later than {latest.isoformat()}."]})
    review = ReportReview(
        report_id=report.id,
        version=version,
        decision="revision_requested",
        comments=comments,
        reviewed_by=acting.email,
        reviewed_by_name=acting.name[:200] or None,
        reviewed_at=now,
    )
    session.add(review)
    report.status = "revision_requested"
    report.due_date = due_date or earliest
    # Earlier rounds' unsent reminders never go out; the new due date gets its own round.
    session.execute(
        update(ReportReminder)
        .where(
            ReportReminder.report_id == report.id,
            ReportReminder.sent_at.is_(None),
            ~ReportReminder.skipped,
        )
        .values(skipped=True)
    )
    last_round = session.scalar(
        select(func.max(ReportReminder.round)).where(ReportReminder.report_id == report.id)
    )
    new_round = (last_round or 0) + 1
    for reminder in reminders_for(report.due_date, rules):
        if reminder.due_at > now:  # one already past on the request day is not sent late
            session.add(
                ReportReminder(
                    report_id=report.id,
                    round=new_round,
                    kind=reminder.kind,
                    days=reminder.days,
                    due_at=reminder.due_at,
                    skipped=False,
                )
            )
    payload = _payload(report, alliance, review) | {"report_url": report_url(report.id)}
    outbox.add(
        session, new_event("report.revision_requested", producer="reporting", payload=payload)
    )
    session.flush()
    return review


# -- the readable rendering and the comparison of two versions


def text_lines(
    content: dict[str, Any],
    *,
    sections: dict[str, str],
    fields: dict[str, dict[str, str]],
    goal_categories: dict[str, str],
) -> list[str]:
    """A stable text rendering of a version's content, one fact a line."""
    lines: list[str] = []
    for section, title in sections.items():
        rows = content.get(section, [])
        lines.append(f"{title}: {len(rows)} row(s)")
        for index, row in enumerate(rows, start=1):
            for name, label in fields[section].items():
                value = row.get(name)
                lines.append(f"  {title}, row {index}, {label}: {'' if value is None else value}")
    narratives = content.get("narratives", {})
    for key, category in goal_categories.items():
        narrative = narratives.get(key, {})
        lines.append(f"{category}, results: {narrative.get('results', '')}")
        lines.append(f"{category}, obstacles: {narrative.get('obstacles', '')}")
    return lines


@dataclass(frozen=True)
class Change:
    """One line of a comparison: ``removed`` (only in the older version), ``added`` (only in
    the newer one) or ``same``."""

    kind: str
    text: str


def compare(old: list[str], new: list[str]) -> list[Change]:
    """What changed between two renderings (difflib), unchanged lines included."""
    changes: list[Change] = []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            changes += [Change("same", line) for line in old[i1:i2]]
            continue
        changes += [Change("removed", line) for line in old[i1:i2]]
        changes += [Change("added", line) for line in new[j1:j2]]
    return changes
