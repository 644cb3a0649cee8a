import pytest
from sqlalchemy import func, select

from services.intake import create_app
from services.intake.models import OutboxEvent, Proposal, ProposalVersion
from services.intake.worker import database
from shared.proposal import OUTREACH_REQUIRED_MESSAGE
from shared.testing import example_proposal
from tests.helpers import queued_tasks

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clean_databases")]


@pytest.fixture
def client():
    return create_app({"TESTING": True}).test_client()


def stored_counts() -> tuple[int | None, ...]:
    with database.transaction() as session:
        return tuple(
            session.scalar(select(func.count()).select_from(model))
            for model in (Proposal, ProposalVersion, OutboxEvent)
        )


def test_spec_example_is_accepted_stored_and_announced(client, redis_client):
    response = client.post("/api/v1/proposals", json=example_proposal())

    assert response.status_code == 201
    body = response.json
    assert body["status"] == "submitted"
    assert body["reference"].startswith("AP-2026-") or body["reference"].startswith("AP-")
    with database.transaction() as session:
        proposal = session.get(Proposal, body["id"])
        assert proposal is not None
        assert proposal.reference == body["reference"]
        assert proposal.contact_email == "dana@example.org"
        assert [v.version for v in proposal.versions] == [1]
    [(task, kwargs)] = queued_tasks(redis_client, "review")
    assert task == "review.proposal_submitted"
    event = kwargs["event"]
    assert event["type"] == "proposal.submitted"
    assert event["producer"] == "intake"
    assert event["payload"]["proposal_id"] == body["id"]
    assert event["payload"]["reference"] == body["reference"]
    assert event["payload"]["proposal"]["organization"]["name"] == (
        "Michigan Roofing Contractors Association"
    )


def test_references_are_distinct(client, redis_client):
    first = client.post("/api/v1/proposals", json=example_proposal()).json["reference"]
    second = client.post("/api/v1/proposals", json=example_proposal()).json["reference"]
    assert first != second


def test_no_outreach_goal_is_a_422_with_the_goals_path(client, redis_client):
    data = example_proposal()
    data["goals"] = [g for g in data["goals"] if g["category"] != "outreach_communication"]

    response = client.post("/api/v1/proposals", json=data)

    assert response.status_code == 422
    assert response.json == {"errors": {"goals": [OUTREACH_REQUIRED_MESSAGE]}}
    assert stored_counts() == (0, 0, 0)
    assert redis_client.llen("review") == 0


def test_agency_lists_are_checked_with_field_paths(client, redis_client):
    data = example_proposal(hazards=["falls", "asteroids"], requested_division="moon_office")
    data["goals"][0]["activities"] = ["mailing_lists", "skywriting"]
    data["priority"]["priority_areas"] = ["gravity"]

    response = client.post("/api/v1/proposals", json=data)

    assert response.status_code == 422
    assert sorted(response.json["errors"]) == [
        "goals.0.activities",
        "hazards",
        "priority.priority_areas",
        "requested_division",
    ]
    assert "asteroids" in response.json["errors"]["hazards"][0]
    assert stored_counts() == (0, 0, 0)


def test_federal_profile_uses_office_levels(client, monkeypatch):
    monkeypatch.setenv("AGENCY_PROFILE", "federal")
    response = client.post("/api/v1/proposals", json=example_proposal())
    assert response.status_code == 422
    assert list(response.json["errors"]) == ["requested_division"]
    assert "national_office" in response.json["errors"]["requested_division"][0]

    ok = client.post(
        "/api/v1/proposals", json=example_proposal(requested_division="regional_office")
    )
    assert ok.status_code == 201


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"not json at all", "application/json"),
        (b'{"organization": ', "application/json"),
        (b"organization=x", "application/x-www-form-urlencoded"),
        (b"[1, 2, 3]", "application/json"),
    ],
)
def test_bad_bodies_are_4xx_with_a_message_and_store_nothing(client, body, content_type):
    response = client.post("/api/v1/proposals", data=body, content_type=content_type)
    assert response.status_code == 422
    assert response.json["errors"]
    assert stored_counts() == (0, 0, 0)


def test_oversized_request_is_refused(client):
    huge = example_proposal(hazards_other="x" * (300 * 1024))
    response = client.post("/api/v1/proposals", json=huge)
    assert response.status_code == 413
    assert response.json["errors"]["_request"]
    assert stored_counts() == (0, 0, 0)


def test_unknown_route_answers_json_404(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json["errors"]["_request"]
