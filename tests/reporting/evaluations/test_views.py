"""The annual evaluation and the alliance copy's status, on PostgreSQL: status transitions
from the events of an alliance's life, evaluations recorded by the liaison and the
Coordinator (refused for anyone else with nothing stored, a missing justification shown
inline), sharing, and the year's roll-up of the latest submitted versions.

Sharing an annual evaluation with the partner (``evaluation.shared``): reporting stores the
event once in the transaction that records ``shared_at``; notify mails the ratings and
justifications to the partner's contact with a copy to the liaison, once per evaluation and
recipient, against real PostgreSQL, Redis and a real (in-process) SMTP server; the alliance's
reports page links to each agreement year's evaluation page."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from services.reporting import create_app
from services.reporting.evaluations import domain as evaluations
from services.reporting.reports import submission as submissions
from services.reporting.reports.models import Report
from services.reporting.worker import database, outbox
from shared.config import load_agency_profile
from shared.domain import Invalid
from tests.reporting.evaluations.helpers import (
    AT,
    ENDS,
    JUSTIFICATION,
    SIGNED,
    evaluation_count,
    shared_events,
)
from tests.reporting.factories import run_reporting_task
from tests.review.factories import LIAISON, acting_as, alliance_signed_event
from tests.shared.factories import COORDINATOR, REVIEWER, ROOFERS, signed_in

pytestmark = pytest.mark.integration


def content(*, reached: int, area: str = "falls", day: str = "2024-03-01") -> dict[str, Any]:
    """A complete report (as stored) with one row of each activity section."""
    return {
        "meetings": [{"date": day, "topic": "Work plan", "attendees": "Dana Smith, Lee Park"}],
        "dissemination": [
            {
                "type": "Fact sheet",
                "date": day,
                "description": "Fall protection fact sheet",
                "emphasis_area": area,
                "number_reached": reached,
            }
        ],
        "outreach": [
            {
                "date": day,
                "event": "Roofing safety day",
                "city": "Lansing",
                "state": "MI",
                "emphasis_area": area,
                "number_reached": 10,
            }
        ],
        "staff_training": [{"audience": "Compliance officers", "number_reached": 3}],
        "products": [{"title": "Toolbox talk", "description": "Five minutes"}],
        "narratives": {"outreach_communication": {"results": "Done.", "obstacles": ""}},
    }


def submit(report_id: uuid.UUID, body: dict[str, Any]) -> None:
    with database.transaction() as session:
        submissions.submit(
            session,
            report_id=report_id,
            content=body,
            goal_categories=load_agency_profile().goal_categories,
            at=AT,
            outbox=outbox,
        )


def reports_of(alliance_id: uuid.UUID) -> list[Report]:
    with database.transaction() as session:
        found = list(
            session.scalars(
                select(Report)
                .where(Report.alliance_id == alliance_id)
                .order_by(Report.period_start, Report.kind)
            )
        )
        session.expunge_all()
        return found


@pytest.fixture
def signed(clean_databases: Any, redis_client: Any) -> Any:
    event = alliance_signed_event(signing_date=SIGNED, ends_on=ENDS)
    run_reporting_task("reporting.alliance_signed", event)
    return event


@pytest.fixture
def alliance_id(signed: Any) -> uuid.UUID:
    found: uuid.UUID = signed.payload["alliance_id"]
    return found


def ratings(**overrides: dict[str, str]) -> dict[str, dict[str, str]]:
    given = {
        key: {"rating": "meets", "justification": "Seen in the reports."}
        for key in evaluations.REQUIREMENTS
    }
    given.update(overrides)
    return given


def test_a_missing_justification_is_shown_inline_and_nothing_is_stored(alliance_id):
    with pytest.raises(Invalid) as refused, database.transaction() as session:
        evaluations.record_evaluation(
            session,
            acting=COORDINATOR,
            alliance_id=alliance_id,
            term=0,
            year=1,
            ratings=ratings(reports_on_time={"rating": "did_not_meet", "justification": " "}),
            at=AT,
        )
    assert refused.value.errors == {
        "reports_on_time_justification": [evaluations.JUSTIFICATION_REQUIRED]
    }
    client = signed_in(create_app({"TESTING": True, "WTF_CSRF_ENABLED": False}), acting_as(LIAISON))
    url = f"/staff/alliances/{alliance_id}/evaluations/0/1"
    form = {f"{key}_rating": "meets" for key in evaluations.REQUIREMENTS}
    form |= {f"{key}_justification": "Fine." for key in evaluations.REQUIREMENTS}
    form["products_reviewed_justification"] = ""
    del form["team_meets_rating"]
    page = client.post(url, data=form)
    assert page.status_code == 422
    assert 'href="#products-reviewed-justification"' in page.text
    assert 'href="#team-meets-rating"' in page.text
    assert evaluations.JUSTIFICATION_REQUIRED in page.text
    assert "Choose a rating." in page.text
    assert "There are 2 problems" in page.text
    assert evaluation_count() == 0
    form["team_meets_rating"] = "meets"
    form["products_reviewed_rating"] = "not_applicable"
    saved = client.post(url, data=form)
    assert saved.status_code == 303
    assert evaluation_count() == 1
    shared = client.post(url + "/share")
    assert shared.status_code == 303
    page = client.get(shared.headers["Location"])
    assert "Shared with the partner on" in page.text
    assert "No e-mail was sent" not in page.text
    assert (
        f"Shared with Dana Smith of {ROOFERS}, with a copy to {LIAISON.name}: "
        "the evaluation was sent to them by e-mail."
    ) in page.text
    assert "dana@example.org" not in page.text.split("usa-alert__text")[1].split("</p>")[0]
    again = client.post(url + "/share")
    page = client.get(again.headers["Location"])
    assert "already shared with the partner; nothing more was sent" in page.text


def test_a_year_outside_the_term_is_not_found(alliance_id):
    client = signed_in(create_app({"TESTING": True}), COORDINATOR)
    assert client.get(f"/staff/alliances/{alliance_id}/evaluations/0/4").status_code == 404
    assert client.get(f"/staff/alliances/{alliance_id}/evaluations/0/3").status_code == 200


# -- the year's roll-up ---------------------------------------------------------------------


def test_the_rollup_sums_the_latest_versions_of_the_years_reports(alliance_id):
    owed = reports_of(alliance_id)
    annual = [r for r in owed if r.kind == "annual"]
    quarterly = [r for r in owed if r.kind == "quarterly"]
    assert [(r.period_start, r.period_end) for r in annual][:2] == [
        (date(2024, 1, 15), date(2025, 1, 14)),
        (date(2025, 1, 15), date(2026, 1, 14)),
    ]
    submit(annual[0].id, content(reached=100))
    # a revision: version 2 replaces version 1
    with database.transaction() as session:
        session.get(Report, annual[0].id).status = "revision_requested"
    submit(annual[0].id, content(reached=150))
    submit(annual[1].id, content(reached=7000, day="2025-03-01"))  # year 2
    if quarterly:  # inside year 1's annual report: not counted twice
        submit(quarterly[0].id, content(reached=999))
    with database.transaction() as session:
        page = evaluations.evaluation_of(
            session, acting=REVIEWER, alliance_id=alliance_id, term=0, year=1
        )
        assert (page.period.start, page.period.end) == (date(2024, 1, 15), date(2025, 1, 14))
        assert [r.id for r in page.reports] == [annual[0].id]
        assert page.evaluation is None
        assert page.may_record is False
        assert [(x.section, x.emphasis_area, x.rows, x.reached) for x in page.rollup] == [
            ("dissemination", "falls", 1, 150),
            ("outreach", "falls", 1, 10),
            ("staff_training", "", 1, 3),
            ("products", "", 1, 0),
        ]
    client = signed_in(create_app({"TESTING": True}), REVIEWER)
    shown = client.get(f"/staff/alliances/{alliance_id}/evaluations/0/2")
    assert shown.status_code == 200
    assert "<td>7000</td>" in shown.text
    assert "<td>150</td>" not in shown.text


@pytest.fixture
def signed_evaluation_shared(redis_client: Any) -> Any:
    event = alliance_signed_event("Roofers <b>& Sons</b>", signing_date=SIGNED, ends_on=ENDS)
    run_reporting_task("reporting.alliance_signed", event)
    return event


def ratings_evaluation_shared() -> dict[str, dict[str, str]]:
    given = {
        key: {"rating": "meets", "justification": f"Seen in the reports ({key})."}
        for key in evaluations.REQUIREMENTS
    }
    given["team_meets"] = {"rating": "meets_in_part", "justification": JUSTIFICATION}
    given["work_plan"] = {"rating": "not_applicable", "justification": ""}
    return given


@pytest.mark.usefixtures("clean_databases")
def test_sharing_through_the_page_stores_the_event(signed_evaluation_shared):
    alliance_id = signed_evaluation_shared.payload["alliance_id"]
    with database.transaction() as session:
        evaluations.record_evaluation(
            session,
            acting=COORDINATOR,
            alliance_id=alliance_id,
            term=0,
            year=1,
            ratings=ratings_evaluation_shared(),
            at=AT,
        )
    client = signed_in(create_app({"TESTING": True, "WTF_CSRF_ENABLED": False}), COORDINATOR)
    url = f"/staff/alliances/{alliance_id}/evaluations/0/1/share"
    assert client.post(url).status_code == 303
    assert client.post(url).status_code == 303
    assert len(shared_events()) == 1


@pytest.mark.usefixtures("clean_databases")
def test_the_alliances_reports_page_links_to_each_years_evaluation(signed_evaluation_shared):
    alliance_id = signed_evaluation_shared.payload["alliance_id"]
    app = create_app({"TESTING": True})
    page = signed_in(app, REVIEWER).get(f"/staff/alliances/{alliance_id}/reports")
    assert page.status_code == 200
    for year in (1, 2, 3):
        link = f'href="/staff/alliances/{alliance_id}/evaluations/0/{year}"'
        assert link in page.text
        assert signed_in(app, REVIEWER).get(link[6:-1]).status_code == 200
    assert f"/staff/alliances/{alliance_id}/evaluations/0/4" not in page.text
