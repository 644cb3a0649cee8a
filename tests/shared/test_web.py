"""The pattern every service's web layer stands on (shared/web.py, shared/domain.py,
shared/schemas.py): one session and transaction per request, committed only for a success,
typed domain errors answered in one place, input schemas refusing untypable text per field.

A tiny app over review's real database and one of its tables keeps the test about the
pattern, not about any one service's rules.
"""

from __future__ import annotations

import uuid

import pytest
from flask import request
from marshmallow import fields
from sqlalchemy import select

from services.review.models import StaffConflict
from services.review.worker import database
from shared.db import after_commit
from shared.domain import Conflict, Forbidden, Invalid, NotFound
from shared.schemas import InputSchema, checks_form_text, load_input
from shared.web import ServiceApp, init_app, request_session

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
