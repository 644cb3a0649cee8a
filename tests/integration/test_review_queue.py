import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.review import audit
from services.review.queue import domain as queue
from services.review.worker import database
from shared.events import new_event
from shared.proposal import ProposalSchema
from shared.testing import example_proposal

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clean_databases")]

COORDINATOR = queue.Acting(
    staff_id=uuid.uuid4(), email="cora@agency.example", roles=frozenset({"coordinator"})
)


def reviewer_acting(staff_id: uuid.UUID) -> queue.Acting:
    return queue.Acting(
        staff_id=staff_id, email="riley@agency.example", roles=frozenset({"reviewer"})
    )


def assigned_to(proposal_id: uuid.UUID) -> uuid.UUID | None:
    with database.transaction() as session:
        return queue.get_for(session, proposal_id, viewer_id=None).assigned_to


def assign(proposal_id: uuid.UUID, reviewer_id: uuid.UUID | None, acting: queue.Acting) -> None:
    with database.transaction() as session:
        queue.assign(
            session,
            proposal_id=proposal_id,
            reviewer_id=reviewer_id,
            reviewer_conflicts=set(),
            acting=acting,
        )


def test_a_reviewer_cannot_take_over_or_drop_another_reviewers_claim():
    proposal_id = arrive(name="Roofers")
    first, second = uuid.uuid4(), uuid.uuid4()
    assign(proposal_id, first, reviewer_acting(first))

    with pytest.raises(queue.Forbidden):
        assign(proposal_id, second, reviewer_acting(second))  # claim it over the other
    with pytest.raises(queue.Forbidden):
        assign(proposal_id, None, reviewer_acting(second))  # drop the other's claim
    with pytest.raises(queue.Forbidden):
        assign(proposal_id, second, reviewer_acting(first))  # hand it to someone else

    assert assigned_to(proposal_id) == first  # nothing changed


def test_a_reviewer_gives_back_their_own_claim_and_the_coordinator_reassigns_any():
    proposal_id = arrive(name="Roofers")
    first, second = uuid.uuid4(), uuid.uuid4()
    assign(proposal_id, first, reviewer_acting(first))
    assign(proposal_id, None, reviewer_acting(first))
    assert assigned_to(proposal_id) is None

    assign(proposal_id, first, reviewer_acting(first))
    assign(proposal_id, second, COORDINATOR)
    assert assigned_to(proposal_id) == second
    assign(proposal_id, None, COORDINATOR)
    assert assigned_to(proposal_id) is None


def arrive(
    *,
    name="Roofers",
    priority_areas=("falls",),
    reached=12000,
    division=None,
    state="MI",
    hazards=("falls", "heat"),
    days_ago=0,
    proposal_id=None,
    version=1,
    emerging="",
    **changes,
):
    data = example_proposal(hazards=list(hazards), **changes)
    data["organization"]["name"] = name
    data["organization"]["workers_reached"] = reached
    data["organization"]["address"]["state"] = state
    data["priority"]["priority_areas"] = list(priority_areas)
    data["priority"]["emerging_issue"] = emerging
    if division:
        data["requested_division"] = division
    event = new_event(
        "proposal.submitted" if version == 1 else "proposal.resubmitted",
        producer="intake",
        payload={
            "proposal_id": proposal_id or uuid.uuid4(),
            "reference": f"AP-2026-{uuid.uuid4().int % 100000:05d}",
            "version": version,
            "submitted_at": datetime.now(UTC) - timedelta(days=days_ago),
            "status_url": "http://127.0.0.1:8000/status/x",
            "proposal": ProposalSchema().load(data),
        },
    )
    with database.transaction() as session:
        return queue.receive_submitted_proposal(session, event=event).proposal_id


def names(**kwargs) -> list[str]:
    with database.transaction() as session:
        return [q.organization_name for q in queue.list_queue(session, **kwargs)]


def test_arrivals_are_scored_with_explanations_and_the_config_version():
    proposal_id = arrive(name="Roofers")
    with database.transaction() as session:
        [entry] = [queue.queue_entry(q) for q in queue.list_queue(session)]
    assert entry["proposal_id"] == str(proposal_id)
    assert entry["score_version"] == 1
    assert [line["reason"] for line in entry["score_explanation"]] == [
        'matches priority area "Falls"',
        "reach of 12,000 workers",
        "addresses hazards: Falls, Heat illness",
    ]
    assert entry["score"] == 30 + 8 + 4


def test_queue_is_in_priority_order_then_oldest_first():
    arrive(name="Small and new", priority_areas=(), reached=0, hazards=())
    arrive(name="Small and old", priority_areas=(), reached=0, hazards=(), days_ago=5)
    arrive(name="Falls priority", priority_areas=("falls",))
    assert names() == ["Falls priority", "Small and old", "Small and new"]


def test_a_new_configuration_rescores_and_reorders_the_queue():
    arrive(name="Falls people", priority_areas=("falls",), reached=0, hazards=(), days_ago=1)
    arrive(name="Heat people", priority_areas=("heat",), reached=0, hazards=())
    with database.transaction() as session:
        areas = queue.current_config(session).priority_areas
    assert names() == ["Falls people", "Heat people"]  # equal scores: oldest first
    areas = [dict(a, weight=60) if a["slug"] == "heat" else a for a in areas]

    with database.transaction() as session:
        config = queue.save_config(
            session,
            weights={},
            priority_areas=areas,
            note="Heat season",
            actor="coordinator@agency.example",
        )
    assert config.version == 2
    assert names() == ["Heat people", "Falls people"]
    with database.transaction() as session:
        top = queue.list_queue(session)[0]
        assert top.score_version == 2
        assert top.score_lines[0] == {"points": 60, "reason": 'matches priority area "Heat"'}
        [entry] = audit.history(session, entity_type="scoring_config", entity_id=2)
        assert entry.note == "Heat season"
        assert any(path.endswith(".weight") for path in entry.changes)


def test_moving_a_proposal_needs_a_reason_and_is_kept():
    arrive(name="First", priority_areas=("falls",))
    low = arrive(name="Second", priority_areas=())
    with database.transaction() as session, pytest.raises(queue.QueueError, match="reason"):
        queue.adjust_priority(session, proposal_id=low, points=50, reason="  ", actor="r")
    with database.transaction() as session:
        queue.adjust_priority(
            session,
            proposal_id=low,
            points=50,
            reason="Partner's conference is next month",
            actor="r@a.gov",
        )
    assert names() == ["Second", "First"]
    with database.transaction() as session:
        [entry] = [
            e
            for e in audit.history(session, entity_type="proposal", entity_id=low)
            if e.action == "priority adjusted"
        ]
        assert entry.changes["adjustment"] == [0, 50]
        assert entry.actor == "r@a.gov"


def test_filters_and_search():
    arrive(
        name="Lansing Roofers",
        division="construction_safety_health",
        state="MI",
        hazards=("falls",),
    )
    arrive(
        name="Ohio Foundry",
        division="general_industry_safety_health",
        state="OH",
        hazards=("silica",),
    )
    assert names(filters=queue.QueueFilters(division="general_industry_safety_health")) == [
        "Ohio Foundry"
    ]
    assert names(filters=queue.QueueFilters(state="mi")) == ["Lansing Roofers"]
    assert names(filters=queue.QueueFilters(hazard="silica")) == ["Ohio Foundry"]
    assert names(filters=queue.QueueFilters(search="roof")) == ["Lansing Roofers"]
    assert names(filters=queue.QueueFilters(search="100%")) == []
    assert names(filters=queue.QueueFilters(organization_type="business")) == []


def test_conflicts_hide_proposals_and_block_assignment():
    reviewer = uuid.uuid4()
    tied = arrive(name="Michigan Roofing Assn.")
    arrive(name="Somebody Else")
    with database.transaction() as session:
        queue.assign(
            session,
            proposal_id=tied,
            reviewer_id=reviewer,
            reviewer_conflicts=set(),
            acting=COORDINATOR,
        )
        queue.declare_conflict(
            session, staff_id=reviewer, organization_name="michigan roofing ASSN", actor="reviewer"
        )
    assert names(viewer_id=reviewer) == ["Somebody Else"]
    assert sorted(names()) == ["Michigan Roofing Assn.", "Somebody Else"]
    with database.transaction() as session:
        assert queue.get_for(session, tied, viewer_id=None).assigned_to is None
        with pytest.raises(queue.Conflicted):
            queue.get_for(session, tied, viewer_id=reviewer)
        with pytest.raises(queue.Conflicted):
            queue.assign(
                session,
                proposal_id=tied,
                reviewer_id=reviewer,
                reviewer_conflicts=queue.conflicted_keys(session, reviewer),
                acting=COORDINATOR,
            )


def test_resubmission_keeps_the_previous_version_for_the_diff():
    proposal_id = arrive(name="Roofers")
    arrive(name="Roofers", proposal_id=proposal_id, version=2, emerging="Roof heat")
    with database.transaction() as session:
        queued = queue.get_for(session, proposal_id, viewer_id=None)
        assert (queued.version, queued.status) == (2, "resubmitted")
        assert queue.changes_since_last_version(queued) == {
            "priority.emerging_issue": ["", "Roof heat"]
        }
        assert [line["reason"] for line in queued.score_lines][1] == ("addresses an emerging issue")


def test_claim_comment_and_progress():
    first = arrive(name="One")
    arrive(name="Two")
    reviewer = uuid.uuid4()
    with database.transaction() as session:
        queue.assign(
            session,
            proposal_id=first,
            reviewer_id=reviewer,
            reviewer_conflicts=set(),
            acting=reviewer_acting(reviewer),
        )
        queue.add_comment(
            session,
            proposal_id=first,
            author_id=reviewer,
            author_name="Riley Reviewer",
            body="Strong outreach plan.",
        )
        with pytest.raises(queue.QueueError):
            queue.add_comment(
                session, proposal_id=first, author_id=reviewer, author_name="Riley", body="   "
            )
    with database.transaction() as session:
        assert [c.body for c in queue.comments(session, first)] == ["Strong outreach plan."]
        figures = queue.progress(session)
    assert (figures.waiting, figures.in_review, figures.decided) == (1, 1, 0)
    assert figures.average_days_to_decision is None


def test_diff_fields_reports_leaf_paths():
    before = {"goals": [{"measure": "a"}], "hazards": ["falls"]}
    after = {"goals": [{"measure": "b"}, {"measure": "c"}], "hazards": ["falls", "heat"]}
    assert audit.diff_fields(before, after) == {
        "goals.0.measure": ["a", "b"],
        "goals.1": [None, {"measure": "c"}],
        "hazards": [["falls"], ["falls", "heat"]],
    }
