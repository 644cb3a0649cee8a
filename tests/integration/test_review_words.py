"""Review's pages say things in words, not codes: the queue's State filter lists the states by
name, the decisions and proposal pages show the profile's labels, the decision form's error
summary names each field by its label, and the changes since the previous version read as
the form names them (issue 16)."""

import re
from html import unescape

import pytest

from services.review import create_app
from tests.factories import proposal, queued_proposal, signed_in, staff_member

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
        "Signing date: Give the signing date.",
        "Term in years: A term of 1 to 5 years.",
    ]
    for target, _ in links:  # each link lands on its field
        assert f'id="{target}"' in html
    assert "Liaison id" not in html

    for kind, sent, expected in (
        ("", {}, "Decision: Choose a decision."),
        ("declined", {}, "Reason for declining: Give the reason for declining."),
        (
            "changes_requested",
            {},
            "What the applicant should change: Tell the applicant what to change.",
        ),
    ):
        html = reviewer.post(
            f"/staff/proposals/{proposal_id}/decision", data={"kind": kind, **sent}
        ).get_data(as_text=True)
        assert [text for _, text in summary_links(html)] == [expected]


def test_the_decisions_page_names_the_lead_division_by_its_label(app):
    reviewer = signed_in(app, staff_member("rev@agency.example", "reviewer"))
    lee = staff_member("lee@agency.example", "liaison", name="Lee Liaison")
    proposal_id = queued_proposal(proposal("Roofers")).proposal_id
    prepared = reviewer.post(
        f"/staff/proposals/{proposal_id}/decision",
        data={
            "kind": "approved",
            "division": "construction_safety_health",
            "liaison_id": str(lee.id),
            "signing_date": "2026-03-01",
            "term_years": "2",
        },
    )
    assert prepared.status_code == 303

    html = reviewer.get("/staff/decisions").get_data(as_text=True)

    assert "Lead division: Construction Safety &amp; Health; signing 2026-03-01, 2 years" in html
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
