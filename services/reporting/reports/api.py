"""Reports' staff JSON API. OpenAPI: ``/api/v1/openapi.json``
(``/reporting/api/v1/openapi.json`` behind the gateway). Every endpoint needs a staff sign-in
(shared/staff_auth.py)."""

from __future__ import annotations

import uuid
from typing import Any

from flask_smorest import Blueprint

from services.reporting.reports import domain as reports
from services.reporting.reports.schemas import ReportOut
from services.reporting.worker import database
from shared.api import ErrorSchema
from shared.staff_auth import staff_api_required
from shared.web import current_acting, request_session

bp = Blueprint(
    "reporting_api",
    __name__,
    url_prefix="/api/v1",
    description="The reports each alliance owes and their reminders (staff).",
)


@bp.route("/alliances/<uuid:alliance_id>/reports")
@staff_api_required()
@bp.response(200, ReportOut(many=True))
@bp.alt_response(
    403, schema=ErrorSchema, description="You declared a conflict of interest with the partner."
)
@bp.alt_response(404, schema=ErrorSchema, description="There is no such alliance.")
def get_reports(alliance_id: uuid.UUID) -> Any:
    """The alliance's reports ordered by due date, each with its reminders."""
    return reports.reports_read_by(
        request_session(database), acting=current_acting(), alliance_id=alliance_id
    )
