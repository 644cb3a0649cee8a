"""The review staff API over HTTP, signed in as real staff accounts.

Assigning proposals over HTTP, signed in as real staff accounts: the JSON API (one and in
bulk: field-level 422s, 403 for anyone but the Coordinator, 409 once decided or when a bulk
assignment cannot be done whole) and the pages (the proposal's "Assign to" select of reviewers
by name, the queue's ticked rows and "Assign selected to", "Assigned to <name>", its filter,
the agency's calendar date under "Submitted"; the scoring page's version by name and date)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from services.review.base import OutboxEvent
from services.review.queue import domain as queue
from services.review.queue.models import QueuedProposal
from services.review.worker import database
from tests.helpers import stored_rows
from tests.intake.factories import proposal
from tests.review.factories import queued_proposal, staff_member
from tests.shared.factories import signed_in

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clean_databases")]


def test_the_queue_needs_a_staff_sign_in(review_app):
    response = review_app.test_client().get("/api/v1/queue")
    assert response.status_code == 401
    assert response.get_json() == {"errors": {"_request": ["Sign in as staff first."]}}


def test_coordinator_edits_priority_areas_and_the_queue_reorders_with_explanations(review_app):
    coordinator = signed_in(review_app, staff_member("cora@agency.example", "coordinator"))
    queued_proposal(proposal("Falls Partner", priority_areas=["falls"]))
    queued_proposal(proposal("Heat Partner", priority_areas=["heat"]))
    before = coordinator.get("/api/v1/queue").get_json()["proposals"]
    assert [p["organization"]["name"] for p in before] == ["Falls Partner", "Heat Partner"]

    config = coordinator.get("/api/v1/scoring-config").get_json()
    areas = [dict(a, weight=80) if a["slug"] == "heat" else a for a in config["priority_areas"]]
    saved = coordinator.post(
        "/api/v1/scoring-config", json={"priority_areas": areas, "note": "Heat emphasis program"}
    )
    assert saved.status_code == 201

    after = coordinator.get("/api/v1/queue").get_json()["proposals"]
    assert [p["organization"]["name"] for p in after] == ["Heat Partner", "Falls Partner"]
    assert after[0]["score_version"] == saved.get_json()["version"]
    assert after[0]["score_explanation"][0] == {
        "points": 80,
        "reason": 'matches priority area "Heat"',
    }


def test_only_the_coordinator_edits_the_configuration(review_app):
    reviewer = signed_in(review_app, staff_member("rev@agency.example", "reviewer"))
    queued_proposal(proposal("Heat Partner", priority_areas=["heat"]))
    areas = [{"slug": "heat", "label": "Heat", "weight": 80}]
    before = stored_rows(database)
    response = reviewer.post(
        "/api/v1/scoring-config", json={"priority_areas": areas, "note": "Heat emphasis"}
    )
    assert response.status_code == 403
    assert stored_rows(database) == before  # no new version, no rescore, no event


def test_bad_configuration_is_a_422_with_paths(review_app):
    coordinator = signed_in(review_app, staff_member("cora@agency.example", "coordinator"))
    response = coordinator.post(
        "/api/v1/scoring-config",
        json={"priority_areas": [{"slug": "Falls!", "label": ""}], "weights": {"luck": 5}},
    )
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) >= {"priority_areas.0.slug", "priority_areas.0.label"}


def test_reviewer_claims_comments_adjusts_and_decides(review_app, redis_client):
    person = staff_member("rev@agency.example", "reviewer")
    reviewer = signed_in(review_app, person)
    liaison_id = staff_member("lee@agency.example", "liaison").id
    proposal_id = str(queued_proposal(proposal("Roofers")).proposal_id)

    claimed = reviewer.post(
        f"/api/v1/proposals/{proposal_id}/assignment", json={"reviewer_id": str(person.id)}
    )
    assert claimed.get_json()["status"] == "in_review"
    assert (
        reviewer.post(
            f"/api/v1/proposals/{proposal_id}/comments", json={"body": "Good reach."}
        ).status_code
        == 201
    )
    refused = reviewer.post(
        f"/api/v1/proposals/{proposal_id}/adjustment", json={"points": 10, "reason": ""}
    )
    assert refused.status_code == 422
    moved = reviewer.post(
        f"/api/v1/proposals/{proposal_id}/adjustment",
        json={"points": 10, "reason": "Conference season"},
    )
    assert moved.get_json()["priority"] == moved.get_json()["score"] + 10

    decision = reviewer.post(
        f"/api/v1/proposals/{proposal_id}/decision",
        json={
            "kind": "approved",
            "details": {
                "division": "construction_safety_health",
                "liaison_id": str(liaison_id),
            },
        },
    )
    assert decision.status_code == 201, decision.get_json()
    released = reviewer.post(
        "/api/v1/decisions/release", json={"decision_ids": [decision.get_json()["id"]]}
    )
    assert released.status_code == 200

    detail = reviewer.get(f"/api/v1/proposals/{proposal_id}").get_json()
    assert detail["status"] == "approved"
    assert [c["body"] for c in detail["comments"]] == ["Good reach."]
    assert [h["action"] for h in detail["history"]] == [
        "submitted",
        "assigned",
        "commented",
        "priority adjusted",
        "decision prepared: approved",
        "decision released: approved",
    ]
    # reporting.proposal_approved (the dashboard's figures); alliance.signed waits for the
    # signing to be recorded on the alliance
    assert redis_client.llen("reporting") == 1


def test_a_liaison_who_is_not_a_liaison_cannot_be_chosen(review_app):
    reviewer = signed_in(review_app, staff_member("rev@agency.example", "reviewer"))
    not_liaison = staff_member("other@agency.example", "reviewer").id
    proposal_id = str(queued_proposal(proposal("Roofers")).proposal_id)
    response = reviewer.post(
        f"/api/v1/proposals/{proposal_id}/decision",
        json={
            "kind": "approved",
            "details": {
                "division": "construction_safety_health",
                "liaison_id": str(not_liaison),
            },
        },
    )
    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == ["liaison_id"]


def test_conflicted_reviewer_cannot_see_open_or_be_assigned(review_app):
    person = staff_member("rev@agency.example", "reviewer")
    reviewer = signed_in(review_app, person)
    coordinator = signed_in(review_app, staff_member("cora@agency.example", "coordinator"))
    proposal_id = str(queued_proposal(proposal("Roofers Guild")).proposal_id)
    assert (
        reviewer.post("/api/v1/conflicts", json={"organization_name": "roofers guild"}).status_code
        == 201
    )

    assert reviewer.get("/api/v1/queue").get_json()["count"] == 0
    assert reviewer.get(f"/api/v1/proposals/{proposal_id}").status_code == 403
    assigned = coordinator.post(
        f"/api/v1/proposals/{proposal_id}/assignment", json={"reviewer_id": str(person.id)}
    )
    assert assigned.status_code == 403
    assert coordinator.get("/api/v1/queue").get_json()["count"] == 1


def test_a_reviewer_cannot_assign_others(review_app):
    reviewer = signed_in(review_app, staff_member("rev@agency.example", "reviewer"))
    other = staff_member("rev2@agency.example", "reviewer").id
    proposal_id = str(queued_proposal(proposal("Roofers")).proposal_id)
    before = stored_rows(database)
    response = reviewer.post(
        f"/api/v1/proposals/{proposal_id}/assignment", json={"reviewer_id": str(other)}
    )
    assert response.status_code == 403
    assert stored_rows(database) == before  # not assigned, nothing audited or sent


def test_a_reviewer_cannot_drop_another_reviewers_claim_with_a_null_reviewer(review_app):
    first = staff_member("rev@agency.example", "reviewer")
    holder = signed_in(review_app, first)
    other = signed_in(review_app, staff_member("rev2@agency.example", "reviewer"))
    proposal_id = str(queued_proposal(proposal("Roofers")).proposal_id)
    claimed = holder.post(
        f"/api/v1/proposals/{proposal_id}/assignment", json={"reviewer_id": str(first.id)}
    )
    assert claimed.status_code == 200

    dropped = other.post(f"/api/v1/proposals/{proposal_id}/assignment", json={"reviewer_id": None})

    assert dropped.status_code == 403
    assert dropped.get_json()["errors"]["_request"] == [
        "Another reviewer has claimed this proposal; only the Coordinator can reassign it "
        "or take it back."
    ]
    entry = holder.get(f"/api/v1/proposals/{proposal_id}").get_json()
    assert entry["assigned_to"] == str(first.id)
    assert [h["action"] for h in entry["history"]] == ["submitted", "assigned"]


def test_a_reviewer_cannot_take_over_another_reviewers_claim_with_their_own_id(review_app):
    first = staff_member("rev@agency.example", "reviewer")
    second = staff_member("rev2@agency.example", "reviewer")
    holder, other = signed_in(review_app, first), signed_in(review_app, second)
    proposal_id = str(queued_proposal(proposal("Roofers")).proposal_id)
    holder.post(f"/api/v1/proposals/{proposal_id}/assignment", json={"reviewer_id": str(first.id)})

    taken = other.post(
        f"/api/v1/proposals/{proposal_id}/assignment", json={"reviewer_id": str(second.id)}
    )

    assert taken.status_code == 403
    entry = holder.get(f"/api/v1/proposals/{proposal_id}").get_json()
    assert entry["assigned_to"] == str(first.id)
    assert [h["action"] for h in entry["history"]] == ["submitted", "assigned"]


def test_a_conflicted_reviewer_cannot_un_assign_the_proposal(review_app):
    conflicted = signed_in(review_app, staff_member("rev@agency.example", "reviewer"))
    coordinator = signed_in(review_app, staff_member("cora@agency.example", "coordinator"))
    proposal_id = str(queued_proposal(proposal("Roofers Guild")).proposal_id)
    conflicted.post("/api/v1/conflicts", json={"organization_name": "Roofers Guild"})

    refused = conflicted.post(
        f"/api/v1/proposals/{proposal_id}/assignment", json={"reviewer_id": None}
    )

    assert refused.status_code == 403
    assert refused.get_json() == {
        "errors": {"_request": ["You declared a conflict of interest with this organization."]}
    }
    entry = coordinator.get(f"/api/v1/proposals/{proposal_id}").get_json()
    assert [h["action"] for h in entry["history"]] == ["submitted"]


def test_a_conflicted_reviewer_neither_sees_nor_releases_the_prepared_decision(review_app):
    preparer = signed_in(review_app, staff_member("rev@agency.example", "reviewer"))
    conflicted = signed_in(review_app, staff_member("rev2@agency.example", "reviewer"))
    proposal_id = str(queued_proposal(proposal("Roofers Guild")).proposal_id)
    decision = preparer.post(
        f"/api/v1/proposals/{proposal_id}/decision",
        json={"kind": "declined", "details": {"reason": "Outside our priorities this year."}},
    )
    assert decision.status_code == 201, decision.get_json()
    decision_id = decision.get_json()["id"]
    declared = conflicted.post("/api/v1/conflicts", json={"organization_name": "ROOFERS guild"})
    assert declared.status_code == 201

    listed = conflicted.get("/api/v1/decisions").get_json()["decisions"]
    released = conflicted.post("/api/v1/decisions/release", json={"decision_ids": [decision_id]})

    assert listed == []
    assert released.status_code == 403
    assert released.get_json()["errors"]["_request"] == [
        "You declared a conflict of interest with Roofers Guild: another reviewer must "
        "release this decision."
    ]
    # Nothing was released: the others still see it waiting.
    waiting = preparer.get("/api/v1/decisions").get_json()["decisions"]
    assert [d["id"] for d in waiting] == [decision_id]


def test_openapi_lists_the_staff_endpoints_and_describes_their_answers(review_app):
    spec = review_app.test_client().get("/api/v1/openapi.json").get_json()
    paths = spec["paths"]
    assert {
        "/api/v1/queue",
        "/api/v1/scoring-config",
        "/api/v1/decisions/release",
        "/api/v1/proposals/{proposal_id}/decision",
    } <= set(paths)

    def answer(path, method, status):
        schema = paths[path][method]["responses"][status]["content"]["application/json"]
        return schema["schema"]["$ref"].rsplit("/", 1)[-1]

    assert answer("/api/v1/queue", "get", "200") == "QueueOut"
    assert answer("/api/v1/proposals/{proposal_id}", "get", "200") == "ProposalFileOut"
    assert answer("/api/v1/proposals/{proposal_id}/assignment", "post", "200") == "QueueEntryOut"
    assert answer("/api/v1/proposals/{proposal_id}/decision", "post", "201") == (
        "DecisionPreparedOut"
    )
    assert answer("/api/v1/decisions", "get", "200") == "PendingDecisionsOut"
    entry = spec["components"]["schemas"]["QueueEntryOut"]["properties"]
    assert entry["assigned_to"]["nullable"] is True
    assert entry["organization"]["$ref"].endswith("/OrganizationOut")


@pytest.fixture
def cora():
    return staff_member("cora@agency.example", "coordinator", name="Cora Coordinator")


@pytest.fixture
def riley():
    return staff_member("riley@agency.example", "reviewer", name="Riley Reviewer")


def holder(proposal_id: uuid.UUID) -> uuid.UUID | None:
    with database.transaction() as session:
        return session.scalars(
            select(QueuedProposal.assigned_to).where(QueuedProposal.proposal_id == proposal_id)
        ).one()


def set_status(proposal_id: uuid.UUID, status: str) -> None:
    with database.transaction() as session:
        session.scalars(
            select(QueuedProposal).where(QueuedProposal.proposal_id == proposal_id)
        ).one().status = status


def told() -> list[str]:
    """The assignees review announced (``proposal.assigned``), oldest first."""
    with database.transaction() as session:
        return [
            message["payload"]["assignee"]["name"]
            for message in session.scalars(
                select(OutboxEvent.message)
                .where(OutboxEvent.type == "proposal.assigned")
                .order_by(OutboxEvent.id)
            )
        ]


# -- the API --------------------------------------------------------------------------------------


def test_the_coordinator_assigns_one_through_the_api(review_app, cora, riley):
    proposal_id = queued_proposal(proposal("Roofers")).proposal_id
    client = signed_in(review_app, cora)
    answer = client.post(
        f"/api/v1/proposals/{proposal_id}/assignment", json={"reviewer_id": str(riley.id)}
    )
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["assigned_to"] == str(riley.id)
    assert told() == ["Riley Reviewer"]
    back = client.post(f"/api/v1/proposals/{proposal_id}/assignment", json={"reviewer_id": None})
    assert back.status_code == 200
    assert holder(proposal_id) is None


def test_assigning_a_decided_proposal_is_a_409(review_app, cora, riley):
    proposal_id = queued_proposal(proposal("Roofers")).proposal_id
    set_status(proposal_id, "declined")
    answer = signed_in(review_app, cora).post(
        f"/api/v1/proposals/{proposal_id}/assignment", json={"reviewer_id": str(riley.id)}
    )
    assert answer.status_code == 409
    assert answer.get_json() == {
        "errors": {"_request": ["This proposal has been decided: it can no longer be assigned."]}
    }


def test_the_api_names_the_field_of_bad_input(review_app, cora):
    proposal_id = queued_proposal(proposal("Roofers")).proposal_id
    client = signed_in(review_app, cora)
    cases: list[tuple[dict[str, object], str]] = [
        ({}, "reviewer_id"),
        ({"reviewer_id": "someone"}, "reviewer_id"),
        ({"reviewer_id": str(uuid.uuid4())}, "reviewer_id"),
    ]
    for body, field in cases:
        answer = client.post(f"/api/v1/proposals/{proposal_id}/assignment", json=body)
        assert answer.status_code == 422, body
        assert list(answer.get_json()["errors"]) == [field]
    bulk_cases: list[tuple[dict[str, object], str]] = [
        ({"reviewer_id": None}, "proposal_ids"),
        ({"proposal_ids": [], "reviewer_id": None}, "proposal_ids"),
        ({"proposal_ids": ["nope"], "reviewer_id": None}, "proposal_ids.0"),
        ({"proposal_ids": [str(proposal_id)]}, "reviewer_id"),
        ({"proposal_ids": [str(proposal_id)], "reviewer_id": 7}, "reviewer_id"),
    ]
    for body, field in bulk_cases:
        answer = client.post("/api/v1/proposals/assignments", json=body)
        assert answer.status_code == 422, body
        assert list(answer.get_json()["errors"]) == [field], body
    assert holder(proposal_id) is None


def test_only_the_coordinator_assigns_to_others_or_in_bulk(review_app, riley):
    rob = staff_member("rob@agency.example", "reviewer", name="Rob Reviewer")
    proposal_id = queued_proposal(proposal("Roofers")).proposal_id
    client = signed_in(review_app, riley)
    other = client.post(
        f"/api/v1/proposals/{proposal_id}/assignment", json={"reviewer_id": str(rob.id)}
    )
    assert other.status_code == 403
    bulk = client.post(
        "/api/v1/proposals/assignments",
        json={"proposal_ids": [str(proposal_id)], "reviewer_id": str(riley.id)},
    )
    assert bulk.status_code == 403
    # a reviewer still claims for themselves
    claimed = client.post(
        f"/api/v1/proposals/{proposal_id}/assignment", json={"reviewer_id": str(riley.id)}
    )
    assert claimed.status_code == 200
    assert holder(proposal_id) == riley.id
    assert told() == []


def test_a_bulk_assignment_through_the_api_is_all_or_nothing(review_app, cora, riley):
    first = queued_proposal(proposal("First Roofers")).proposal_id
    decided = queued_proposal(proposal("Decided Roofers"))
    set_status(decided.proposal_id, "approved")
    client = signed_in(review_app, cora)

    refused = client.post(
        "/api/v1/proposals/assignments",
        json={"proposal_ids": [str(first), str(decided.proposal_id)], "reviewer_id": str(riley.id)},
    )
    assert refused.status_code == 409
    assert refused.get_json()["errors"] == {
        "_request": ["Nothing was assigned: the chosen proposal cannot be, as listed."],
        "proposal_ids.1": [
            f"{decided.reference} (Decided Roofers): This proposal has been decided: it can no "
            "longer be assigned."
        ],
    }
    assert holder(first) is None

    second = queued_proposal(proposal("Second Roofers")).proposal_id
    given = client.post(
        "/api/v1/proposals/assignments",
        json={"proposal_ids": [str(first), str(second)], "reviewer_id": str(riley.id)},
    )
    assert given.status_code == 200, given.get_json()
    assert given.get_json()["count"] == 2
    assert {holder(first), holder(second)} == {riley.id}
    assert told() == ["Riley Reviewer", "Riley Reviewer"]


def test_the_scoring_page_names_who_set_the_version_and_the_agencys_day(review_app, cora):
    client = signed_in(review_app, cora)
    config = client.get("/api/v1/scoring-config").get_json()
    client.post(
        "/api/v1/scoring-config",
        json={"priority_areas": config["priority_areas"], "note": "Same again"},
    )
    with database.transaction() as session:
        current = queue.current_config(session)
        current.created_at = datetime(2026, 12, 6, 2, 0, tzinfo=UTC)
    page = client.get("/staff/scoring").get_data(as_text=True)
    assert "set by Cora Coordinator on Dec 5, 2026" in page
    assert "cora@agency.example" not in page
