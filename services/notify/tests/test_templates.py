import uuid
from datetime import UTC, datetime

from services.notify.messages import render
from shared.config import load_agency_profile


def context(**overrides):
    base = {
        "agency": load_agency_profile().name,
        "reference": "AP-2026-00042",
        "version": 1,
        "submitted_at": datetime(2026, 7, 1, 14, 30, tzinfo=UTC),
        "status_url": "",
        "organization": {
            "name": "Roofers <script>alert(1)</script>",
            "address": {"city": "Lansing", "state": "MI"},
        },
        "organization_type": "Trade association",
        "contact": {"name": "Dana Smith", "email": "dana@example.org", "phone": "517-555-0100"},
        "goals": [{"category_label": "Outreach and communication", "description": "Talks"}],
        "division": "Construction Safety & Health",
        "review_url": "http://127.0.0.1:8000/review/staff/proposals/1",
        "recipient_name": "Jordan Lee",
        "id": uuid.uuid4(),
    }
    base.update(overrides)
    return base


def test_receipt_names_the_reference_in_subject_and_body():
    subject, text, html = render("proposal_receipt", context())
    assert subject == "We received your Alliance proposal AP-2026-00042"
    assert "Your reference number is AP-2026-00042." in text
    assert "AP-2026-00042" in html


def test_user_text_is_escaped_in_html_and_kept_plain_in_text():
    _, text, html = render("proposal_receipt", context())
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert "Roofers <script>alert(1)</script>" in text


def test_resubmission_says_its_version_and_alert_says_action_required():
    subject, _, _ = render("proposal_coordinator_alert", context(version=2))
    assert subject.startswith("Action required: new Alliance proposal AP-2026-00042")
    assert subject.endswith("(resubmitted, version 2)")


def test_dates_are_in_the_agency_time_zone_given():
    from zoneinfo import ZoneInfo

    local = datetime(2026, 7, 1, 14, 30, tzinfo=UTC).astimezone(ZoneInfo("America/Detroit"))
    _, text, _ = render("proposal_receipt", context(submitted_at=local))
    assert "July 1, 2026 at 10:30 AM EDT" in text


def test_delivery_failure_alert_names_the_message_the_error_and_the_page():
    subject, text, html = render(
        "delivery_failed",
        {
            "agency": "MIOSHA",
            "recipient_name": "Cora Coordinator",
            "to_address": "dana@example.org",
            "subject": "We received your Alliance proposal AP-2026-00042",
            "reference": "AP-2026-00042",
            "attempts": 13,
            "ambiguous_deliveries": 1,
            "last_error": "SMTPRecipientsRefused: 550 <dana@example.org>: unknown",
            "failures_url": "http://127.0.0.1:8000/notify/staff/deliveries",
        },
    )
    assert subject == (
        "Action required: a message to dana@example.org could not be delivered (AP-2026-00042)"
    )
    assert text.startswith("Dear Cora Coordinator,\n")
    assert "Subject: We received your Alliance proposal AP-2026-00042\n" in text
    assert "Attempts: 13\n" in text
    assert "1 attempt ended without an answer from the mail server" in text
    assert "Last error: SMTPRecipientsRefused: 550 <dana@example.org>: unknown\n" in text
    assert "&lt;dana@example.org&gt;: unknown" in html
    assert 'href="http://127.0.0.1:8000/notify/staff/deliveries"' in html
