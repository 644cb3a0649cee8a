"""The partner's report page (the signed link, ``/reports/<token>``) after the liaison's
review: an accepted report says so, and when; after a revision request, the form shows what
the liaison asked above it."""

from __future__ import annotations

from typing import Any

import pytest

from services.reporting.models import Report
from services.reporting.reports import tokens
from services.reporting.reviews import views as review_views
from tests.factories import LIAISON, acting_as
from tests.integration.test_report_review import REVIEWED_AT, report, staff_client, submitted

pytestmark = pytest.mark.integration
__all__ = ["report", "submitted"]  # the fixtures this file uses

ASKED = "Add the April meeting, please.\nAnd the attendance of the roofing day."


def partner_page(report: Report) -> Any:
    from services.reporting import create_app

    client = create_app({"TESTING": True}).test_client()
    return client.get(f"/reports/{tokens.make_token(report.id)}")


def review(report: Report, monkeypatch: Any, **form: str) -> None:
    monkeypatch.setattr(review_views, "now", lambda: REVIEWED_AT)
    answer = staff_client(acting_as(LIAISON)).post(f"/staff/reports/{report.id}/review", data=form)
    assert answer.status_code == 303


def test_before_the_review_the_page_says_submitted_not_accepted(submitted):
    page = partner_page(submitted)
    assert page.status_code == 200
    assert "<h1>Report submitted</h1>" in page.text
    assert "accepted" not in page.text.lower()


def test_an_accepted_report_says_accepted_and_when(submitted, monkeypatch):
    review(submitted, monkeypatch, action="accept")
    page = partner_page(submitted)
    assert page.status_code == 200
    assert "<h1>Report accepted</h1>" in page.text
    assert "<title>Report accepted" in page.text
    # REVIEWED_AT is 2026-05-04 02:00 UTC: May 3 in the agency's time zone (Detroit)
    assert "Your liaison accepted the quarterly report" in page.text
    assert "on May 3, 2026 (version 1)" in page.text
    assert "Your liaison reviews it" not in page.text


def test_after_a_revision_request_the_form_shows_what_was_asked_above_it(submitted, monkeypatch):
    review(submitted, monkeypatch, action="request_revision", comments=ASKED)
    page = partner_page(submitted)
    assert page.status_code == 200
    html = page.text
    asked = html.index("Your liaison asked for a revision")
    comments = html.index("Add the April meeting, please.\nAnd the attendance of the roofing day.")
    form = html.index('<form class="usa-form')
    assert asked < comments < form
    assert "On May 3, 2026, of version 1 of this report." in html
    assert "submit it again by May 17, 2026" in html  # the revision's due date
