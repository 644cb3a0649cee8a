"""Staff pages of program figures: the liaison's work list (``/staff/reports``), the
Coordinator's dashboard (``/staff/dashboard``) and the CSV export of reports
(``/staff/reports.csv``) and of activity rows (``/staff/activities.csv``). Each calls one
function of figures/domain.py, which decides who may see what."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, render_template, request

from services.reporting.conflicts.views import acting as current_acting
from services.reporting.figures import domain as figures
from services.reporting.figures.charts import bar_chart
from services.reporting.schedules.domain import rules_from_settings
from services.reporting.worker import database
from shared.agency import load_agency_profile
from shared.domain import Acting
from shared.staff_auth import staff_required
from shared.web import request_session

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


def _acting() -> Acting:
    return current_acting()


@bp.get("/reports")
@staff_required()
def work_list_page() -> Any:
    found = figures.work_list(
        request_session(database),
        acting=_acting(),
        now=datetime.now(UTC),
        rules=rules_from_settings(),
        liaison=request.args.get("liaison") or None,
    )
    options = [(email, f"{name} ({email})" if name else email) for email, name in found.liaisons]
    return render_template("figures/work_list.html", work=found, liaison_options=options)


@bp.get("/dashboard")
@staff_required()
def dashboard_page() -> Any:
    profile = load_agency_profile()
    found = figures.dashboard(
        request_session(database),
        acting=_acting(),
        now=datetime.now(UTC),
        rules=rules_from_settings(),
        divisions=profile.divisions,
    )
    unit = "office" if profile.federal else "division"
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
    return render_template(
        "figures/dashboard.html",
        left_out=found.left_out,
        unit=unit,
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
        years=years,
        active_chart=bar_chart(
            "active-chart",
            f"Active alliances by {unit}",
            active,
            description=f"Number of active alliances in each {unit}.",
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


@bp.get("/reports.csv")
@staff_required()
def reports_csv() -> Response:
    rows = figures.export_rows(
        request_session(database),
        acting=_acting(),
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
    rows = figures.activity_export_rows(request_session(database), acting=_acting())
    stamp = datetime.now(UTC).strftime("%Y-%m-%d")
    return Response(
        figures.to_csv(rows),
        mimetype="text/csv",
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="activities-{stamp}.csv"',
        },
    )
