"""``current_acting()``: the signed-in staff member as every staff page and API call of review
and reporting hands them to the domain, with the conflicts of interest the service knows."""

from __future__ import annotations

import pytest
from flask import Flask

from services.reporting import create_app as create_reporting_app
from services.reporting.conflicts.domain import record_declared
from services.reporting.worker import database as reporting_database
from services.review import create_app as create_review_app
from services.review.queue import domain as queue
from services.review.staff.models import StaffUser
from services.review.worker import database as review_database
from services.review.worker import outbox as review_outbox
from shared.domain import Acting
from shared.staff_auth import COOKIE_NAME
from shared.web import current_acting
from tests.factories import acting_as, conflict_declared_event, staff_member, staff_session

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clean_databases")]

ROOFERS = "Michigan Roofing Assn."


def acting_at(app: Flask, path: str, person: StaffUser) -> Acting:
    """Who ``current_acting()`` says acts in a request to ``path`` by ``person``, signed in."""
    cookie = f"{COOKIE_NAME}={staff_session(person)}"
    with app.test_request_context(path, headers={"Cookie": cookie}):
        app.preprocess_request()  # loads g.staff from the session cookie
        return current_acting()


def test_review_staff_pages_and_api_act_with_the_persons_declared_conflicts(redis_client):
    # The staff pages and API (services/review/staff) built their Acting from the session
    # alone: a Coordinator's declared conflicts were missing there.
    coordinator = staff_member("cora@agency.example", "coordinator")
    with review_database.transaction() as session:
        queue.declare_conflict(
            session, acting=acting_as(coordinator), organization_name=ROOFERS, outbox=review_outbox
        )
    app = create_review_app({"TESTING": True})

    for path in ("/staff/people", "/api/v1/staff/people", "/", "/api/v1/queue"):
        assert acting_at(app, path, coordinator) == acting_as(coordinator, conflicts=[ROOFERS])


def test_reporting_acts_with_the_conflicts_its_copy_holds(redis_client):
    reviewer = staff_member("rita@agency.example", "reviewer")
    with reporting_database.transaction() as session:
        record_declared(session, event=conflict_declared_event(reviewer.id, ROOFERS))
    app = create_reporting_app({"TESTING": True})

    assert acting_at(app, "/reports", reviewer) == acting_as(reviewer, conflicts=[ROOFERS])


def test_a_signed_in_person_without_conflicts_acts_with_none(redis_client):
    reviewer = staff_member("rita@agency.example", "reviewer")

    assert acting_at(create_review_app({"TESTING": True}), "/", reviewer) == acting_as(reviewer)
