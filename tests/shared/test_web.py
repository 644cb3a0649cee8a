"""The pattern every service's web layer stands on (shared/web.py, shared/domain.py,
shared/schemas.py): one session and transaction per request, committed only for a success,
typed domain errors answered in one place, input schemas refusing untypable text per field.

A tiny app over review's real database and one of its tables keeps the test about the
pattern, not about any one service's rules.

A database or broker that is away: a clear 503 that says nothing was stored, never a 500,
and never a request held for seconds by a broker that does not answer.

``current_acting()``: the signed-in staff member as every staff page and API call of review
and reporting hands them to the domain, with the conflicts of interest the service knows."""

from __future__ import annotations

import socket
import time
import uuid

import pytest
from flask import Flask, request
from marshmallow import fields
from sqlalchemy import func, select

from deploy.embedded import free_port
from services.intake import create_app
from services.intake.models import OutboxEvent, Proposal
from services.intake.worker import database as intake_database
from services.reporting import create_app as create_reporting_app
from services.reporting.conflicts.domain import record_declared
from services.reporting.worker import database as reporting_database
from services.review import create_app as create_review_app
from services.review.models import StaffConflict
from services.review.queue import domain as queue
from services.review.staff.models import StaffUser
from services.review.worker import database
from services.review.worker import database as review_database
from services.review.worker import outbox as review_outbox
from shared.celery_app import create_celery
from shared.db import after_commit
from shared.domain import Acting, Conflict, Forbidden, Invalid, NotFound
from shared.outbox import Outbox
from shared.schemas import InputSchema, checks_form_text, load_input
from shared.staff_auth import COOKIE_NAME
from shared.testing import example_proposal
from shared.web import ServiceApp, current_acting, init_app, request_session
from tests.intake.factories import submitted_event
from tests.review.factories import acting_as, conflict_declared_event, staff_member
from tests.shared.factories import staff_session

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clean_databases")]


class ConflictIn(InputSchema):
    organization_name = fields.String(required=True)


def build_app(committed: list[str]) -> ServiceApp:
    app = ServiceApp(__name__)
    init_app(app, service="review")
    app.config["TESTING"] = True

    def store(name: str) -> None:
        session = request_session(database)
        assert session is request_session(database), "one session per request"
        session.add(
            StaffConflict(staff_id=uuid.uuid4(), organization_name=name, organization_key=name)
        )
        session.flush()
        after_commit(session, lambda: committed.append(name))

    @app.post("/api/v1/conflicts")
    def api_store() -> tuple[dict[str, str], int]:
        data = load_input(ConflictIn(), request.get_json(silent=True) or {})
        store(data["organization_name"])
        outcome = request.args.get("then", "")
        errors = {
            "forbidden": Forbidden("Only the Coordinator may do that."),
            "missing": NotFound("No such proposal."),
            "conflict": Conflict("It was already released."),
            "invalid": Invalid({"organization_name": ["Too long."]}),
        }
        if outcome in errors:
            raise errors[outcome]
        if outcome == "crash":
            raise RuntimeError("a defect")
        if outcome == "answer-400":
            return {"error": "refused after writing"}, 400
        return {"stored": data["organization_name"]}, 201

    @app.route("/staff/conflicts", methods=["GET", "POST"])
    @checks_form_text
    def form() -> tuple[str, int]:
        try:
            data = load_input(ConflictIn(), request.form)
        except Invalid as invalid:
            return f"inline: {invalid.errors}", 422
        store(data["organization_name"])
        return "stored", 200

    @app.post("/staff/unchecked")
    def unchecked_form() -> str:
        store(request.form["organization_name"])
        return "stored"

    return app


def stored() -> list[str]:
    with database.transaction() as session:
        return list(session.scalars(select(StaffConflict.organization_name)))


def test_a_success_commits_once_and_runs_the_after_commit_hooks():
    committed: list[str] = []
    client = build_app(committed).test_client()

    response = client.post("/api/v1/conflicts", json={"organization_name": "Roofers"})

    assert response.status_code == 201
    assert stored() == ["Roofers"]
    assert committed == ["Roofers"]


@pytest.mark.parametrize(
    ("then", "status", "message"),
    [
        ("forbidden", 403, "Only the Coordinator may do that."),
        ("missing", 404, "No such proposal."),
        ("conflict", 409, "It was already released."),
    ],
)
def test_a_domain_error_after_a_write_answers_its_status_and_stores_nothing(then, status, message):
    committed: list[str] = []
    client = build_app(committed).test_client()

    response = client.post(f"/api/v1/conflicts?then={then}", json={"organization_name": "X"})

    assert response.status_code == status
    assert response.get_json() == {"errors": {"_request": [message]}}
    assert stored() == []
    assert committed == []


def test_invalid_names_each_field_and_stores_nothing():
    client = build_app([]).test_client()

    response = client.post("/api/v1/conflicts?then=invalid", json={"organization_name": "X"})

    assert response.status_code == 422
    assert response.get_json() == {"errors": {"organization_name": ["Too long."]}}
    assert stored() == []


def test_an_error_answer_or_a_defect_rolls_back_and_never_shows_a_traceback():
    client = build_app([]).test_client()

    assert client.post("/api/v1/conflicts?then=answer-400", json={"organization_name": "A"})
    crashed = client.post("/api/v1/conflicts?then=crash", json={"organization_name": "B"})

    assert crashed.status_code == 500
    assert "Traceback" not in crashed.get_data(as_text=True)
    assert stored() == []


def test_a_domain_error_on_a_page_is_the_layout_with_the_reason():
    app = build_app([])

    @app.get("/staff/forbidden")
    def forbidden_page() -> str:
        raise Forbidden("You declared a conflict with this organization.")

    page = app.test_client().get("/staff/forbidden")
    assert page.status_code == 403
    assert page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert "Not allowed" in html
    assert "You declared a conflict with this organization." in html
    assert "Nothing was changed." in html


def test_a_nul_in_a_form_checked_by_its_schema_is_refused_inline_with_the_field():
    client = build_app([]).test_client()

    response = client.post("/staff/conflicts", data={"organization_name": "Roof\x00ers"})

    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert body.startswith("inline: {'organization_name': ['Remove the control character U+0000")
    assert stored() == []


def test_a_nul_in_any_other_form_is_refused_at_the_edge_before_the_view():
    client = build_app([]).test_client()

    response = client.post("/staff/unchecked", data={"organization_name": "Roof\x00ers"})

    assert response.status_code == 422
    assert "organization_name: Remove the control character U+0000" in response.get_data(
        as_text=True
    )
    assert stored() == []


def conflict(name: str) -> StaffConflict:
    return StaffConflict(staff_id=uuid.uuid4(), organization_name=name, organization_key=name)


def test_after_commit_waits_for_the_real_commit_not_a_released_savepoint():
    fired: list[str] = []
    with database.transaction() as session:
        with session.begin_nested():
            session.add(conflict("inner"))
            after_commit(session, lambda: fired.append("inner"))
        assert fired == [], "a released savepoint is not a commit: nobody else sees the row"
    assert fired == ["inner"]


def test_a_savepoint_rolled_back_drops_only_its_own_after_commit_steps():
    fired: list[str] = []
    with database.transaction() as session:
        after_commit(session, lambda: fired.append("outer"))
        savepoint = session.begin_nested()
        after_commit(session, lambda: fired.append("refused"))
        savepoint.rollback()
        with session.begin_nested():
            after_commit(session, lambda: fired.append("kept"))
    assert fired == ["outer", "kept"]

    fired.clear()
    with database.sessions() as session:
        session.begin()
        after_commit(session, lambda: fired.append("rolled back"))
        session.rollback()
    assert fired == []


@pytest.fixture
def intake_database_down():
    url = intake_database.url
    intake_database.configure(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/apm_gone")
    yield
    intake_database.configure(url)


def proposals_stored() -> int | None:
    with intake_database.transaction() as session:
        return session.scalar(select(func.count()).select_from(Proposal))


def test_a_submission_while_the_database_is_down_is_a_503_that_stores_nothing(
    intake_database_down, redis_client
):
    client = create_app({"TESTING": True}).test_client()

    response = client.post("/api/v1/proposals", json=example_proposal())

    assert response.status_code == 503
    # The outage's wait, not the rate limiter's window (which it sets on every response).
    assert response.headers["Retry-After"] == "30"
    [message] = response.json["errors"]["_request"]
    assert "its database cannot be reached" in message
    assert "Nothing you sent was stored" in message


def test_after_the_outage_the_same_submission_is_stored_once(redis_client):
    client = create_app({"TESTING": True}).test_client()
    url = intake_database.url
    intake_database.configure(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/apm_gone")
    try:
        refused = client.post("/api/v1/proposals", json=example_proposal())
    finally:
        intake_database.configure(url)
    assert refused.status_code == 503
    assert proposals_stored() == 0

    accepted = client.post("/api/v1/proposals", json=example_proposal())

    assert accepted.status_code == 201
    assert proposals_stored() == 1


def test_a_page_while_the_database_is_down_is_a_503_page():
    from services.review import create_app as create_review_app
    from services.review.worker import database as review_database

    client = create_review_app({"TESTING": True, "WTF_CSRF_ENABLED": False}).test_client()
    url = review_database.url
    review_database.configure(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/apm_gone")
    try:
        response = client.post(
            "/staff/sign-in",
            data={"email": "someone@agency.example", "password": "a long password here"},
            headers={"Accept": "text/html"},
        )
    finally:
        review_database.configure(url)

    assert response.status_code == 503
    assert response.mimetype == "text/plain"
    assert "Nothing you sent was stored" in response.get_data(as_text=True)


@pytest.fixture
def hanging_broker():
    """A port that accepts connections and never answers: the worst kind of broker outage."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(100)
    yield f"redis://127.0.0.1:{listener.getsockname()[1]}/0"
    listener.close()


def test_a_hanging_broker_never_holds_a_commit_for_seconds(hanging_broker):
    app = create_celery("intake")
    app.conf.broker_url = hanging_broker
    outbox = Outbox(model=OutboxEvent, database=intake_database, celery_app=app, producer="intake")

    timings = []
    for _ in range(3):
        started = time.monotonic()
        with intake_database.transaction() as session:
            outbox.add(session, submitted_event())
        timings.append(time.monotonic() - started)

    # No commit waits for the publishing, which goes on in the background.
    assert max(timings) < 0.3
    with intake_database.transaction() as session:
        pending = session.scalar(
            select(func.count()).select_from(OutboxEvent).where(OutboxEvent.published_at.is_(None))
        )
    assert pending == 3  # the relay publishes them once the broker answers


def test_a_connection_lost_during_the_commit_says_the_outcome_is_unknown(monkeypatch):
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.orm import Session

    from shared.db import CommitOutcomeUnknown

    def lost(self):
        raise OperationalError("COMMIT", {}, Exception("server closed the connection"))

    monkeypatch.setattr(Session, "commit", lost)
    with pytest.raises(CommitOutcomeUnknown), intake_database.transaction() as session:
        session.execute(select(func.count()).select_from(Proposal))

    client = create_app({"TESTING": True}).test_client()
    response = client.post("/api/v1/proposals", json=example_proposal())

    assert response.status_code == 503
    [message] = response.json["errors"]["_request"]
    assert "it may or may not have been stored" in message
    assert "with the same Idempotency-Key" in message
    assert "Nothing you sent was stored" not in message


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


def test_the_vendored_assets_are_kept_an_hour_and_the_pages_never() -> None:
    client = create_app({"TESTING": True}).test_client()
    for asset in ("/assets/uswds/js/uswds.min.js", "/assets/site/site.css"):
        answer = client.get(asset)
        assert answer.status_code == 200, asset
        assert answer.headers["Cache-Control"] == "public, max-age=3600", asset
    page = client.get("/apply")
    assert page.status_code == 200
    assert "max-age" not in page.headers.get("Cache-Control", "")
