"""The printable report: a tagged PDF of a submitted version, for staff and for the partner.

Read back with pypdf: the document is marked as tagged, has a structure tree with headings
and table header cells, says its language and shows its title; its text is the report's."""

from __future__ import annotations

import io
import re
import sys
from datetime import UTC, date, datetime
from typing import Any

import pytest
from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

from services.reporting import create_app
from services.reporting.models import Report
from services.reporting.reports import domain as reports
from services.reporting.reports import tokens
from services.reporting.reports.printout import filename
from services.reporting.reviews import views as review_views
from services.reporting.worker import database
from tests.reporting.factories import partner_submits, run_reporting_task
from tests.review.factories import LIAISON, OTHER_LIAISON, acting_as, alliance_signed_event
from tests.shared.factories import COORDINATOR, REVIEWER, ROOFERS, signed_in

pytestmark = pytest.mark.integration

SIGNED = date(2026, 1, 15)
ENDS = date(2028, 1, 14)
SUBMITTED_AT = datetime(2026, 4, 20, 15, tzinfo=UTC)
FIRST = {
    "meetings.0.date": "2026-02-10",
    "meetings.0.topic": "Planning the spring safety day",
    "meetings.0.attendees": "Dana Smith (Roofers Association), Lee Park (agency liaison)",
    "outreach.0.date": "2026-03-05",
    "outreach.0.event": "Spring roofing safety day <b>& ladders</b>",
    "outreach.0.city": "Lansing",
    "outreach.0.state": "MI",
    "outreach.0.emphasis_area": "heat",
    "outreach.0.number_reached": "85",
    "narratives.outreach_communication.results": "Reached 85 roofers in Lansing.",
}


@pytest.fixture
def report(clean_databases: Any, redis_client: Any) -> Report:
    signed = alliance_signed_event(signing_date=SIGNED, ends_on=ENDS)
    run_reporting_task("reporting.alliance_signed", signed)
    with database.transaction() as session:
        first = reports.reports_of(session, alliance_id=signed.payload["alliance_id"])[0]
        session.expunge(first)
        return first


def staff(person: Any) -> Any:
    return signed_in(create_app({"TESTING": True, "WTF_CSRF_ENABLED": False}), person)


def resolved(value: Any) -> Any:
    return value.get_object() if isinstance(value, IndirectObject) else value


def structure_roles(reader: PdfReader) -> set[str]:
    """Every structure element's role (/S) in the document's structure tree."""
    roles: set[str] = set()
    pending = [reader.trailer["/Root"]["/StructTreeRoot"]]
    while pending:
        node = resolved(pending.pop())
        if isinstance(node, ArrayObject):
            pending.extend(node)
        elif isinstance(node, DictionaryObject):
            if "/S" in node:
                roles.add(str(node["/S"]))
            if "/K" in node:
                pending.append(node["/K"])
    return roles


def test_the_liaison_prints_a_tagged_pdf_of_the_submitted_report(report, monkeypatch):
    partner_submits(monkeypatch, report.id, FIRST, SUBMITTED_AT)
    monkeypatch.setattr(review_views, "now", lambda: datetime(2026, 5, 1, 12, tzinfo=UTC))
    answer = staff(acting_as(LIAISON)).get(f"/staff/reports/{report.id}/report.pdf")
    assert answer.status_code == 200, answer.get_data(as_text=True)[:500]
    assert answer.mimetype == "application/pdf"
    period = report.period_start.isoformat()
    assert re.fullmatch(
        rf'inline; filename="[A-Za-z0-9_-]+-quarterly-report-{period}-v1\.pdf"',
        answer.headers["Content-Disposition"],
    )
    assert answer.data.startswith(b"%PDF-")

    reader = PdfReader(io.BytesIO(answer.data))
    catalog = reader.trailer["/Root"]
    assert catalog["/MarkInfo"]["/Marked"].value is True  # a tagged PDF
    assert str(catalog["/Lang"]) == "en"
    assert catalog["/ViewerPreferences"]["/DisplayDocTitle"].value is True
    assert reader.metadata is not None
    assert reader.metadata.title == f"Quarterly report of {ROOFERS}"
    assert {"/H1", "/H2", "/Table", "/TH", "/TD"} <= structure_roles(reader)

    text = "\n".join(page.extract_text() for page in reader.pages)
    flat = " ".join(text.split())
    for expected in (
        f"Quarterly report of {ROOFERS}",
        "Implementation team meetings",
        "February 10, 2026",
        "Spring roofing safety day <b>& ladders</b>",  # typed text, as typed
        "Lansing",
        "Reached 85 roofers in Lansing.",
        "Version: 1, submitted Apr 20, 2026, 11:00 AM EDT",  # the agency's time, named
        "Page 1 of",
    ):
        assert expected in flat, expected


def test_a_revised_report_prints_each_version_asked_for(report, monkeypatch):
    partner_submits(monkeypatch, report.id, FIRST, SUBMITTED_AT)
    client = staff(COORDINATOR)
    asked = client.post(
        f"/staff/reports/{report.id}/review",
        data={"action": "request_revision", "comments": "Say how many were trained."},
    )
    assert asked.status_code == 303
    second = {**FIRST, "narratives.outreach_communication.results": "Reached 90 roofers."}
    partner_submits(monkeypatch, report.id, second, datetime(2026, 5, 10, 15, tzinfo=UTC))

    def text(query: str) -> str:
        answer = client.get(f"/staff/reports/{report.id}/report.pdf{query}")
        assert answer.status_code == 200
        pages = PdfReader(io.BytesIO(answer.data)).pages
        return " ".join(" ".join(page.extract_text() for page in pages).split())

    latest, first = text(""), text("?version=1")
    assert "Reached 90 roofers." in latest
    assert "Version: 2" in latest
    assert "Reached 85 roofers in Lansing." in first
    assert "Version: 1" in first
    assert "Say how many were trained." in latest  # the review that led to version 2
    missing = client.get(f"/staff/reports/{report.id}/report.pdf?version=7")
    assert missing.status_code == 404
    assert "has no version 7" in missing.get_data(as_text=True)


def test_nothing_to_print_before_the_first_submission(report):
    answer = staff(acting_as(LIAISON)).get(f"/staff/reports/{report.id}/report.pdf")
    assert answer.status_code == 404
    assert "nothing to print" in answer.get_data(as_text=True)
    partner = create_app({"TESTING": True}).test_client()
    early = partner.get(f"/reports/{tokens.make_token(report.id)}/report.pdf")
    assert early.status_code == 404
    assert "submit the report to print it" in early.get_data(as_text=True)


@pytest.mark.parametrize("person", [acting_as(OTHER_LIAISON), REVIEWER], ids=["other", "reviewer"])
def test_staff_who_may_not_review_the_report_may_not_print_it(report, monkeypatch, person):
    partner_submits(monkeypatch, report.id, FIRST, SUBMITTED_AT)
    answer = staff(person).get(f"/staff/reports/{report.id}/report.pdf")
    assert answer.status_code == 403
    assert not answer.data.startswith(b"%PDF")


def test_the_partner_prints_what_it_submitted_through_its_link(report, monkeypatch):
    partner_submits(monkeypatch, report.id, FIRST, SUBMITTED_AT)
    partner = create_app({"TESTING": True}).test_client()
    answer = partner.get(f"/reports/{tokens.make_token(report.id)}/report.pdf")
    assert answer.status_code == 200
    assert answer.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(answer.data))
    assert "Reached 85 roofers in Lansing." in " ".join(p.extract_text() for p in reader.pages)
    assert partner.get("/reports/not-a-token/report.pdf").status_code == 404
    listing = staff(COORDINATOR).get(f"/staff/alliances/{report.alliance_id}/reports")
    assert f"/staff/reports/{report.id}/report.pdf" in listing.get_data(as_text=True)
    link = tokens.make_token(report.id)  # one token: a second may pass between two makes
    page = partner.get(f"/reports/{link}")
    assert f"/reports/{link}/report.pdf" in page.get_data(as_text=True)


def test_the_file_name_is_plain_ascii():
    found = Report(kind="annual", period_start=date(2026, 1, 15))
    alliance = type("A", (), {"reference": "MI 2026/001 é"})()
    version = type("V", (), {"number": 3})()
    assert filename(found, alliance, version) == "MI-2026-001---annual-report-2026-01-15-v3.pdf"


def test_without_its_pdf_renderer_the_printout_answers_503_and_the_page_still_works(
    report, monkeypatch
):
    partner_submits(monkeypatch, report.id, FIRST, SUBMITTED_AT)
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # as if Pango were missing
    client = staff(acting_as(LIAISON))
    answer = client.get(f"/staff/reports/{report.id}/report.pdf")
    assert answer.status_code == 503
    assert "PDF renderer" in answer.get_data(as_text=True)
    assert client.get(f"/staff/reports/{report.id}").status_code == 200


def test_the_pdf_has_the_agencys_letterhead_and_each_meetings_topic_and_attendees(
    clean_databases, redis_client, monkeypatch
):
    signed = alliance_signed_event(signing_date=SIGNED, ends_on=ENDS)
    signed.payload["goals"] = [{"category": "outreach_communication", "description": "Talks"}]
    run_reporting_task("reporting.alliance_signed", signed)
    with database.transaction() as session:
        report = reports.reports_of(session, alliance_id=signed.payload["alliance_id"])[0]
        reference = signed.payload["reference"]
    sent = {**FIRST, "confirm_early": "yes"}  # March 20: before the quarter ends
    partner_submits(monkeypatch, report.id, sent, datetime(2026, 3, 20, 15, tzinfo=UTC))
    partner = create_app({"TESTING": True}).test_client()
    answer = partner.get(f"/reports/{tokens.make_token(report.id)}/report.pdf")
    assert answer.status_code == 200
    reader = PdfReader(io.BytesIO(answer.data))
    flat = " ".join(" ".join(p.extract_text() for p in reader.pages).split())
    letterhead = f"MIOSHA Alliance Program Alliance {reference}, January 15, 2026 to March 31, 2026"
    assert flat.startswith(letterhead), flat[:200]
    for expected in (
        "Meeting date Topic Who attended",
        "Planning the spring safety day",
        "Dana Smith (Roofers Association), Lee Park (agency liaison)",
        "(on time; sent before the period ended)",
        "Outreach and communication",
    ):
        assert expected in flat, expected
    assert "Training and education" not in flat  # not one of the alliance's goals
    assert "Raising awareness" not in flat
