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
