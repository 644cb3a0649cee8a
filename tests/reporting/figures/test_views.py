"""The Coordinator's dashboard narrowed to a period and a division (or office), and the same
figures as a PDF under the agency's letterhead.

Seeded much as in test_conflict_reads: two alliances signed January 15, 2024, each with its first
annual report submitted (activities dated March 1, 2024; staff training without a date, so on
the report's last day, January 14, 2025) and a proposal in review: A (the Roofers, Construction,
falls, 1,234 + 10 reached, Michigan) and B (Other Builders, General Industry, heat, 567 + 10,
Ohio).

People reached and trained on the dashboard, and the activity CSV, counted from reports
submitted through the submissions domain (the latest version of each; a quarterly report
inside a submitted annual report's period is not counted twice).

Reporting's staff pages: an alliance's reports, the liaison's work list, the
Coordinator's dashboard (figures counted from seeded reports) and the CSV export.

The work list (``/staff/reports``) shows the reports due in the next 30 days (``view``:
due from today to today + 30 in the agency's time zone, not submitted) and finds reports by
part of the partner organization's name (``partner``: case aside, ``%`` and ``_`` taken
literally), both GET parameters that combine with each other and with the Coordinator's
liaison filter; labelled fields, a count of the reports shown, a "No reports match" message,
and a refused filter beside its field (400)."""

from __future__ import annotations

import csv
import html
import io
import re
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import select, update

from services.reporting import create_app
from services.reporting.alliances import domain as alliances
from services.reporting.figures import domain as figures
from services.reporting.figures import views as figures_views
from services.reporting.models import Report as reporting_Report
from services.reporting.reports import domain as reports
from services.reporting.reports import views as report_views
from services.reporting.reports.models import Report
from services.reporting.schedules.domain import ScheduleRules, rules_from_settings
from services.reporting.worker import database
from shared.config import load_agency_profile
from tests.helpers import pin_clock
from tests.reporting.conflicts.test_domain import (
    CORA,
    DASHBOARD_NOTE,
    OTHER,
    Partner,
    declare_conflict,
)
from tests.reporting.evaluations.test_views import content, submit
from tests.reporting.factories import run_reporting_task
from tests.reporting.factories import run_reporting_task as run_task
from tests.reporting.figures.helpers import (
    CONSTRUCTION,
    DETROIT,
    DIVISIONS,
    GENERAL,
    NOW_REPORTING_PAGES,
    approve_into,
    local,
    people,
    seed,
)
from tests.reporting.reviews.test_views import staff_client
from tests.review.factories import LIAISON, OTHER_LIAISON, acting_as, alliance_signed_event
from tests.shared.factories import COORDINATOR, REVIEWER, ROOFERS, acting, signed_in

pytestmark = pytest.mark.integration

NOW = datetime(2026, 6, 2, tzinfo=UTC)


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
            now=NOW,
            rules=rules_from_settings(),
            divisions=DIVISIONS,
            **filters,
        )


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
    assert '<label class="usa-label" for="filter-division">Office level</label>' in body
    assert f"Fiscal year 2027, {html.escape(office_label)}" in body
    assert fiscal.dates in body
    assert f"starts on {fiscal.first:%B} 1" in body
    refused = client.get("/staff/dashboard?division=construction_safety_health_x")
    assert refused.status_code == 400
    assert "Choose an office level from the list." in refused.get_data(as_text=True)
    answer = client.get(f"/staff/dashboard.pdf?period=fy2027&division={office}")
    text = " ".join(pdf_text(answer.data).split())
    assert f"Fiscal year 2027, {office_label}" in text
    assert fiscal.dates in text
    assert profile.name in text


TRICKY = '=HYPERLINK("http://evil.example")'


@pytest.fixture
def seeded(clean_databases: Any, redis_client: Any) -> dict[str, Any]:
    """Lee's alliance: year 1's annual report (falls: 150 reached by dissemination, 10 by
    outreach, 3 staff trained), its first quarterly report too (left out: inside it), and
    year 2's annual report (heat, 2025). Ola's alliance submits nothing."""
    lee = alliance_signed_event(signing_date=date(2024, 1, 15), ends_on=date(2027, 1, 14))
    run_task("reporting.alliance_signed", lee)
    ola = alliance_signed_event("Other Builders", signing_date=date(2024, 1, 15))
    ola.payload["liaison"] = {
        "id": OTHER_LIAISON.id,
        "name": OTHER_LIAISON.name,
        "email": OTHER_LIAISON.email,
    }
    run_task("reporting.alliance_signed", ola)
    with database.transaction() as session:
        owed = list(
            session.scalars(
                select(Report)
                .where(Report.alliance_id == lee.payload["alliance_id"])
                .order_by(Report.period_start, Report.kind)
            )
        )
        annual = [r.id for r in owed if r.kind == "annual"]
        quarterly = [r.id for r in owed if r.kind == "quarterly"]
    first = content(reached=150)
    first["dissemination"][0]["description"] = TRICKY
    submit(annual[0], first)
    submit(annual[1], content(reached=40, area="heat", day="2025-03-01"))
    if quarterly:
        submit(quarterly[0], content(reached=999))
    return {"lee": lee, "quarterly": bool(quarterly)}


def test_the_dashboard_shows_people_reached_and_trained(seeded):
    with database.transaction() as session:
        found = figures.dashboard(
            session,
            acting=COORDINATOR,
            now=datetime(2026, 6, 1, tzinfo=UTC),
            rules=rules_from_settings(),
            divisions=["construction_safety_health"],
        )
    assert [(p.year, p.emphasis_area, p.reached, p.trained) for p in found.people] == [
        (2024, "falls", 160, 0),
        (2025, "heat", 50, 0),
        (2025, "", 0, 3),  # staff training has no date: its report's last day's year
        (2026, "", 0, 3),
    ]
    page = signed_in(create_app({"TESTING": True}), COORDINATOR).get("/staff/dashboard")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert '<title id="people-chart-title">' in text
    assert "<td>160</td>" in text
    assert "<td>50</td>" in text
    assert "No emphasis area (agency staff)" in text
    assert "999" not in text


def test_the_activity_csv_has_one_row_per_activity_and_is_excel_safe(seeded):
    app = create_app({"TESTING": True})
    response = signed_in(app, COORDINATOR).get("/staff/activities.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    body = response.data
    assert body.startswith(b"\xef\xbb\xbf")
    assert b"\n" not in body.replace(b"\r\n", b"")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))
    assert rows[0] == list(figures.ACTIVITY_CSV_HEADER)
    assert len(rows) == 1 + 2 * 4  # two annual reports, four activity rows each
    reference = seeded["lee"].payload["reference"]
    partner = seeded["lee"].payload["partner"]["name"]
    profile = load_agency_profile()
    division = profile.divisions["construction_safety_health"]
    falls = {**profile.hazards, **profile.priority_areas}["falls"]
    header = rows[0]
    by_column = [dict(zip(header, row, strict=True)) for row in rows[1:]]
    # Every column in words, as the pages show them: no stored code.
    dissemination = [
        row
        for row in by_column
        if row["section"] == "Dissemination of products" and row["emphasis area"] == falls
    ]
    assert dissemination == [
        {
            "alliance reference": reference,
            "partner": partner,
            "division": division,
            "report kind": "Annual",
            "term": "Initial term",
            "period": "2024-01-15/2025-01-14",
            "version": "1",
            "section": "Dissemination of products",
            "date": "2024-03-01",
            "type of product": "Fact sheet",
            "title or event": "",
            "audience": "",
            "description": "'" + TRICKY,  # formula-safe
            "city": "",
            "state": "",
            "emphasis area": falls,
            "number reached": "150",
        }
    ]
    # A product keeps its title beside its description.
    products = [row for row in by_column if row["section"] == "Products developed"]
    assert [(row["title or event"], row["description"]) for row in products] == [
        ("Toolbox talk", "Five minutes")
    ] * 2
    training = [row for row in by_column if row["section"] == "Training for agency staff"]
    assert {(row["audience"], row["number reached"]) for row in training} == {
        ("Compliance officers", "3")
    }
    outreach = [
        row for row in by_column if row["section"].startswith("Outreach events and training")
    ]
    assert {
        (row["title or event"], row["city"], row["state"], row["number reached"])
        for row in outreach
    } == {("Roofing safety day", "Lansing", "MI", "10")}
    codes = {"annual", "dissemination", "outreach", "products", "staff_training", "falls"}
    assert not codes & {cell for row in rows[1:] for cell in row}
    assert "construction_safety_health" not in body.decode("utf-8-sig")
    # A liaison gets their own alliances' rows; another liaison none; a reviewer is refused.
    mine = signed_in(app, acting_as(LIAISON)).get("/staff/activities.csv")
    assert mine.data.count(b"\r\n") == 1 + 8
    theirs = signed_in(app, acting_as(OTHER_LIAISON)).get("/staff/activities.csv")
    assert theirs.data.count(b"\r\n") == 1
    assert signed_in(app, REVIEWER).get("/staff/activities.csv").status_code == 403


ANNUAL = ScheduleRules(timezone=DETROIT, quarterly=False)
SIGNED = date(2024, 1, 15)
ENDS = date(2027, 1, 14)  # annual reports due 2025-03-15, 2026-03-15, 2027-03-15
TRICKY_REPORTING_PAGES = '=HYPERLINK("http://evil.example") Builders'


def seed_reporting_pages(name: str, liaison, division: str) -> uuid.UUID:
    event = alliance_signed_event(name, signing_date=SIGNED, ends_on=ENDS)
    event.payload["liaison"] = {"id": liaison.id, "name": liaison.name, "email": liaison.email}
    event.payload["division"] = division
    with database.transaction() as session:
        alliances.record_signed(session, event=event)
        reports.schedule_term(
            session,
            alliance_id=event.payload["alliance_id"],
            term=0,
            signing_date=SIGNED,
            ends_on=ENDS,
            rules=ANNUAL,
        )
    return event.payload["alliance_id"]


def submit_reporting_pages(alliance_id: uuid.UUID, due: date, at: datetime) -> None:
    with database.transaction() as session:
        report = session.scalars(
            select(reporting_Report).where(
                reporting_Report.alliance_id == alliance_id, reporting_Report.due_date == due
            )
        ).one()
        reports.mark_submitted(session, report_id=report.id, at=at)


@pytest.fixture
def _pinned_clock(monkeypatch) -> None:
    """The pages read the clock: theirs is pinned to NOW, as every call here is."""
    for module in (figures_views, report_views):
        pin_clock(monkeypatch, module, NOW_REPORTING_PAGES)


@pytest.fixture
def program(clean_databases, redis_client) -> dict[str, uuid.UUID]:
    """Lee's alliance: 2025's report on time, 2026's overdue. Ola's: 2025's late, 2026's on
    time, both waiting for review. 2027's reports are not due yet."""
    lee = seed_reporting_pages(
        "Michigan Roofing Contractors Association", LIAISON, "construction_safety_health"
    )
    ola = seed_reporting_pages(
        TRICKY_REPORTING_PAGES, OTHER_LIAISON, "general_industry_safety_health"
    )
    submit_reporting_pages(lee, date(2025, 3, 15), local(date(2025, 3, 1)))
    submit_reporting_pages(ola, date(2025, 3, 15), local(date(2025, 3, 16), hour=0))  # a day late
    submit_reporting_pages(
        ola, date(2026, 3, 15), local(date(2026, 3, 15), hour=23)
    )  # the last hour
    return {"lee": lee, "ola": ola}


@pytest.mark.usefixtures("_pinned_clock")
def test_the_work_list_shows_a_liaison_only_their_own_alliances(program):
    app = create_app({"TESTING": True})
    lee = signed_in(app, acting_as(LIAISON)).get("/staff/reports").get_data(as_text=True)
    assert "Michigan Roofing" in lee
    assert "evil.example" not in lee
    ola = signed_in(app, acting_as(OTHER_LIAISON)).get("/staff/reports").get_data(as_text=True)
    assert "evil.example" in ola
    assert "Michigan Roofing" not in ola
    with database.transaction() as session:
        mine = figures.work_list(
            session, acting=acting_as(LIAISON), now=NOW_REPORTING_PAGES, rules=ANNUAL
        )
        assert [line.report.due_date for line in mine.to_review] == [date(2025, 3, 15)]
        assert [line.report.due_date for line in mine.overdue] == [date(2026, 3, 15)]
        theirs = figures.work_list(
            session, acting=acting_as(OTHER_LIAISON), now=NOW_REPORTING_PAGES, rules=ANNUAL
        )
        assert len(theirs.to_review) == 2
        assert theirs.overdue == []
        everyone = figures.work_list(
            session, acting=COORDINATOR, now=NOW_REPORTING_PAGES, rules=ANNUAL
        )
        assert len(everyone.to_review) == 3
        assert len(everyone.overdue) == 1
        filtered = figures.work_list(
            session,
            acting=COORDINATOR,
            now=NOW_REPORTING_PAGES,
            rules=ANNUAL,
            liaison=LIAISON.email,
        )
        assert len(filtered.to_review) == 1
    assert signed_in(app, REVIEWER).get("/staff/reports").status_code == 403
    coordinator = signed_in(app, COORDINATOR).get(f"/staff/reports?liaison={LIAISON.email}")
    assert coordinator.status_code == 200
    assert "evil.example" not in coordinator.get_data(as_text=True)


@pytest.mark.usefixtures("_pinned_clock")
def test_the_dashboard_counts_for_the_coordinator_only(program):
    app = create_app({"TESTING": True})
    with database.transaction() as session:
        found = figures.dashboard(
            session,
            acting=COORDINATOR,
            now=NOW_REPORTING_PAGES,
            rules=ANNUAL,
            divisions=["construction_safety_health", "general_industry_safety_health", "other"],
        )
    assert found.active_by_division == [
        ("construction_safety_health", 1),
        ("general_industry_safety_health", 1),
        ("other", 0),
    ]
    assert {year: dict(counts) for year, counts in found.timing_by_year.items()} == {
        2025: {"on_time": 1, "late": 1},
        2026: {"on_time": 1, "overdue": 1},
    }
    page = signed_in(app, COORDINATOR).get("/staff/dashboard")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert 'role="img"' in text
    assert '<title id="timing-chart-title">' in text
    assert "No report with activities has been submitted yet." in text  # people reached
    assert signed_in(app, REVIEWER).get("/staff/dashboard").status_code == 403
    assert signed_in(app, acting_as(LIAISON)).get("/staff/dashboard").status_code == 403


@pytest.mark.usefixtures("_pinned_clock")
def test_the_csv_export_opens_in_excel_and_neutralises_formulas(program):
    app = create_app({"TESTING": True})
    response = signed_in(app, COORDINATOR).get("/staff/reports.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    body = response.data
    assert body.startswith(b"\xef\xbb\xbf")
    assert b"\r\n" in body
    assert b"\n" not in body.replace(b"\r\n", b"")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))
    assert rows[0] == list(figures.CSV_HEADER)
    assert len(rows) == 1 + 6
    partners = {row[1] for row in rows[1:]}
    assert partners == {"Michigan Roofing Contractors Association", "'" + TRICKY_REPORTING_PAGES}
    # Codes in words, as the pages show them.
    divisions = load_agency_profile().divisions
    assert {row[2] for row in rows[1:]} == {
        divisions["construction_safety_health"],
        divisions["general_industry_safety_health"],
    }
    assert {row[3] for row in rows[1:]} <= {"Quarterly", "Annual"}
    assert {row[4] for row in rows[1:]} == {"Initial term"}
    assert {row[7] for row in rows[1:]} <= set(figures.STATUS_LABELS.values())
    assert "_" not in "".join(row[7] for row in rows[1:])
    on_time = sorted(row[9] for row in rows[1:])
    assert on_time == ["", "", "no", "no", "yes", "yes"]
    lee = signed_in(app, acting_as(LIAISON)).get("/staff/reports.csv").data
    assert len(list(csv.reader(io.StringIO(lee.decode("utf-8-sig"))))) == 1 + 3
    assert signed_in(app, REVIEWER).get("/staff/reports.csv").status_code == 403


# The alliance's reports are signed far after NOW (nothing due) and moved by hand.
SIGNED_WORK_LIST_FILTERS = date(2030, 1, 15)
ENDS_WORK_LIST_FILTERS = date(2031, 1, 14)
NOW_WORK_LIST_FILTERS = datetime(2026, 12, 1, 17, tzinfo=UTC)


@pytest.fixture
def _pinned_clock_work_list_filters(monkeypatch: Any) -> None:
    """The work list reads the clock: it reads NOW."""
    pin_clock(monkeypatch, figures_views, NOW_WORK_LIST_FILTERS)


def today() -> date:
    return NOW_WORK_LIST_FILTERS.astimezone(rules_from_settings().timezone).date()


def alliance(name: str, *, liaison: Any = LIAISON) -> list[Report]:
    event = alliance_signed_event(
        name, signing_date=SIGNED_WORK_LIST_FILTERS, ends_on=ENDS_WORK_LIST_FILTERS
    )
    payload = event.payload
    payload["liaison"] = {"id": liaison.id, "name": liaison.name, "email": liaison.email}
    run_reporting_task("reporting.alliance_signed", event)
    with database.transaction() as session:
        found = reports.reports_of(session, alliance_id=payload["alliance_id"])
        session.expunge_all()
        return found


def move(report: Report, *, due: date, status: str | None = None) -> Report:
    values: dict[str, Any] = {"due_date": due}
    if status is not None:
        values["status"] = status
        if status == "submitted":
            values["submitted_at"] = NOW_WORK_LIST_FILTERS
    with database.transaction() as session:
        session.execute(
            update(reporting_Report).where(reporting_Report.id == report.id).values(**values)
        )
    return report


def linked(html: str) -> set[str]:
    """The reports a page links, by id."""
    return set(re.findall(r'href="/staff/reports/([0-9a-f-]{36})"', html))


@pytest.fixture
def due(clean_databases: Any, redis_client: Any) -> dict[str, Report]:
    """Reports of two partners due around today, in every state the view tells apart."""
    roofers = alliance("Michigan Roofing Contractors Association")
    safe = alliance("100% Safe_Builders", liaison=OTHER_LIAISON)
    day = today()
    return {
        "today": move(roofers[0], due=day),
        "in_30": move(roofers[1], due=day + timedelta(days=30)),
        "in_31": move(roofers[2], due=day + timedelta(days=31)),
        "past": move(roofers[3], due=day - timedelta(days=1)),
        "submitted": move(roofers[4], due=day + timedelta(days=3), status="submitted"),
        "revision": move(roofers[5], due=day + timedelta(days=10), status="revision_requested"),
        "safe_soon": move(safe[0], due=day + timedelta(days=7)),
    }


@pytest.mark.usefixtures("_pinned_clock_work_list_filters")
def test_due_in_the_next_30_days_counts_from_today_to_30_days_on_not_submitted(due):
    html = staff_client(COORDINATOR).get("/staff/reports?view=due_soon").text
    table = html.split('id="due-soon"', 1)[1]
    expected = {"today", "in_30", "revision", "safe_soon"}
    assert linked(table) == {str(due[key].id) for key in expected}
    assert "4 reports match: due in the next 30 days." in html
    until = today() + timedelta(days=30)
    assert f"due from today to {until:%B} {until.day}, {until.year}" in html
    assert 'id="overdue"' not in html  # the view shows one table
    # The labelled fields keep what was asked.
    assert '<label class="usa-label" for="filter-view">Show</label>' in html
    assert '<option value="due_soon" selected>Due in the next 30 days</option>' in html
    assert '<label class="usa-label" for="filter-partner">Partner</label>' in html


@pytest.mark.usefixtures("_pinned_clock_work_list_filters")
def test_a_liaison_sees_their_own_alliances_due_soon(due):
    html = staff_client(acting_as(LIAISON)).get("/staff/reports?view=due_soon").text
    assert str(due["safe_soon"].id) not in html
    assert "3 reports match: due in the next 30 days." in html


@pytest.mark.usefixtures("_pinned_clock_work_list_filters")
def test_the_partner_search_matches_part_of_the_name_case_aside(due):
    coordinator = staff_client(COORDINATOR)
    html = coordinator.get("/staff/reports?view=due_soon&partner=ROOFING").text
    assert linked(html.split('id="due-soon"', 1)[1]) == {
        str(due[key].id) for key in ("today", "in_30", "revision")
    }
    assert "3 reports match: due in the next 30 days, partner name containing “ROOFING”." in html
    assert 'value="ROOFING"' in html
    # The default view, narrowed by partner: the roofers' report to review and overdue one.
    html = coordinator.get("/staff/reports?partner=roofing").text
    assert linked(html) == {str(due["submitted"].id), str(due["past"].id)}
    assert "2 reports match: partner name containing “roofing”." in html
    html = coordinator.get("/staff/reports?partner=safe").text
    assert "No reports match: partner name containing “safe”." in html


@pytest.mark.usefixtures("_pinned_clock_work_list_filters")
@pytest.mark.parametrize(("typed", "found"), [("%", True), ("_", True), ("0% S", True)])
def test_wildcards_are_characters_like_any_other(due, typed, found):
    html = (
        staff_client(COORDINATOR)
        .get(
            "/staff/reports",
            query_string={
                "view": "due_soon",
                "partner": typed,
            },
        )
        .text
    )
    assert linked(html) == {str(due["safe_soon"].id)}


@pytest.mark.usefixtures("_pinned_clock_work_list_filters")
def test_the_filters_combine_with_the_liaison_filter(due):
    coordinator = staff_client(COORDINATOR)
    html = coordinator.get(
        "/staff/reports", query_string={"view": "due_soon", "liaison": OTHER_LIAISON.email}
    ).text
    assert linked(html) == {str(due["safe_soon"].id)}
    assert "1 report matches: due in the next 30 days, liaison Ola Other." in html
    html = coordinator.get(
        "/staff/reports",
        query_string={"view": "due_soon", "liaison": OTHER_LIAISON.email, "partner": "roof"},
    ).text
    assert linked(html) == set()
    assert "No reports match: due in the next 30 days, partner name containing “roof”" in html
    assert "No reports match: none is due in the next 30 days." in html


@pytest.mark.usefixtures("_pinned_clock_work_list_filters")
@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"partner": "x" * 201}, "filter-partner", "Type at most 200 characters of the name."),
        ({"view": "everything"}, "filter-view", "Choose which reports to show from the list."),
    ],
)
def test_a_refused_filter_comes_back_beside_its_field(due, query, field, message):
    answer = staff_client(COORDINATOR).get("/staff/reports", query_string=query)
    assert answer.status_code == 400
    html = answer.text
    assert f'href="#{field}"' in html  # the error summary links the field
    assert message in html
    assert 'aria-invalid="true"' in html
