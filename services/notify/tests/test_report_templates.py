"""The report reminders: subjects say what is required and when, bodies the period, the due
date, the link (or who sends the form) and the liaison."""

import uuid
from datetime import date

import pytest

from services.notify.messages.render import render

STAFF_REPORT = "http://127.0.0.1:8000/reporting/staff/reports/1"


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
        "reminder": "due_soon",
        "days": -14,
        "report_url": "https://alliances.example/reports/r/abc?sig=1",
        "alliance_url": "http://127.0.0.1:8000/review/staff/alliances/1",
        "staff_report_url": STAFF_REPORT,
        "recipient_name": "Dana Smith",
        "to_liaison": False,
    }
    base.update(overrides)
    return base


@pytest.mark.parametrize(
    ("template", "kind", "days", "subject"),
    [
        (
            "report_due_soon",
            "quarterly",
            -14,
            "Action required: your quarterly report for AP-2026-00042 is due July 30, 2026",
        ),
        (
            "report_due",
            "annual",
            0,
            "Action required: your annual report for AP-2026-00042 is due today",
        ),
        (
            "report_overdue",
            "quarterly",
            14,
            "Action required: your quarterly report for AP-2026-00042 is overdue "
            "(due July 30, 2026)",
        ),
        (
            "report_escalated",
            "annual",
            30,
            "Action required: report overdue 30 days: Roofers <b>& Sons</b> (AP-2026-00042)",
        ),
    ],
)
def test_each_reminder_says_what_is_required_and_when(template, kind, days, subject):
    assert render(template, context(kind=kind, days=days))[0] == subject


def test_the_contact_reads_the_period_the_due_date_the_link_and_the_liaison():
    _, text, html = render("report_due_soon", context())
    assert text.startswith("Dear Dana Smith,\n\nThe quarterly report of the alliance between")
    assert "is due on July 30, 2026." in text
    assert "- Period: April 1, 2026 through June 30, 2026\n" in text
    assert "- Due: July 30, 2026\n" in text
    assert "- Your liaison: Lee Liaison (lee@agency.example)\n" in text
    assert "Fill in the report here:\nhttps://alliances.example/reports/r/abc?sig=1\n\nThank" in (
        text
    )
    assert "copy" not in text
    assert 'href="https://alliances.example/reports/r/abc?sig=1"' in html
    assert 'href="mailto:lee@agency.example"' in html


def test_without_a_link_the_contact_learns_the_liaison_sends_the_form():
    _, text, html = render("report_due", context(report_url="", days=0))
    assert "Your liaison, Lee Liaison, will send you the report form." in text
    assert "Your liaison, Lee Liaison, will send you the report form." in html
    assert "Fill in" not in text
    assert 'href="https://' not in html


def test_the_liaisons_copy_names_the_contact_and_asks_for_the_form_when_none_is_online():
    _, text, _ = render(
        "report_overdue",
        context(recipient_name="Lee Liaison", to_liaison=True, report_url="", days=1),
    )
    assert text.startswith("Dear Lee Liaison,\n\nThis is your copy of the reminder sent to Dana")
    assert "- Partner contact: Dana Smith (dana@example.org)\n" in text
    assert "- Liaison: Lee Liaison (lee@agency.example)\n" in text
    assert "please send it to Dana Smith." in text
    assert f"The report in the staff pages:\n{STAFF_REPORT}\n" in text


def test_the_liaisons_copy_links_the_staff_page_not_the_partners_signed_link():
    _, text, html = render(
        "report_due_soon", context(recipient_name="Lee Liaison", to_liaison=True)
    )
    assert f"The report in the staff pages:\n{STAFF_REPORT}\n" in text
    assert f'href="{STAFF_REPORT}"' in html
    assert "sig=1" not in text
    assert "sig=1" not in html
    assert "please send it" not in text


def test_partner_names_are_escaped_in_html_and_plain_in_text():
    for template in ("report_due_soon", "report_due", "report_overdue", "report_escalated"):
        _, text, html = render(template, context())
        assert "Roofers <b>& Sons</b>" in text
        assert "<b>" not in html
        assert "Roofers &lt;b&gt;&amp; Sons&lt;/b&gt;" in html


def test_the_coordinator_reads_who_is_late_and_where_the_alliance_is():
    _, text, html = render(
        "report_escalated", context(days=30, kind="annual", recipient_name="Cora Coordinator")
    )
    assert text.startswith(
        "Dear Cora Coordinator,\n\n"
        "The annual report of Roofers <b>& Sons</b> (AP-2026-00042) is 30 days"
    )
    assert "- Partner contact: Dana Smith (dana@example.org)\n" in text
    assert "- Liaison: Lee Liaison (lee@agency.example)\n" in text
    assert "The alliance:\nhttp://127.0.0.1:8000/review/staff/alliances/1\n" in text
    assert "sig=1" not in text  # the partner's own link is not the Coordinator's
    assert 'href="http://127.0.0.1:8000/review/staff/alliances/1"' in html
