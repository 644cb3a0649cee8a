"""The ``agency_time`` filter: an instant in the agency's zone, the zone named for that date."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from flask import Flask, render_template_string

from shared.times import agency_time

pytestmark = pytest.mark.unit

DETROIT = ZoneInfo("America/Detroit")


def test_winter_is_eastern_standard_time():
    assert agency_time(datetime(2026, 12, 6, 18, 13, tzinfo=UTC), DETROIT) == (
        "Dec 6, 2026, 1:13 PM EST"
    )


def test_summer_is_eastern_daylight_time():
    assert agency_time(datetime(2026, 7, 4, 16, 5, tzinfo=UTC), DETROIT) == (
        "Jul 4, 2026, 12:05 PM EDT"
    )


def test_the_zone_changes_at_the_daylight_saving_boundary():
    # 2026-03-08: clocks go from 2:00 EST to 3:00 EDT (7:00 UTC).
    assert agency_time(datetime(2026, 3, 8, 6, 59, tzinfo=UTC), DETROIT) == (
        "Mar 8, 2026, 1:59 AM EST"
    )
    assert agency_time(datetime(2026, 3, 8, 7, 0, tzinfo=UTC), DETROIT) == (
        "Mar 8, 2026, 3:00 AM EDT"
    )
    # 2026-11-01: back from 2:00 EDT to 1:00 EST (6:00 UTC); 1:30 happens twice.
    assert agency_time(datetime(2026, 11, 1, 5, 30, tzinfo=UTC), DETROIT) == (
        "Nov 1, 2026, 1:30 AM EDT"
    )
    assert agency_time(datetime(2026, 11, 1, 6, 30, tzinfo=UTC), DETROIT) == (
        "Nov 1, 2026, 1:30 AM EST"
    )


def test_naive_instants_and_iso_text_are_utc_and_nothing_is_empty():
    assert (
        agency_time(datetime(2026, 12, 6, 18, 13, tzinfo=UTC).replace(tzinfo=None), DETROIT)
        == "Dec 6, 2026, 1:13 PM EST"
    )
    assert agency_time("2026-07-04T16:05:00+00:00", DETROIT) == "Jul 4, 2026, 12:05 PM EDT"
    assert agency_time(None, DETROIT) == ""


def test_every_app_has_the_filter_in_the_configured_zone(monkeypatch):
    from shared import web
    from shared.config import load_settings

    monkeypatch.setenv("AGENCY_TIMEZONE", "America/Los_Angeles")
    load_settings.cache_clear()
    try:
        app = Flask(__name__)
        web.init_app(app, service="test")
        with app.app_context():
            shown = render_template_string(
                "{{ at | agency_time }}", at=datetime(2026, 12, 6, 18, 13, tzinfo=UTC)
            )
    finally:
        load_settings.cache_clear()
    assert shown == "Dec 6, 2026, 10:13 AM PST"
