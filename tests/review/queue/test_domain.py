"""The queue's domain functions on a real database (each test rolled back): scoring,
ordering, filters, claims, comments, priority moves, conflicts, and who may do each.

The Coordinator gives proposals to reviewers, one at a time or several at once, on a real
database (each test rolled back): the rules of queue/domain.py ``assign`` and ``assign_many``,
the queue's "Assigned to" filter, the ``proposal.assigned`` event that tells the reviewer, and
the proposal's history in words (names, the form's labels).

The queue's and the decisions' pure rules: no database, no app.

Review's pages say things in words, not codes: the queue's State filter lists the states by
name, the decisions and proposal pages show the profile's labels, the decision form's error
summary names each field by its label, and the changes since the previous version read as
the form names them."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql
from werkzeug.datastructures import MultiDict

from services.review import audit, people
from services.review.base import OutboxEvent
from services.review.decisions import domain as decisions
from services.review.decisions.schemas import DecisionIn, ReleaseIn
from services.review.decisions.views import decision_from_form, form_errors
from services.review.queue import domain as queue
from services.review.queue.models import (
    QueueAdjustment,
    QueuedProposal,
    ReviewComment,
    ScoringConfig,
)
from services.review.queue.schemas import AdjustmentIn, AssignmentIn, QueueEntryOut, QueueQuery
from services.review.staff import domain as accounts
from services.review.worker import outbox
from shared.config import load_settings
from shared.domain import Acting, Conflict, Forbidden, Invalid
from shared.events import parse_event
from shared.schemas import load_input
from shared.testing import example_proposal
from tests.intake.factories import proposal, submitted_event
from tests.review.factories import acting_as, agency_today, queued_proposal, staff_member
from tests.shared.factories import acting

COORDINATOR = acting("cora@agency.example", "coordinator")
REVIEWER = acting("riley@agency.example", "reviewer")
OTHER_REVIEWER = acting("rob@agency.example", "reviewer")
LIAISON = acting("lee@agency.example", "liaison")


def account(session, email: str, *roles: str) -> Acting:
    """A staff account (for those assigned by someone else), as the domain sees it."""
    return acting_as(staff_member(email, *roles, session=session))


def arrive(
    session, *, name="Roofers", days_ago=0, proposal_id=None, version=1, **shape
) -> uuid.UUID:
    """``name``'s proposal (``shape``: ``proposal()``'s keywords) arrives ``days_ago``."""
    event = submitted_event(
        proposal(name, **shape),
        proposal_id=proposal_id,
        version=version,
        submitted_at=datetime.now(UTC) - timedelta(days=days_ago),
    )
    return queued_proposal(event, session=session).proposal_id


def names(session, viewer: Acting = COORDINATOR, **filters) -> list[str]:
    found = queue.list_queue(session, acting=viewer, filters=queue.QueueFilters(**filters))
    return [q.organization_name for q in found]


def holder(session, proposal_id: uuid.UUID) -> uuid.UUID | None:
    return queue.get_for(session, proposal_id, acting=COORDINATOR).assigned_to


def actions(session, proposal_id: uuid.UUID) -> list[str]:
    history = audit.history(session, entity_type="proposal", entity_id=proposal_id)
    return [entry.action for entry in history]


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


# -- scoring, order, filters ------------------------------------------------------------------


@pytest.mark.integration
def test_the_queue_page_by_page_is_the_queue_in_the_same_order_less_the_conflicts(session):
    for number, name in enumerate(["Roofers Guild", "Glaziers", "Masons", "Welders", "Pavers"]):
        arrive(session, name=name, days_ago=number, workers_reached=1000 * (number + 1))
    everyone = names(session)
    pages = [queue.queue_page(session, acting=COORDINATOR, page=n, per_page=2) for n in (1, 2, 3)]
    assert [q.organization_name for p in pages for q in p.proposals] == everyone
    assert [(p.total, p.pages, p.first_shown, p.last_shown) for p in pages] == [
        (5, 3, 1, 2),
        (5, 3, 3, 4),
        (5, 3, 5, 5),
    ]
    # A page past the last shows the last; a declared conflict leaves its proposals out of
    # the count and the pages, the order kept.
    assert queue.queue_page(session, acting=COORDINATOR, page=9, per_page=2).page == 3
    conflicted = acting("cora@agency.example", "coordinator", conflicts=("roofers guild",))
    kept = [n for n in everyone if n != "Roofers Guild"]
    first, second = (
        queue.queue_page(session, acting=conflicted, page=n, per_page=3) for n in (1, 2)
    )
    assert (first.total, second.total) == (4, 4)
    assert [q.organization_name for q in first.proposals + second.proposals] == kept
    assert names(session, conflicted) == kept


@pytest.mark.integration
def test_arrivals_are_scored_with_explanations_and_the_config_version(session):
    proposal_id = arrive(session, name="Roofers")
    [entry] = QueueEntryOut(many=True).dump(queue.list_queue(session, acting=REVIEWER))
    assert entry["proposal_id"] == str(proposal_id)
    assert entry["organization"] == {"name": "Roofers", "type": "trade_association", "state": "MI"}
    assert entry["score_version"] == 1
    assert [line["reason"] for line in entry["score_explanation"]] == [
        'matches priority area "Falls"',
        "reach of 12,000 workers",
        "addresses hazards: Falls, Heat illness",
    ]
    assert entry["score"] == entry["priority"] == 30 + 8 + 4
    assert entry["assigned_to"] is None


@pytest.mark.integration
def test_queue_is_in_priority_order_then_oldest_first(session):
    arrive(session, name="Small and new", priority_areas=(), workers_reached=0, hazards=[])
    arrive(
        session, name="Small and old", priority_areas=(), workers_reached=0, hazards=[], days_ago=5
    )
    arrive(session, name="Falls priority", priority_areas=("falls",))
    assert names(session) == ["Falls priority", "Small and old", "Small and new"]


@pytest.mark.integration
def test_a_new_configuration_rescores_and_reorders_the_queue(session):
    arrive(
        session,
        name="Falls people",
        priority_areas=("falls",),
        workers_reached=0,
        hazards=[],
        days_ago=1,
    )
    arrive(session, name="Heat people", priority_areas=("heat",), workers_reached=0, hazards=[])
    first = queue.scoring_config(session, acting=REVIEWER)
    assert names(session) == ["Falls people", "Heat people"]  # equal scores: oldest first
    areas = [dict(a, weight=60) if a["slug"] == "heat" else a for a in first.priority_areas]

    config = queue.save_config(
        session,
        acting=COORDINATOR,
        weights={},
        priority_areas=areas,
        note="Heat season",
        today=agency_today(),
    )

    assert config.version == first.version + 1
    assert config.created_by == COORDINATOR.email
    assert names(session) == ["Heat people", "Falls people"]
    top = queue.list_queue(session, acting=REVIEWER)[0]
    assert top.score_version == config.version
    assert top.score_lines[0] == {"points": 60, "reason": 'matches priority area "Heat"'}
    [entry] = audit.history(session, entity_type="scoring_config", entity_id=config.version)
    assert entry.note == "Heat season"
    assert any(path.endswith(".weight") for path in entry.changes)


@pytest.mark.integration
def test_a_priority_area_named_twice_is_refused_and_nothing_changes(session):
    queue.current_config(session)
    with pytest.raises(Invalid) as refused:
        queue.save_config(
            session,
            acting=COORDINATOR,
            weights={},
            priority_areas=[{"slug": "falls", "label": "Falls"}] * 2,
            note="",
            today=agency_today(),
        )
    assert refused.value.errors == {"priority_areas": ["Name each priority area once."]}
    assert count(session, ScoringConfig) == 1


@pytest.mark.integration
def test_filters_and_search(session):
    arrive(
        session,
        name="Lansing Roofers",
        division="construction_safety_health",
        state="MI",
        hazards=["falls"],
    )
    arrive(
        session,
        name="Ohio Foundry",
        division="general_industry_safety_health",
        state="OH",
        hazards=["silica"],
    )
    assert names(session, division="general_industry_safety_health") == ["Ohio Foundry"]
    assert names(session, state="MI") == ["Lansing Roofers"]
    assert names(session, hazard="silica") == ["Ohio Foundry"]
    assert names(session, search="roof") == ["Lansing Roofers"]
    assert names(session, search="100%") == []
    assert names(session, organization_type="business") == []
    assert names(session, status=("declined",)) == []
    assert sorted(names(session, status=())) == ["Lansing Roofers", "Ohio Foundry"]


@pytest.mark.integration
def test_resubmission_keeps_the_previous_version_for_the_diff(session):
    proposal_id = arrive(session, name="Roofers")
    arrive(session, name="Roofers", proposal_id=proposal_id, version=2, emerging_issue="Roof heat")
    file = queue.proposal_file(session, acting=REVIEWER, proposal_id=proposal_id)
    assert (file.queued.version, file.queued.status) == (2, "resubmitted")
    assert file.changes_since_last_version == {"priority.emerging_issue": ["", "Roof heat"]}
    assert [line["reason"] for line in file.queued.score_lines][1] == "addresses an emerging issue"
    assert [entry.action for entry in file.history] == ["submitted", "resubmitted"]


@pytest.mark.integration
def test_diff_fields_reports_leaf_paths():
    before = {"goals": [{"measure": "a"}], "hazards": ["falls"]}
    after = {"goals": [{"measure": "b"}, {"measure": "c"}], "hazards": ["falls", "heat"]}
    assert audit.diff_fields(before, after) == {
        "goals.0.measure": ["a", "b"],
        "goals.1": [None, {"measure": "c"}],
        "hazards": [["falls"], ["falls", "heat"]],
    }


# -- claims and assignment --------------------------------------------------------------------


@pytest.mark.integration
def test_a_reviewer_claims_an_unheld_proposal_and_gives_back_only_their_own(session):
    proposal_id = arrive(session)
    claimed = queue.assign(
        session,
        acting=REVIEWER,
        proposal_id=proposal_id,
        reviewer_id=REVIEWER.staff_id,
        outbox=outbox,
    )
    assert (claimed.assigned_to, claimed.status) == (REVIEWER.staff_id, "in_review")
    queue.assign(session, acting=REVIEWER, proposal_id=proposal_id, reviewer_id=None, outbox=outbox)
    assert holder(session, proposal_id) is None
    assert actions(session, proposal_id) == ["submitted", "assigned", "assigned"]


@pytest.mark.integration
@pytest.mark.parametrize(
    ("who", "reviewer_id"),
    [
        ("the other", "self"),  # claim it over the holder
        ("the other", None),  # drop the holder's claim (a null once skipped the check)
        ("the holder", "other"),  # hand it to someone else
    ],
)
def test_a_reviewer_cannot_take_over_drop_or_hand_on_a_claim(session, who, reviewer_id):
    proposal_id = arrive(session)
    queue.assign(
        session,
        acting=REVIEWER,
        proposal_id=proposal_id,
        reviewer_id=REVIEWER.staff_id,
        outbox=outbox,
    )
    before = actions(session, proposal_id)
    actor = OTHER_REVIEWER if who == "the other" else REVIEWER
    target = {"self": actor.staff_id, "other": OTHER_REVIEWER.staff_id, None: None}[reviewer_id]

    with pytest.raises(Forbidden):
        queue.assign(
            session, acting=actor, proposal_id=proposal_id, reviewer_id=target, outbox=outbox
        )

    assert holder(session, proposal_id) == REVIEWER.staff_id
    assert actions(session, proposal_id) == before


@pytest.mark.integration
def test_a_reviewer_cannot_assign_an_unheld_proposal_to_someone_else(session):
    proposal_id = arrive(session)
    other = account(session, "rob@agency.example", "reviewer")
    with pytest.raises(Forbidden, match="Only the Coordinator assigns proposals to others"):
        queue.assign(
            session,
            acting=REVIEWER,
            proposal_id=proposal_id,
            reviewer_id=other.staff_id,
            outbox=outbox,
        )
    assert holder(session, proposal_id) is None
    assert actions(session, proposal_id) == ["submitted"]


@pytest.mark.integration
def test_the_coordinator_assigns_takes_over_and_drops_any_claim(session):
    proposal_id = arrive(session)
    other = account(session, "rob@agency.example", "reviewer")
    queue.assign(
        session,
        acting=REVIEWER,
        proposal_id=proposal_id,
        reviewer_id=REVIEWER.staff_id,
        outbox=outbox,
    )

    queue.assign(
        session,
        acting=COORDINATOR,
        proposal_id=proposal_id,
        reviewer_id=other.staff_id,
        outbox=outbox,
    )
    assert holder(session, proposal_id) == other.staff_id
    queue.assign(
        session, acting=COORDINATOR, proposal_id=proposal_id, reviewer_id=None, outbox=outbox
    )
    assert holder(session, proposal_id) is None
    queue.assign(
        session,
        acting=COORDINATOR,
        proposal_id=proposal_id,
        reviewer_id=COORDINATOR.staff_id,
        outbox=outbox,
    )
    assert holder(session, proposal_id) == COORDINATOR.staff_id


@pytest.mark.integration
def test_only_an_active_reviewer_is_assigned(session):
    proposal_id = arrive(session)
    liaison = account(session, "lee@agency.example", "liaison")
    for reviewer_id, message in [
        (liaison.staff_id, "Choose an active reviewer."),
        (uuid.uuid4(), "There is no such staff account."),
    ]:
        with pytest.raises(Invalid) as refused:
            queue.assign(
                session,
                acting=COORDINATOR,
                proposal_id=proposal_id,
                reviewer_id=reviewer_id,
                outbox=outbox,
            )
        assert refused.value.errors == {"reviewer_id": [message]}
    assert holder(session, proposal_id) is None
    assert actions(session, proposal_id) == ["submitted"]


@pytest.mark.integration
def test_a_liaison_neither_claims_nor_assigns(session):
    proposal_id = arrive(session)
    with pytest.raises(Forbidden, match="Only reviewers and the Coordinator"):
        queue.assign(
            session,
            acting=LIAISON,
            proposal_id=proposal_id,
            reviewer_id=LIAISON.staff_id,
            outbox=outbox,
        )
    assert holder(session, proposal_id) is None
    assert actions(session, proposal_id) == ["submitted"]


@pytest.mark.integration
def test_nobody_is_assigned_a_proposal_of_an_organization_they_are_in_conflict_with(session):
    tied = arrive(session, name="Michigan Roofing Assn.")
    reviewer = account(session, "rob@agency.example", "reviewer")
    queue.declare_conflict(
        session, acting=reviewer, organization_name="michigan roofing ASSN", outbox=outbox
    )
    with pytest.raises(Forbidden, match="declared a conflict of interest"):
        queue.assign(
            session,
            acting=COORDINATOR,
            proposal_id=tied,
            reviewer_id=reviewer.staff_id,
            outbox=outbox,
        )
    assert holder(session, tied) is None
    assert actions(session, tied) == ["submitted"]


@pytest.mark.integration
@pytest.mark.parametrize("reviewer_id", ["self", None])
def test_a_conflicted_reviewer_neither_claims_nor_un_assigns(session, reviewer_id):
    tied = arrive(session, name="Roofers Guild")
    conflicted = acting("rita@agency.example", "reviewer", conflicts=("roofers guild",))
    target = conflicted.staff_id if reviewer_id == "self" else None
    with pytest.raises(Forbidden, match="conflict of interest"):
        queue.assign(
            session, acting=conflicted, proposal_id=tied, reviewer_id=target, outbox=outbox
        )
    assert holder(session, tied) is None
    assert actions(session, tied) == ["submitted"]


@pytest.mark.integration
def test_a_conflicted_coordinator_neither_assigns_nor_drops_a_claim(session):
    tied = arrive(session, name="Roofers Guild")
    queue.assign(
        session, acting=REVIEWER, proposal_id=tied, reviewer_id=REVIEWER.staff_id, outbox=outbox
    )
    conflicted = acting("cora@agency.example", "coordinator", conflicts=("roofers guild",))
    for target in (None, OTHER_REVIEWER.staff_id):
        with pytest.raises(Forbidden):
            queue.assign(
                session, acting=conflicted, proposal_id=tied, reviewer_id=target, outbox=outbox
            )
    assert holder(session, tied) == REVIEWER.staff_id
    assert actions(session, tied) == ["submitted", "assigned"]


# -- conflicts of interest --------------------------------------------------------------------


@pytest.mark.integration
def test_a_declared_conflict_hides_the_proposal_everywhere_and_gives_back_its_claim(session):
    reviewer = acting("rita@agency.example", "reviewer")
    tied = arrive(session, name="Michigan Roofing Assn.")
    arrive(session, name="Somebody Else")
    queue.assign(
        session, acting=reviewer, proposal_id=tied, reviewer_id=reviewer.staff_id, outbox=outbox
    )

    queue.declare_conflict(
        session, acting=reviewer, organization_name="michigan roofing ASSN", outbox=outbox
    )

    assert holder(session, tied) is None
    # What the person sees from now on: ``current_acting()`` reads the declared conflicts.
    now = replace(reviewer, conflicts=frozenset({"michigan roofing assn"}))
    assert queue.declared_conflicts(session, acting=now) == ["michigan roofing assn"]
    assert names(session, viewer=now) == ["Somebody Else"]
    assert sorted(names(session)) == ["Michigan Roofing Assn.", "Somebody Else"]
    with pytest.raises(Forbidden, match="You declared a conflict of interest"):
        queue.get_for(session, tied, acting=now)
    with pytest.raises(Forbidden, match="You declared a conflict of interest"):
        queue.proposal_file(session, acting=now, proposal_id=tied)
    with pytest.raises(Forbidden, match="You declared a conflict of interest"):
        queue.comments(session, acting=now, proposal_id=tied)


@pytest.mark.integration
def test_the_conflicts_current_acting_reads_are_the_declared_ones(session):
    reviewer = acting("rita@agency.example", "reviewer")
    queue.declare_conflict(
        session, acting=reviewer, organization_name="Roofers Guild", outbox=outbox
    )

    assert people.conflicted_keys(session, reviewer.staff_id) == {"roofers guild"}
    assert (
        people.conflicted_keys(session, acting("other@agency.example", "reviewer").staff_id)
        == set()
    )


@pytest.mark.integration
def test_declaring_a_conflict_tells_the_other_services_once(session):
    reviewer = acting("rita@agency.example", "reviewer")
    conflict = queue.declare_conflict(
        session, acting=reviewer, organization_name="  Michigan Roofing Assn. ", outbox=outbox
    )
    again = queue.declare_conflict(
        session, acting=reviewer, organization_name="MICHIGAN ROOFING ASSN", outbox=outbox
    )

    assert again.id == conflict.id
    [row] = session.scalars(select(OutboxEvent)).all()
    assert (row.type, row.version, row.published_at) == ("staff.conflict_declared", 1, None)
    assert row.message["producer"] == "review"
    assert row.message["payload"] == {
        "staff_id": str(reviewer.staff_id),
        "organization_name": "Michigan Roofing Assn.",
        "organization_key": "michigan roofing assn",
        "declared_at": conflict.declared_at.isoformat(),
    }
    assert conflict.declared_at.tzinfo is not None


@pytest.mark.integration
def test_a_conflict_names_an_organization(session):
    with pytest.raises(Invalid) as refused:
        queue.declare_conflict(session, acting=REVIEWER, organization_name=" ... ", outbox=outbox)
    assert refused.value.errors == {"organization_name": ["Name the organization."]}
    assert count(session, OutboxEvent) == 0
    assert queue.declared_conflicts(session, acting=REVIEWER) == []


# -- comments ---------------------------------------------------------------------------------


@pytest.mark.integration
def test_any_staff_member_comments_and_reads_the_comments(session):
    proposal_id = arrive(session, name="One")
    for who, body in [(REVIEWER, "Strong outreach plan."), (LIAISON, "I know them.")]:
        queue.add_comment(session, acting=who, proposal_id=proposal_id, body=f"  {body} ")
    comments = queue.comments(session, acting=COORDINATOR, proposal_id=proposal_id)
    assert [(c.author_id, c.author_name, c.body) for c in comments] == [
        (REVIEWER.staff_id, "Riley", "Strong outreach plan."),
        (LIAISON.staff_id, "Lee", "I know them."),
    ]


@pytest.mark.integration
def test_a_blank_comment_is_refused_and_nothing_is_stored(session):
    proposal_id = arrive(session)
    with pytest.raises(Invalid) as refused:
        queue.add_comment(session, acting=REVIEWER, proposal_id=proposal_id, body="   ")
    assert refused.value.errors == {"body": ["Write something before saving the comment."]}
    assert count(session, ReviewComment) == 0


@pytest.mark.integration
def test_neither_a_conflicted_reviewer_nor_a_stranger_comments(session):
    tied = arrive(session, name="Roofers Guild")
    conflicted = acting("rita@agency.example", "reviewer", conflicts=("roofers guild",))
    stranger = acting("sam@agency.example")  # signed in, no staff role
    for who in (conflicted, stranger):
        with pytest.raises(Forbidden):
            queue.add_comment(session, acting=who, proposal_id=tied, body="Hello")
    assert count(session, ReviewComment) == 0
    assert actions(session, tied) == ["submitted"]


# -- priority moves ---------------------------------------------------------------------------


@pytest.mark.integration
def test_moving_a_proposal_needs_a_reason_and_is_kept(session):
    arrive(session, name="First", priority_areas=("falls",))
    low = arrive(session, name="Second", priority_areas=())
    with pytest.raises(Invalid) as refused:
        queue.adjust_priority(session, acting=REVIEWER, proposal_id=low, points=50, reason="  ")
    assert refused.value.errors == {"reason": ["Give the reason for moving this proposal."]}
    assert count(session, QueueAdjustment) == 0

    queue.adjust_priority(
        session,
        acting=REVIEWER,
        proposal_id=low,
        points=50,
        reason="Partner's conference is next month",
    )

    assert names(session) == ["Second", "First"]
    [entry] = [
        e
        for e in audit.history(session, entity_type="proposal", entity_id=low)
        if e.action == "priority adjusted"
    ]
    assert entry.changes["adjustment"] == [0, 50]
    assert entry.actor == REVIEWER.email


@pytest.mark.integration
def test_neither_a_liaison_nor_a_conflicted_reviewer_moves_a_proposal(session):
    tied = arrive(session, name="Roofers Guild")
    conflicted = acting("rita@agency.example", "reviewer", conflicts=("roofers guild",))
    for who in (LIAISON, conflicted):
        with pytest.raises(Forbidden):
            queue.adjust_priority(session, acting=who, proposal_id=tied, points=5, reason="Why")
    assert queue.get_for(session, tied, acting=COORDINATOR).adjustment == 0
    assert count(session, QueueAdjustment) == 0
    assert actions(session, tied) == ["submitted"]


# -- scoring configuration --------------------------------------------------------------------


@pytest.mark.integration
@pytest.mark.parametrize("who", [REVIEWER, LIAISON], ids=["reviewer", "liaison"])
def test_only_the_coordinator_configures_scoring(session, who):
    config = queue.scoring_config(session, acting=who)
    with pytest.raises(Forbidden, match="Only the Coordinator"):
        queue.save_config(
            session,
            acting=who,
            weights={"hazard": 9},
            priority_areas=[],
            note="Mine",
            today=agency_today(),
        )
    assert count(session, ScoringConfig) == 1
    assert queue.current_config(session) is config


# -- figures ----------------------------------------------------------------------------------


@pytest.mark.integration
def test_progress_counts_waiting_in_review_and_decided(session):
    first = arrive(session, name="One")
    arrive(session, name="Two")
    queue.assign(
        session, acting=REVIEWER, proposal_id=first, reviewer_id=REVIEWER.staff_id, outbox=outbox
    )
    figures = queue.progress(session, acting=LIAISON)
    assert (figures.waiting, figures.in_review, figures.decided) == (1, 1, 0)
    assert figures.average_days_to_decision is None


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


def arrive_review_assignment(session, name: str = "Roofers", **shape) -> uuid.UUID:
    return queued_proposal(proposal(name, **shape), session=session).proposal_id


def holder_review_assignment(session, cora: Acting, proposal_id: uuid.UUID) -> uuid.UUID | None:
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


@pytest.mark.integration
def test_the_coordinator_assigns_a_reviewer_who_is_told_and_it_is_audited(session, cora, riley):
    proposal_id = arrive_review_assignment(session, name="Lansing Roofers")

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


@pytest.mark.integration
def test_a_claim_for_oneself_still_works_and_tells_nobody(session, riley):
    proposal_id = arrive_review_assignment(session)
    claimed = queue.assign(
        session, acting=riley, proposal_id=proposal_id, reviewer_id=riley.staff_id, outbox=outbox
    )
    assert claimed.assigned_to == riley.staff_id
    assert assigned_events(session) == []


@pytest.mark.integration
def test_a_reviewer_cannot_assign_a_proposal_to_someone_else(session, cora, riley, rob):
    proposal_id = arrive_review_assignment(session)
    with pytest.raises(Forbidden, match="Only the Coordinator assigns proposals to others"):
        queue.assign(
            session, acting=riley, proposal_id=proposal_id, reviewer_id=rob.staff_id, outbox=outbox
        )
    assert holder_review_assignment(session, cora, proposal_id) is None
    assert assigned_events(session) == []


@pytest.mark.integration
def test_the_coordinator_reassigns_and_unassigns_a_claimed_proposal(session, cora, riley, rob):
    proposal_id = arrive_review_assignment(session)
    queue.assign(
        session, acting=riley, proposal_id=proposal_id, reviewer_id=riley.staff_id, outbox=outbox
    )
    queue.assign(
        session, acting=cora, proposal_id=proposal_id, reviewer_id=rob.staff_id, outbox=outbox
    )
    assert holder_review_assignment(session, cora, proposal_id) == rob.staff_id
    queue.assign(session, acting=cora, proposal_id=proposal_id, reviewer_id=None, outbox=outbox)
    assert holder_review_assignment(session, cora, proposal_id) is None
    assert [e["assignee"]["name"] for e in assigned_events(session)] == ["Rob Reviewer"]


@pytest.mark.integration
def test_assigning_to_whoever_holds_it_changes_nothing_and_mails_nobody_again(session, cora, riley):
    proposal_id = arrive_review_assignment(session)
    for _ in range(2):
        queue.assign(
            session, acting=cora, proposal_id=proposal_id, reviewer_id=riley.staff_id, outbox=outbox
        )
    assert len(assigned_events(session)) == 1
    actions = [
        e.action for e in audit.history(session, entity_type="proposal", entity_id=proposal_id)
    ]
    assert actions == ["submitted", "assigned"]


@pytest.mark.integration
def test_a_reviewer_in_conflict_with_the_organization_is_refused_by_name(session, cora, rob):
    tied = arrive_review_assignment(session, name="Michigan Roofing Assn.")
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
    assert holder_review_assignment(session, cora, tied) is None
    assert assigned_events(session) == []


@pytest.mark.integration
def test_only_an_active_member_of_staff_with_the_reviewer_role_is_assigned(session, cora):
    proposal_id = arrive_review_assignment(session)
    liaison = staff_member("lee@agency.example", "liaison", session=session)
    other_coordinator = staff_member("ann@agency.example", "coordinator", session=session)
    gone = staff_member("gus@agency.example", "reviewer", active=False, session=session)
    for person in (liaison, other_coordinator, gone):
        with pytest.raises(Invalid) as refused:
            queue.assign(
                session, acting=cora, proposal_id=proposal_id, reviewer_id=person.id, outbox=outbox
            )
        assert refused.value.errors == {"reviewer_id": ["Choose an active reviewer."]}
    assert holder_review_assignment(session, cora, proposal_id) is None


@pytest.mark.integration
@pytest.mark.parametrize("status", ["approved", "declined"])
def test_a_decided_proposal_is_assigned_to_nobody(session, cora, riley, status):
    proposal_id = arrive_review_assignment(session)
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
    assert holder_review_assignment(session, cora, proposal_id) is None


# -- several at once ----------------------------------------------------------------------------


@pytest.mark.integration
def test_the_coordinator_assigns_several_proposals_at_once(session, cora, riley):
    first, second = (
        arrive_review_assignment(session, name="First Roofers"),
        arrive_review_assignment(session, name="Second Roofers"),
    )
    given = queue.assign_many(
        session,
        acting=cora,
        proposal_ids=[first, second],
        reviewer_id=riley.staff_id,
        outbox=outbox,
    )
    assert [q.proposal_id for q in given] == [first, second]
    assert {holder_review_assignment(session, cora, p) for p in (first, second)} == {riley.staff_id}
    assert [e["organization_name"] for e in assigned_events(session)] == [
        "First Roofers",
        "Second Roofers",
    ]
    queue.assign_many(
        session, acting=cora, proposal_ids=[first, second], reviewer_id=None, outbox=outbox
    )
    assert {holder_review_assignment(session, cora, p) for p in (first, second)} == {None}


@pytest.mark.integration
def test_a_bulk_assignment_is_all_or_nothing_and_says_what_failed(session, cora, riley, rob):
    fine = arrive_review_assignment(session, name="Fine Roofers")
    decided = arrive_review_assignment(session, name="Decided Roofers")
    tied = arrive_review_assignment(session, name="Riley's Cousins")
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
    assert holder_review_assignment(session, cora, fine) == rob.staff_id
    assert holder_review_assignment(session, cora, tied) is None
    assert [e["assignee"]["name"] for e in assigned_events(session)] == ["Rob Reviewer"]


@pytest.mark.integration
def test_only_the_coordinator_assigns_in_bulk(session, cora, riley):
    proposal_id = arrive_review_assignment(session)
    with pytest.raises(Forbidden, match="Only the Coordinator assigns proposals in bulk"):
        queue.assign_many(
            session,
            acting=riley,
            proposal_ids=[proposal_id],
            reviewer_id=riley.staff_id,
            outbox=outbox,
        )
    assert holder_review_assignment(session, cora, proposal_id) is None


@pytest.mark.integration
def test_a_bulk_assignment_needs_a_proposal_and_a_reviewer(session, cora):
    with pytest.raises(Invalid) as refused:
        queue.assign_many(session, acting=cora, proposal_ids=[], reviewer_id=None, outbox=outbox)
    assert refused.value.errors == {"proposal_ids": ["Choose at least one proposal."]}
    proposal_id = arrive_review_assignment(session)
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


@pytest.mark.integration
def test_the_queue_filters_by_who_holds_a_proposal(session, cora, riley, rob):
    mine = arrive_review_assignment(session, name="Mine")
    robs = arrive_review_assignment(session, name="Rob's")
    arrive_review_assignment(session, name="Nobody's")
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


@pytest.mark.integration
def test_reviewers_to_choose_from_by_name_without_those_in_conflict(session, cora, riley, rob):
    staff_member("lee@agency.example", "liaison", session=session)
    staff_member("gus@agency.example", "reviewer", active=False, session=session)
    queue.declare_conflict(session, acting=rob, organization_name="Roofers", outbox=outbox)
    assert [p.name for p in queue.reviewer_choices(session)] == ["Riley Reviewer", "Rob Reviewer"]
    assert [p.name for p in queue.reviewer_choices(session, organization_name="ROOFERS")] == [
        "Riley Reviewer"
    ]


@pytest.mark.integration
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


def acting_rules(*roles: str, conflicts: tuple[str, ...] = ()) -> Acting:
    return Acting(
        staff_id=uuid.uuid4(),
        email="someone@agency.example",
        roles=frozenset(roles),
        conflicts=frozenset(conflicts),
    )


# -- queue filters ----------------------------------------------------------------------------


@pytest.mark.unit
def test_no_status_asked_means_the_open_ones_and_text_is_tidied():
    filters = queue.QueueFilters.of(
        load_input(QueueQuery(), {"state": "mi", "q": "  roof  ", "status": []})
    )
    assert filters == queue.QueueFilters(
        status=("waiting", "in_review", "resubmitted"), state="MI", search="roof"
    )


@pytest.mark.unit
def test_statuses_asked_are_kept_in_order():
    filters = queue.QueueFilters.of(load_input(QueueQuery(), {"status": ["declined", "approved"]}))
    assert filters.status == ("declined", "approved")


@pytest.mark.unit
def test_the_queue_query_refuses_an_unknown_status_a_long_state_and_a_long_search():
    with pytest.raises(Invalid) as refused:
        load_input(QueueQuery(), {"status": ["lost"], "state": "MIC", "q": "x" * 201})
    assert refused.value.errors == {
        "status.0": ["Choose among the statuses listed."],
        "state": ["Choose a state by its two-letter code."],
        "q": ["At most 200 characters."],
    }


@pytest.mark.unit
def test_the_search_takes_percent_underscore_and_backslash_literally():
    assert queue.search_pattern("100%") == "%100\\%%"
    assert queue.search_pattern("a_b\\c") == "%a\\_b\\\\c%"


@pytest.mark.unit
def test_each_filter_narrows_the_query():
    def where(filters: queue.QueueFilters) -> str:
        query = select(QueuedProposal.id).where(*filters.conditions())
        compiled = query.compile(dialect=postgresql.dialect())
        return str(compiled).split("WHERE", 1)[-1]

    everything = queue.QueueFilters(status=())
    assert "WHERE" not in str(select(QueuedProposal.id).where(*everything.conditions()))
    narrowed = where(
        queue.QueueFilters(
            division="construction_safety_health",
            hazard="silica",
            state="OH",
            organization_type="union",
            search="foundry",
        )
    )
    for condition in (
        "queued_proposals.status IN",
        "queued_proposals.requested_division =",
        "queued_proposals.state =",
        "queued_proposals.organization_type =",
        "@> ",  # the hazards hold the one asked for
        "queued_proposals.organization_name ILIKE",
    ):
        assert condition in narrowed


# -- who may ----------------------------------------------------------------------------------


@pytest.mark.unit
def test_reviewers_and_the_coordinator_work_on_proposals_liaisons_do_not():
    assert people.may_work_on_proposals(acting_rules("reviewer"))
    assert people.may_work_on_proposals(acting_rules("coordinator"))
    assert people.may_work_on_proposals(acting_rules("liaison", "reviewer"))
    assert not people.may_work_on_proposals(acting_rules("liaison"))
    assert not people.may_work_on_proposals(acting_rules())
    assert decisions.may_decide(acting_rules("reviewer"))
    assert not decisions.may_decide(acting_rules("liaison"))


@pytest.mark.unit
def test_a_declared_conflict_hides_the_organization_however_it_is_written():
    tied = acting_rules("reviewer", conflicts=("michigan roofing assn",))
    assert people.hidden_from(tied, "Michigan Roofing Assn.")
    assert people.hidden_from(tied, "MICHIGAN  roofing, ASSN")
    assert not people.hidden_from(tied, "Michigan Roofing Association")
    assert not people.hidden_from(acting_rules("reviewer"), "Michigan Roofing Assn.")


@pytest.mark.unit
def test_a_stranger_to_the_staff_roles_is_refused():

    with pytest.raises(Forbidden):
        people.require_staff(acting_rules())
    people.require_staff(acting_rules("liaison"))


# -- inputs -----------------------------------------------------------------------------------


@pytest.mark.unit
@pytest.mark.parametrize("points", ["15", "-15", "+3", 15, 0])
def test_points_are_whole_numbers_from_a_form_or_json(points):
    loaded = load_input(AdjustmentIn(), {"points": points, "reason": "Season"})
    assert loaded["points"] == int(points)


@pytest.mark.unit
@pytest.mark.parametrize("points", ["", "1.5", "lots", 1.5, True, None])
def test_points_that_are_not_whole_numbers_are_refused(points):
    with pytest.raises(Invalid) as refused:
        load_input(AdjustmentIn(), {"points": points, "reason": "Season"})
    assert refused.value.errors == {"points": ["Enter a whole number, such as 10 or -10."]}


@pytest.mark.unit
def test_an_adjustment_needs_a_written_reason_and_stays_within_1000_points():
    with pytest.raises(Invalid) as refused:
        load_input(AdjustmentIn(), {"points": 1001, "reason": "   "})
    assert refused.value.errors == {
        "points": ["Move by at most 1000 points either way."],
        "reason": ["Give the reason for moving this proposal."],
    }


@pytest.mark.unit
def test_an_assignment_names_a_reviewer_or_null():
    someone = uuid.uuid4()
    assert load_input(AssignmentIn(), {"reviewer_id": str(someone)}) == {"reviewer_id": someone}
    assert load_input(AssignmentIn(), {"reviewer_id": None}) == {"reviewer_id": None}
    with pytest.raises(Invalid) as refused:
        load_input(AssignmentIn(), {"reviewer_id": "nobody\x00"})
    assert list(refused.value.errors) == ["reviewer_id"]
    assert "U+0000" in refused.value.errors["reviewer_id"][0]


@pytest.mark.unit
def test_a_release_names_at_least_one_decision():
    with pytest.raises(Invalid) as refused:
        load_input(ReleaseIn(), {"decision_ids": []})
    assert refused.value.errors == {"decision_ids": ["Choose at least one decision to release."]}


@pytest.mark.unit
def test_a_decision_of_no_known_kind_is_refused():
    with pytest.raises(Invalid) as refused:
        load_input(DecisionIn(), {"kind": "maybe", "details": {}})
    assert refused.value.errors == {"kind": ["Choose a decision."]}


@pytest.mark.unit
def test_each_kind_of_decision_says_what_it_lacks():
    def lacks(kind: str, **details: object) -> dict[str, list[str]]:
        with pytest.raises(Invalid) as refused:
            decisions.check_details(
                kind, details, liaisons=lambda _id: None, settings=load_settings()
            )
        return refused.value.errors

    assert lacks("changes_requested") == {"message": ["Tell the applicant what to change."]}
    assert lacks("declined") == {"reason": ["Give the reason for declining."]}
    # The signing date is not the approval's: it is recorded once the agreement is signed.
    assert set(lacks("approved")) == {"division", "liaison_id"}
    assert lacks(
        "approved",
        division="construction_safety_health",
        liaison_id=str(uuid.uuid4()),
    ) == {"liaison_id": ["Choose an active staff member who is a liaison."]}


@pytest.mark.unit
def test_an_approval_gets_the_agency_term_unless_one_is_given():
    liaison = accounts.Liaison(id=uuid.uuid4(), name="Lee", email="lee@agency.example")
    checked = decisions.check_details(
        "approved",
        {
            "division": "construction_safety_health",
            "liaison_id": str(liaison.id),
            # an old client's signing date is ignored: the signing is recorded later
            "signing_date": "2026-12-01",
        },
        liaisons=lambda staff_id: liaison if staff_id == liaison.id else None,
        settings=load_settings(),
    )
    assert checked == {
        "division": "construction_safety_health",
        "liaison_id": str(liaison.id),
        "term_years": load_settings().review_initial_term_years,
        "message": "",
    }


@pytest.mark.unit
def test_the_decision_form_sends_only_the_chosen_kind_and_shows_errors_beside_its_fields():
    form = MultiDict(
        {"kind": "declined", "message": "not this one", "decline_reason": "  Not now.  "}
    )
    assert decision_from_form(form) == {"kind": "declined", "details": {"reason": "Not now."}}
    assert form_errors("declined", {"details.reason": ["x"], "reason": ["y"]}) == {
        "decline_reason": ["x", "y"]
    }
    assert form_errors("approved", {"message": ["z"], "kind": ["k"]}) == {
        "approval_message": ["z"],
        "kind": ["k"],
    }


@pytest.mark.integration
@pytest.mark.usefixtures("clean_databases")
def test_a_change_in_the_choices_of_a_multi_select_is_a_change():
    before = example_proposal()
    after = example_proposal(hazards=["heat", "silica"])
    after["priority"]["priority_areas"] = ["falls", "heat"]
    assert queue.version_changes(before, after) == {
        "hazards": [["falls", "heat"], ["heat", "silica"]],
        "priority.priority_areas": [["falls"], ["falls", "heat"]],
    }
    assert queue.version_changes(before, example_proposal(hazards=["heat", "falls"])) == {}
    # Order still matters where it means something: the goals themselves.
    swapped = example_proposal()
    swapped["goals"].reverse()
    assert "goals.0.category" in queue.version_changes(before, swapped)
