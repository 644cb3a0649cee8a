"""The partner's report form at ``/reports/<token>`` (``/reporting/reports/<token>`` behind
the gateway): no account, the signed link is the key (tokens.py).

GET shows the form (from the saved draft), or a read-only confirmation once submitted.
POST "Save draft" keeps the content, "Submit" stores a version (domain.py), "Add another
row" shows the form again with one more empty row of that section (no JavaScript needed).
A refusal of the input is the form again, each message beside its field; a refused link or
state is shared/web.py's refusal page.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for

from services.reporting.alliances.models import Alliance
from services.reporting.reports import printout
from services.reporting.reports.models import Report
from services.reporting.submissions import domain, forms
from services.reporting.submissions.schemas import (
    MAX_ROWS,
    FormControlsSchema,
    ReportContentSchema,
    stored,
)
from services.reporting.submissions.tokens import read_token
from services.reporting.worker import database, outbox
from shared.agency import load_agency_profile
from shared.config import load_settings
from shared.domain import Conflict, Invalid, NotFound
from shared.proposal import US_STATES
from shared.schemas import checks_form_text, load_input
from shared.web import request_session

bp = Blueprint("report_form", __name__)


def now() -> datetime:
    """The submission's instant (tests replace it)."""
    return datetime.now(UTC)


def _report(token: str) -> Report:
    return domain.find_report(request_session(database), read_token(token))


def _emphasis_areas() -> dict[str, str]:
    profile = load_agency_profile()
    return {**profile.priority_areas, **profile.hazards}


def _render(
    report: Report,
    token: str,
    content: dict[str, Any],
    *,
    errors: dict[str, list[str]] | None = None,
    status: int = 200,
    notice: str = "",
    focus: str = "",
) -> tuple[str, int]:
    goal_categories = load_agency_profile().goal_categories
    session = request_session(database)
    revision = (
        domain.latest_review(session, report.id) if report.status == "revision_requested" else None
    )
    shown = forms.for_display(content)
    for section in forms.FIELDS:  # always an empty row to fill in
        if not shown[section]:
            shown[section].append(dict.fromkeys(forms.FIELDS[section], ""))
    errors = errors or {}
    page = render_template(
        "report_form.html",
        page_title="Report on your alliance",
        report=report,
        alliance=session.get(Alliance, report.alliance_id),
        token=token,
        data=shown,
        errors=errors,
        error_rows=forms.error_rows(errors, goal_categories),
        sections=forms.SECTIONS,
        fields=forms.FIELDS,
        field_id=forms.field_id,
        goal_categories=goal_categories,
        emphasis_areas=_emphasis_areas(),
        states=[(s, s) for s in sorted(US_STATES)],
        max_rows=MAX_ROWS,
        notice=notice,
        focus=focus,
        revision=revision,
        timezone=load_settings().agency_timezone,
    )
    return page, status


@bp.get("/reports/<token>")
def report_form(token: str) -> Any:
    report = _report(token)
    session = request_session(database)
    if report.status in domain.READ_ONLY:
        versions = domain.versions_of(session, report.id)
        review = domain.latest_review(session, report.id)
        accepted = report.status == "accepted" and review is not None
        return render_template(
            "report_submitted.html",
            page_title="Report accepted" if accepted else "Report submitted",
            accepted=review if accepted else None,
            report=report,
            token=token,
            alliance=session.get(Alliance, report.alliance_id),
            version=versions[-1] if versions else None,
            content=forms.for_display(versions[-1].content if versions else {}),
            sections=forms.SECTIONS,
            fields=forms.FIELDS,
            goal_categories=load_agency_profile().goal_categories,
            emphasis_areas=_emphasis_areas(),
            timezone=load_settings().agency_timezone,
        )
    if report.status == "cancelled":
        raise Conflict("This report was cancelled; nothing is owed.")
    notice = ""
    if request.args.get("saved"):
        notice = "Draft saved. Come back with the same link to finish it; nothing was submitted."
    return _render(report, token, domain.content_of(session, report), notice=notice)


@bp.get("/reports/<token>/report.pdf")
def report_pdf(token: str) -> Any:
    """The partner's printable copy (tagged PDF) of the latest version it submitted."""
    report = _report(token)
    session = request_session(database)
    version, reviews = domain.partner_copy(session, report)
    alliance = session.get(Alliance, report.alliance_id)
    if alliance is None:
        raise NotFound("No such alliance.")
    return printout.report_pdf(
        report=report, alliance=alliance, version=version, reviews=reviews, printed_at=now()
    )


@bp.post("/reports/<token>")
@checks_form_text
def report_post(token: str) -> Any:
    report = _report(token)
    goal_categories = load_agency_profile().goal_categories
    controls = load_input(FormControlsSchema(), {"action": request.form.get("action", "")})
    typed = forms.from_form(request.form, goal_categories)
    action = controls["action"]
    if action.startswith("add:"):
        section = action.split(":", 1)[1]
        rows = typed[section]
        # The form showed the rows typed, or one empty row: one more than that.
        target = min(max(len(rows), 1) + 1, MAX_ROWS)
        while len(rows) < target:
            rows.append(dict.fromkeys(forms.FIELDS[section], ""))
        first = next(iter(forms.FIELDS[section]))
        return _render(
            report, token, typed, focus=forms.field_id(f"{section}.{len(rows) - 1}.{first}")
        )
    try:
        content = stored(load_input(ReportContentSchema(), forms.for_loading(typed)))
        session = request_session(database)
        if action == "save_draft":
            domain.save_draft(session, report_id=report.id, content=content, at=now())
            return redirect(url_for("report_form.report_form", token=token, saved=1), code=303)
        domain.submit(
            session,
            report_id=report.id,
            content=content,
            goal_categories=goal_categories,
            at=now(),
            outbox=outbox,
        )
    except Invalid as err:
        return _render(report, token, typed, errors=err.errors, status=422)
    return redirect(url_for("report_form.report_form", token=token), code=303)
