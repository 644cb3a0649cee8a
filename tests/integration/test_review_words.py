"""Review's pages say things in words, not codes: the queue's State filter lists the states by
name, the decisions and proposal pages show the profile's labels, the decision form's error
summary names each field by its label, and the changes since the previous version read as
the form names them (issue 16)."""

import re
from html import unescape

import pytest

from services.intake import create_app as create_intake
from services.review import audit, create_app
from services.review.queue import domain as queue
from services.review.worker import database
from shared.testing import example_proposal
from tests.factories import proposal, queued_proposal, signed_in, staff_member
from tests.helpers import queued_tasks

DASH = "\N{EN DASH}"

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clean_databases")]


@pytest.fixture
def app(redis_client):
    return create_app({"TESTING": True, "WTF_CSRF_ENABLED": False})


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


def test_the_queues_state_filter_lists_the_states_by_name_and_filters_by_code(app):
    reviewer = signed_in(app, staff_member("rev@agency.example", "reviewer"))
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


def test_the_decision_forms_error_summary_names_each_field_by_its_label(app):
    rev = staff_member("rev@agency.example", "reviewer")
    reviewer = signed_in(app, rev)
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


def test_the_decisions_page_names_the_lead_division_and_who_prepared_it(app):
    reviewer = signed_in(app, staff_member("rev@agency.example", "reviewer", name="Riley Reviewer"))
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


def test_the_proposal_page_names_hazards_activities_and_choices_by_their_labels(app):
    reviewer = signed_in(app, staff_member("rev@agency.example", "reviewer"))
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
    app, redis_client
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
    reviewer = signed_in(app, rev)
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
