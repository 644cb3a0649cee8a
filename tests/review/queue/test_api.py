"""The review staff API over HTTP, signed in as real staff accounts."""

import pytest

from services.review import create_app
from services.review.worker import database
from tests.factories import proposal, queued_proposal, signed_in, staff_member
from tests.helpers import stored_rows

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clean_databases")]


@pytest.fixture
def app(redis_client):
    return create_app({"TESTING": True, "WTF_CSRF_ENABLED": False})


def test_the_queue_needs_a_staff_sign_in(app):
    response = app.test_client().get("/api/v1/queue")
    assert response.status_code == 401
    assert response.get_json() == {"errors": {"_request": ["Sign in as staff first."]}}


def test_coordinator_edits_priority_areas_and_the_queue_reorders_with_explanations(app):
    coordinator = signed_in(app, staff_member("cora@agency.example", "coordinator"))
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


def test_only_the_coordinator_edits_the_configuration(app):
    reviewer = signed_in(app, staff_member("rev@agency.example", "reviewer"))
    queued_proposal(proposal("Heat Partner", priority_areas=["heat"]))
    areas = [{"slug": "heat", "label": "Heat", "weight": 80}]
    before = stored_rows(database)
    response = reviewer.post(
        "/api/v1/scoring-config", json={"priority_areas": areas, "note": "Heat emphasis"}
    )
    assert response.status_code == 403
    assert stored_rows(database) == before  # no new version, no rescore, no event


def test_bad_configuration_is_a_422_with_paths(app):
    coordinator = signed_in(app, staff_member("cora@agency.example", "coordinator"))
    response = coordinator.post(
        "/api/v1/scoring-config",
        json={"priority_areas": [{"slug": "Falls!", "label": ""}], "weights": {"luck": 5}},
    )
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) >= {"priority_areas.0.slug", "priority_areas.0.label"}


def test_reviewer_claims_comments_adjusts_and_decides(app, redis_client):
    person = staff_member("rev@agency.example", "reviewer")
    reviewer = signed_in(app, person)
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


def test_a_liaison_who_is_not_a_liaison_cannot_be_chosen(app):
    reviewer = signed_in(app, staff_member("rev@agency.example", "reviewer"))
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


def test_conflicted_reviewer_cannot_see_open_or_be_assigned(app):
    person = staff_member("rev@agency.example", "reviewer")
    reviewer = signed_in(app, person)
    coordinator = signed_in(app, staff_member("cora@agency.example", "coordinator"))
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


def test_a_reviewer_cannot_assign_others(app):
    reviewer = signed_in(app, staff_member("rev@agency.example", "reviewer"))
    other = staff_member("rev2@agency.example", "reviewer").id
    proposal_id = str(queued_proposal(proposal("Roofers")).proposal_id)
    before = stored_rows(database)
    response = reviewer.post(
        f"/api/v1/proposals/{proposal_id}/assignment", json={"reviewer_id": str(other)}
    )
    assert response.status_code == 403
    assert stored_rows(database) == before  # not assigned, nothing audited or sent


def test_a_reviewer_cannot_drop_another_reviewers_claim_with_a_null_reviewer(app):
    first = staff_member("rev@agency.example", "reviewer")
    holder = signed_in(app, first)
    other = signed_in(app, staff_member("rev2@agency.example", "reviewer"))
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


def test_a_reviewer_cannot_take_over_another_reviewers_claim_with_their_own_id(app):
    first = staff_member("rev@agency.example", "reviewer")
    second = staff_member("rev2@agency.example", "reviewer")
    holder, other = signed_in(app, first), signed_in(app, second)
    proposal_id = str(queued_proposal(proposal("Roofers")).proposal_id)
    holder.post(f"/api/v1/proposals/{proposal_id}/assignment", json={"reviewer_id": str(first.id)})

    taken = other.post(
        f"/api/v1/proposals/{proposal_id}/assignment", json={"reviewer_id": str(second.id)}
    )

    assert taken.status_code == 403
    entry = holder.get(f"/api/v1/proposals/{proposal_id}").get_json()
    assert entry["assigned_to"] == str(first.id)
    assert [h["action"] for h in entry["history"]] == ["submitted", "assigned"]


def test_a_conflicted_reviewer_cannot_un_assign_the_proposal(app):
    conflicted = signed_in(app, staff_member("rev@agency.example", "reviewer"))
    coordinator = signed_in(app, staff_member("cora@agency.example", "coordinator"))
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


def test_a_conflicted_reviewer_neither_sees_nor_releases_the_prepared_decision(app):
    preparer = signed_in(app, staff_member("rev@agency.example", "reviewer"))
    conflicted = signed_in(app, staff_member("rev2@agency.example", "reviewer"))
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


def test_openapi_lists_the_staff_endpoints_and_describes_their_answers(app):
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
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
