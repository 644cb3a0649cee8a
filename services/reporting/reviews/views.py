"""The staff page of one report (``/staff/reports/<id>``): its versions rendered readably, a
comparison of two versions, and the review form (accept, or ask for a revision with
comments). reviews/domain.py decides who may review and what a review does."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for

from services.reporting.conflicts.views import acting as current_acting
from services.reporting.figures import domain as figures
from services.reporting.reports import printout
from services.reporting.reviews import domain as reviews
from services.reporting.reviews.schemas import RevisionRequestIn
from services.reporting.schedules.domain import rules_from_settings
from services.reporting.submissions import forms
from services.reporting.worker import database, outbox
from shared.agency import load_agency_profile
from shared.config import load_settings
from shared.converters import whole_number
from shared.domain import Invalid
from shared.schemas import checks_form_text, load_input
from shared.staff_auth import staff_required
from shared.web import request_session

bp = Blueprint("report_reviews", __name__, url_prefix="/staff")

NOTICES = {
    "accepted": "The report was accepted; the partner is told.",
    "revision_requested": "A revision was asked for; the partner is told, with a new due date.",
}


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
) -> tuple[str, int]:
    found = reviews.report_file(
        request_session(database), acting=current_acting(), report_id=report_id
    )
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
    goal_categories = profile.goal_categories

    def lines(content: dict[str, Any]) -> list[str]:
        return reviews.text_lines(
            content, sections=forms.SECTIONS, fields=forms.FIELDS, goal_categories=goal_categories
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
        content=forms.for_display(by_number[shown].content) if shown is not None else None,
        numbers=numbers,
        shown=shown,
        against=against,
        changes=[c for c in changes if c.kind != "same"] if changes is not None else None,
        changes_of=changes_of if changes is not None else None,
        emphasis_areas={**profile.priority_areas, **profile.hazards},
        may_review=found.report.status == "submitted",
        shown_status=figures.shown_status(found.report, now=now(), rules=rules),
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
        timezone=load_settings().agency_timezone,
        sections=forms.SECTIONS,
        fields=forms.FIELDS,
        goal_categories=goal_categories,
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
