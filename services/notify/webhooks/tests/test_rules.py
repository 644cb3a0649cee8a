"""Retry-After and the body's data: pure functions (the address rule is in
test_addresses.py, the end-to-end cases in tests/integration/test_webhooks.py)."""

from datetime import UTC, datetime, timedelta

import pytest

from services.notify.webhooks.domain import EVENT_GROUPS, retry_after, webhook_data
from shared.events import WEBHOOK_EVENT_TYPES

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "pause"),
    [
        (None, timedelta(0)),
        ("", timedelta(0)),
        ("120", timedelta(seconds=120)),
        ("99999999999999999999", timedelta(hours=1)),
        ("Tue, 01 Dec 2026 12:10:00 GMT", timedelta(minutes=10)),
        ("Tue, 01 Dec 2026 11:00:00 GMT", timedelta(0)),  # in the past
        ("soon", timedelta(0)),
        ("-5", timedelta(0)),
        ("²", timedelta(0)),  # a digit to str.isdigit, not to int()
        ("١٢٠", timedelta(0)),
    ],
)
def test_retry_after_in_seconds_or_as_a_date_is_capped(header, pause):
    assert retry_after(header, now=NOW, cap=timedelta(hours=1)) == pause


def test_signed_links_stay_out_of_the_data():
    payload = {
        "reference": "AP-2026-00001",
        "status_url": "https://apply.example/status?token=x",
        "report_url": "https://apply.example/report?token=y",
        "contact": {"email": "dana@example.org", "resume_url": "z"},
        "reports": [{"id": 1, "form_url": "w"}],
        "website": "https://example.org",
    }
    assert webhook_data(payload) == {
        "reference": "AP-2026-00001",
        "contact": {"email": "dana@example.org"},
        "reports": [{"id": 1}],
        "website": "https://example.org",
    }


def test_the_staff_page_labels_every_webhook_event_type_once_and_no_other():
    labelled = [event_type for _group, types in EVENT_GROUPS for event_type, _label in types]
    assert labelled == list(WEBHOOK_EVENT_TYPES)
