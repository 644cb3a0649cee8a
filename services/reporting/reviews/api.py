"""The review of a report in reporting's staff JSON API (``/api/v1/openapi.json``). Every
endpoint needs a staff sign-in (the liaison of the report's alliance or the Coordinator);
writes need the ``X-CSRFToken`` header."""

from __future__ import annotations

import uuid
from typing import Any

from flask_smorest import Blueprint

from services.reporting.reports import review as reviews
from services.reporting.reviews import views
from services.reporting.reviews.schemas import (
    LinkSentOut,
    ReportFileOut,
    ReviewOut,
    RevisionRequestIn,
)
from services.reporting.worker import database, outbox
from shared.api import ErrorSchema
from shared.staff_auth import staff_api_required
from shared.web import current_acting, request_session

bp = Blueprint(
    "report_reviews_api",
    __name__,
    url_prefix="/api/v1",
    description="A submitted report, accepted or sent back for a revision (staff).",
)


def _file(report_id: uuid.UUID) -> dict[str, Any]:
    found = reviews.report_file(
        request_session(database), acting=current_acting(), report_id=report_id
    )
    report = found.report
    return {
        **{
            column: getattr(report, column)
            for column in ReportFileOut().fields
            if column not in ("versions", "reviews", "links_sent")
        },
        "versions": found.versions,
        "reviews": found.reviews,
        "links_sent": found.resends,
    }


@bp.route("/reports/<uuid:report_id>")
@staff_api_required()
@bp.response(200, ReportFileOut)
@bp.alt_response(
    403, schema=ErrorSchema, description="Not the liaison, the Coordinator nor a reviewer."
)
@bp.alt_response(404, schema=ErrorSchema, description="There is no such report.")
def get_report(report_id: uuid.UUID) -> Any:
    """The report in any status with its reminders, every submitted version, every review
    and every new link sent to the partner."""
    return _file(report_id)


@bp.route("/reports/<uuid:report_id>/acceptance", methods=["POST"])
@staff_api_required()
@bp.response(201, ReviewOut)
@bp.alt_response(403, schema=ErrorSchema, description="Not the liaison nor the Coordinator.")
@bp.alt_response(404, schema=ErrorSchema, description="There is no such report.")
@bp.alt_response(409, schema=ErrorSchema, description="The report is not submitted.")
def accept(report_id: uuid.UUID) -> Any:
    """Accept the report's latest version (``report.accepted``)."""
    return reviews.accept(
        request_session(database),
        acting=current_acting(),
        report_id=report_id,
        outbox=outbox,
        now=views.now(),
    )


@bp.route("/reports/<uuid:report_id>/revision-request", methods=["POST"])
@staff_api_required()
@bp.arguments(RevisionRequestIn)
@bp.response(201, ReviewOut)
@bp.alt_response(403, schema=ErrorSchema, description="Not the liaison nor the Coordinator.")
@bp.alt_response(404, schema=ErrorSchema, description="There is no such report.")
@bp.alt_response(409, schema=ErrorSchema, description="The report is not submitted.")
def request_revision(body: dict[str, Any], report_id: uuid.UUID) -> Any:
    """Ask for a revision with comments: a new due date and reminders, and
    ``report.revision_requested`` with the partner's link."""
    return reviews.request_revision(
        request_session(database),
        acting=current_acting(),
        report_id=report_id,
        comments=body["comments"],
        outbox=outbox,
        now=views.now(),
        due_date=body.get("due_date"),
    )


@bp.route("/reports/<uuid:report_id>/link", methods=["POST"])
@staff_api_required()
@bp.response(201, LinkSentOut)
@bp.alt_response(403, schema=ErrorSchema, description="Not the liaison nor the Coordinator.")
@bp.alt_response(404, schema=ErrorSchema, description="There is no such report.")
@bp.alt_response(
    409,
    schema=ErrorSchema,
    description="The report was accepted or cancelled, or the alliance ended and the partner "
    "owes nothing more on it.",
)
def resend_link(report_id: uuid.UUID) -> Any:
    """Send the partner's contact a new signed link to the report's form
    (``report.link_resent``, naming who asked); the report's page lists it."""
    return reviews.resend_link(
        request_session(database),
        acting=current_acting(),
        report_id=report_id,
        outbox=outbox,
        now=views.now(),
    )
