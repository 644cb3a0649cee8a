"""The message log's search (issue 16): ``q`` on ``/staff/log`` and ``GET /api/v1/messages``
finds part of a reference (``ap-2026-1``, ``2026-0001``), part of a subject, or part of the
partner organization's name (kept folded in ``organization_key``), case aside; the
exact-reference filter stays as it was. A search never reaches past what the person may read
(a liaison searching another alliance's partner finds nothing), and ``%`` and ``_`` are taken
literally.
"""

from __future__ import annotations

from typing import Any

import pytest

from services.notify import create_app
from services.notify.models import Message
from services.notify.tasks import conflict_declared
from services.notify.worker import database
from tests.factories import (
    COORDINATOR,
    LIAISON,
    REVIEWER,
    ROOFERS,
    acting,
    acting_as,
    conflict_declared_event,
    signed_in,
)
from tests.integration.test_notify_log import (
    ROOFERS_KEY,
    a_message,
    follows,
    log_links,
    page_of,
)
from tests.integration.test_notify_log import a_proposals_story as story_of

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clean_databases")]

LEE = acting_as(LIAISON)
BAKERS_KEY = "great lakes bakers guild"


@pytest.fixture
def app(redis_client: Any):
    return create_app({"TESTING": True, "WTF_CSRF_ENABLED": False})


def a_proposals_story(reference: str, **values: Any) -> dict[str, Any]:
    """``test_notify_log``'s story of one proposal, its receipt's subject naming its own
    reference."""
    story = story_of(reference, **values)
    with database.transaction() as session:
        receipt = session.get(Message, story["receipt"])
        assert receipt is not None
        receipt.subject = f"We received your Alliance proposal {reference}"
    return story


def ids(story: dict[str, Any], *names: str) -> list[str]:
    return [str(story[name]) for name in names]


NEWEST_FIRST = ("reminder", "welcome_liaison", "welcome", "decision", "receipt")


def api_ids(client: Any, query: str) -> list[str]:
    answer = client.get(f"/api/v1/messages?{query}")
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return [m["id"] for m in answer.get_json()["messages"]]


def test_part_of_a_reference_finds_its_messages_case_aside(app):
    first = a_proposals_story("AP-2026-10007")
    second = a_proposals_story("AP-2026-20001")
    older = a_proposals_story("AP-2025-10007")
    client = signed_in(app, COORDINATOR)

    by_start = page_of(client.get("/staff/log?q=ap-2026-1"))
    by_middle = page_of(client.get("/staff/log?q=2026-2000"))
    by_end = page_of(client.get("/staff/log?q=%20-10007%20"))

    assert log_links(by_start) == ids(first, *NEWEST_FIRST)
    assert "<h1>Message log</h1>" in by_start  # a search is not one proposal's story
    assert 'value="ap-2026-1"' in by_start
    assert log_links(by_middle) == ids(second, *NEWEST_FIRST)
    assert sorted(log_links(by_end)) == sorted(
        ids(first, *NEWEST_FIRST) + ids(older, *NEWEST_FIRST)
    )
    assert api_ids(client, "q=AP-2026-1") == ids(first, *NEWEST_FIRST)
    # The exact filter is unchanged: a part of a reference is no reference.
    assert "No message matches" in page_of(client.get("/staff/log?reference=AP-2026-1"))
    exact = page_of(client.get("/staff/log?reference=ap-2026-20001"))
    assert "<h1>Messages about AP-2026-20001</h1>" in exact
    assert log_links(exact) == ids(second, *NEWEST_FIRST)
    # Search and filters combine.
    both = page_of(client.get("/staff/log?q=2026&to=lee@"))
    assert sorted(log_links(both)) == sorted(
        ids(first, "welcome_liaison") + ids(second, "welcome_liaison")
    )


def test_part_of_an_organizations_name_finds_its_messages(app):
    roofers = a_proposals_story("AP-2026-10007", organization_key=ROOFERS_KEY)
    bakers = a_proposals_story("AP-2026-10008", organization_key=BAKERS_KEY)
    operational = a_message(
        1,
        template="webhook_disabled",
        reference="",
        subject="Action required: a webhook endpoint was disabled (https://hooks.example/in)",
    )
    client = signed_in(app, REVIEWER)

    roofing = page_of(client.get("/staff/log?q=Roofing+Contractors"))
    folded = page_of(client.get("/staff/log?q=%20great%20LAKES,%20bakers%20"))

    assert log_links(roofing) == ids(roofers, *NEWEST_FIRST)
    assert log_links(folded) == ids(bakers, *NEWEST_FIRST)
    assert api_ids(client, "q=michigan+roofing") == ids(roofers, *NEWEST_FIRST)
    assert "No message matches" in page_of(client.get("/staff/log?q=Plumbers"))
    # A subject names what the message is about: the Coordinator finds it by its words.
    coordinator = signed_in(app, COORDINATOR)
    assert log_links(page_of(coordinator.get("/staff/log?q=webhook+ENDPOINT"))) == [
        str(operational)
    ]


def test_a_search_never_reaches_past_what_the_person_may_read(app):
    roofers = a_proposals_story("AP-2026-10007", organization_key=ROOFERS_KEY)
    bakers = a_proposals_story("AP-2026-10008", organization_key=BAKERS_KEY)
    a_message(1, template="webhook_disabled", reference="", subject="Bakers hook disabled")
    follows(LEE, roofers["welcome"])
    lee = signed_in(app, LEE)

    for words in ("bakers", "Great Lakes", "2026-10008", "hook"):
        assert log_links(page_of(lee.get(f"/staff/log?q={words}"))) == [], words
        assert api_ids(lee, f"q={words}") == [], words
    assert log_links(page_of(lee.get("/staff/log?q=AP-2026"))) == ids(roofers, *NEWEST_FIRST)
    assert api_ids(lee, "q=roofing") == ids(roofers, *NEWEST_FIRST)

    conflicted = acting("conflicted@agency.example", "coordinator")
    conflict_declared(event=conflict_declared_event(conflicted.staff_id, ROOFERS).to_message())
    theirs = signed_in(app, conflicted)
    assert log_links(page_of(theirs.get("/staff/log?q=roofing"))) == []
    assert api_ids(theirs, "q=AP-2026-1000") == ids(bakers, *NEWEST_FIRST)


def test_wildcards_in_a_search_are_taken_literally(app):
    percent = a_message(4, reference="", subject="Reached 100% of the goal")
    thousand = a_message(3, reference="", subject="Reached 1000 people")
    underscore = a_message(2, reference="", subject="File report_q1 attached")
    space = a_message(1, reference="", subject="File report q1 attached")
    client = signed_in(app, COORDINATOR)

    def found(words: str) -> list[str]:
        return log_links(page_of(client.get("/staff/log", query_string={"q": words})))

    assert found("100%") == [str(percent)]
    assert found("%") == [str(percent)]
    assert found("report_q1") == [str(underscore)]
    assert found("_") == [str(underscore)]
    assert found("\\") == []
    assert sorted(found("reached")) == sorted([str(percent), str(thousand)])
    assert sorted(found("report q1")) == [str(space)]
    assert api_ids(client, "q=100%25") == [str(percent)]
    assert api_ids(client, "q=_") == [str(underscore)]


def test_a_bad_search_is_said_beside_its_field(app):
    a_message()
    client = signed_in(app, COORDINATOR)

    too_long = client.get("/staff/log", query_string={"q": "x" * 201})
    blank = client.get("/api/v1/messages?q=%20%20")

    assert too_long.status_code == 422
    text = too_long.get_data(as_text=True)
    assert "Search with at most 200 characters." in text
    assert 'href="#q"' in text
    assert blank.status_code == 422
    assert blank.get_json()["errors"]["query.q"] == ["Give some words to search for."]


def test_the_api_documents_the_search(app):
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    parameters = spec["paths"]["/api/v1/messages"]["get"]["parameters"]
    [q] = [p for p in parameters if p["name"] == "q"]
    assert q["in"] == "query"
    assert "part of a reference" in q["description"]
