"""The staff page of one report (``/staff/reports/<id>``), whatever its status: where it
stands against its due date, its reminders (sent and planned), the new links sent to the
partner and the button that sends one, its versions rendered readably, a comparison of two
versions, and the review form (accept, or ask for a revision with comments).
reports/review.py decides who may read, review or send a link and what each does."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for

from services.reporting.reports import content as report_content
from services.reporting.reports import printout
from services.reporting.reports import review as reviews
from services.reporting.reports.domain import shown_status
from services.reporting.reports.models import ReportReminder
from services.reporting.reviews.schemas import RevisionRequestIn
from services.reporting.schedules.domain import rules_from_settings
from services.reporting.worker import database, outbox
from shared.config import load_agency_profile, load_settings
from shared.converters import whole_number
from shared.domain import Conflict, Invalid
from shared.schemas import checks_form_text, load_input
from shared.staff_auth import staff_required
from shared.web import current_acting, request_session

bp = Blueprint("report_reviews", __name__, url_prefix="/staff")

NOTICES = {
    "accepted": "The report was accepted; the partner is told.",
    "revision_requested": "A revision was asked for; the partner is told, with a new due date.",
}

# A reminder as staff read it: what it is, and whom it goes to. "Past-due notice", not
# "Overdue": a report sent back for a revision lists its earlier notices, and the report is
# not overdue for them.
REMINDER_NAMES = {
    "due_soon": "Reminder before the due date",
    "due": "Notice on the due date",
    "overdue": "Past-due notice",
    "escalated": "Alert to the Coordinator",
}


@bp.app_template_filter("reminder_name")
def reminder_name(kind: str) -> str:
    """A reminder's kind in words (the alliance's reports list the reminders sent too)."""
    return REMINDER_NAMES.get(kind, kind.replace("_", " ").capitalize())


def _days(days: int) -> str:
    if days == 0:
        return "on the due date"
    count = abs(days)
    side = "before" if days < 0 else "after"
    return f"{count} day{'' if count == 1 else 's'} {side} the due date"


@dataclass(frozen=True)
class ReminderLine:
    """One reminder of the report in words."""

    name: str
    offset: str
    to: str
    state: str  # Sent, Planned, or why it was not sent
    at: datetime  # when it went out, or when it goes out
    revision: bool  # one of a revision request's own round


def reminder_lines(
    reminders: list[ReportReminder], *, contact: str, liaison: str
) -> list[ReminderLine]:
    lines = []
    for reminder in reminders:
        if reminder.skipped and reminder.sent_at is not None:
            state = "Not sent: a later reminder went out instead"
        elif reminder.skipped:
            state = "Not sent: no longer needed"
        elif reminder.sent_at is not None:
            state = "Sent"
        else:
            state = "Planned"
        to = (
            "The Coordinator"
            if reminder.kind == "escalated"
            else f"{contact} (partner contact), a copy to {liaison}"
        )
        lines.append(
            ReminderLine(
                name=reminder_name(reminder.kind),
                offset=_days(reminder.days),
                to=to,
                state=state,
                at=reminder.sent_at if state == "Sent" and reminder.sent_at else reminder.due_at,
                revision=reminder.round > 0,
            )
        )
    return lines


def now() -> datetime:
    """The review's instant (tests replace it)."""
    return datetime.now(UTC)


def _number(name: str) -> int | None:
    return whole_number(request.args.get(name, ""))


def _render(
    report_id: uuid.UUID,
    *,
    errors: dict[str, list[str]] | None = None,
    comments: str = "",
    due_date: str = "",
    status: int = 200,
    link_error: str = "",
) -> tuple[str, int]:
    acting = current_acting()
    found = reviews.report_file(request_session(database), acting=acting, report_id=report_id)
    profile = load_agency_profile()
    rules = rules_from_settings()
    numbers = [version.number for version in found.versions]
    by_number = {version.number: version for version in found.versions}
    shown = _number("version")
    shown = shown if shown in by_number else (numbers[-1] if numbers else None)
    against = _number("compare")
    if against not in by_number or against == shown:
        against = None
    if against is None and shown is not None and shown > 1 and request.args.get("compare") is None:
        against = shown - 1  # by default, what changed since the version before
    # The narratives of the alliance's own goal categories, and any other a version has text for.
    own = report_content.goal_categories_of(found.alliance, profile.goal_categories)

    def narrated(content: dict[str, Any]) -> dict[str, str]:
        return report_content.narrated(content, own, profile.goal_categories)

    def lines(content: dict[str, Any]) -> list[str]:
        return reviews.text_lines(
            content,
            sections=report_content.SECTIONS,
            fields=report_content.FIELDS,
            goal_categories=narrated(content),
        )

    changes = None
    if shown is not None and against is not None:
        older, newer = sorted((against, shown))
        changes = reviews.compare(lines(by_number[older].content), lines(by_number[newer].content))
        changes_of = (older, newer)
    errors = errors or {}
    page = render_template(
        "reviews/report.html",
        found=found,
        report=found.report,
        alliance=found.alliance,
        version=by_number.get(shown) if shown is not None else None,
        content=report_content.for_display(by_number[shown].content) if shown is not None else None,
        numbers=numbers,
        shown=shown,
        against=against,
        changes=[c for c in changes if c.kind != "same"] if changes is not None else None,
        changes_of=changes_of if changes is not None else None,
        emphasis_areas={**profile.priority_areas, **profile.hazards},
        may_review=(
            found.report.status == "submitted" and reviews.may_review(acting, found.alliance)
        ),
        shown_status=shown_status(found.report, now=now(), rules=rules),
        due_words=reviews.due_in_words(found.report, now=now(), rules=rules),
        contact_name=str(found.alliance.contact.get("name") or "the partner's contact"),
        contact_language=found.alliance.contact.get("language"),
        liaison_name=str(
            found.alliance.liaison.get("name") or found.alliance.liaison_email or "the liaison"
        ),
        reminders=reminder_lines(
            found.reminders,
            contact=str(found.alliance.contact.get("name") or "The partner's contact"),
            liaison=str(found.alliance.liaison.get("name") or "the liaison"),
        ),
        may_resend=reviews.may_resend(acting, found.alliance),
        resend_refusal=reviews.resend_refusal(found.report, found.alliance),
        link_error=link_error,
        errors=errors,
        error_rows=[
            *(("comments", "Comments", m) for m in errors.get("comments", [])),
            *(("due-date", "New due date", m) for m in errors.get("due_date", [])),
        ],
        comments=comments,
        due_date=due_date,
        earliest_due=reviews.earliest_revision_due_date(found.report, now=now(), rules=rules),
        revision_days=rules.revision_days,
        notice=NOTICES.get(request.args.get("reviewed", "")),
        link_sent=request.args.get("sent") == "link",
        timezone=load_settings().agency_timezone,
        sections=report_content.SECTIONS,
        fields=report_content.FIELDS,
        goal_categories=narrated(by_number[shown].content) if shown is not None else own,
    )
    return page, status


@bp.get("/reports/<uuid:report_id>")
@staff_required()
def report_page(report_id: uuid.UUID) -> Any:
    return _render(report_id)


@bp.get("/reports/<uuid:report_id>/report.pdf")
@staff_required()
def report_pdf(report_id: uuid.UUID) -> Any:
    """The printable report (tagged PDF): ``?version=n``, else the latest version."""
    found = reviews.report_file(
        request_session(database), acting=current_acting(), report_id=report_id
    )
    return printout.report_pdf(
        report=found.report,
        alliance=found.alliance,
        version=reviews.printable_version(found, _number("version")),
        reviews=found.reviews,
        printed_at=now(),
    )


@bp.post("/reports/<uuid:report_id>/review")
@staff_required()
@checks_form_text
def review_post(report_id: uuid.UUID) -> Any:
    session = request_session(database)
    acting = current_acting()
    action = request.form.get("action", "")
    comments = request.form.get("comments", "")
    due_date = request.form.get("due_date", "").strip()
    try:
        if action == "accept":
            reviews.accept(session, acting=acting, report_id=report_id, outbox=outbox, now=now())
        elif action == "request_revision":
            body = load_input(
                RevisionRequestIn(), {"comments": comments, "due_date": due_date or None}
            )
            reviews.request_revision(
                session,
                acting=acting,
                report_id=report_id,
                comments=body["comments"],
                outbox=outbox,
                now=now(),
                due_date=body["due_date"],
            )
        else:
            raise Invalid({"comments": ["Choose Accept or Ask for a revision."]})
    except Invalid as err:
        return _render(
            report_id, errors=err.errors, comments=comments, due_date=due_date, status=422
        )
    decision = "accepted" if action == "accept" else "revision_requested"
    return redirect(
        url_for("report_reviews.report_page", report_id=report_id, reviewed=decision), code=303
    )


@bp.post("/reports/<uuid:report_id>/link")
@staff_required()
def resend_post(report_id: uuid.UUID) -> Any:
    """Send the partner a new link to the report's form; a refusal comes back on the page."""
    try:
        reviews.resend_link(
            request_session(database),
            acting=current_acting(),
            report_id=report_id,
            outbox=outbox,
            now=now(),
        )
    except Conflict as err:
        return _render(report_id, link_error=err.message, status=409)
    return redirect(
        url_for("report_reviews.report_page", report_id=report_id, sent="link", _anchor="link"),
        code=303,
    )
