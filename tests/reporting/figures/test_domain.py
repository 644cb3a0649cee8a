"""The work list (``/staff/reports``) shows the reports due in the next 30 days (``view``:
due from today to today + 30 in the agency's time zone, not submitted) and finds reports by
part of the partner organization's name (``partner``: case aside, ``%`` and ``_`` taken
literally), both GET parameters that combine with each other and with the Coordinator's
liaison filter; labelled fields, a count of the reports shown, a "No reports match" message,
and a refused filter beside its field (400).

The Coordinator's dashboard narrowed to a period and a division (or office), and the same
figures as a PDF under the agency's letterhead.

Seeded much as in test_conflict_reads: two alliances signed January 15, 2024, each with its first
annual report submitted (activities dated March 1, 2024; staff training without a date, so on
the report's last day, January 14, 2025) and a proposal in review: A (the Roofers, Construction,
falls, 1,234 + 10 reached, Michigan) and B (Other Builders, General Industry, heat, 567 + 10,
Ohio).

Reporting's staff pages: an alliance's reports, the liaison's work list, the
Coordinator's dashboard (figures counted from seeded reports) and the CSV export."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from services.reporting.figures import domain as figures
from services.reporting.figures import views as figures_views
from services.reporting.reports import views as report_views
from services.reporting.schedules.domain import rules_from_settings
from services.reporting.worker import database
from shared.domain import Invalid
from tests.helpers import pin_clock
from tests.reporting.conflicts.test_domain import CORA, OTHER, Partner
from tests.reporting.figures.helpers import (
    CONSTRUCTION,
    DIVISIONS,
    GENERAL,
    NOW_REPORTING_PAGES,
    approve_into,
    people,
    seed,
)
from tests.review.factories import LIAISON, OTHER_LIAISON
from tests.shared.factories import ROOFERS

pytestmark = pytest.mark.integration
NOW = datetime(2026, 12, 1, 17, tzinfo=UTC)


@pytest.fixture
def _pinned_clock(monkeypatch: Any) -> None:
    """The work list reads the clock: it reads NOW."""
    pin_clock(monkeypatch, figures_views, NOW)


@pytest.mark.usefixtures("_pinned_clock")
def test_the_domain_refuses_a_bad_filter_by_field():
    with pytest.raises(Invalid) as refused:
        figures.check_work_filters("soon", "y" * 201)
    assert set(refused.value.errors) == {"view", "partner"}
    assert figures.check_work_filters("", "  roof   ing ") == ("work", "roof ing")


NOW_DASHBOARD_FILTERS = datetime(2026, 6, 2, tzinfo=UTC)


@pytest.fixture
def partners(clean_databases: Any, redis_client: Any) -> dict[str, Partner]:
    return {
        "A": seed(ROOFERS, LIAISON, division=CONSTRUCTION, area="falls", reached=1234, state="MI"),
        "B": seed(OTHER, OTHER_LIAISON, division=GENERAL, area="heat", reached=567, state="OH"),
    }


def dashboard(person: Any = CORA, **filters: Any) -> figures.Dashboard:
    with database.transaction() as session:
        return figures.dashboard(
            session,
            acting=person,
            now=NOW_DASHBOARD_FILTERS,
            rules=rules_from_settings(),
            divisions=DIVISIONS,
            **filters,
        )


# -- the periods ----------------------------------------------------------------------------


def test_a_fiscal_year_is_named_by_the_year_it_ends_in_and_follows_the_start_month():
    federal = figures.parse_period("FY2027", start_month=10)
    assert (federal.key, federal.label) == ("fy2027", "Fiscal year 2027")
    assert (federal.first, federal.last) == (date(2026, 10, 1), date(2027, 9, 30))
    assert federal.dates == "October 1, 2026 to September 30, 2027"
    assert figures.parse_period("fy2027", start_month=1).first == date(2027, 1, 1)
    assert figures.parse_period("fy2027", start_month=1).last == date(2027, 12, 31)
    assert figures.parse_period("fy2027", start_month=7).first == date(2026, 7, 1)
    assert figures.parse_period("fy2027", start_month=7).last == date(2027, 6, 30)
    quarter = figures.parse_period(" 2026-Q4 ", start_month=10)
    assert (quarter.key, quarter.label) == ("2026-q4", "October to December 2026")
    assert (quarter.first, quarter.last) == (date(2026, 10, 1), date(2026, 12, 31))
    assert figures.parse_period("", start_month=10) is figures.ALL_TIME
    assert figures.parse_period("all", start_month=10).all_time
    assert figures.fiscal_year_of(date(2026, 10, 1), start_month=10) == 2027
    assert figures.fiscal_year_of(date(2026, 9, 30), start_month=10) == 2026


@pytest.mark.parametrize(
    "value", ["fy27", "2026-q5", "2026-q0", "yesterday", "fy1900", "2026", "fy2027x", "q4-2026"]
)
def test_a_period_not_in_the_list_is_refused_on_its_field(value):
    with pytest.raises(Invalid) as refused:
        figures.parse_period(value, start_month=10)
    assert list(refused.value.errors) == ["period"]
    assert "Choose a period from the list" in refused.value.message


def test_a_division_the_profile_does_not_list_is_refused_on_its_field():
    assert figures.parse_division("", divisions=DIVISIONS) == ""
    assert figures.parse_division(GENERAL, divisions=DIVISIONS) == GENERAL
    with pytest.raises(Invalid) as refused:
        figures.parse_division("nope", divisions=DIVISIONS, unit="office")
    assert refused.value.errors == {"division": ["Choose an office from the list."]}


def test_the_period_list_offers_fiscal_years_and_quarters_and_keeps_a_chosen_older_one():
    chosen = figures.parse_period("fy2011", start_month=10)
    groups = dict(figures.period_choices(today=date(2026, 12, 6), start_month=10, chosen=chosen))
    assert groups[""] == [("all", "All time")]
    years = [key for key, _label in groups["Fiscal years"]]
    assert years[:3] == ["fy2011", "fy2028", "fy2027"]
    assert ("fy2027", "Fiscal year 2027 (October 2026 to September 2027)") in groups["Fiscal years"]
    assert groups["Calendar quarters"][0] == (
        "2026-q4",
        "October to December 2026",
    )


# -- the figures ----------------------------------------------------------------------------


def test_every_figure_follows_the_division(partners):
    everything = dashboard()
    assert people(everything) == [
        (2024, "falls", 1244, 0),
        (2024, "heat", 577, 0),
        (2025, "", 0, 6),
    ]
    construction = dashboard(division=CONSTRUCTION)
    assert construction.active_by_division == [(CONSTRUCTION, 1)]
    assert people(construction) == [(2024, "falls", 1244, 0), (2025, "", 0, 3)]
    # The same reports on the same days for both: half the counts.
    assert {y: dict(c) for y, c in everything.timing_by_year.items()} == {
        y: {k: 2 * n for k, n in c.items()} for y, c in construction.timing_by_year.items()
    }
    # A proposal has a division once approved into an alliance: none of the two in review.
    assert dict(everything.proposals_by_status)["submitted"] == 2
    assert sum(n for _s, n in construction.proposals_by_status) == 0
    approve_into(partners["A"], ROOFERS, recorded=datetime(2024, 1, 10, tzinfo=UTC))
    construction = dashboard(division=CONSTRUCTION)
    assert dict(construction.proposals_by_status) == {
        "submitted": 0,
        "changes_requested": 0,
        "declined": 0,
        "approved": 1,
    }
    assert [(state, dict(c)) for state, c in construction.proposals_by_state] == [
        ("MI", {"approved": 1})
    ]
    assert sum(n for _s, n in dashboard(division=GENERAL).proposals_by_status) == 0


def test_every_figure_follows_the_period(partners):
    approve_into(partners["A"], ROOFERS, recorded=datetime(2024, 1, 10, tzinfo=UTC))
    first_quarter = dashboard(period=figures.calendar_quarter(2024, 1))
    # Activities dated in it; staff training (on January 14, 2025) is not.
    assert people(first_quarter) == [(2024, "falls", 1244, 0), (2024, "heat", 577, 0)]
    # Both alliances were signed in it (January 15, 2024).
    assert first_quarter.active_by_division == [(CONSTRUCTION, 1), (GENERAL, 1)]
    # Only the proposal whose latest status was recorded in it (the two in review: today).
    assert dict(first_quarter.proposals_by_status)["approved"] == 1
    assert dict(first_quarter.proposals_by_status)["submitted"] == 0
    # Reports due in it: none (the first is due after the first quarter of the term ends).
    due_in_it = [y for y, c in first_quarter.timing_by_year.items() if sum(c.values())]
    assert due_in_it == []

    january_2025 = dashboard(period=figures.calendar_quarter(2025, 1))
    assert people(january_2025) == [(2025, "", 0, 6)]
    everything = dashboard()
    in_2025 = sum(sum(c.values()) for y, c in everything.timing_by_year.items() if y == 2025)
    assert sum(sum(c.values()) for c in january_2025.timing_by_year.values()) <= in_2025

    later = dashboard(period=figures.calendar_quarter(2030, 1))
    assert later.active_by_division == [(CONSTRUCTION, 0), (GENERAL, 0)]
    assert later.people == []
    assert later.timing_by_year == {}
    assert sum(n for _s, n in later.proposals_by_status) == 0


@pytest.fixture
def _pinned_clock_reporting_pages(monkeypatch) -> None:
    """The pages read the clock: theirs is pinned to NOW, as every call here is."""
    for module in (figures_views, report_views):
        pin_clock(monkeypatch, module, NOW_REPORTING_PAGES)


@pytest.mark.usefixtures("_pinned_clock_reporting_pages")
@pytest.mark.parametrize("cell", ["=1+1", "+1", "-1", "@SUM(A1)"])
def test_excel_safe_quotes_formula_starts(cell):
    assert figures.excel_safe(cell) == "'" + cell
    assert figures.excel_safe("Builders") == "Builders"
