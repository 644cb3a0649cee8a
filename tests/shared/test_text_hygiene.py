"""Text no one can type, and JSON nested absurdly deep, are refused at every service's edge
with a message naming the field, and nothing is stored: never a 500. Intake's public form
shows the message inline, beside the field, like any other refused input."""

import re
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from services.intake import create_app as create_intake
from services.intake.models import IdempotentRequest, OutboxEvent, Proposal, ProposalVersion
from services.intake.tasks import changes_requested
from services.intake.worker import database as intake_database
from services.notify import create_app as create_notify
from services.reporting import create_app as create_reporting
from services.review import create_app as create_review
from shared.events import new_event
from shared.testing import example_proposal
from shared.text_hygiene import json_depth_exceeds, untypable_character, untypable_fields
from tests.intake.test_views import form_fields

NUL_MESSAGE = "Remove the control character U+0000: it cannot be typed, and nothing was stored."


def proposals_stored() -> int | None:
    with intake_database.transaction() as session:
        return session.scalar(select(func.count()).select_from(Proposal))


def intake_rows() -> dict[str, int | None]:
    """How many rows each of intake's tables that a form writes to holds."""
    with intake_database.transaction() as session:
        return {
            model.__tablename__: session.scalar(select(func.count()).select_from(model))
            for model in (Proposal, ProposalVersion, OutboxEvent, IdempotentRequest)
        }


@pytest.mark.integration
@pytest.mark.usefixtures("clean_databases")
@pytest.mark.usefixtures("redis_client")
def test_a_nul_in_a_proposal_is_a_422_naming_the_field_and_nothing_is_stored():
    client = create_intake({"TESTING": True}).test_client()
    proposal = example_proposal()
    proposal["contact"]["name"] = "Dana\x00Smith"
    proposal["goals"][1]["description"] = "Train\x1b roofers"

    response = client.post("/api/v1/proposals", json=proposal)

    assert response.status_code == 422
    assert response.json == {
        "errors": {
            "contact.name": [NUL_MESSAGE],
            "goals.1.description": [
                "Remove the control character U+001B: it cannot be typed, and nothing was stored."
            ],
        }
    }
    assert proposals_stored() == 0


@pytest.mark.integration
@pytest.mark.usefixtures("clean_databases")
@pytest.mark.usefixtures("redis_client")
def test_json_nested_100000_deep_is_a_400_not_a_500():
    client = create_intake({"TESTING": True}).test_client()

    response = client.post(
        "/api/v1/proposals",
        data=b"[" * 100_000 + b"]" * 100_000,
        content_type="application/json",
    )

    assert response.status_code == 400
    assert response.json == {
        "errors": {"_request": ["The JSON body is nested too deeply: at most 32 levels."]}
    }
    assert proposals_stored() == 0


@pytest.mark.integration
@pytest.mark.usefixtures("clean_databases")
@pytest.mark.usefixtures("redis_client")
def test_a_nul_in_an_idempotency_key_or_a_query_parameter_is_refused():
    client = create_intake({"TESTING": True}).test_client()

    keyed = client.post(
        "/api/v1/proposals", json=example_proposal(), headers={"Idempotency-Key": "k\x00"}
    )
    queried = client.get("/api/v1/proposals/00000000-0000-0000-0000-000000000000?token=a%00b")

    assert (keyed.status_code, keyed.json) == (422, {"errors": {"Idempotency-Key": [NUL_MESSAGE]}})
    assert (queried.status_code, queried.json) == (422, {"errors": {"query.token": [NUL_MESSAGE]}})
    assert proposals_stored() == 0


@pytest.mark.integration
@pytest.mark.usefixtures("clean_databases")
@pytest.mark.usefixtures("redis_client")
@pytest.mark.parametrize(
    ("factory", "path"),
    [
        (create_review, "/staff/sign-in"),
        (create_intake, "/apply"),
        (create_notify, "/staff/messages"),
        (create_reporting, "/staff/reports"),
    ],
)
def test_a_nul_in_a_form_field_is_a_422_page_on_every_service(factory, path):
    client = factory({"TESTING": True, "WTF_CSRF_ENABLED": False}).test_client()

    response = client.post(
        path, data={"email": "someone\x00@agency.example"}, headers={"Accept": "text/html"}
    )

    body = response.get_data(as_text=True)
    assert response.status_code == 422
    # The edge's plain page names the field; a form whose schema checks its own text shows
    # the message in the form (intake's, below: beside the field).
    assert f"email: {NUL_MESSAGE}" in body or (
        response.mimetype == "text/html" and NUL_MESSAGE in body
    )
    assert "\x00" not in body


# Intake's public form: the message inline, beside the field


@pytest.fixture
def form_client(redis_client):
    return create_intake({"TESTING": True, "WTF_CSRF_ENABLED": False}).test_client()


def post_form(client, url: str, fields: list[tuple[str, str]]):
    return client.post(url, data=MultiDict([*fields, ("contact.nickname", "")]))


def inline_error(html: str, field_id: str) -> str:
    """The message shown beside the field with element id ``field_id`` ('' if none)."""
    found = re.search(
        rf'<span class="usa-error-message" id="{field_id}-error">([^<]*)</span>', html
    )
    return found.group(1) if found else ""


def summary_links(html: str) -> list[str]:
    return re.findall(r'<li><a class="usa-link" href="#([^"]+)">', html)


@pytest.mark.integration
@pytest.mark.usefixtures("clean_databases")
def test_a_nul_in_the_proposal_form_is_shown_beside_its_field_and_nothing_is_stored(form_client):
    proposal = example_proposal()
    proposal["contact"]["name"] = "Dana\x00Smith"
    proposal["goals"][1]["description"] = "Train\x1b roofers"
    fields = [*form_fields(proposal), ("action", "submit"), ("submission_id", uuid.uuid4().hex)]

    response = post_form(form_client, "/apply", fields)

    html = response.get_data(as_text=True)
    assert (response.status_code, response.mimetype) == (422, "text/html")
    assert inline_error(html, "contact-name") == NUL_MESSAGE
    assert inline_error(html, "goals-1-description") == (
        "Remove the control character U+001B: it cannot be typed, and nothing was stored."
    )
    assert summary_links(html) == ["contact-name", "goals-1-description"]
    # What was typed is kept, the untypable character shown as U+FFFD and never sent raw.
    assert 'value="Dana\ufffdSmith"' in html
    assert "\x00" not in html
    assert "\x1b" not in html
    assert 'value="Michigan Roofing Contractors Association"' in html
    assert intake_rows() == dict.fromkeys(
        ["proposals", "proposal_versions", "outbox_events", "idempotent_requests"], 0
    )


@pytest.mark.integration
@pytest.mark.usefixtures("clean_databases")
def test_a_nul_when_saving_a_draft_is_shown_inline_and_no_draft_is_stored(form_client):
    fields = [
        ("organization.name", "Half-done\x00 Roofers"),
        ("contact.email", "dana@example.org"),
        ("goals.0.category", "outreach_communication"),
        ("action", "save_draft"),
    ]

    response = post_form(form_client, "/apply", fields)

    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert inline_error(html, "organization-name") == NUL_MESSAGE
    assert 'value="dana@example.org"' in html
    assert intake_rows()["proposals"] == 0
    assert intake_rows()["outbox_events"] == 0


@pytest.mark.integration
@pytest.mark.usefixtures("clean_databases")
def test_a_nul_in_a_resumed_draft_leaves_the_draft_as_it_was(form_client):
    saved = post_form(
        form_client,
        "/apply",
        [
            ("organization.name", "Half-done Roofers"),
            ("contact.email", "dana@example.org"),
            ("action", "save_draft"),
        ],
    )
    draft_token = saved.headers["Location"].split("/apply/resume/", 1)[1].split("?", 1)[0]
    before = intake_rows()

    for action in ("save_draft", "submit"):
        response = post_form(
            form_client,
            "/apply",
            [
                *form_fields(example_proposal(hazards_other="Ladders\x00")),
                ("action", action),
                ("draft_token", draft_token),
            ],
        )
        html = response.get_data(as_text=True)
        assert response.status_code == 422, action
        assert inline_error(html, "hazards-other") == NUL_MESSAGE
        # Still the resumed draft's form: sending it again updates that draft.
        assert f'name="draft_token" value="{draft_token}"' in html

    assert intake_rows() == before
    with intake_database.transaction() as session:
        draft = session.scalars(select(Proposal)).one()
        assert (draft.status, draft.organization_name) == ("draft", "Half-done Roofers")
        assert draft.data["organization"] == {"name": "Half-done Roofers"}


@pytest.mark.integration
@pytest.mark.usefixtures("clean_databases")
def test_a_nul_when_editing_after_changes_were_requested_is_shown_inline(form_client):
    submitted = post_form(
        form_client, "/apply", [*form_fields(example_proposal()), ("action", "submit")]
    )
    token = submitted.headers["Location"].rsplit("/", 1)[1]
    with intake_database.transaction() as session:
        proposal_id = session.scalars(select(Proposal.id)).one()
    changes_requested(
        event=new_event(
            "proposal.changes_requested",
            producer="review",
            payload={
                "proposal_id": proposal_id,
                "reference": "AP-2026-00001",
                "contact_email": "dana@example.org",
                "version": 1,
                "message": "Please name the conferences.",
                "requested_at": datetime.now(UTC),
            },
        ).to_message()
    )
    before = intake_rows()
    edited = example_proposal()
    edited["goals"][0]["activities_other"] = "The\x00 Michigan Safety Conference"

    response = post_form(
        form_client, f"/status/{token}/edit", [*form_fields(edited), ("action", "submit")]
    )

    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert inline_error(html, "goals-0-activities-other") == NUL_MESSAGE
    assert f'action="/status/{token}/edit"' in html  # still the edit form
    assert "Resubmit proposal" in html
    assert intake_rows() == before
    with intake_database.transaction() as session:
        proposal = session.get(Proposal, proposal_id)
        assert proposal is not None
        assert (proposal.status, proposal.version) == ("changes_requested", 1)


@pytest.mark.integration
@pytest.mark.usefixtures("clean_databases")
def test_a_nul_in_a_hidden_field_of_the_form_is_named_and_nothing_is_stored(form_client):
    fields = [*form_fields(example_proposal()), ("action", "submit"), ("submission_id", "a\x00")]

    response = post_form(form_client, "/apply", fields)

    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f"Submission id: {NUL_MESSAGE}" in html
    assert intake_rows() == dict.fromkeys(
        ["proposals", "proposal_versions", "outbox_events", "idempotent_requests"], 0
    )


@pytest.mark.unit
def test_only_characters_no_one_can_type_are_untypable():
    assert untypable_character("Dana Smith\tSafety Director\r\nLansing") is None
    assert untypable_character("Zoë, 東京, emoji 🙂") is None
    assert untypable_character("Dana\x00Smith") == "\x00"
    assert untypable_character("bell\x07") == "\x07"
    assert untypable_character("delete\x7f") == "\x7f"


@pytest.mark.unit
def test_json_depth_is_measured_without_parsing_and_ignores_brackets_in_strings():
    assert json_depth_exceeds(b"[" * 33 + b"]" * 33, limit=32) is True
    assert json_depth_exceeds(b"[" * 32 + b"]" * 32, limit=32) is False
    assert json_depth_exceeds(b'{"a": "[[[[[[", "b": "\\"[[[["}', limit=1) is False
    assert json_depth_exceeds(b'{"a": {"b": ["c"]}}', limit=2) is True


@pytest.mark.unit
def test_every_untypable_string_is_named_by_its_path_keys_included():
    body = {
        "contact": {"name": "Dana\x00"},
        "goals": [{"description": "ok"}, {"description": "bad\x01"}],
        "bad\x02key": 1,
    }
    assert sorted(untypable_fields(body)) == [
        ("bad\x02key", "\x02"),
        ("contact.name", "\x00"),
        ("goals.1.description", "\x01"),
    ]
