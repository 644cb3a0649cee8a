"""The partner's report: the submission rules that need no database (services/reporting/
reports/submission.py): a meeting's topic and attendees, dates inside the period and not
ahead of today, sending before the period ends, and the alliance's own goal categories."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from services.reporting.alliances.models import Alliance
from services.reporting.reports import content
from services.reporting.reports import submission as domain
from services.reporting.reports.models import Report
from services.reporting.schedules.domain import rules_from_settings
from services.reporting.submissions import forms
from shared.domain import Invalid

pytestmark = pytest.mark.unit

CATEGORIES = {
    "awareness": "Raising awareness",
    "training_education": "Training and education",
    "outreach_communication": "Outreach and communication",
}
QUARTER = Report(kind="quarterly", period_start=date(2026, 1, 15), period_end=date(2026, 3, 31))


def complete(**meeting: str) -> dict[str, Any]:
    return {
        **domain.empty_content(),
        "meetings": [
            {"date": "2026-02-10", "topic": "Work plan", "attendees": "Dana Smith"} | meeting
        ],
        "narratives": {"outreach_communication": {"results": "Done.", "obstacles": ""}},
    }


def missing(content: dict[str, Any]) -> dict[str, list[str]]:
    with pytest.raises(Invalid) as refused:
        domain.check_complete(content, CATEGORIES)
    return refused.value.errors


def test_a_meeting_needs_its_date_topic_and_who_attended():
    domain.check_complete(complete(), CATEGORIES)  # complete: no error
    assert missing(complete(topic="", attendees="")) == {
        "meetings.0.topic": [domain.REQUIRED],
        "meetings.0.attendees": [domain.REQUIRED],
    }
    assert missing(complete(date="")) == {"meetings.0.date": [domain.REQUIRED]}
    assert missing({**complete(), "meetings": []}) == {
        "meetings.0.date": ["Enter at least one team meeting: its date, topic and who attended."]
    }


def test_the_error_summary_names_the_meetings_row_and_field():
    rows = forms.error_rows(
        {"meetings.1.attendees": [domain.REQUIRED], "meetings.0.topic": [domain.REQUIRED]},
        CATEGORIES,
    )
    assert rows == [
        (
            "meetings-1-attendees",
            "Implementation team meetings, row 2, Who attended",
            "This field is required.",
        ),
        (
            "meetings-0-topic",
            "Implementation team meetings, row 1, Topic",
            "This field is required.",
        ),
    ]


def test_dates_must_lie_in_the_period_and_not_after_today():
    content = {
        **complete(),
        "meetings": [
            {"date": "2026-01-14"},  # the day before the period
            {"date": "2026-02-10"},
            {"date": "2026-02-21"},  # in the period, but after today
        ],
        "dissemination": [{"date": "2026-04-01"}],  # after the period
        "outreach": [{"date": "2026-02-20"}, {"date": ""}],  # today; none given
    }
    errors = domain.check_dates(content, QUARTER, today=date(2026, 2, 20))
    period = "Enter a date within this report's period, January 15, 2026 to March 31, 2026."
    assert errors == {
        "meetings.0.date": [period],
        "meetings.2.date": [
            "Enter a date on or before today, February 20, 2026: "
            "a report tells what already happened."
        ],
        "dissemination.0.date": [period],
    }
    after = domain.check_dates(content, QUARTER, today=date(2026, 5, 1))
    assert sorted(after) == ["dissemination.0.date", "meetings.0.date"]
    edges = {"meetings": [{"date": "2026-01-15"}, {"date": "2026-03-31"}]}
    assert domain.check_dates(edges, QUARTER, today=date(2026, 3, 31)) == {}


def test_a_report_is_sent_early_until_its_periods_last_day_ends_in_the_agencys_zone():
    rules = rules_from_settings()  # America/Detroit
    first_day = datetime(2026, 1, 15, 15, tzinfo=UTC)
    last_minute = datetime(2026, 4, 1, 3, 59, tzinfo=UTC)  # March 31, 11:59 PM EDT
    after = datetime(2026, 4, 1, 4, 0, tzinfo=UTC)  # April 1, midnight EDT
    assert domain.sent_early(QUARTER, first_day, rules) is True
    assert domain.sent_early(QUARTER, last_minute, rules) is True
    assert domain.sent_early(QUARTER, after, rules) is False
    assert domain.early_warning(QUARTER) == (
        "This period ends on March 31, 2026: "
        "a report sent before then covers only part of the quarter."
    )
    year = Report(kind="annual", period_start=date(2026, 1, 15), period_end=date(2027, 1, 14))
    assert domain.early_warning(year).endswith("covers only part of the year.")


def test_the_narratives_are_those_of_the_alliances_goal_categories():
    alliance = Alliance(
        signed={
            "goals": [
                {"category": "outreach_communication", "description": "Toolbox talks"},
                {"category": "training_education", "description": "Ladder course"},
                {"category": "outreach_communication", "description": "Newsletter"},
            ]
        }
    )
    assert content.goal_categories_of(alliance, CATEGORIES) == {
        "training_education": "Training and education",
        "outreach_communication": "Outreach and communication",
    }  # in the agency's order
    # An alliance whose goals reporting was never told narrates every category.
    assert content.goal_categories_of(Alliance(signed={"goals": []}), CATEGORIES) == CATEGORIES
    assert content.goal_categories_of(None, CATEGORIES) == CATEGORIES
    # A stored report also shows another category it has text for (written before).
    written = {"narratives": {"awareness": {"results": "Posters.", "obstacles": ""}}}
    assert list(content.narrated(written, {"outreach_communication": "O"}, CATEGORIES)) == [
        "awareness",
        "outreach_communication",
    ]
