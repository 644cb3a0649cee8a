"""Staff pages of program figures: the liaison's work list (``/staff/reports``), the
Coordinator's dashboard (``/staff/dashboard``, filtered by period and division, and
``/staff/dashboard.pdf``, the same as a PDF) and the CSV export of reports
(``/staff/reports.csv``) and of activity rows (``/staff/activities.csv``). Each calls one
function of figures/domain.py, which decides who may see what."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from flask import Blueprint, Response, render_template, request

from services.reporting.figures import domain as figures
from services.reporting.figures.charts import bar_chart
from services.reporting.schedules.domain import rules_from_settings
from services.reporting.worker import database
from shared.config import load_agency_profile
from shared.domain import Invalid
from shared.staff_auth import staff_required
from shared.web import current_acting, request_session, unavailable

log = logging.getLogger(__name__)

bp = Blueprint("figures", __name__, url_prefix="/staff")

PROPOSAL_STATUS_LABELS = {
    "submitted": "Submitted (in review)",
    "changes_requested": "Changes requested",
    "declined": "Declined",
    "approved": "Approved",
}
TIMING_LABELS = {
    "on_time": "On time",
    "late": "Late",
    "overdue": "Overdue",
    "open": "Not due yet",
    "cancelled": "Not owed",
}


@bp.app_template_filter("report_status")
def report_status(status: str) -> str:
    return figures.status_label(status)


@bp.app_template_filter("report_timing")
def report_timing(kind: str) -> str:
    return TIMING_LABELS.get(kind, kind)


WORK_FIELDS = {
    "view": ("filter-view", "Show"),
    "partner": ("filter-partner", "Partner"),
    "office": ("filter-office", "Office"),
}


@bp.get("/reports")
@staff_required()
def work_list_page() -> Any:
    """The work list; ``view`` (``due_soon``: due in the next 30 days), ``partner`` (part of
    the organization's name) and, for the Coordinator, ``liaison`` narrow it. A filter the
    list refuses comes back beside its field (400), the list left unfiltered below it."""
    asked = {name: request.args.get(name, "") for name in ("view", "partner", "office")}
    liaison = request.args.get("liaison") or None

    def found_with(view: str, partner: str, office: str = "") -> figures.WorkList:
        return figures.work_list(
            request_session(database),
            acting=current_acting(),
            now=datetime.now(UTC),
            rules=rules_from_settings(),
            liaison=liaison,
            view=view,
            partner=partner,
            office=office,
        )

    errors: dict[str, list[str]] = {}
    try:
        found = found_with(asked["view"], asked["partner"], asked["office"])
    except Invalid as err:
        errors = err.errors
        found = found_with("", "")
    options = [(email, f"{name} ({email})" if name else email) for email, name in found.liaisons]
    page = render_template(
        "figures/work_list.html",
        work=found,
        liaison_options=options,
        view_options=list(figures.WORK_VIEWS.items()),
        asked=asked,
        errors=errors,
        error_rows=[
            (WORK_FIELDS[name][0], WORK_FIELDS[name][1], message)
            for name, messages in errors.items()
            if name in WORK_FIELDS
            for message in messages
        ],
    )
    return page, 400 if errors else 200


@dataclass(frozen=True)
class DashboardFilters:
    """The dashboard's filters as asked (``period``, ``division`` GET parameters), what they
    name, and the message of each one refused, by field."""

    period: figures.Period
    division: str
    asked: dict[str, str]
    errors: dict[str, list[str]]
    unit: str
    division_labels: dict[str, str]
    choices: list[tuple[str, list[tuple[str, str]]]]
    start_month: int = 1
    office: str = ""  # empty: every office of the person's
    office_labels: dict[str, str] = field(default_factory=dict)  # the person's offices
    own_office: str = ""  # the name of the person's office, below the top one; else empty
    by_office: bool = False  # the offices say more than the divisions: filter and roll up

    @property
    def fiscal_year_start(self) -> str:
        """The month the agency's fiscal year starts: ``October``."""
        return date(2000, self.start_month, 1).strftime("%B")

    @property
    def division_label(self) -> str:
        if not self.division:
            return f"all {self.unit}s"
        return self.division_labels.get(self.division, self.division)

    @property
    def place(self) -> str:
        """``Region V (Chicago), all office levels``: whose figures, in words."""
        office = self.office_labels.get(self.office, self.office) or self.own_office
        return f"{office}, {self.division_label}" if office else self.division_label

    @property
    def summary(self) -> str:
        """``Fiscal year 2027, Construction Safety and Health``: what the page counts."""
        office = self.office_labels.get(self.office, self.office) or self.own_office
        if office:
            return f"{self.period.label}, {office}, {self.division_label}"
        return f"{self.period.label}, {self.division_label}"

    @property
    def query(self) -> dict[str, str]:
        """The parameters that ask for the same figures (the PDF's link)."""
        out = {}
        if not self.period.all_time:
            out["period"] = self.period.key
        if self.division:
            out["division"] = self.division
        if self.office:
            out["office"] = self.office
        return out


def _dashboard_filters(now: datetime) -> DashboardFilters:
    figures.check_may_see_dashboard(current_acting())
    profile = load_agency_profile()
    rules = rules_from_settings()
    unit = "office level" if profile.federal else "division"
    asked = {name: request.args.get(name, "") for name in ("period", "division", "office")}
    errors: dict[str, list[str]] = {}
    period = figures.ALL_TIME
    division = ""
    office = ""
    acting = current_acting()
    try:
        office = figures.parse_office(asked["office"], acting=acting)
    except Invalid as err:
        errors.update(err.errors)
    try:
        period = figures.parse_period(asked["period"], start_month=rules.fiscal_year_start_month)
    except Invalid as err:
        errors.update(err.errors)
    try:
        division = figures.parse_division(asked["division"], divisions=profile.divisions, unit=unit)
    except Invalid as err:
        errors.update(err.errors)
    return DashboardFilters(
        period=period,
        division=division,
        asked=asked,
        errors=errors,
        unit=unit,
        division_labels=dict(profile.divisions),
        choices=figures.period_choices(
            today=now.astimezone(rules.timezone).date(),
            start_month=rules.fiscal_year_start_month,
            chosen=period,
        ),
        start_month=rules.fiscal_year_start_month,
        office=office,
        office_labels=figures.office_choices(acting),
        own_office=figures.own_office_name(acting),
        by_office=load_agency_profile().offices_tell_more,
    )


def _dashboard_figures(filters: DashboardFilters, now: datetime) -> dict[str, Any]:
    """What the dashboard's page and its PDF show: the figures the filters ask for."""
    profile = load_agency_profile()
    found = figures.dashboard(
        request_session(database),
        acting=current_acting(),
        now=now,
        rules=rules_from_settings(),
        divisions=profile.divisions,
        period=filters.period,
        division=filters.division,
        office=filters.office,
    )
    unit = filters.unit
    areas = {**profile.hazards, **profile.priority_areas}
    people = [
        (
            line.year,
            areas.get(line.emphasis_area, line.emphasis_area) or "No emphasis area (agency staff)",
            line.reached,
            line.trained,
        )
        for line in found.people
    ]
    active = [(profile.divisions.get(key, key), count) for key, count in found.active_by_division]
    years = [
        (year, counts["on_time"], counts["late"], counts["overdue"])
        for year, counts in found.timing_by_year.items()
    ]
    timing_bars = [
        (f"{year}: {label}", count)
        for year, on_time, late, overdue in years
        for label, count in (("on time", on_time), ("late", late), ("overdue", overdue))
    ]
    by_status = [
        (PROPOSAL_STATUS_LABELS.get(status, status), count)
        for status, count in found.proposals_by_status
    ]
    by_state = [
        (
            state or "State not known",
            sum(counts.values()),
            [counts[status] for status in PROPOSAL_STATUS_LABELS],
        )
        for state, counts in found.proposals_by_state
    ]
    active_title = (
        f"Active alliances by {unit}"
        if filters.period.all_time
        else f"Alliances in effect in the period by {unit}"
    )
    by_office = [
        (
            name if index else f"{name} (with every office under it)",
            count,
            None if index == 0 else {**filters.query, "office": slug},
        )
        for index, (slug, name, count) in enumerate(found.active_by_office)
        if filters.by_office and (count or index == 0)  # offices with none are left out
    ]
    if by_office and found.active_by_office:
        # The office's own alliances, beside those of the offices under it.
        _slug, name, total = found.active_by_office[0]
        own = total - sum(count for _s, _n, count in found.active_by_office[1:])
        if own and len(found.active_by_office) > 1:
            by_office.insert(1, (f"{name}: its own", own, None))
    return dict(
        by_office=by_office,
        office_chart=bar_chart(
            "office-chart",
            "Alliances by office, each with the offices under it",
            [(name, count) for name, count, _query in by_office],
            description="Number of alliances of each office, its own offices' included.",
        ),
        left_out=found.left_out,
        proposal_statuses=list(PROPOSAL_STATUS_LABELS.values()),
        by_status=by_status,
        by_state=by_state,
        status_chart=bar_chart(
            "status-chart",
            "Proposals by status",
            by_status,
            description="Number of proposals at each status, from the latest event of each.",
        ),
        state_chart=bar_chart(
            "state-chart",
            "Proposals by state",
            [(line[0], line[1]) for line in by_state],
            description="Number of proposals from organizations in each state.",
        ),
        active=active,
        active_title=active_title,
        years=years,
        active_chart=bar_chart(
            "active-chart",
            active_title,
            active,
            description=f"Number of alliances in each {unit}.",
        ),
        timing_chart=bar_chart(
            "timing-chart",
            "Reports on time, late and overdue by year due",
            timing_bars,
            description="Number of reports by the year they were due.",
        ),
        people=people,
        people_chart=bar_chart(
            "people-chart",
            "People reached and trained by year and emphasis area",
            [
                (f"{line[0]}, {line[1]}: {kind}", count)
                for line in people
                for kind, count in (("reached", line[2]), ("trained", line[3]))
                if count
            ],
            description="Number of people reached (dissemination and outreach) and trained "
            "(agency staff) by year and emphasis area, from the latest submitted reports.",
        ),
    )


def _refused_filters(filters: DashboardFilters) -> Any:
    """The page with the filter form and a message on each refused field, and no figures:
    400, never figures for something other than what was asked."""
    summary = [
        (f"filter-{name}", label, messages[0])
        for name, label in (
            ("period", "Period"),
            ("office", "Office"),
            ("division", filters.unit.capitalize()),
        )
        for messages in [filters.errors.get(name)]
        if messages
    ]
    return (
        render_template(
            "figures/dashboard.html",
            filters=filters,
            unit=filters.unit,
            error_summary=summary,
            refused=True,
        ),
        400,
    )


@bp.get("/dashboard")
@staff_required()
def dashboard_page() -> Any:
    now = datetime.now(UTC)
    filters = _dashboard_filters(now)
    if filters.errors:
        return _refused_filters(filters)
    return render_template(
        "figures/dashboard.html",
        filters=filters,
        unit=filters.unit,
        refused=False,
        error_summary=[],
        **_dashboard_figures(filters, now),
    )


def _fetch_nothing(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    raise ValueError(f"the dashboard's PDF fetches nothing ({url[:80]})")


@bp.get("/dashboard.pdf")
@staff_required()
def dashboard_pdf() -> Any:
    """The dashboard with the same filters as a tagged PDF under the agency's letterhead;
    refused filters answer the page with their messages (400), as the page does."""
    now = datetime.now(UTC)
    filters = _dashboard_filters(now)
    if filters.errors:
        return _refused_filters(filters)
    html = render_template(
        "figures/dashboard_pdf.html",
        filters=filters,
        unit=filters.unit,
        agency_name=load_agency_profile().name,
        program_title="Alliance Program",
        generated_at=now,
        pdf=True,
        **_dashboard_figures(filters, now),
    )
    try:  # imported on use: it loads Pango, a system library only this needs
        from weasyprint import HTML
    except (ImportError, OSError) as err:
        log.error("dashboard PDF unavailable: WeasyPrint did not load (%s)", err)
        return unavailable(
            "the PDF renderer (WeasyPrint with the Pango system library)",
            stored="Nothing was changed.",
        )
    pdf = HTML(string=html, url_fetcher=_fetch_nothing).write_pdf(
        pdf_variant="pdf/ua-1", pdf_tags=True
    )
    name = "-".join(
        part for part in ("program-figures", filters.period.key, filters.division) if part
    )
    name = "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "-" for c in name)
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="{name}.pdf"',
            "Cache-Control": "private, no-store",
        },
    )


@bp.get("/reports.csv")
@staff_required()
def reports_csv() -> Response:
    rows = figures.export_rows(
        request_session(database),
        acting=current_acting(),
        now=datetime.now(UTC),
        rules=rules_from_settings(),
    )
    stamp = datetime.now(UTC).strftime("%Y-%m-%d")
    return Response(
        figures.to_csv(rows),
        mimetype="text/csv",
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="reports-{stamp}.csv"',
        },
    )


@bp.get("/activities.csv")
@staff_required()
def activities_csv() -> Response:
    rows = figures.activity_export_rows(request_session(database), acting=current_acting())
    stamp = datetime.now(UTC).strftime("%Y-%m-%d")
    return Response(
        figures.to_csv(rows),
        mimetype="text/csv",
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="activities-{stamp}.csv"',
        },
    )
