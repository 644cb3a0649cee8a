"""A report's reviews say who reviewed them by name, on the report's page, in its printout
(the partner's PDF) and beside the e-mail address in the API; a review recorded before names
were kept still reads, by the address."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import update

from services.reporting import create_app
from services.reporting.models import Report, ReportReview
from services.reporting.reports import domain as reports
from services.reporting.worker import database
from tests.factories import (
    acting,
    alliance_signed_event,
    partner_submits,
    run_reporting_task,
    signed_in,
)

pytestmark = pytest.mark.integration

CORA = acting("cora@agency.example", "coordinator", name="Cora Coordinator")
SUBMITTED = {
    "meetings.0.date": "2026-02-10",
    "meetings.0.topic": "Planning the spring safety day",
    "meetings.0.attendees": "Dana Smith (Roofers Association)",
    "narratives.outreach_communication.results": "Reached 85 roofers in Lansing.",
}


@pytest.fixture
def revision_asked(clean_databases: Any, redis_client: Any, monkeypatch: Any) -> Report:
    """The alliance's first report, submitted, and a revision of it asked for by Cora."""
    signed = alliance_signed_event(signing_date=date(2026, 1, 15), ends_on=date(2028, 1, 14))
    run_reporting_task("reporting.alliance_signed", signed)
    with database.transaction() as session:
        report = reports.reports_of(session, alliance_id=signed.payload["alliance_id"])[0]
        session.expunge(report)
    partner_submits(monkeypatch, report.id, SUBMITTED, datetime(2026, 4, 20, 15, tzinfo=UTC))
    asked = staff().post(
        f"/staff/reports/{report.id}/review",
        data={"action": "request_revision", "comments": "Say how many were trained."},
    )
    assert asked.status_code == 303
    return report


def staff() -> Any:
    return signed_in(create_app({"TESTING": True, "WTF_CSRF_ENABLED": False}), CORA)


def page(report: Report) -> str:
    answer = staff().get(f"/staff/reports/{report.id}")
    assert answer.status_code == 200
    return " ".join(answer.get_data(as_text=True).split())


def printout(report: Report) -> str:
    answer = staff().get(f"/staff/reports/{report.id}/report.pdf")
    assert answer.status_code == 200, answer.get_data(as_text=True)[:500]
    pages = PdfReader(io.BytesIO(answer.data)).pages
    return " ".join(" ".join(p.extract_text() for p in pages).split())


def test_the_report_page_and_its_printout_name_the_reviewer(revision_asked):
    shown, printed = page(revision_asked), printout(revision_asked)

    assert "Revision requested by Cora Coordinator on" in shown
    assert "by Cora Coordinator on" in printed
    assert "cora@agency.example" not in shown
    assert "cora@agency.example" not in printed


def test_the_api_gives_the_reviewers_name_beside_the_address(revision_asked):
    found = staff().get(f"/api/v1/reports/{revision_asked.id}").get_json()

    [review] = found["reviews"]
    assert (review["reviewed_by"], review["reviewed_by_name"]) == (
        "cora@agency.example",
        "Cora Coordinator",
    )


def test_a_review_recorded_before_names_were_reads_by_its_address(revision_asked):
    with database.transaction() as session:
        session.execute(update(ReportReview).values(reviewed_by_name=None))

    assert "by cora@agency.example on" in page(revision_asked)
    assert "by cora@agency.example on" in printout(revision_asked)
    [review] = staff().get(f"/api/v1/reports/{revision_asked.id}").get_json()["reviews"]
    assert review["reviewed_by_name"] is None
