"""Review's staff pages over HTTP: queue, proposal, decisions, conflicts."""

import re

import pytest
from sqlalchemy import func, select

from services.review import audit, create_app
from services.review.decisions.models import PreparedDecision
from services.review.queue.models import QueuedProposal, ReviewComment
from services.review.worker import database
from tests.factories import proposal, queued_proposal, signed_in, staff_member, submitted_event
from tests.helpers import stored_rows

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clean_databases")]


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


@pytest.fixture
def app(redis_client):
    return create_app({"TESTING": True, "WTF_CSRF_ENABLED": False})


def test_staff_pages_send_signed_out_people_to_sign_in(app):
    response = app.test_client().get("/staff/queue")
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/staff/sign-in?next=")


def test_queue_page_shows_the_order_and_every_point(app):
    reviewer = signed_in(app, staff_member("rev@agency.example", "reviewer"))
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


def test_resubmission_diff_is_shown_on_the_proposal_page(app):
    reviewer = signed_in(app, staff_member("rev@agency.example", "reviewer"))
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


def test_reviewer_requests_changes_through_the_pages(app, redis_client):
    rev = staff_member("rev@agency.example", "reviewer")
    reviewer = signed_in(app, rev)
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


def test_adjusting_without_a_reason_is_refused_inline(app):
    reviewer = signed_in(app, staff_member("rev@agency.example", "reviewer"))
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


def test_liaisons_cannot_decide_and_conflicts_hide_proposals(app):
    liaison = signed_in(app, staff_member("lee@agency.example", "liaison"))
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
    reviewer = signed_in(app, staff_member("rev@agency.example", "reviewer"))
    reviewer.post("/staff/conflicts", data={"organization_name": "guild of roofers"})
    assert "Guild of Roofers" not in reviewer.get("/staff/queue").get_data(as_text=True)
    assert reviewer.get(f"/staff/proposals/{proposal_id}").status_code == 403


def test_coordinator_edits_priority_areas_on_the_page_and_the_queue_reorders(app):
    coordinator = signed_in(app, staff_member("cora@agency.example", "coordinator"))
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


def test_bad_scoring_input_is_shown_inline_and_nothing_changes(app):
    coordinator = signed_in(app, staff_member("cora@agency.example", "coordinator"))
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
    reviewer = signed_in(app, staff_member("rev@agency.example", "reviewer"))
    assert reviewer.get("/staff/scoring").status_code == 403


def test_a_reviewer_can_neither_take_over_nor_drop_another_reviewers_claim_by_the_form(app):
    rev = staff_member("rev@agency.example", "reviewer")
    rob = staff_member("rob@agency.example", "reviewer")
    holder, other = signed_in(app, rev), signed_in(app, rob)
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


def test_the_coordinator_takes_over_a_claim_by_the_form_and_the_holder_gives_back(app):
    rev = staff_member("rev@agency.example", "reviewer")
    cora = staff_member("cora@agency.example", "coordinator")
    holder, coordinator = signed_in(app, rev), signed_in(app, cora)
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


def test_a_nul_in_a_form_field_is_shown_beside_it_and_nothing_is_stored(app):
    reviewer = signed_in(app, staff_member("rev@agency.example", "reviewer"))
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


def test_a_conflicted_reviewer_does_not_see_or_release_a_decision_on_the_pages(app):
    preparer = signed_in(app, staff_member("rev@agency.example", "reviewer"))
    conflicted = signed_in(app, staff_member("rob@agency.example", "reviewer"))
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


def test_releasing_nothing_is_shown_on_the_decisions_page(app):
    reviewer = signed_in(app, staff_member("rev@agency.example", "reviewer"))
    response = reviewer.post("/staff/decisions", data={})
    assert response.status_code == 422
    assert "Nothing was released: Choose at least one decision to release." in response.get_data(
        as_text=True
    )
