"""The annual evaluation and the alliance copy's status, on PostgreSQL: status transitions
from the events of an alliance's life, evaluations recorded by the liaison and the
Coordinator (refused for anyone else with nothing stored, a missing justification shown
inline), sharing, and the year's roll-up of the latest submitted versions."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from services.reporting import create_app
from services.reporting.alliances.models import Alliance
from services.reporting.evaluations import domain as evaluations
from services.reporting.evaluations.models import Evaluation
from services.reporting.reports import submission as submissions
from services.reporting.reports.models import Report
from services.reporting.worker import database, outbox
from shared.config import load_agency_profile
from shared.domain import Forbidden, Invalid
from tests.factories import (
    COORDINATOR,
    LIAISON,
    OTHER_LIAISON,
    REVIEWER,
    ROOFERS,
    acting_as,
    alliance_change_event,
    alliance_signed_event,
    run_reporting_task,
    signed_in,
)

pytestmark = pytest.mark.integration

SIGNED = date(2024, 1, 15)
ENDS = date(2027, 1, 14)
AT = datetime(2026, 6, 1, 15, tzinfo=UTC)


def status_of(alliance_id: uuid.UUID) -> str:
    with database.transaction() as session:
        alliance = session.get(Alliance, alliance_id)
        assert alliance is not None
        return alliance.status


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


def evaluation_count() -> int:
    with database.transaction() as session:
        return session.scalar(select(func.count()).select_from(Evaluation)) or 0


# -- status ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("task", "fields", "status"),
    [
        ("alliance_concluded", {"concluded_on": date(2025, 6, 30)}, "concluded"),
        (
            "alliance_terminated",
            {"notice_date": date(2025, 5, 31), "effective_on": date(2025, 6, 30)},
            "terminated",
        ),
        ("ambassador_designated", {"designated_on": date(2025, 6, 30)}, "ambassador"),
    ],
)
def test_the_events_of_an_alliance_set_its_status(signed, task, fields, status):
    alliance_id = signed.payload["alliance_id"]
    assert status_of(alliance_id) == "active"
    event_type = "alliance." + task.removeprefix("alliance_")
    run_reporting_task(f"reporting.{task}", alliance_change_event(signed, event_type, **fields))
    assert status_of(alliance_id) == status


def test_a_renewal_makes_an_alliance_active_again(signed):
    alliance_id = signed.payload["alliance_id"]
    with database.transaction() as session:
        session.get(Alliance, alliance_id).status = "concluded"
    renewal = alliance_change_event(
        signed,
        "alliance.renewed",
        renewal=1,
        signing_date=date(2027, 1, 15),
        term_years=2,
        previous_ends_on=ENDS,
        ends_on=date(2029, 1, 14),
    )
    run_reporting_task("reporting.alliance_renewed", renewal)
    assert status_of(alliance_id) == "active"


# -- recording ------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["liaison", "coordinator"])
def test_the_liaison_or_the_coordinator_records_an_evaluation(alliance_id, who):
    acting = acting_as(LIAISON) if who == "liaison" else COORDINATOR
    with database.transaction() as session:
        evaluations.record_evaluation(
            session,
            acting=acting,
            alliance_id=alliance_id,
            term=0,
            year=1,
            ratings=ratings(work_plan={"rating": "not_applicable", "justification": ""}),
            at=AT,
        )
    with database.transaction() as session:
        stored = session.scalars(select(Evaluation)).one()
        assert (stored.term, stored.year, stored.shared_at) == (0, 1, None)
        assert stored.ratings["work_plan"] == {"rating": "not_applicable", "justification": ""}
        assert stored.ratings["team_meets"]["rating"] == "meets"
        assert stored.recorded_by["email"] == acting.email
        evaluations.share_evaluation(
            session, acting=acting, alliance_id=alliance_id, term=0, year=1, at=AT
        )
    with database.transaction() as session:
        assert session.scalars(select(Evaluation)).one().shared_at == AT


@pytest.mark.parametrize("who", [acting_as(OTHER_LIAISON), REVIEWER])
def test_another_liaison_or_a_reviewer_is_refused_and_nothing_is_stored(alliance_id, who):
    with pytest.raises(Forbidden), database.transaction() as session:
        evaluations.record_evaluation(
            session, acting=who, alliance_id=alliance_id, term=0, year=1, ratings=ratings(), at=AT
        )
    assert evaluation_count() == 0
    client = signed_in(create_app({"TESTING": True, "WTF_CSRF_ENABLED": False}), who)
    url = f"/staff/alliances/{alliance_id}/evaluations/0/1"
    page = client.get(url)
    assert page.status_code == 200
    assert "Record the evaluation" not in page.text
    form = {f"{key}_rating": "meets" for key in evaluations.REQUIREMENTS}
    form |= {f"{key}_justification": "Fine." for key in evaluations.REQUIREMENTS}
    assert client.post(url, data=form).status_code == 403
    assert evaluation_count() == 0


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


@pytest.mark.parametrize("year", [0, -1, 101, 10000, 2**40])
def test_the_domain_refuses_a_year_no_term_has_before_computing_its_dates(alliance_id, year):
    # The route's converter stops these first; the domain must not rely on it (add_years
    # fails past year 9999).
    from shared.domain import NotFound

    with database.sessions() as session:
        alliance = session.get(Alliance, alliance_id)
        with pytest.raises(NotFound):
            evaluations.agreement_year(session, alliance, term=0, year=year)


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
