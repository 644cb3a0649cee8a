"""Sharing an annual evaluation with the partner (``evaluation.shared``): reporting stores the
event once in the transaction that records ``shared_at``; notify mails the ratings and
justifications to the partner's contact with a copy to the liaison, once per evaluation and
recipient, against real PostgreSQL, Redis and a real (in-process) SMTP server; the alliance's
reports page links to each agreement year's evaluation page.

The annual evaluation and the alliance copy's status, on PostgreSQL: status transitions
from the events of an alliance's life, evaluations recorded by the liaison and the
Coordinator (refused for anyone else with nothing stored, a missing justification shown
inline), sharing, and the year's roll-up of the latest submitted versions."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from services.reporting import create_app
from services.reporting.alliances.models import Alliance
from services.reporting.evaluations import domain as evaluations
from services.reporting.evaluations.models import Evaluation
from services.reporting.worker import database, outbox
from shared.domain import Forbidden
from shared.events import parse_event
from tests.reporting.evaluations.helpers import (
    AT,
    ENDS,
    JUSTIFICATION,
    SIGNED,
    evaluation_count,
    shared_events,
)
from tests.reporting.factories import run_reporting_task
from tests.review.factories import LIAISON, OTHER_LIAISON, acting_as, alliance_signed_event
from tests.shared.factories import COORDINATOR, REVIEWER, signed_in

pytestmark = pytest.mark.integration

CONTACT = "dana@example.org"


@pytest.fixture
def signed(redis_client: Any) -> Any:
    event = alliance_signed_event("Roofers <b>& Sons</b>", signing_date=SIGNED, ends_on=ENDS)
    run_reporting_task("reporting.alliance_signed", event)
    return event


def ratings() -> dict[str, dict[str, str]]:
    given = {
        key: {"rating": "meets", "justification": f"Seen in the reports ({key})."}
        for key in evaluations.REQUIREMENTS
    }
    given["team_meets"] = {"rating": "meets_in_part", "justification": JUSTIFICATION}
    given["work_plan"] = {"rating": "not_applicable", "justification": ""}
    return given


def record_and_share(alliance_id: uuid.UUID, *, times: int = 1) -> None:
    with database.transaction() as session:
        evaluations.record_evaluation(
            session,
            acting=acting_as(LIAISON),
            alliance_id=alliance_id,
            term=0,
            year=2,
            ratings=ratings(),
            at=AT,
        )
    for _ in range(times):
        with database.transaction() as session:
            evaluations.share_evaluation(
                session,
                acting=acting_as(LIAISON),
                alliance_id=alliance_id,
                term=0,
                year=2,
                at=AT,
                outbox=outbox,
            )


@pytest.mark.usefixtures("clean_databases")
def test_sharing_stores_the_event_once_with_the_ratings(signed):
    alliance_id = signed.payload["alliance_id"]
    record_and_share(alliance_id, times=2)  # sharing again sends nothing more

    [message] = shared_events()
    payload = parse_event(message, expected_type="evaluation.shared").payload
    assert payload["alliance_id"] == alliance_id
    assert (payload["term"], payload["year"]) == (0, 2)
    assert (payload["period_start"], payload["period_end"]) == (
        date(2025, 1, 15),
        date(2026, 1, 14),
    )
    assert payload["contact"]["email"] == CONTACT
    assert payload["liaison"]["email"] == LIAISON.email
    assert payload["shared_at"] == AT
    assert payload["ratings"][0] == {
        "requirement": "The implementation team meets regularly",
        "rating": "Meets in part",
        "justification": JUSTIFICATION,
    }
    assert payload["ratings"][1]["rating"] == "Not applicable"
    assert len(payload["ratings"]) == len(evaluations.REQUIREMENTS)


@pytest.mark.usefixtures("clean_databases")
def test_a_refused_share_stores_nothing(signed):
    alliance_id = signed.payload["alliance_id"]
    with database.transaction() as session:
        evaluations.record_evaluation(
            session,
            acting=COORDINATOR,
            alliance_id=alliance_id,
            term=0,
            year=1,
            ratings=ratings(),
            at=AT,
        )
    with pytest.raises(Forbidden), database.transaction() as session:
        evaluations.share_evaluation(
            session,
            acting=REVIEWER,
            alliance_id=alliance_id,
            term=0,
            year=1,
            at=AT,
            outbox=outbox,
        )
    assert shared_events() == []


@pytest.fixture
def signed_evaluations(clean_databases: Any, redis_client: Any) -> Any:
    event = alliance_signed_event(signing_date=SIGNED, ends_on=ENDS)
    run_reporting_task("reporting.alliance_signed", event)
    return event


@pytest.fixture
def alliance_id(signed_evaluations: Any) -> uuid.UUID:
    found: uuid.UUID = signed_evaluations.payload["alliance_id"]
    return found


def ratings_evaluations(**overrides: dict[str, str]) -> dict[str, dict[str, str]]:
    given = {
        key: {"rating": "meets", "justification": "Seen in the reports."}
        for key in evaluations.REQUIREMENTS
    }
    given.update(overrides)
    return given


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
            ratings=ratings_evaluations(
                work_plan={"rating": "not_applicable", "justification": ""}
            ),
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
            session,
            acting=who,
            alliance_id=alliance_id,
            term=0,
            year=1,
            ratings=ratings_evaluations(),
            at=AT,
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


@pytest.mark.parametrize("year", [0, -1, 101, 10000, 2**40])
def test_the_domain_refuses_a_year_no_term_has_before_computing_its_dates(alliance_id, year):
    # The route's converter stops these first; the domain must not rely on it (add_years
    # fails past year 9999).
    from shared.domain import NotFound

    with database.sessions() as session:
        alliance = session.get(Alliance, alliance_id)
        with pytest.raises(NotFound):
            evaluations.agreement_year(session, alliance, term=0, year=year)
