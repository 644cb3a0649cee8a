"""The staff page of an alliance's reports (``/staff/alliances/<id>/reports``): every report
by due date with its status, dates, whether it came on time and the reminders sent."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, render_template

from services.reporting.conflicts.views import acting as current_acting
from services.reporting.figures import domain as figures
from services.reporting.schedules.domain import rules_from_settings
from services.reporting.worker import database
from shared.config import load_agency_profile
from shared.staff_auth import staff_required
from shared.web import request_session

bp = Blueprint("report_pages", __name__, url_prefix="/staff")


@bp.get("/alliances/<uuid:alliance_id>/reports")
@staff_required()
def alliance_reports_page(alliance_id: uuid.UUID) -> Any:
    rules = rules_from_settings()
    found = figures.alliance_reports(
        request_session(database),
        acting=current_acting(),
        alliance_id=alliance_id,
        now=datetime.now(UTC),
        rules=rules,
    )
    profile = load_agency_profile()
    return render_template(
        "figures/alliance_reports.html",
        found=found,
        division=profile.divisions.get(found.alliance.division, found.alliance.division),
        timezone=rules.timezone,
    )
