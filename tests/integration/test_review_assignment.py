"""The Coordinator gives proposals to reviewers, one at a time or several at once, on a real
database (each test rolled back): the rules of queue/domain.py ``assign`` and ``assign_many``,
the queue's "Assigned to" filter, the ``proposal.assigned`` event that tells the reviewer, and
the proposal's history in words (names, the form's labels)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from services.review import audit
from services.review.base import OutboxEvent
from services.review.queue import domain as queue
from services.review.worker import outbox
from shared.domain import Acting, Conflict, Forbidden, Invalid
from shared.events import parse_event
from tests.factories import acting_as, proposal, queued_proposal, staff_member, submitted_event

pytestmark = pytest.mark.integration


@pytest.fixture
def session(rolled_back):
    return rolled_back("review")


@pytest.fixture
def cora(session) -> Acting:
    return acting_as(
        staff_member("cora@agency.example", "coordinator", name="Cora Coordinator", session=session)
    )


@pytest.fixture
def riley(session) -> Acting:
    return acting_as(
        staff_member("riley@agency.example", "reviewer", name="Riley Reviewer", session=session)
    )


@pytest.fixture
def rob(session) -> Acting:
    return acting_as(
        staff_member("rob@agency.example", "reviewer", name="Rob Reviewer", session=session)
    )


def arrive(session, name: str = "Roofers", **shape) -> uuid.UUID:
    return queued_proposal(proposal(name, **shape), session=session).proposal_id


def holder(session, cora: Acting, proposal_id: uuid.UUID) -> uuid.UUID | None:
    return queue.get_for(session, proposal_id, acting=cora).assigned_to


def assigned_events(session) -> list[dict]:
    rows = session.scalars(
        select(OutboxEvent.message)
        .where(OutboxEvent.type == "proposal.assigned")
        .order_by(OutboxEvent.id)
    )
    return [parse_event(message).payload for message in rows]


def decide(session, cora: Acting, proposal_id: uuid.UUID, status: str = "approved") -> None:
    queue.get_for(session, proposal_id, acting=cora).status = status
    session.flush()


# -- one proposal -------------------------------------------------------------------------------


def test_the_coordinator_assigns_a_reviewer_who_is_told_and_it_is_audited(session, cora, riley):
    proposal_id = arrive(session, name="Lansing Roofers")

    given = queue.assign(
        session, acting=cora, proposal_id=proposal_id, reviewer_id=riley.staff_id, outbox=outbox
    )

    assert (given.assigned_to, given.status) == (riley.staff_id, "in_review")
    assert given.assigned_at is not None
    [event] = assigned_events(session)
    assert event["proposal_id"] == proposal_id
    assert event["reference"] == given.reference
    assert event["organization_name"] == "Lansing Roofers"
    assert event["assignee"] == {
        "id": riley.staff_id,
        "name": "Riley Reviewer",
        "email": "riley@agency.example",
    }
    assert event["assigned_by"] == "Cora Coordinator"
    [*_, entry] = audit.history(session, entity_type="proposal", entity_id=proposal_id)
    assert (entry.action, entry.actor) == ("assigned", "cora@agency.example")
    assert entry.changes["assigned_to"] == [None, str(riley.staff_id)]


def test_a_claim_for_oneself_still_works_and_tells_nobody(session, riley):
    proposal_id = arrive(session)
    claimed = queue.assign(
        session, acting=riley, proposal_id=proposal_id, reviewer_id=riley.staff_id, outbox=outbox
    )
    assert claimed.assigned_to == riley.staff_id
    assert assigned_events(session) == []


def test_a_reviewer_cannot_assign_a_proposal_to_someone_else(session, cora, riley, rob):
    proposal_id = arrive(session)
    with pytest.raises(Forbidden, match="Only the Coordinator assigns proposals to others"):
        queue.assign(
            session, acting=riley, proposal_id=proposal_id, reviewer_id=rob.staff_id, outbox=outbox
        )
    assert holder(session, cora, proposal_id) is None
    assert assigned_events(session) == []


def test_the_coordinator_reassigns_and_unassigns_a_claimed_proposal(session, cora, riley, rob):
    proposal_id = arrive(session)
    queue.assign(
        session, acting=riley, proposal_id=proposal_id, reviewer_id=riley.staff_id, outbox=outbox
    )
    queue.assign(
        session, acting=cora, proposal_id=proposal_id, reviewer_id=rob.staff_id, outbox=outbox
    )
    assert holder(session, cora, proposal_id) == rob.staff_id
    queue.assign(session, acting=cora, proposal_id=proposal_id, reviewer_id=None, outbox=outbox)
    assert holder(session, cora, proposal_id) is None
    assert [e["assignee"]["name"] for e in assigned_events(session)] == ["Rob Reviewer"]


def test_assigning_to_whoever_holds_it_changes_nothing_and_mails_nobody_again(session, cora, riley):
    proposal_id = arrive(session)
    for _ in range(2):
        queue.assign(
            session, acting=cora, proposal_id=proposal_id, reviewer_id=riley.staff_id, outbox=outbox
        )
    assert len(assigned_events(session)) == 1
    actions = [
        e.action for e in audit.history(session, entity_type="proposal", entity_id=proposal_id)
    ]
    assert actions == ["submitted", "assigned"]


def test_a_reviewer_in_conflict_with_the_organization_is_refused_by_name(session, cora, rob):
    tied = arrive(session, name="Michigan Roofing Assn.")
    queue.declare_conflict(
        session, acting=rob, organization_name="michigan roofing ASSN", outbox=outbox
    )
    with pytest.raises(Forbidden) as refused:
        queue.assign(
            session, acting=cora, proposal_id=tied, reviewer_id=rob.staff_id, outbox=outbox
        )
    assert refused.value.message == (
        "Rob Reviewer declared a conflict of interest with this organization and cannot be "
        "assigned its proposal."
    )
    assert holder(session, cora, tied) is None
    assert assigned_events(session) == []


def test_only_an_active_member_of_staff_with_the_reviewer_role_is_assigned(session, cora):
    proposal_id = arrive(session)
    liaison = staff_member("lee@agency.example", "liaison", session=session)
    other_coordinator = staff_member("ann@agency.example", "coordinator", session=session)
    gone = staff_member("gus@agency.example", "reviewer", active=False, session=session)
    for person in (liaison, other_coordinator, gone):
        with pytest.raises(Invalid) as refused:
            queue.assign(
                session, acting=cora, proposal_id=proposal_id, reviewer_id=person.id, outbox=outbox
            )
        assert refused.value.errors == {"reviewer_id": ["Choose an active reviewer."]}
    assert holder(session, cora, proposal_id) is None


@pytest.mark.parametrize("status", ["approved", "declined"])
def test_a_decided_proposal_is_assigned_to_nobody(session, cora, riley, status):
    proposal_id = arrive(session)
    decide(session, cora, proposal_id, status)
    for reviewer_id, actor in [(riley.staff_id, cora), (None, cora), (riley.staff_id, riley)]:
        with pytest.raises(Conflict, match="has been decided"):
            queue.assign(
                session,
                acting=actor,
                proposal_id=proposal_id,
                reviewer_id=reviewer_id,
                outbox=outbox,
            )
    assert holder(session, cora, proposal_id) is None


# -- several at once ----------------------------------------------------------------------------


def test_the_coordinator_assigns_several_proposals_at_once(session, cora, riley):
    first, second = arrive(session, name="First Roofers"), arrive(session, name="Second Roofers")
    given = queue.assign_many(
        session,
        acting=cora,
        proposal_ids=[first, second],
        reviewer_id=riley.staff_id,
        outbox=outbox,
    )
    assert [q.proposal_id for q in given] == [first, second]
    assert {holder(session, cora, p) for p in (first, second)} == {riley.staff_id}
    assert [e["organization_name"] for e in assigned_events(session)] == [
        "First Roofers",
        "Second Roofers",
    ]
    queue.assign_many(
        session, acting=cora, proposal_ids=[first, second], reviewer_id=None, outbox=outbox
    )
    assert {holder(session, cora, p) for p in (first, second)} == {None}


def test_a_bulk_assignment_is_all_or_nothing_and_says_what_failed(session, cora, riley, rob):
    fine = arrive(session, name="Fine Roofers")
    decided = arrive(session, name="Decided Roofers")
    tied = arrive(session, name="Riley's Cousins")
    decide(session, cora, decided)
    queue.declare_conflict(
        session, acting=riley, organization_name="Riley's Cousins", outbox=outbox
    )
    queue.assign(session, acting=cora, proposal_id=fine, reviewer_id=rob.staff_id, outbox=outbox)
    missing = uuid.uuid4()

    with pytest.raises(queue.NotAssigned) as refused:
        queue.assign_many(
            session,
            acting=cora,
            proposal_ids=[fine, decided, tied, missing],
            reviewer_id=riley.staff_id,
            outbox=outbox,
        )

    reference = {p: queue.get_for(session, p, acting=cora).reference for p in (decided, tied)}
    assert refused.value.status == 409
    assert refused.value.errors == {
        "_request": ["Nothing was assigned: 3 of the chosen proposals cannot be, as listed."],
        "proposal_ids.1": [
            f"{reference[decided]} (Decided Roofers): This proposal has been decided: it can no "
            "longer be assigned."
        ],
        "proposal_ids.2": [
            f"{reference[tied]} (Riley's Cousins): Riley Reviewer declared a conflict of "
            "interest with this organization and cannot be assigned its proposal."
        ],
        "proposal_ids.3": ["No such proposal."],
    }
    # Nothing changed, not even the one that could have been.
    assert holder(session, cora, fine) == rob.staff_id
    assert holder(session, cora, tied) is None
    assert [e["assignee"]["name"] for e in assigned_events(session)] == ["Rob Reviewer"]


def test_only_the_coordinator_assigns_in_bulk(session, cora, riley):
    proposal_id = arrive(session)
    with pytest.raises(Forbidden, match="Only the Coordinator assigns proposals in bulk"):
        queue.assign_many(
            session,
            acting=riley,
            proposal_ids=[proposal_id],
            reviewer_id=riley.staff_id,
            outbox=outbox,
        )
    assert holder(session, cora, proposal_id) is None


def test_a_bulk_assignment_needs_a_proposal_and_a_reviewer(session, cora):
    with pytest.raises(Invalid) as refused:
        queue.assign_many(session, acting=cora, proposal_ids=[], reviewer_id=None, outbox=outbox)
    assert refused.value.errors == {"proposal_ids": ["Choose at least one proposal."]}
    proposal_id = arrive(session)
    with pytest.raises(Invalid) as refused:
        queue.assign_many(
            session,
            acting=cora,
            proposal_ids=[proposal_id],
            reviewer_id=uuid.uuid4(),
            outbox=outbox,
        )
    assert refused.value.errors == {"reviewer_id": ["There is no such staff account."]}


# -- the queue's filter and the names ------------------------------------------------------------


def test_the_queue_filters_by_who_holds_a_proposal(session, cora, riley, rob):
    mine = arrive(session, name="Mine")
    robs = arrive(session, name="Rob's")
    arrive(session, name="Nobody's")
    queue.assign(session, acting=riley, proposal_id=mine, reviewer_id=riley.staff_id, outbox=outbox)
    queue.assign(session, acting=cora, proposal_id=robs, reviewer_id=rob.staff_id, outbox=outbox)

    def names(viewer: Acting, assigned: str) -> list[str]:
        filters = queue.QueueFilters(assigned=assigned)
        return sorted(
            q.organization_name for q in queue.list_queue(session, acting=viewer, filters=filters)
        )

    assert names(riley, "me") == ["Mine"]
    assert names(rob, "me") == ["Rob's"]
    assert names(cora, "nobody") == ["Nobody's"]
    assert names(cora, str(rob.staff_id)) == ["Rob's"]
    assert names(cora, "") == ["Mine", "Nobody's", "Rob's"]


def test_reviewers_to_choose_from_by_name_without_those_in_conflict(session, cora, riley, rob):
    staff_member("lee@agency.example", "liaison", session=session)
    staff_member("gus@agency.example", "reviewer", active=False, session=session)
    queue.declare_conflict(session, acting=rob, organization_name="Roofers", outbox=outbox)
    assert [p.name for p in queue.reviewer_choices(session)] == ["Riley Reviewer", "Rob Reviewer"]
    assert [p.name for p in queue.reviewer_choices(session, organization_name="ROOFERS")] == [
        "Riley Reviewer"
    ]


def test_the_history_names_people_and_fields_in_words(session, cora, riley):
    data = proposal("Roofers")
    first = submitted_event(data, submitted_at=datetime(2026, 12, 6, 2, 0, tzinfo=UTC))
    proposal_id = queued_proposal(first, session=session).proposal_id
    edited = proposal("Roofers", hazards=["heat", "falls", "noise"])
    queued_proposal(submitted_event(edited, version=2, proposal_id=proposal_id), session=session)
    queue.assign(
        session, acting=cora, proposal_id=proposal_id, reviewer_id=riley.staff_id, outbox=outbox
    )
    queue.adjust_priority(session, acting=riley, proposal_id=proposal_id, points=5, reason="Urgent")
    audit.record(
        session, entity_type="proposal", entity_id=proposal_id, action="signed", actor="review"
    )

    file = queue.proposal_file(session, acting=cora, proposal_id=proposal_id)
    rows = [
        (row.who, row.what, [(c.field, c.before, c.after) for c in row.changes])
        for row in file.history_in_words
    ]
    contact = data["contact"]["name"]

    assert rows[0] == (f"{contact} (applicant)", "Submitted", [])
    assert rows[1][:2] == (f"{contact} (applicant)", "Resubmitted")
    assert [field for field, _, _ in rows[1][2]] == ["Hazards"]
    assert rows[2] == (
        "Cora Coordinator",
        "Assigned",
        [("Assigned to", "nobody", "Riley Reviewer"), ("Status", "Resubmitted", "In review")],
    )
    assert rows[3] == (
        "Riley Reviewer",
        "Priority adjusted",
        [("Moved by (points)", "0", "5"), ("Reason for moving it", "", "Urgent")],
    )
    assert rows[4][:2] == ("The system", "Signed")
    shown = repr(rows)
    for raw in ("@agency.example", "assigned_to", "adjustment", "in_review", "'review'"):
        assert raw not in shown
    assert file.assignee_name == "Riley Reviewer"
