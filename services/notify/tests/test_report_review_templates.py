"""The report's submission and review: the liaison is asked to review (period, version, on
time or late, the staff page), the partner's contact gets a receipt, an acceptance, or a
revision request with the comments (escaped, line breaks kept), the new due date and the link."""

import uuid
from datetime import UTC, date, datetime

import pytest

from services.notify.messages.render import render

STAFF_PAGE = "http://127.0.0.1:8000/reporting/staff/reports/1"
LINK = "https://alliances.example/reporting/reports/abc?sig=1"


def context(**overrides):
    base = {
        "agency": "MIOSHA",
        "report_id": uuid.uuid4(),
        "alliance_id": uuid.uuid4(),
        "reference": "AP-2026-00042",
        "partner_name": "Roofers <b>& Sons</b>",
        "contact": {"name": "Dana Smith", "email": "dana@example.org"},
        "liaison": {"name": "Lee Liaison", "email": "lee@agency.example"},
        "kind": "quarterly",
        "term": 0,
        "period_start": date(2026, 4, 1),
        "period_end": date(2026, 6, 30),
        "due_date": date(2026, 7, 30),
        "version": 1,
        "submitted_at": datetime(2026, 7, 29, 15, 4, tzinfo=UTC),
        "on_time": True,
        "review_url": STAFF_PAGE,
        "staff_report_url": STAFF_PAGE,
        "comments": "",
        "report_url": LINK,
        "reviewed_by": "lee@agency.example",
        "reviewed_at": datetime(2026, 8, 3, 14, 0, tzinfo=UTC),
        "recipient_name": "Dana Smith",
        "to_liaison": False,
    }
    base.update(overrides)
    return base


@pytest.mark.parametrize(
    ("template", "overrides", "subject"),
    [
        (
            "report_submitted_liaison",
            {},
            "Action required: review the quarterly report from Roofers <b>& Sons</b> "
            "(AP-2026-00042)",
        ),
        (
            "report_submitted_receipt",
            {"kind": "annual"},
            "We received your annual report for AP-2026-00042",
        ),
        ("report_accepted", {}, "Your quarterly report for AP-2026-00042 was accepted"),
        (
            "report_revision_requested",
            {"due_date": date(2026, 8, 17), "comments": "More detail."},
            "Action required: please revise your quarterly report for AP-2026-00042 "
            "by August 17, 2026",
        ),
    ],
)
def test_each_subject_says_what_happened_and_what_is_required(template, overrides, subject):
    assert render(template, context(**overrides))[0] == subject


@pytest.mark.parametrize(("on_time", "word"), [(True, "On time"), (False, "Late")])
def test_the_liaison_reads_the_period_the_version_on_time_or_late_and_the_staff_page(on_time, word):
    _, text, html = render(
        "report_submitted_liaison",
        context(on_time=on_time, version=2, recipient_name="Lee Liaison", to_liaison=True),
    )
    assert text.startswith("Dear Lee Liaison,\n\nRoofers <b>& Sons</b> submitted the quarterly")
    assert "on July 29, 2026 at 3:04 PM UTC: please review it" in text
    assert "- Period: April 1, 2026 through June 30, 2026\n" in text
    assert "- Version: 2 (a resubmission)\n" in text
    assert f"- {word}: it was due on July 30, 2026\n" in text
    assert "- Partner contact: Dana Smith (dana@example.org)\n" in text
    assert f"Review the report:\n{STAFF_PAGE}\n" in text
    assert "sig=1" not in text + html  # the partner's own link stays the partner's
    assert f'<a href="{STAFF_PAGE}">Review the report</a>' in html
    assert f"<li>{word}: it was due on July 30, 2026</li>" in html


def test_a_first_version_is_not_called_a_resubmission():
    _, text, _ = render("report_submitted_liaison", context())
    assert "- Version: 1\n" in text
    assert "resubmission" not in text


def test_the_receipt_names_the_report_and_the_liaison():
    _, text, html = render("report_submitted_receipt", context())
    assert text.startswith("Dear Dana Smith,\n\nWe received the quarterly report of the alliance")
    assert "- Period: April 1, 2026 through June 30, 2026\n" in text
    assert "- Your liaison: Lee Liaison (lee@agency.example)\n" in text
    assert STAFF_PAGE not in text + html  # the staff page is for staff
    assert 'href="mailto:lee@agency.example"' in html


def test_an_acceptance_shows_comments_only_when_there_are_some():
    _, text, html = render("report_accepted", context())
    assert "on August 3, 2026." in text
    assert "comments" not in text + html
    _, text, html = render("report_accepted", context(comments="Well done.\nThanks."))
    assert "Your liaison's comments:\n\nWell done.\nThanks.\n" in text
    assert "Well done.<br>\nThanks." in html


def test_a_revision_request_carries_escaped_comments_with_their_line_breaks():
    comments = "Add the <script>alert(1)</script> rows & dates.\r\nSecond line\nThird"
    _, text, html = render(
        "report_revision_requested", context(comments=comments, due_date=date(2026, 8, 17))
    )
    assert "Add the <script>alert(1)</script> rows & dates." in text
    assert "<script>" not in html
    assert (
        "Add the &lt;script&gt;alert(1)&lt;/script&gt; rows &amp; dates.<br>\n"
        "Second line<br>\nThird</blockquote>"
    ) in html
    assert "asks for a revision by August 17, 2026." in text
    assert "- New due date: August 17, 2026\n" in text
    assert f"Revise and resubmit the report here:\n{LINK}\n" in text
    assert f'href="{LINK}"' in html


def test_the_liaisons_copy_of_a_revision_request_names_the_contact():
    _, text, html = render(
        "report_revision_requested",
        context(comments="Fix it.", recipient_name="Lee Liaison", to_liaison=True),
    )
    assert text.startswith(
        "Dear Lee Liaison,\n\nThis is your copy of the revision request sent to Dana Smith"
    )
    assert "The comments sent:\n\nFix it.\n" in text
    assert "- Partner contact: Dana Smith (dana@example.org)\n" in text
    # The liaison's copy links the report's staff page, never the partner's signed link.
    assert f"The report in the staff pages:\n{STAFF_PAGE}\n" in text
    assert f'href="{STAFF_PAGE}"' in html
    assert LINK not in text
    assert LINK not in html
    assert "<em>This is your copy of the revision request sent to Dana Smith" in html
    assert "<li>Partner contact: Dana Smith" in html


def test_without_a_link_the_contact_learns_the_liaison_sends_the_form():
    _, text, html = render("report_revision_requested", context(report_url="", comments="x"))
    assert "Your liaison, Lee Liaison, will send you the report form." in text
    assert "Your liaison, Lee Liaison, will send you the report form." in html


def test_partner_names_are_escaped_in_html_and_plain_in_text():
    for template in (
        "report_submitted_liaison",
        "report_submitted_receipt",
        "report_accepted",
        "report_revision_requested",
    ):
        _, text, html = render(template, context(comments="c"))
        assert "Roofers <b>& Sons</b>" in text
        assert "<b>" not in html
        assert "Roofers &lt;b&gt;&amp; Sons&lt;/b&gt;" in html
