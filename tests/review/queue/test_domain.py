"""The queue's domain functions on a real database (each test rolled back): scoring,
ordering, filters, claims, comments, priority moves, conflicts, and who may do each."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from services.review import audit, people
from services.review.base import OutboxEvent
from services.review.queue import domain as queue
from services.review.queue.models import QueueAdjustment, ReviewComment, ScoringConfig
from services.review.queue.schemas import QueueEntryOut
from services.review.worker import outbox
from shared.domain import Acting, Forbidden, Invalid
from tests.factories import (
    acting,
    acting_as,
    agency_today,
    proposal,
    queued_proposal,
    staff_member,
    submitted_event,
)

pytestmark = pytest.mark.integration


COORDINATOR = acting("cora@agency.example", "coordinator")
REVIEWER = acting("riley@agency.example", "reviewer")
OTHER_REVIEWER = acting("rob@agency.example", "reviewer")
LIAISON = acting("lee@agency.example", "liaison")


@pytest.fixture
def session(rolled_back):
    return rolled_back("review")


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


def test_queue_is_in_priority_order_then_oldest_first(session):
    arrive(session, name="Small and new", priority_areas=(), workers_reached=0, hazards=[])
    arrive(
        session, name="Small and old", priority_areas=(), workers_reached=0, hazards=[], days_ago=5
    )
    arrive(session, name="Falls priority", priority_areas=("falls",))
    assert names(session) == ["Falls priority", "Small and old", "Small and new"]


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


def test_resubmission_keeps_the_previous_version_for_the_diff(session):
    proposal_id = arrive(session, name="Roofers")
    arrive(session, name="Roofers", proposal_id=proposal_id, version=2, emerging_issue="Roof heat")
    file = queue.proposal_file(session, acting=REVIEWER, proposal_id=proposal_id)
    assert (file.queued.version, file.queued.status) == (2, "resubmitted")
    assert file.changes_since_last_version == {"priority.emerging_issue": ["", "Roof heat"]}
    assert [line["reason"] for line in file.queued.score_lines][1] == "addresses an emerging issue"
    assert [entry.action for entry in file.history] == ["submitted", "resubmitted"]


def test_diff_fields_reports_leaf_paths():
    before = {"goals": [{"measure": "a"}], "hazards": ["falls"]}
    after = {"goals": [{"measure": "b"}, {"measure": "c"}], "hazards": ["falls", "heat"]}
    assert audit.diff_fields(before, after) == {
        "goals.0.measure": ["a", "b"],
        "goals.1": [None, {"measure": "c"}],
        "hazards": [["falls"], ["falls", "heat"]],
    }


# -- claims and assignment --------------------------------------------------------------------


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


@pytest.mark.parametrize(
    ("who", "reviewer_id"),
    [
        ("the other", "self"),  # claim it over the holder
        ("the other", None),  # drop the holder's claim (issue 8: null skipped the check)
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


def test_a_conflict_names_an_organization(session):
    with pytest.raises(Invalid) as refused:
        queue.declare_conflict(session, acting=REVIEWER, organization_name=" ... ", outbox=outbox)
    assert refused.value.errors == {"organization_name": ["Name the organization."]}
    assert count(session, OutboxEvent) == 0
    assert queue.declared_conflicts(session, acting=REVIEWER) == []


# -- comments ---------------------------------------------------------------------------------


def test_any_staff_member_comments_and_reads_the_comments(session):
    proposal_id = arrive(session, name="One")
    for who, body in [(REVIEWER, "Strong outreach plan."), (LIAISON, "I know them.")]:
        queue.add_comment(session, acting=who, proposal_id=proposal_id, body=f"  {body} ")
    comments = queue.comments(session, acting=COORDINATOR, proposal_id=proposal_id)
    assert [(c.author_id, c.author_name, c.body) for c in comments] == [
        (REVIEWER.staff_id, "Riley", "Strong outreach plan."),
        (LIAISON.staff_id, "Lee", "I know them."),
    ]


def test_a_blank_comment_is_refused_and_nothing_is_stored(session):
    proposal_id = arrive(session)
    with pytest.raises(Invalid) as refused:
        queue.add_comment(session, acting=REVIEWER, proposal_id=proposal_id, body="   ")
    assert refused.value.errors == {"body": ["Write something before saving the comment."]}
    assert count(session, ReviewComment) == 0


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


def test_progress_counts_waiting_in_review_and_decided(session):
    first = arrive(session, name="One")
    arrive(session, name="Two")
    queue.assign(
        session, acting=REVIEWER, proposal_id=first, reviewer_id=REVIEWER.staff_id, outbox=outbox
    )
    figures = queue.progress(session, acting=LIAISON)
    assert (figures.waiting, figures.in_review, figures.decided) == (1, 1, 0)
    assert figures.average_days_to_decision is None
