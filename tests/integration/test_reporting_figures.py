"""People reached and trained on the dashboard, and the activity CSV, counted from reports
submitted through the submissions domain (the latest version of each; a quarterly report
inside a submitted annual report's period is not counted twice)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import select

from services.reporting import create_app
from services.reporting.figures import domain as figures
from services.reporting.reports.models import Report
from services.reporting.schedules.domain import rules_from_settings
from services.reporting.worker import database
from shared.config import load_agency_profile
from tests.factories import (
    COORDINATOR,
    LIAISON,
    OTHER_LIAISON,
    REVIEWER,
    acting_as,
    alliance_signed_event,
    signed_in,
)
from tests.factories import run_reporting_task as run_task
from tests.integration.test_evaluations import content, submit

pytestmark = pytest.mark.integration

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
