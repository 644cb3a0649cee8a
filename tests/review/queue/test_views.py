"""Assigning proposals over HTTP, signed in as real staff accounts: the JSON API (one and in
bulk: field-level 422s, 403 for anyone but the Coordinator, 409 once decided or when a bulk
assignment cannot be done whole) and the pages (the proposal's "Assign to" select of reviewers
by name, the queue's ticked rows and "Assign selected to", "Assigned to <name>", its filter,
the agency's calendar date under "Submitted"; the scoring page's version by name and date).

Review's staff pages over HTTP: queue, proposal, decisions, conflicts.

Review's pages say things in words, not codes: the queue's State filter lists the states by
name, the decisions and proposal pages show the profile's labels, the decision form's error
summary names each field by its label, and the changes since the previous version read as
the form names them."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from html import unescape

import pytest
from sqlalchemy import func, select

from services.intake import create_app as create_intake
from services.review import audit
from services.review.base import OutboxEvent
from services.review.decisions.models import PreparedDecision
from services.review.queue import domain as queue
from services.review.queue.models import QueuedProposal, ReviewComment
from services.review.worker import database, outbox
from shared.testing import example_proposal
from tests.helpers import queued_tasks, stored_rows
from tests.intake.factories import proposal, submitted_event
from tests.review.factories import acting_as, queued_proposal, staff_member
from tests.shared.factories import signed_in

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clean_databases")]


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


# -- the pages ------------------------------------------------------------------------------------


def test_the_proposal_page_assigns_a_reviewer_chosen_by_name(review_app, cora, riley):
    rob = staff_member("rob@agency.example", "reviewer", name="Rob Reviewer")
    staff_member("lee@agency.example", "liaison", name="Lee Liaison")
    proposal_id = queued_proposal(proposal("Roofers")).proposal_id
    with database.transaction() as session:
        queue.declare_conflict(
            session, acting=acting_as(rob), organization_name="Roofers", outbox=outbox
        )
    client = signed_in(review_app, cora)

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


def test_a_reviewer_sees_no_assignment_form_and_claims_as_before(review_app, riley):
    proposal_id = queued_proposal(proposal("Roofers")).proposal_id
    client = signed_in(review_app, riley)
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


def test_the_queue_assigns_the_ticked_proposals_all_or_nothing(review_app, cora, riley):
    first = queued_proposal(proposal("First Roofers")).proposal_id
    decided = queued_proposal(proposal("Decided Roofers"))
    set_status(decided.proposal_id, "declined")
    client = signed_in(review_app, cora)

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


def test_the_queue_filters_by_assignee_and_shows_the_agencys_date(review_app, cora, riley):
    # 9 pm Eastern on Dec 5 is already Dec 6 in UTC: the queue shows Dec 5.
    late = submitted_event(
        proposal("Late Roofers"), submitted_at=datetime(2026, 12, 6, 2, 0, tzinfo=UTC)
    )
    late_id = queued_proposal(late).proposal_id
    queued_proposal(proposal("Other Roofers"))
    client = signed_in(review_app, cora)
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
    mine = signed_in(review_app, riley).get("/staff/queue?assigned=me").get_data(as_text=True)
    assert ">Late Roofers</a>" in mine
    assert ">Other Roofers</a>" not in mine

    bad = client.get("/staff/queue?assigned=whoever")
    assert bad.status_code == 422
    assert "Assigned to: Choose someone from the list." in bad.get_data(as_text=True)


def queued(proposal_id):
    with database.transaction() as session:
        return session.scalars(
            select(QueuedProposal).where(QueuedProposal.proposal_id == proposal_id)
        ).one()


def history(proposal_id):
    with database.transaction() as session:
        return [
            e.action for e in audit.history(session, entity_type="proposal", entity_id=proposal_id)
        ]


def test_staff_pages_send_signed_out_people_to_sign_in(review_app):
    response = review_app.test_client().get("/staff/queue")
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/staff/sign-in?next=")


def test_queue_page_shows_the_order_and_every_point(review_app):
    reviewer = signed_in(review_app, staff_member("rev@agency.example", "reviewer"))
    queued_proposal(proposal("Heat Partner", priority_areas=["heat"], hazards=[]))
    queued_proposal(proposal("Falls Partner", priority_areas=["falls"], hazards=["falls"]))
    html = reviewer.get("/staff/queue").get_data(as_text=True)
    assert html.index("Falls Partner") < html.index("Heat Partner")
    assert "matches priority area &#34;Falls&#34; +30" in html
    assert "reach of 12,000 workers +8" in html
    assert "Scoring version 1" in html
    filtered = reviewer.get("/staff/queue?q=heat").get_data(as_text=True)
    assert "Heat Partner" in filtered
    assert "Falls Partner" not in filtered


def test_the_queue_page_shows_a_page_at_a_time_with_links_that_keep_the_filters(
    review_app, monkeypatch
):
    monkeypatch.setattr(queue, "QUEUE_PAGE_SIZE", 2)
    rev = staff_member("rev@agency.example", "reviewer")
    reviewer = signed_in(review_app, rev)
    for number in range(1, 6):
        queued_proposal(proposal(f"Partner {number}", workers_reached=20000 * number))
    queued_proposal(proposal("Glaziers"))
    with database.transaction() as session:
        found = queue.list_queue(
            session, acting=acting_as(rev), filters=queue.QueueFilters(search="partner")
        )
        order = [q.organization_name for q in found]
    first = reviewer.get("/staff/queue?q=partner").get_data(as_text=True)
    assert re.findall(r">(Partner \d)</a>", first) == order[:2]
    assert "Proposals in priority order (5)" in first
    assert "1 to 2 shown" in first
    assert 'href="/staff/queue?page=2&amp;q=partner"' in first
    last = reviewer.get("/staff/queue?q=partner&page=3").get_data(as_text=True)
    assert re.findall(r">(Partner \d)</a>", last) == order[4:]
    assert "5 to 5 shown" in last
    refused = reviewer.get("/staff/queue?page=0")
    assert refused.status_code == 422
    assert "Pages are numbered from 1." in refused.get_data(as_text=True)


def test_resubmission_diff_is_shown_on_the_proposal_page(review_app):
    reviewer = signed_in(review_app, staff_member("rev@agency.example", "reviewer"))
    proposal_id = queued_proposal(proposal("Roofers")).proposal_id
    queued_proposal(
        submitted_event(
            proposal("Roofers", hazards_other="Skylights"), version=2, proposal_id=proposal_id
        )
    )
    html = reviewer.get(f"/staff/proposals/{proposal_id}").get_data(as_text=True)
    assert "Changes since the previous version" in html
    assert re.search(
        r"<th scope=\"row\"[^>]*>Other hazards</th><td[^>]*>\(none\)</td>"
        r"<td[^>]*><ins>Skylights</ins></td>",
        html,
    )


def test_reviewer_requests_changes_through_the_pages(review_app, redis_client):
    rev = staff_member("rev@agency.example", "reviewer")
    reviewer = signed_in(review_app, rev)
    proposal_id = queued_proposal(proposal("Roofers")).proposal_id
    claimed = reviewer.post(f"/staff/proposals/{proposal_id}/claim", data={"reviewer_id": rev.id})
    assert claimed.status_code == 303

    missing = reviewer.post(
        f"/staff/proposals/{proposal_id}/decision",
        data={"kind": "changes_requested", "message": ""},
    )
    assert missing.status_code == 422
    assert "Tell the applicant what to change." in missing.get_data(as_text=True)

    prepared = reviewer.post(
        f"/staff/proposals/{proposal_id}/decision",
        data={"kind": "changes_requested", "message": "Add a measure for outreach."},
    )
    assert prepared.headers["Location"] == "/staff/decisions"
    page = reviewer.get("/staff/decisions").get_data(as_text=True)
    [decision_id] = re.findall(r'name="decision_ids" value="([^"]+)"', page)
    released = reviewer.post("/staff/decisions", data={"decision_ids": decision_id})
    assert released.status_code == 303
    assert [t for t in ("intake", "notify") if redis_client.llen(t)] == ["intake", "notify"]
    html = reviewer.get(f"/staff/proposals/{proposal_id}").get_data(as_text=True)
    assert "Changes requested" in html
    # the history in words: the decision by its label, who by name
    assert "Decision released: changes requested" in html
    assert "changes_requested" not in html
    assert '<td data-label="Who">Rev</td>' in html


def test_adjusting_without_a_reason_is_refused_inline(review_app):
    reviewer = signed_in(review_app, staff_member("rev@agency.example", "reviewer"))
    proposal_id = queued_proposal(proposal("Roofers")).proposal_id
    before = stored_rows(database)
    response = reviewer.post(
        f"/staff/proposals/{proposal_id}/adjustment", data={"points": "15", "reason": "   "}
    )
    assert response.status_code == 422
    assert stored_rows(database) == before  # the priority unmoved, nothing audited
    html = response.get_data(as_text=True)
    assert "Give the reason for moving this proposal." in html
    assert 'value="15"' in html


def test_liaisons_cannot_decide_and_conflicts_hide_proposals(review_app):
    liaison = signed_in(review_app, staff_member("lee@agency.example", "liaison"))
    proposal_id = queued_proposal(proposal("Guild of Roofers")).proposal_id
    assert liaison.get("/staff/decisions").status_code == 403
    before = stored_rows(database)
    assert (
        liaison.post(
            f"/staff/proposals/{proposal_id}/decision",
            data={"kind": "declined", "decline_reason": "x"},
        ).status_code
        == 403
    )
    assert stored_rows(database) == before  # no decision prepared, nothing audited
    reviewer = signed_in(review_app, staff_member("rev@agency.example", "reviewer"))
    reviewer.post("/staff/conflicts", data={"organization_name": "guild of roofers"})
    assert "Guild of Roofers" not in reviewer.get("/staff/queue").get_data(as_text=True)
    assert reviewer.get(f"/staff/proposals/{proposal_id}").status_code == 403


def test_coordinator_edits_priority_areas_on_the_page_and_the_queue_reorders(review_app):
    coordinator = signed_in(review_app, staff_member("cora@agency.example", "coordinator"))
    queued_proposal(proposal("Falls Partner", priority_areas=["falls"], hazards=[]))
    queued_proposal(proposal("Heat Partner", priority_areas=["heat"], hazards=[]))
    page = coordinator.get("/staff/scoring").get_data(as_text=True)
    rows = int(re.search(r'name="rows" value="(\d+)"', page).group(1))
    fields = {"rows": str(rows), "note": "Heat emphasis program"}
    for index, (slug, label) in enumerate([("falls", "Falls"), ("heat", "Heat")]):
        fields |= {f"areas.{index}.slug": slug, f"areas.{index}.label": label}
    fields["areas.1.weight"] = "75"
    fields["areas.2.slug"] = "trenching"
    fields["areas.2.label"] = "Trenching"
    fields["areas.2.effective_from"] = "2030-01-01"

    saved = coordinator.post("/staff/scoring", data=fields)

    assert saved.status_code == 303
    html = coordinator.get("/staff/queue").get_data(as_text=True)
    assert "Saved as version 2; open proposals were rescored." in html
    assert html.index("Heat Partner") < html.index("Falls Partner")
    assert "matches priority area &#34;Heat&#34; +75" in html
    assert "Scoring version 2" in html


def test_bad_scoring_input_is_shown_inline_and_nothing_changes(review_app):
    coordinator = signed_in(review_app, staff_member("cora@agency.example", "coordinator"))
    response = coordinator.post(
        "/staff/scoring",
        data={
            "rows": "1",
            "areas.0.slug": "Bad Slug!",
            "areas.0.label": "Bad",
            "areas.0.weight": "lots",
        },
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="priority-areas-0-slug-error"' in html
    assert 'id="priority-areas-0-weight-error"' in html
    assert "Version 1 is in force" in html
    reviewer = signed_in(review_app, staff_member("rev@agency.example", "reviewer"))
    assert reviewer.get("/staff/scoring").status_code == 403


def test_a_reviewer_can_neither_take_over_nor_drop_another_reviewers_claim_by_the_form(review_app):
    rev = staff_member("rev@agency.example", "reviewer")
    rob = staff_member("rob@agency.example", "reviewer")
    holder, other = signed_in(review_app, rev), signed_in(review_app, rob)
    proposal_id = queued_proposal(proposal("Roofers")).proposal_id
    mine = {"reviewer_id": str(rev.id)}
    assert holder.post(f"/staff/proposals/{proposal_id}/claim", data=mine).status_code == 303
    page = other.get(f"/staff/proposals/{proposal_id}").get_data(as_text=True)
    assert "Another reviewer has claimed this proposal" in page
    assert 'name="reviewer_id"' not in page

    for sent in ({"reviewer_id": str(rob.id)}, {"reviewer_id": ""}):
        refused = other.post(f"/staff/proposals/{proposal_id}/claim", data=sent)
        assert refused.status_code == 403
        assert "only the Coordinator can reassign it or take it back" in refused.get_data(
            as_text=True
        )

    assert queued(proposal_id).assigned_to == rev.id
    assert history(proposal_id) == ["submitted", "assigned"]


def test_the_coordinator_takes_over_a_claim_by_the_form_and_the_holder_gives_back(review_app):
    rev = staff_member("rev@agency.example", "reviewer")
    cora = staff_member("cora@agency.example", "coordinator")
    holder, coordinator = signed_in(review_app, rev), signed_in(review_app, cora)
    proposal_id = queued_proposal(proposal("Roofers")).proposal_id
    holder.post(f"/staff/proposals/{proposal_id}/claim", data={"reviewer_id": rev.id})
    page = coordinator.get(f"/staff/proposals/{proposal_id}").get_data(as_text=True)
    assert "Take it over" in page

    taken = coordinator.post(f"/staff/proposals/{proposal_id}/claim", data={"reviewer_id": cora.id})
    assert taken.status_code == 303
    assert queued(proposal_id).assigned_to == cora.id
    given_back = coordinator.post(f"/staff/proposals/{proposal_id}/claim", data={"reviewer_id": ""})
    assert given_back.status_code == 303
    assert "The proposal is back in the queue." in coordinator.get(
        f"/staff/proposals/{proposal_id}"
    ).get_data(as_text=True)
    assert queued(proposal_id).assigned_to is None


def test_a_nul_in_a_form_field_is_shown_beside_it_and_nothing_is_stored(review_app):
    reviewer = signed_in(review_app, staff_member("rev@agency.example", "reviewer"))
    proposal_id = queued_proposal(proposal("Roofers")).proposal_id
    for path, field, sent in [
        ("comments", "body", {"body": "Good\x00 reach"}),
        ("adjustment", "reason", {"points": "5", "reason": "Season\x00"}),
        ("decision", "decline_reason", {"kind": "declined", "decline_reason": "No\x00"}),
    ]:
        refused = reviewer.post(f"/staff/proposals/{proposal_id}/{path}", data=sent)
        assert refused.status_code == 422, path
        html = refused.get_data(as_text=True)
        field_id = field.replace("_", "-")
        assert re.search(rf'id="{field_id}-error">Remove the control character U\+0000', html), path
    with database.transaction() as session:
        for model in (ReviewComment, PreparedDecision):
            assert session.scalar(select(func.count()).select_from(model)) == 0
    assert queued(proposal_id).adjustment == 0
    assert history(proposal_id) == ["submitted"]


def test_a_conflicted_reviewer_does_not_see_or_release_a_decision_on_the_pages(review_app):
    preparer = signed_in(review_app, staff_member("rev@agency.example", "reviewer"))
    conflicted = signed_in(review_app, staff_member("rob@agency.example", "reviewer"))
    proposal_id = queued_proposal(proposal("Roofers Guild")).proposal_id
    preparer.post(
        f"/staff/proposals/{proposal_id}/decision",
        data={"kind": "declined", "decline_reason": "Not this year."},
    )
    conflicted.post("/staff/conflicts", data={"organization_name": "roofers guild"})
    page = preparer.get("/staff/decisions").get_data(as_text=True)
    [decision_id] = re.findall(r'name="decision_ids" value="([^"]+)"', page)

    assert "Roofers Guild" not in conflicted.get("/staff/decisions").get_data(as_text=True)
    refused = conflicted.post("/staff/decisions", data={"decision_ids": decision_id})

    assert refused.status_code == 403
    assert queued(proposal_id).status == "waiting"
    assert "decision released: declined" not in history(proposal_id)


def test_releasing_nothing_is_shown_on_the_decisions_page(review_app):
    reviewer = signed_in(review_app, staff_member("rev@agency.example", "reviewer"))
    response = reviewer.post("/staff/decisions", data={})
    assert response.status_code == 422
    assert "Nothing was released: Choose at least one decision to release." in response.get_data(
        as_text=True
    )


DASH = "\N{EN DASH}"


def options_of(html: str, select_id: str) -> list[tuple[str, str]]:
    """(value, label) of each option of the select ``select_id``."""
    found = re.search(rf'<select[^>]*id="{select_id}"[^>]*>(.*?)</select>', html, re.S)
    assert found, f"no select {select_id}"
    return [
        (unescape(value), unescape(label.strip()))
        for value, label in re.findall(
            r'<option value="([^"]*)"[^>]*>([^<]*)</option>', found.group(1)
        )
    ]


def test_the_queues_state_filter_lists_the_states_by_name_and_filters_by_code(review_app):
    reviewer = signed_in(review_app, staff_member("rev@agency.example", "reviewer"))
    queued_proposal(proposal("Lansing Roofers", state="MI"))
    queued_proposal(proposal("Toledo Roofers", state="OH"))

    html = reviewer.get("/staff/queue").get_data(as_text=True)

    states = options_of(html, "filter-state")
    assert states[0] == ("", "Any")
    assert ("MI", "Michigan") in states
    assert ("OH", "Ohio") in states
    assert ("DC", "District of Columbia") in states
    assert ("PR", "Puerto Rico") in states
    assert len(states) == 1 + 56  # 50 states, the District and 5 territories
    names = [label for _, label in states[1:]]
    assert names == sorted(names)
    assert all(len(value) == 2 for value, _ in states[1:])

    chosen = reviewer.get("/staff/queue?state=MI").get_data(as_text=True)
    assert "Lansing Roofers" in chosen
    assert "Toledo Roofers" not in chosen
    assert '<option value="MI" selected>Michigan</option>' in chosen


def summary_links(html: str) -> list[tuple[str, str]]:
    """(target id, text) of each link of the error summary."""
    found = re.search(
        r'<div class="usa-alert usa-alert--error" id="error-summary".*?</ul>', html, re.S
    )
    assert found, "no error summary"
    return [
        (target, unescape(text))
        for target, text in re.findall(
            r'<a class="usa-link" href="#([^"]+)">([^<]*)</a>', found.group(0)
        )
    ]


def test_the_decision_forms_error_summary_names_each_field_by_its_label(review_app):
    rev = staff_member("rev@agency.example", "reviewer")
    reviewer = signed_in(review_app, rev)
    proposal_id = queued_proposal(proposal("Roofers")).proposal_id

    refused = reviewer.post(
        f"/staff/proposals/{proposal_id}/decision",
        data={"kind": "approved", "division": "construction_safety_health", "term_years": "9"},
    )

    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    links = summary_links(html)
    assert sorted(text for _, text in links) == [
        "Liaison: Choose the liaison.",
        "Term in years: A term of 1 to 5 years.",
    ]
    for target, _ in links:  # each link lands on its field
        assert f'id="{target}"' in html
    assert "Liaison id" not in html

    cases: tuple[tuple[str, dict[str, str], str], ...] = (
        ("", {}, "Decision: Choose a decision."),
        ("declined", {}, "Reason for declining: Give the reason for declining."),
        (
            "changes_requested",
            {},
            "What the applicant should change: Tell the applicant what to change.",
        ),
    )
    for kind, sent, expected in cases:
        html = reviewer.post(
            f"/staff/proposals/{proposal_id}/decision", data={"kind": kind, **sent}
        ).get_data(as_text=True)
        assert [text for _, text in summary_links(html)] == [expected]


def test_the_decisions_page_names_the_lead_division_and_who_prepared_it(review_app):
    reviewer = signed_in(
        review_app, staff_member("rev@agency.example", "reviewer", name="Riley Reviewer")
    )
    lee = staff_member("lee@agency.example", "liaison", name="Lee Liaison")
    proposal_id = queued_proposal(proposal("Roofers")).proposal_id
    prepared = reviewer.post(
        f"/staff/proposals/{proposal_id}/decision",
        data={
            "kind": "approved",
            "division": "construction_safety_health",
            "liaison_id": str(lee.id),
            "term_years": "2",
        },
    )
    assert prepared.status_code == 303

    html = reviewer.get("/staff/decisions").get_data(as_text=True)

    assert (
        "Lead division: Construction Safety &amp; Health; initial term 2 years from the signing"
        in html
    )
    # The staff member by name, never by e-mail address.
    assert "(prepared by Riley Reviewer)" in html
    assert "rev@agency.example" not in html
    assert "construction_safety_health" not in html.replace(
        'value="construction_safety_health"', ""
    )


def test_the_proposal_page_names_hazards_activities_and_choices_by_their_labels(review_app):
    reviewer = signed_in(review_app, staff_member("rev@agency.example", "reviewer"))
    proposal_id = queued_proposal(
        proposal("Roofers", hazards=["falls", "caught_in_between", "heat"])
    ).proposal_id

    html = unescape(reviewer.get(f"/staff/proposals/{proposal_id}").get_data(as_text=True))

    assert "Falls, Caught-in or -between, Heat illness" in html
    assert (
        "Activities: Disseminate information at conferences, events, web pages, newsletters; "
        "Use the partner's mailing lists to promote and disseminate information." in html
    )
    assert (
        "Activities: Jointly develop training materials, safe work practices or best practices."
        in html
    )
    assert "(Trade association)" in html
    assert "Outreach and communication</strong> (Short-term)" in html
    assert "Training and education</strong> (Long-term)" in html
    assert "Priority areas: Falls" in html
    for code in (
        "caught in between",
        "disseminate information, mailing lists",
        "Activities: develop training",
        "(trade association)",
        "(short-term)",
    ):
        assert code not in html


# -- the changes since the previous version, from a real resubmission ------------------------


def run_queued(redis_client, queue_name: str, celery) -> list[str]:
    """Run the tasks waiting in ``queue_name`` as its worker would; their names."""
    names = []
    for name, kwargs in queued_tasks(redis_client, queue_name):
        celery.tasks[name](**kwargs)
        names.append(name)
    redis_client.delete(queue_name)
    return names


def changes_table(html: str) -> list[tuple[str, str, str]]:
    found = re.search(
        r"<h2>Changes since the previous version</h2>\s*<table.*?</table>", html, re.S
    )
    assert found, "no changes on the page"
    rows = re.findall(
        r'<tr><th scope="row"[^>]*>([^<]*)</th><td[^>]*>(.*?)</td><td[^>]*>(.*?)</td></tr>',
        found.group(0),
    )
    return [
        (
            unescape(field),
            unescape(re.sub(r"</?(del|ins)>", "", old)),
            unescape(re.sub(r"</?(del|ins)>", "", new)),
        )
        for field, old, new in rows
    ]


def test_a_resubmissions_changes_read_as_the_form_names_them_and_reorders_are_none(
    review_app, redis_client
):
    import services.intake.tasks
    import services.review.tasks

    intake = create_intake({"TESTING": True}).test_client()
    submitted = intake.post("/api/v1/proposals", json=example_proposal())
    assert submitted.status_code == 201, submitted.json
    token = submitted.json["status_url"].rstrip("/").rsplit("/", 1)[1]
    assert run_queued(redis_client, "review", services.review.tasks.celery) == [
        "review.proposal_submitted"
    ]
    rev = staff_member("rev@agency.example", "reviewer")
    reviewer = signed_in(review_app, rev)
    proposal_id = submitted.json["id"]
    asked = reviewer.post(
        f"/staff/proposals/{proposal_id}/decision",
        data={"kind": "changes_requested", "message": "Add a measure for downloads."},
    )
    assert asked.status_code == 303
    page = reviewer.get("/staff/decisions").get_data(as_text=True)
    [decision_id] = re.findall(r'name="decision_ids" value="([^"]+)"', page)
    assert reviewer.post("/staff/decisions", data={"decision_ids": decision_id}).status_code == 303
    assert run_queued(redis_client, "intake", services.intake.tasks.celery) == [
        "intake.changes_requested"
    ]

    edited = example_proposal(hazards=["heat", "falls"])  # the same hazards, reordered
    edited["organization"]["type"] = "labor_organization"
    outreach, training = edited["goals"]
    outreach["activities"] = ["mailing_lists", "disseminate_information"]  # reordered
    outreach["term"] = "long"
    outreach["measure"] = "members reached, downloads"
    training["activities"] = ["develop_training", "promote_training"]
    resubmitted = intake.put(f"/api/v1/proposals/{proposal_id}?token={token}", json=edited)
    assert resubmitted.status_code == 200, resubmitted.json
    assert run_queued(redis_client, "review", services.review.tasks.celery) == [
        "review.proposal_resubmitted"
    ]

    html = reviewer.get(f"/staff/proposals/{proposal_id}").get_data(as_text=True)

    assert changes_table(html) == [
        ("Type of organization", "Trade association", "Labor organization"),
        (f"Goal 1 {DASH} Short- or long-term", "Short-term", "Long-term"),
        (f"Goal 1 {DASH} Measure of success", "members reached", "members reached, downloads"),
        (
            f"Goal 2 {DASH} Activities",
            "Jointly develop training materials, safe work practices or best practices",
            "Jointly develop training materials, safe work practices or best practices; "
            "Promote training programs and seminars",
        ),
    ]
    shown = unescape(html)
    assert "goals.0" not in shown
    assert "['" not in shown
    assert ">Hazards</th>" not in shown
    assert f"Goal 1 {DASH} Activities" not in shown
    # The history's resubmission says the same.
    assert f"Goal 1 {DASH} Short- or long-term: Short-term → Long-term" in shown
    with database.transaction() as session:
        [entry] = [
            e
            for e in audit.history(session, entity_type="proposal", entity_id=proposal_id)
            if e.action == "resubmitted"
        ]
        assert sorted(entry.changes) == [
            "goals.0.measure",
            "goals.0.term",
            "goals.1.activities",
            "organization.type",
        ]
