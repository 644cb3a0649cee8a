"""The address rule, the URL check on registration, Retry-After and the body's data: pure
functions, no network (the end-to-end cases are in tests/integration/test_webhooks.py)."""

import ipaddress
from datetime import UTC, datetime, timedelta

import pytest

from services.notify.webhooks.client import address_refusal, url_refusal
from services.notify.webhooks.domain import retry_after, webhook_data

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("0.0.0.0", "unspecified"),  # noqa: S104
        ("::", "unspecified"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("fd00::1", "private"),
        ("100.64.0.1", "special-purpose"),
        ("100.127.255.254", "special-purpose"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "reserved"),
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped
        ("::ffff:10.0.0.1", "private"),
        ("::ffff:169.254.169.254", "link-local"),
        ("64:ff9b::a00:1", "special-purpose"),  # NAT64 of 10.0.0.1
        ("64:ff9b::7f00:1", "special-purpose"),  # NAT64 of 127.0.0.1
        ("2002:a00:1::", "special-purpose"),  # 6to4 of 10.0.0.1
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "special-purpose"),  # Teredo
        ("192.0.2.1", "private"),  # documentation (TEST-NET-1)
        ("198.18.0.1", "special-purpose"),  # benchmarking
    ],
)
def test_internal_addresses_are_refused(address, why):
    refusal = address_refusal(ipaddress.ip_address(address))
    assert refusal is not None
    assert why in refusal


@pytest.mark.parametrize("address", ["93.184.215.14", "1.1.1.1", "2606:4700:4700::1111"])
def test_public_addresses_are_reached(address):
    assert address_refusal(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    ("url", "allowed", "refused"),
    [
        ("https://hooks.example.org/alliance", (), False),
        ("https://hooks.example.org:8443/a?b=c", (), False),
        ("http://hooks.example.org/alliance", (), True),  # HTTPS only
        ("ftp://hooks.example.org/", (), True),
        ("hooks.example.org/alliance", (), True),
        ("https://user:pw@hooks.example.org/", (), True),
        ("https://127.0.0.1/", (), True),
        ("https://[::1]/", (), True),
        ("https://localhost/", (), True),
        ("https://metadata.internal/", (), True),
        ("https://10.0.0.1/", (), True),
        ("https://[::ffff:169.254.169.254]/", (), True),
        ("https://hooks.example.org:99999/", (), True),
        ("http://127.0.0.1:8080/hooks", ("127.0.0.1",), False),  # allowed by the operator
        ("http://localhost:8080/hooks", ("localhost",), False),
        ("http://127.0.0.1:8080/hooks", ("localhost",), True),
    ],
)
def test_registration_checks_the_url(url, allowed, refused):
    assert (url_refusal(url, allowed_hosts=allowed) is not None) is refused


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
