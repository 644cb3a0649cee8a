"""A new link to a report's form, as the partner's contact reads it: who asked (the liaison by
name, or another staff member and the liaison beside), where the report stands, the link in
words in the HTML part and on its own line in the text."""

import uuid
from datetime import UTC, date, datetime

import pytest

from services.notify.messages.render import render

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
        "status": "overdue",
        "report_url": LINK,
        "sent_by": "Lee Liaison",
        "sent_at": datetime(2026, 8, 12, 14, 0, tzinfo=UTC),
        "recipient_name": "Dana Smith",
        "to_liaison": False,
    }
    base.update(overrides)
    return base


@pytest.mark.parametrize(
    ("status", "subject", "says"),
    [
        (
            "overdue",
            "Action required: a new link to your overdue quarterly report for AP-2026-00042",
            "The report was due on July 30, 2026: please send it as soon as you can.",
        ),
        (
            "scheduled",
            "Action required: a new link to your quarterly report for AP-2026-00042",
            "The report is due on July 30, 2026.",
        ),
        (
            "revision_requested",
            "Action required: a new link to your quarterly report for AP-2026-00042",
            "please revise and resubmit the report by July 30, 2026.",
        ),
        (
            "submitted",
            "A new link to your quarterly report for AP-2026-00042",
            "You have sent this report already",
        ),
    ],
)
def test_the_subject_and_the_body_say_where_the_report_stands(status, subject, says):
    got_subject, text, html = render("report_link", context(status=status))
    assert got_subject == subject
    assert says in text
    assert says in html


def test_the_liaison_who_asked_is_named_and_the_link_is_in_words():
    _, text, html = render("report_link", context())
    assert text.startswith(
        "Dear Dana Smith,\n\nLee Liaison, your liaison at MIOSHA, asked us to send you a new link"
    )
    assert "- Period: April 1, 2026 through June 30, 2026\n" in text
    assert "- Your liaison: Lee Liaison (lee@agency.example)\n" in text
    assert f"Open your report:\n{LINK}\n" in text
    assert f'<a href="{LINK}">Open your report</a>' in html.replace("&amp;", "&")
    assert f">{LINK}<" not in html  # never the address as the link's text
    assert "Roofers &lt;b&gt;&amp; Sons&lt;/b&gt;" in html  # the name escaped


def test_another_staff_member_who_asked_is_named_with_the_liaison_beside():
    _, text, html = render("report_link", context(sent_by="Cora Coordinator"))
    assert "Cora Coordinator of MIOSHA asked us to send you a new link" in text
    assert "- Your liaison: Lee Liaison (lee@agency.example)\n" in text
    assert "Cora Coordinator of MIOSHA asked us" in html
