"""The partner's report form at ``/reports/<token>`` (``/reporting/reports/<token>`` behind
the gateway): no account, the signed link is the key (reports/tokens.py).

GET shows the form (from the saved draft), or a read-only confirmation once submitted.
POST "Save draft" keeps the content, "Submit" stores a version (reports/submission.py), "Add another
row" shows the form again with one more empty row of that section and "Remove meeting 2"
without that row, everything else as typed (no JavaScript needed; neither stores anything).
While the report's period runs the form warns that a report sent now covers only part of it
and asks for a ticked box to submit. A refusal of the input is the form again, each message
beside its field; a refused link or state is shared/web.py's refusal page.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext as _

from services.reporting.alliances.models import Alliance
from services.reporting.reports import content as report_content
from services.reporting.reports import printout
from services.reporting.reports import submission as domain
from services.reporting.reports.models import Report
from services.reporting.reports.tokens import read_token
from services.reporting.schedules.domain import rules_from_settings
from services.reporting.submissions import forms
from services.reporting.submissions.schemas import (
    MAX_ROWS,
    FormControlsSchema,
    ReportContentSchema,
    stored,
)
from services.reporting.worker import database, outbox
from shared.config import load_agency_profile, load_settings
from shared.domain import Conflict, Invalid, NotFound
from shared.i18n import translate_message, use_language_of
from shared.proposal import US_STATES
from shared.schemas import checks_form_text, load_input
from shared.web import request_session

bp = Blueprint("report_form", __name__)


def now() -> datetime:
    """The submission's instant (tests replace it)."""
    return datetime.now(UTC)


def _report(token: str) -> Report:
    """The report a link opens, its page in the language its partner contact reads."""
    report = domain.find_report(request_session(database), read_token(token))
    alliance = request_session(database).get(Alliance, report.alliance_id)
    use_language_of(str(((alliance.contact if alliance else None) or {}).get("language") or ""))
    return report


def _emphasis_areas() -> dict[str, str]:
    profile = load_agency_profile()
    return {**profile.priority_areas, **profile.hazards}


def _goal_categories(report: Report) -> dict[str, str]:
    alliance = request_session(database).get(Alliance, report.alliance_id)
    return report_content.goal_categories_of(alliance, load_agency_profile().goal_categories)


def _render(
    report: Report,
    token: str,
    content: dict[str, Any],
    *,
    errors: dict[str, list[str]] | None = None,
    status: int = 200,
    notice: str = "",
    focus: str = "",
    confirm_early: bool = False,
) -> tuple[str, int]:
    session = request_session(database)
    alliance = session.get(Alliance, report.alliance_id)
    goal_categories = report_content.goal_categories_of(
        alliance, load_agency_profile().goal_categories
    )
    revision = (
        domain.latest_review(session, report.id) if report.status == "revision_requested" else None
    )
    shown = report_content.for_display(content)
    for section in report_content.FIELDS:  # always an empty row to fill in
        if not shown[section]:
            shown[section].append(dict.fromkeys(report_content.FIELDS[section], ""))
    # The checks' messages in the page's language (shared/i18n.py).
    errors = {path: [translate_message(m) for m in found] for path, found in (errors or {}).items()}
    early = domain.sent_early(report, now(), rules_from_settings())
    page = render_template(
        "report_form.html",
        page_title=_("Report on your alliance"),
        report=report,
        alliance=alliance,
        token=token,
        data=shown,
        errors=errors,
        error_rows=forms.error_rows(errors, goal_categories),
        sections=report_content.SECTIONS,
        fields=report_content.FIELDS,
        row_names=forms.ROW_NAMES,
        field_id=forms.field_id,
        goal_categories=goal_categories,
        emphasis_areas=_emphasis_areas(),
        states=[(s, s) for s in sorted(US_STATES)],
        early_warning=translate_message(domain.early_warning(report)) if early else "",
        confirm_early=confirm_early,
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
        alliance = session.get(Alliance, report.alliance_id)
        shown = report_content.for_display(versions[-1].content if versions else {})
        return render_template(
            "report_submitted.html",
            page_title=_("Report accepted") if accepted else _("Report submitted"),
            accepted=review if accepted else None,
            report=report,
            token=token,
            alliance=alliance,
            version=versions[-1] if versions else None,
            content=shown,
            sections=report_content.SECTIONS,
            fields=report_content.FIELDS,
            goal_categories=report_content.narrated(
                shown,
                report_content.goal_categories_of(alliance, load_agency_profile().goal_categories),
                load_agency_profile().goal_categories,
            ),
            emphasis_areas=_emphasis_areas(),
            timezone=load_settings().agency_timezone,
        )
    if report.status == "cancelled":
        raise Conflict("This report was cancelled; nothing is owed.")
    notice = ""
    if request.args.get("saved"):
        notice = _("Draft saved. Come back with the same link to finish it; nothing was submitted.")
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
    goal_categories = _goal_categories(report)
    controls = load_input(
        FormControlsSchema(),
        {
            "action": request.form.get("action", ""),
            "confirm_early": request.form.get("confirm_early", ""),
        },
    )
    action, confirm_early = controls["action"], controls["confirm_early"]
    if action.startswith("remove:"):
        return _remove(report, token, action, goal_categories, confirm_early=confirm_early)
    typed = forms.from_form(request.form, goal_categories)
    if action.startswith("add:"):
        section = action.split(":", 1)[1]
        rows = typed[section]
        # The form showed the rows typed, or one empty row: one more than that.
        target = min(max(len(rows), 1) + 1, MAX_ROWS)
        while len(rows) < target:
            rows.append(dict.fromkeys(report_content.FIELDS[section], ""))
        first = next(iter(report_content.FIELDS[section]))
        return _render(
            report,
            token,
            typed,
            focus=forms.field_id(f"{section}.{len(rows) - 1}.{first}"),
            confirm_early=confirm_early,
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
            confirm_early=confirm_early,
        )
    except Invalid as err:
        return _render(
            report, token, typed, errors=err.errors, status=422, confirm_early=confirm_early
        )
    return redirect(url_for("report_form.report_form", token=token), code=303)


def _remove(
    report: Report,
    token: str,
    action: str,
    goal_categories: dict[str, str],
    *,
    confirm_early: bool,
) -> tuple[str, int]:
    """The form again without one row, every other row as typed (blank ones too, so each
    keeps its place); nothing is stored until Save draft or Submit."""
    section, position = action.split(":")[1:]
    index = int(position)
    typed = forms.from_form(request.form, goal_categories, without=(section, index))
    rows = typed[section]
    first = next(iter(report_content.FIELDS[section]))
    # The focus goes to the row that took the removed one's place, or the one before it.
    focus = forms.field_id(f"{section}.{min(index, max(len(rows) - 1, 0))}.{first}")
    notice = _(
        "Removed %(row)s %(number)s. "
        "The change is kept when you save a draft or submit the report.",
        row=translate_message(forms.ROW_NAMES[section]),
        number=index + 1,
    )
    return _render(report, token, typed, notice=notice, focus=focus, confirm_early=confirm_early)
