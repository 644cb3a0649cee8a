"""Assigning proposals over HTTP, signed in as real staff accounts: the JSON API (one and in
bulk: field-level 422s, 403 for anyone but the Coordinator, 409 once decided or when a bulk
assignment cannot be done whole) and the pages (the proposal's "Assign to" select of reviewers
by name, the queue's ticked rows and "Assign selected to", "Assigned to <name>", its filter,
the agency's calendar date under "Submitted"; the scoring page's version by name and date)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from services.review import create_app
from services.review.base import OutboxEvent
from services.review.queue import domain as queue
from services.review.queue.models import QueuedProposal
from services.review.worker import database, outbox
from tests.factories import (
    acting_as,
    proposal,
    queued_proposal,
    signed_in,
    staff_member,
    submitted_event,
)

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clean_databases")]


@pytest.fixture
def app(redis_client):
    return create_app({"TESTING": True, "WTF_CSRF_ENABLED": False})


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


def test_the_coordinator_assigns_one_through_the_api(app, cora, riley):
    proposal_id = queued_proposal(proposal("Roofers")).proposal_id
    client = signed_in(app, cora)
    answer = client.post(
        f"/api/v1/proposals/{proposal_id}/assignment", json={"reviewer_id": str(riley.id)}
    )
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["assigned_to"] == str(riley.id)
    assert told() == ["Riley Reviewer"]
    back = client.post(f"/api/v1/proposals/{proposal_id}/assignment", json={"reviewer_id": None})
    assert back.status_code == 200
    assert holder(proposal_id) is None


def test_assigning_a_decided_proposal_is_a_409(app, cora, riley):
    proposal_id = queued_proposal(proposal("Roofers")).proposal_id
    set_status(proposal_id, "declined")
    answer = signed_in(app, cora).post(
        f"/api/v1/proposals/{proposal_id}/assignment", json={"reviewer_id": str(riley.id)}
    )
    assert answer.status_code == 409
    assert answer.get_json() == {
        "errors": {"_request": ["This proposal has been decided: it can no longer be assigned."]}
    }


def test_the_api_names_the_field_of_bad_input(app, cora):
    proposal_id = queued_proposal(proposal("Roofers")).proposal_id
    client = signed_in(app, cora)
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


def test_only_the_coordinator_assigns_to_others_or_in_bulk(app, riley):
    rob = staff_member("rob@agency.example", "reviewer", name="Rob Reviewer")
    proposal_id = queued_proposal(proposal("Roofers")).proposal_id
    client = signed_in(app, riley)
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


def test_a_bulk_assignment_through_the_api_is_all_or_nothing(app, cora, riley):
    first = queued_proposal(proposal("First Roofers")).proposal_id
    decided = queued_proposal(proposal("Decided Roofers"))
    set_status(decided.proposal_id, "approved")
    client = signed_in(app, cora)

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


# -- the pages ------------------------------------------------------------------------------------


def test_the_proposal_page_assigns_a_reviewer_chosen_by_name(app, cora, riley):
    rob = staff_member("rob@agency.example", "reviewer", name="Rob Reviewer")
    staff_member("lee@agency.example", "liaison", name="Lee Liaison")
    proposal_id = queued_proposal(proposal("Roofers")).proposal_id
    with database.transaction() as session:
        queue.declare_conflict(
            session, acting=acting_as(rob), organization_name="Roofers", outbox=outbox
        )
    client = signed_in(app, cora)

    page = client.get(f"/staff/proposals/{proposal_id}").get_data(as_text=True)
    select_html = re.search(r'<select[^>]*id="reviewer-id".*?</select>', page, re.S)[0]
    assert re.findall(r">([^<]+)</option>", select_html) == [
        "- Choose a reviewer -",
        "Riley Reviewer",
        "Nobody (back to the queue)",
    ]
    assert "Not assigned to anyone." in page

    missing = client.post(f"/staff/proposals/{proposal_id}/assignment", data={"reviewer_id": ""})
    assert missing.status_code == 422
    assert "Assign to: Choose an active reviewer." in missing.get_data(as_text=True)

    done = client.post(
        f"/staff/proposals/{proposal_id}/assignment", data={"reviewer_id": str(riley.id)}
    )
    assert done.status_code == 303
    page = client.get(f"/staff/proposals/{proposal_id}").get_data(as_text=True)
    assert "The proposal is assigned to Riley Reviewer; they are told by e-mail." in page
    assert "Assigned to Riley Reviewer." in page
    assert '<td data-label="Who">Cora Coordinator</td>' in page
    assert "Assigned to: nobody → Riley Reviewer" in page
    assert "cora@agency.example" not in page
    assert told() == ["Riley Reviewer"]


def test_a_reviewer_sees_no_assignment_form_and_claims_as_before(app, riley):
    proposal_id = queued_proposal(proposal("Roofers")).proposal_id
    client = signed_in(app, riley)
    page = client.get(f"/staff/proposals/{proposal_id}").get_data(as_text=True)
    assert 'id="reviewer-id"' not in page
    assert "Claim this proposal" in page
    refused = client.post(
        f"/staff/proposals/{proposal_id}/assignment", data={"reviewer_id": str(riley.id)}
    )
    assert refused.status_code == 403
    claimed = client.post(f"/staff/proposals/{proposal_id}/claim", data={"reviewer_id": riley.id})
    assert claimed.status_code == 303
    assert holder(proposal_id) == riley.id
    queue_page = client.get("/staff/queue").get_data(as_text=True)
    assert "Assigned to Riley Reviewer" in queue_page
    assert 'name="proposal_ids"' not in queue_page  # no bulk form for a reviewer


def test_the_queue_assigns_the_ticked_proposals_all_or_nothing(app, cora, riley):
    first = queued_proposal(proposal("First Roofers")).proposal_id
    decided = queued_proposal(proposal("Decided Roofers"))
    set_status(decided.proposal_id, "declined")
    client = signed_in(app, cora)

    refused = client.post(
        "/staff/queue/assignments?status=waiting&status=declined",
        data={"proposal_ids": [str(first), str(decided.proposal_id)], "reviewer_id": str(riley.id)},
    )
    assert refused.status_code == 409
    html = refused.get_data(as_text=True)
    assert "Nothing was assigned: the chosen proposal cannot be, as listed." in html
    assert (
        f'href="#select-{decided.proposal_id}">{decided.reference} (Decided Roofers): This '
        "proposal has been decided" in html
    )
    assert (
        f'id="select-{first}" type="checkbox" name="proposal_ids" value="{first}" checked' in html
    )
    assert holder(first) is None

    done = client.post(
        "/staff/queue/assignments?q=roofers",
        data={"proposal_ids": [str(first)], "reviewer_id": str(riley.id)},
    )
    assert done.status_code == 303
    assert done.headers["Location"] == "/staff/queue?q=roofers"  # as it was filtered
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "1 proposal assigned." in page
    assert "Assigned to Riley Reviewer" in page

    nothing = client.post("/staff/queue/assignments", data={"reviewer_id": str(riley.id)})
    assert nothing.status_code == 422
    assert "Choose at least one proposal." in nothing.get_data(as_text=True)


def test_the_queue_filters_by_assignee_and_shows_the_agencys_date(app, cora, riley):
    # 9 pm Eastern on Dec 5 is already Dec 6 in UTC: the queue shows Dec 5.
    late = submitted_event(
        proposal("Late Roofers"), submitted_at=datetime(2026, 12, 6, 2, 0, tzinfo=UTC)
    )
    late_id = queued_proposal(late).proposal_id
    queued_proposal(proposal("Other Roofers"))
    client = signed_in(app, cora)
    client.post(f"/staff/proposals/{late_id}/assignment", data={"reviewer_id": str(riley.id)})

    everyone = client.get("/staff/queue").get_data(as_text=True)
    assert '<td data-label="Submitted">Dec 5, 2026</td>' in everyone
    assert re.search(
        r'<option value="me">Me</option>\s*<option value="nobody">Nobody</option>', everyone
    )
    assert f'<option value="{riley.id}">Riley Reviewer</option>' in everyone

    for assigned, shown, hidden in [
        (str(riley.id), "Late Roofers", "Other Roofers"),
        ("nobody", "Other Roofers", "Late Roofers"),
    ]:
        html = client.get(f"/staff/queue?assigned={assigned}").get_data(as_text=True)
        assert f">{shown}</a>" in html
        assert f">{hidden}</a>" not in html
    mine = signed_in(app, riley).get("/staff/queue?assigned=me").get_data(as_text=True)
    assert ">Late Roofers</a>" in mine
    assert ">Other Roofers</a>" not in mine

    bad = client.get("/staff/queue?assigned=whoever")
    assert bad.status_code == 422
    assert "Assigned to: Choose someone from the list." in bad.get_data(as_text=True)


def test_the_scoring_page_names_who_set_the_version_and_the_agencys_day(app, cora):
    client = signed_in(app, cora)
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
