"""The queue's and the decisions' pure rules: no database, no app."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select
from sqlalchemy.dialects import postgresql
from werkzeug.datastructures import MultiDict

from services.review import people
from services.review.decisions import domain as decisions
from services.review.decisions.schemas import DecisionIn, ReleaseIn
from services.review.decisions.views import decision_from_form, form_errors
from services.review.queue import domain as queue
from services.review.queue.models import QueuedProposal
from services.review.queue.schemas import AdjustmentIn, AssignmentIn, QueueQuery
from services.review.staff import domain as accounts
from shared.config import load_settings
from shared.domain import Acting, Forbidden, Invalid
from shared.schemas import load_input


def acting(*roles: str, conflicts: tuple[str, ...] = ()) -> Acting:
    return Acting(
        staff_id=uuid.uuid4(),
        email="someone@agency.example",
        roles=frozenset(roles),
        conflicts=frozenset(conflicts),
    )


# -- queue filters ----------------------------------------------------------------------------


def test_no_status_asked_means_the_open_ones_and_text_is_tidied():
    filters = queue.QueueFilters.of(
        load_input(QueueQuery(), {"state": "mi", "q": "  roof  ", "status": []})
    )
    assert filters == queue.QueueFilters(
        status=("waiting", "in_review", "resubmitted"), state="MI", search="roof"
    )


def test_statuses_asked_are_kept_in_order():
    filters = queue.QueueFilters.of(load_input(QueueQuery(), {"status": ["declined", "approved"]}))
    assert filters.status == ("declined", "approved")


def test_the_queue_query_refuses_an_unknown_status_a_long_state_and_a_long_search():
    with pytest.raises(Invalid) as refused:
        load_input(QueueQuery(), {"status": ["lost"], "state": "MIC", "q": "x" * 201})
    assert refused.value.errors == {
        "status.0": ["Choose among the statuses listed."],
        "state": ["Choose a state by its two-letter code."],
        "q": ["At most 200 characters."],
    }


def test_the_search_takes_percent_underscore_and_backslash_literally():
    assert queue.search_pattern("100%") == "%100\\%%"
    assert queue.search_pattern("a_b\\c") == "%a\\_b\\\\c%"


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


def test_reviewers_and_the_coordinator_work_on_proposals_liaisons_do_not():
    assert people.may_work_on_proposals(acting("reviewer"))
    assert people.may_work_on_proposals(acting("coordinator"))
    assert people.may_work_on_proposals(acting("liaison", "reviewer"))
    assert not people.may_work_on_proposals(acting("liaison"))
    assert not people.may_work_on_proposals(acting())
    assert decisions.may_decide(acting("reviewer"))
    assert not decisions.may_decide(acting("liaison"))


def test_a_declared_conflict_hides_the_organization_however_it_is_written():
    tied = acting("reviewer", conflicts=("michigan roofing assn",))
    assert people.hidden_from(tied, "Michigan Roofing Assn.")
    assert people.hidden_from(tied, "MICHIGAN  roofing, ASSN")
    assert not people.hidden_from(tied, "Michigan Roofing Association")
    assert not people.hidden_from(acting("reviewer"), "Michigan Roofing Assn.")


def test_a_stranger_to_the_staff_roles_is_refused():

    with pytest.raises(Forbidden):
        people.require_staff(acting())
    people.require_staff(acting("liaison"))


# -- inputs -----------------------------------------------------------------------------------


@pytest.mark.parametrize("points", ["15", "-15", "+3", 15, 0])
def test_points_are_whole_numbers_from_a_form_or_json(points):
    loaded = load_input(AdjustmentIn(), {"points": points, "reason": "Season"})
    assert loaded["points"] == int(points)


@pytest.mark.parametrize("points", ["", "1.5", "lots", 1.5, True, None])
def test_points_that_are_not_whole_numbers_are_refused(points):
    with pytest.raises(Invalid) as refused:
        load_input(AdjustmentIn(), {"points": points, "reason": "Season"})
    assert refused.value.errors == {"points": ["Enter a whole number, such as 10 or -10."]}


def test_an_adjustment_needs_a_written_reason_and_stays_within_1000_points():
    with pytest.raises(Invalid) as refused:
        load_input(AdjustmentIn(), {"points": 1001, "reason": "   "})
    assert refused.value.errors == {
        "points": ["Move by at most 1000 points either way."],
        "reason": ["Give the reason for moving this proposal."],
    }


def test_an_assignment_names_a_reviewer_or_null():
    someone = uuid.uuid4()
    assert load_input(AssignmentIn(), {"reviewer_id": str(someone)}) == {"reviewer_id": someone}
    assert load_input(AssignmentIn(), {"reviewer_id": None}) == {"reviewer_id": None}
    with pytest.raises(Invalid) as refused:
        load_input(AssignmentIn(), {"reviewer_id": "nobody\x00"})
    assert list(refused.value.errors) == ["reviewer_id"]
    assert "U+0000" in refused.value.errors["reviewer_id"][0]


def test_a_release_names_at_least_one_decision():
    with pytest.raises(Invalid) as refused:
        load_input(ReleaseIn(), {"decision_ids": []})
    assert refused.value.errors == {"decision_ids": ["Choose at least one decision to release."]}


def test_a_decision_of_no_known_kind_is_refused():
    with pytest.raises(Invalid) as refused:
        load_input(DecisionIn(), {"kind": "maybe", "details": {}})
    assert refused.value.errors == {"kind": ["Choose a decision."]}


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
