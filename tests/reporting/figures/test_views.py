"""The Coordinator's dashboard narrowed to a period and a division (or office), and the same
figures as a PDF under the agency's letterhead.

Seeded much as in test_conflict_reads: two alliances signed January 15, 2024, each with its first
annual report submitted (activities dated March 1, 2024; staff training without a date, so on
the report's last day, January 14, 2025) and a proposal in review: A (the Roofers, Construction,
falls, 1,234 + 10 reached, Michigan) and B (Other Builders, General Industry, heat, 567 + 10,
Ohio)."""

from __future__ import annotations

import html
import io
import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from services.reporting import create_app
from services.reporting.alliances.models import Alliance
from services.reporting.figures import domain as figures
from services.reporting.proposals.models import ReportingProposal
from services.reporting.reports.content import FIELDS
from services.reporting.reports.models import Report
from services.reporting.schedules.domain import rules_from_settings
from services.reporting.worker import database
from shared.config import load_agency_profile
from shared.domain import Invalid
from tests.factories import (
    LIAISON,
    OTHER_LIAISON,
    ROOFERS,
    acting,
    acting_as,
    alliance_signed_event,
    proposal,
    run_reporting_task,
    signed_in,
    submitted_event,
)
from tests.integration.test_conflict_reads import (
    CORA,
    DASHBOARD_NOTE,
    OTHER,
    Partner,
    declare_conflict,
)
from tests.integration.test_evaluations import content, submit

pytestmark = pytest.mark.integration

CONSTRUCTION = "construction_safety_health"
GENERAL = "general_industry_safety_health"
DIVISIONS = [CONSTRUCTION, GENERAL]
NOW = datetime(2026, 6, 2, tzinfo=UTC)


def seed(name: str, liaison: Any, *, division: str, area: str, reached: int, state: str) -> Partner:
    """An alliance signed January 15, 2024 with its first annual report submitted, and a
    proposal of the same organization in review."""
    signed = alliance_signed_event(name, signing_date=date(2024, 1, 15), ends_on=date(2027, 1, 14))
    signed.payload["liaison"] = {"id": liaison.id, "name": liaison.name, "email": liaison.email}
    signed.payload["division"] = division
    run_reporting_task("reporting.alliance_signed", signed)
    alliance_id = signed.payload["alliance_id"]
    with database.transaction() as session:
        report_id = session.scalars(
            select(Report.id)
            .where(Report.alliance_id == alliance_id, Report.kind == "annual")
            .order_by(Report.period_start)
            .limit(1)
        ).one()
    body = content(reached=reached, area=area)
    # Whatever a meeting row asks for besides its date.
    body["meetings"] = [
        {field: "2024-03-01" if field == "date" else "Kick-off" for field in FIELDS["meetings"]}
    ]
    submit(report_id, body)
    run_reporting_task(
        "reporting.proposal_submitted",
        submitted_event(proposal(name, state=state), reference=signed.payload["reference"]),
    )
    return Partner(alliance_id, report_id, ())


@pytest.fixture
def partners(clean_databases: Any, redis_client: Any) -> dict[str, Partner]:
    return {
        "A": seed(ROOFERS, LIAISON, division=CONSTRUCTION, area="falls", reached=1234, state="MI"),
        "B": seed(OTHER, OTHER_LIAISON, division=GENERAL, area="heat", reached=567, state="OH"),
    }


def people(found: figures.Dashboard) -> list[tuple[int, str, int, int]]:
    return [(p.year, p.emphasis_area, p.reached, p.trained) for p in found.people]


def dashboard(person: Any = CORA, **filters: Any) -> figures.Dashboard:
    with database.transaction() as session:
        return figures.dashboard(
            session,
            acting=person,
            now=NOW,
            rules=rules_from_settings(),
            divisions=DIVISIONS,
            **filters,
        )


def approve_into(partner: Partner, organization: str, *, recorded: datetime) -> None:
    """Reporting's copy of the proposal that became ``partner``'s alliance, approved (its
    latest status recorded at ``recorded``); the in-review proposal moved to 2023."""
    with database.transaction() as session:
        alliance = session.get(Alliance, partner.alliance_id)
        assert alliance is not None
        session.add(
            ReportingProposal(
                proposal_id=uuid.UUID(str(alliance.signed["proposal_id"])),
                reference=alliance.reference,
                organization_name=organization,
                state="MI",
                status="approved",
                version=1,
                updated_at=recorded,
            )
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


def test_a_conflict_still_leaves_the_partner_out_of_the_filtered_figures(partners):
    approve_into(partners["A"], ROOFERS, recorded=datetime(2024, 1, 10, tzinfo=UTC))
    cory = acting("cory@agency.example", "coordinator", conflicts=[ROOFERS])
    construction = dashboard(cory, division=CONSTRUCTION, period=figures.calendar_quarter(2024, 1))
    assert construction.active_by_division == [(CONSTRUCTION, 0)]
    assert construction.people == []
    assert sum(n for _s, n in construction.proposals_by_status) == 0
    assert construction.left_out.alliances == 1
    assert construction.left_out.proposals == 2  # its proposal in review and the approved one
    general = dashboard(cory, division=GENERAL)
    assert people(general) == [(2024, "heat", 577, 0), (2025, "", 0, 3)]
    assert general.left_out

    app = create_app({"TESTING": True})
    declare_conflict(CORA)
    page = signed_in(app, CORA).get(f"/staff/dashboard?period=2024-q1&division={GENERAL}")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert 'id="left-out"' in body
    assert "left out because you declared a conflict of interest" in body
    assert "1244" not in body


# -- the page and its PDF -------------------------------------------------------------------


def test_the_page_names_its_filters_and_counts_only_them(partners):
    profile = load_agency_profile()
    unit = "Office" if profile.federal else "Division"
    label = html.escape(profile.divisions[CONSTRUCTION])
    start_month = rules_from_settings().fiscal_year_start_month
    fiscal = figures.fiscal_year(2024, start_month=start_month)
    client = signed_in(create_app({"TESTING": True}), CORA)
    page = client.get(f"/staff/dashboard?period={fiscal.key}&division={CONSTRUCTION}")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert f'Program figures: <span id="dashboard-filters">{fiscal.label}, {label}</span>' in body
    assert fiscal.dates in body
    assert f'<label class="usa-label" for="filter-division">{unit}</label>' in body
    assert '<label class="usa-label" for="filter-period">Period</label>' in body
    assert f'<option value="{fiscal.key}" selected>' in body
    assert f'<option value="{CONSTRUCTION}" selected>' in body
    assert "<td>1244</td>" in body
    assert "<td>577</td>" not in body
    assert f"/staff/dashboard.pdf?period={fiscal.key}&amp;division={CONSTRUCTION}" in body
    assert "Download as PDF" in body
    assert 'media="print" href="/assets/site/print.css"' in body

    every = client.get("/staff/dashboard").get_data(as_text=True)
    assert "All time, all " in every
    assert "<td>577</td>" in every
    stylesheet = client.get("/assets/site/print.css")
    stylesheet.close()
    assert stylesheet.status_code == 200


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("period=fy20x", "filter-period", "Choose a period from the list"),
        ("period=2026-q9", "filter-period", "Choose a period from the list"),
        ("division=nowhere", "filter-division", "from the list."),
        ("period=%ff%fe%3Cb%3E&division=%3Cscript%3E", "filter-period", "Choose a period"),
    ],
)
def test_bad_filters_get_a_message_on_the_field_never_a_500(partners, query, field, message):
    client = signed_in(create_app({"TESTING": True}), CORA)
    for path in ("/staff/dashboard", "/staff/dashboard.pdf"):
        answer = client.get(f"{path}?{query}")
        assert answer.status_code == 400, path
        assert answer.mimetype == "text/html"
        body = answer.get_data(as_text=True)
        assert "There is a problem" in body or "There are 2 problems" in body
        assert f'href="#{field}"' in body
        assert f'id="{field}-error"' in body
        assert message in body
        assert "<script>" not in body.split("</head>", 1)[1].split("<script src", 1)[0]
        assert "<td>1244</td>" not in body  # no figure for something else than what was asked
        assert "No figures are shown until the filters below are corrected." in body
        assert "All time, all" not in body


def test_a_liaison_is_refused_the_dashboard_and_its_pdf_whatever_the_filters(partners):
    client = signed_in(create_app({"TESTING": True}), acting_as(LIAISON))
    for path in ("/staff/dashboard?period=bad", "/staff/dashboard.pdf", "/staff/dashboard"):
        assert client.get(path).status_code == 403, path


def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_the_pdf_has_the_letterhead_the_filters_the_charts_and_the_figures(partners):
    profile = load_agency_profile()
    label = profile.divisions[CONSTRUCTION]
    client = signed_in(create_app({"TESTING": True}), CORA)
    answer = client.get(f"/staff/dashboard.pdf?period=2024-q1&division={CONSTRUCTION}")
    assert answer.status_code == 200
    assert answer.mimetype == "application/pdf"
    assert answer.data.startswith(b"%PDF-")
    assert (
        'filename="program-figures-2024-q1-construction_safety_health.pdf"'
        in (answer.headers["Content-Disposition"])
    )
    text = " ".join(pdf_text(answer.data).split())
    assert profile.name in text
    assert "Alliance Program" in text
    assert f"January to March 2024, {label}" in text
    assert "January 1, 2024 to March 31, 2024" in text
    assert "Generated " in text
    # The generated time in the agency's zone, its zone named (EST or EDT, never UTC).
    assert " UTC" not in text
    # The charts are drawn: their bar labels are the chart's own words ("falls" is a table's
    # "Falls"-style label elsewhere, "2024, ...: reached" only a chart's).
    assert ": reached" in text
    assert "1244" in text
    assert "577" not in text
    reader = PdfReader(io.BytesIO(answer.data))
    assert reader.metadata is not None
    assert reader.metadata.title == f"Program figures: January to March 2024, {label}"


def test_the_pdf_of_a_coordinator_in_conflict_says_what_was_left_out(partners):
    declare_conflict(CORA)
    client = signed_in(create_app({"TESTING": True}), CORA)
    text = " ".join(pdf_text(client.get("/staff/dashboard.pdf").data).split())
    assert DASHBOARD_NOTE in text
    assert "1244" not in text
    assert ROOFERS not in text


def test_the_federal_profile_filters_by_office_and_its_own_fiscal_year(
    clean_databases, redis_client, monkeypatch
):
    monkeypatch.setenv("AGENCY_PROFILE", "federal")
    profile = load_agency_profile()
    assert profile.federal
    office, office_label = next(iter(profile.divisions.items()))
    start_month = rules_from_settings().fiscal_year_start_month
    fiscal = figures.fiscal_year(2027, start_month=start_month)
    client = signed_in(create_app({"TESTING": True}), CORA)
    page = client.get(f"/staff/dashboard?period=fy2027&division={office}")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert '<label class="usa-label" for="filter-division">Office</label>' in body
    assert f"Fiscal year 2027, {html.escape(office_label)}" in body
    assert fiscal.dates in body
    assert f"starts on {fiscal.first:%B} 1" in body
    refused = client.get("/staff/dashboard?division=construction_safety_health_x")
    assert refused.status_code == 400
    assert "Choose an office from the list." in refused.get_data(as_text=True)
    answer = client.get(f"/staff/dashboard.pdf?period=fy2027&division={office}")
    text = " ".join(pdf_text(answer.data).split())
    assert f"Fiscal year 2027, {office_label}" in text
    assert fiscal.dates in text
    assert profile.name in text
