"""Drafts, status links, idempotency, changes requested and resubmission, over the API."""

import re
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from sqlalchemy import func, select, text, update

from services.intake import create_app
from services.intake.models import OutboxEvent, Proposal, ProposalVersion, SentMessage
from services.intake.tasks import changes_requested, expire_drafts, message_sent
from services.intake.tokens import make_token
from services.intake.worker import database
from shared.events import new_event
from shared.proposal import OUTREACH_REQUIRED_MESSAGE
from shared.testing import example_proposal
from tests.helpers import queued_tasks

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clean_databases")]


@pytest.fixture
def client(redis_client):
    return create_app({"TESTING": True}).test_client()


def token_of(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[1]


def count(model) -> int | None:
    with database.transaction() as session:
        return session.scalar(select(func.count()).select_from(model))


def submit(client, **headers):
    response = client.post("/api/v1/proposals", json=example_proposal(), headers=headers)
    assert response.status_code == 201, response.json
    return response.json


def request_changes(proposal_id: str, *, version: int = 1, message: str = "Add a measure."):
    event = new_event(
        "proposal.changes_requested",
        producer="review",
        payload={
            "proposal_id": uuid.UUID(proposal_id),
            "reference": "AP-2026-00001",
            "contact_email": "dana@example.org",
            "version": version,
            "message": message,
            "requested_at": datetime.now(UTC),
        },
    )
    changes_requested(event=event.to_message())


def test_status_link_shows_state_and_history(client):
    submitted = submit(client)
    token = token_of(submitted["status_url"])

    response = client.get(f"/api/v1/proposals/{submitted['id']}?token={token}")

    assert response.status_code == 200
    body = response.json
    assert (body["reference"], body["status"], body["version"]) == (
        submitted["reference"],
        "submitted",
        1,
    )
    assert [h["status"] for h in body["history"]] == ["submitted"]
    assert body["editable"] is False
    assert body["messages"] == []


def test_status_link_for_another_proposal_or_altered_is_refused(client):
    first = submit(client)
    second = submit(client)
    first_token = token_of(first["status_url"])

    wrong = client.get(f"/api/v1/proposals/{second['id']}?token={first_token}")
    altered = client.get(f"/api/v1/proposals/{first['id']}?token={first_token[:-2]}xx")
    missing = client.get(f"/api/v1/proposals/{first['id']}")

    assert (wrong.status_code, altered.status_code, missing.status_code) == (404, 404, 422)
    assert wrong.json["errors"]["token"] == ["This link is not valid for this proposal."]
    assert "query.token" in missing.json["errors"]


def test_expired_status_link_says_so(client, monkeypatch):
    submitted = submit(client)
    token = token_of(submitted["status_url"])
    monkeypatch.setenv("INTAKE_STATUS_LINK_DAYS", "1")
    import itsdangerous.timed

    later = datetime.now(UTC) + timedelta(days=2)
    monkeypatch.setattr(itsdangerous.timed.time, "time", later.timestamp)

    response = client.get(f"/api/v1/proposals/{submitted['id']}?token={token}")

    assert response.status_code == 403
    assert "expired" in response.json["errors"]["token"][0]


def test_draft_is_saved_resumed_updated_and_submitted(client, redis_client):
    partial = {
        "contact": {"email": "dana@example.org", "name": "Dana"},
        "organization": {"name": "Roofers", "address": {"zip": "48"}},
    }
    created = client.post("/api/v1/drafts", json={"proposal": partial})
    assert created.status_code == 201
    draft_id = created.json["id"]
    token = token_of(created.json["resume_url"])
    [(task, kwargs)] = queued_tasks(redis_client, "notify")
    assert task == "notify.draft_saved"
    # The mailed link and the answer's are signed apart (a second may pass between them):
    # both resume this draft.
    mailed = token_of(kwargs["event"]["payload"]["resume_url"])
    assert client.get(f"/api/v1/drafts/{draft_id}?token={mailed}").status_code == 200

    loaded = client.get(f"/api/v1/drafts/{draft_id}?token={token}")
    assert loaded.json["proposal"] == partial  # kept as typed, invalid ZIP and all

    incomplete = client.post(f"/api/v1/drafts/{draft_id}/submit?token={token}")
    assert incomplete.status_code == 422
    assert "organization.address.zip" in incomplete.json["errors"]

    updated = client.put(
        f"/api/v1/drafts/{draft_id}?token={token}", json={"proposal": example_proposal()}
    )
    assert updated.status_code == 200
    submitted = client.post(f"/api/v1/drafts/{draft_id}/submit?token={token}")
    assert submitted.status_code == 201
    assert submitted.json["id"] == draft_id  # the draft became the proposal
    assert submitted.json["reference"].startswith("AP-")

    gone = client.get(f"/api/v1/drafts/{draft_id}?token={token}")
    assert gone.status_code == 404
    assert count(Proposal) == 1


def test_draft_needs_a_valid_contact_email(client):
    response = client.post("/api/v1/drafts", json={"proposal": {"contact": {"email": "nope"}}})
    assert response.status_code == 422
    assert list(response.json["errors"]) == ["proposal.contact.email"]
    assert count(Proposal) == 0


def test_draft_link_does_not_open_the_status_api_and_vice_versa(client):
    draft = client.post(
        "/api/v1/drafts", json={"proposal": {"contact": {"email": "a@example.org"}}}
    ).json
    draft_token = token_of(draft["resume_url"])
    response = client.get(f"/api/v1/proposals/{draft['id']}?token={draft_token}")
    assert response.status_code == 404
    # Each kind of link opens its own API only, even when signed for the same id: a draft
    # link for a submitted proposal opens no status, a status link for a draft no draft.
    proposal_id = submit(client)["id"]
    status_token = make_token("status", uuid.UUID(proposal_id))
    assert client.get(f"/api/v1/proposals/{proposal_id}?token={status_token}").status_code == 200
    as_draft = make_token("draft", uuid.UUID(proposal_id))
    assert client.get(f"/api/v1/proposals/{proposal_id}?token={as_draft}").status_code == 404

    assert client.get(f"/api/v1/drafts/{draft['id']}?token={draft_token}").status_code == 200
    as_status = make_token("status", uuid.UUID(draft["id"]))
    assert client.get(f"/api/v1/drafts/{draft['id']}?token={as_status}").status_code == 404
    changed = {"proposal": example_proposal()}
    put = client.put(f"/api/v1/drafts/{draft['id']}?token={as_status}", json=changed)
    assert put.status_code == 404
    sent = client.post(f"/api/v1/drafts/{draft['id']}/submit?token={as_status}")
    assert sent.status_code == 404
    assert count(Proposal) == 2  # the submitted proposal and the draft, still a draft
    assert client.get(f"/api/v1/drafts/{draft['id']}?token={draft_token}").status_code == 200


def test_expired_drafts_are_removed(client):
    draft = client.post(
        "/api/v1/drafts", json={"proposal": {"contact": {"email": "a@example.org"}}}
    ).json
    submit(client)
    with database.transaction() as session:
        session.execute(
            update(Proposal)
            .where(Proposal.id == draft["id"])
            .values(draft_expires_at=datetime.now(UTC) - timedelta(minutes=1))
        )

    assert expire_drafts() == 1
    assert count(Proposal) == 1
    token = token_of(draft["resume_url"])
    assert client.get(f"/api/v1/drafts/{draft['id']}?token={token}").status_code == 404


def test_changes_requested_then_resubmitted_keeps_every_version(client, redis_client):
    submitted = submit(client)
    token = token_of(submitted["status_url"])
    not_yet = client.put(
        f"/api/v1/proposals/{submitted['id']}?token={token}", json=example_proposal()
    )
    assert not_yet.status_code == 409

    request_changes(submitted["id"], message="Please add a measure for the outreach goal.")
    status = client.get(f"/api/v1/proposals/{submitted['id']}?token={token}").json
    assert status["status"] == "changes_requested"
    assert status["editable"] is True
    assert status["changes_requested"] == "Please add a measure for the outreach goal."

    edited = example_proposal()
    edited["goals"][0]["measure"] = "members reached, downloads"
    redis_client.flushdb()
    resubmitted = client.put(f"/api/v1/proposals/{submitted['id']}?token={token}", json=edited)

    assert resubmitted.status_code == 200
    assert (resubmitted.json["version"], resubmitted.json["status"]) == (2, "resubmitted")
    with database.transaction() as session:
        versions = session.scalars(select(ProposalVersion).order_by(ProposalVersion.version))
        measures = [v.data["goals"][0]["measure"] for v in versions]
    assert measures == ["members reached", "members reached, downloads"]
    review = queued_tasks(redis_client, "review")
    assert [name for name, _ in review] == ["review.proposal_resubmitted"]
    assert review[0][1]["event"]["payload"]["version"] == 2
    history = client.get(f"/api/v1/proposals/{submitted['id']}?token={token}").json["history"]
    assert [h["status"] for h in history] == ["submitted", "changes_requested", "resubmitted"]


def test_a_stale_changes_request_does_not_reopen_a_newer_version(client):
    submitted = submit(client)
    request_changes(submitted["id"])
    token = token_of(submitted["status_url"])
    client.put(f"/api/v1/proposals/{submitted['id']}?token={token}", json=example_proposal())

    request_changes(submitted["id"], version=1)  # late, about version 1

    status = client.get(f"/api/v1/proposals/{submitted['id']}?token={token}").json
    assert status["status"] == "resubmitted"


def test_sent_messages_appear_on_the_status(client):
    submitted = submit(client)
    event = new_event(
        "message.sent",
        producer="notify",
        payload={
            "message_id": uuid.uuid4(),
            "proposal_id": uuid.UUID(submitted["id"]),
            "reference": submitted["reference"],
            "template": "proposal_receipt",
            "subject": f"We received your Alliance proposal {submitted['reference']}",
            "to_address": "dana@example.org",
            "sent_at": datetime.now(UTC),
        },
    )
    message_sent(event=event.to_message())
    message_sent(event=event.to_message())

    token = token_of(submitted["status_url"])
    messages = client.get(f"/api/v1/proposals/{submitted['id']}?token={token}").json["messages"]
    assert [m["subject"] for m in messages] == [
        f"We received your Alliance proposal {submitted['reference']}"
    ]
    assert count(SentMessage) == 1


def test_submissions_are_rate_limited_per_client(redis_client):
    client = create_app({"TESTING": True, "INTAKE_RATE_LIMIT": "2 per minute"}).test_client()
    codes = [
        client.post("/api/v1/proposals", json=example_proposal()).status_code for _ in range(3)
    ]
    assert codes == [201, 201, 429]
    assert count(Proposal) == 2
    refused = client.post("/api/v1/proposals", json=example_proposal())
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60  # when the minute's window ends


def test_references_count_up_with_at_least_five_digits(client):
    # An applicant reads it over the phone: AP-<year>-<number of at least five digits>.
    first, second = submit(client)["reference"], submit(client)["reference"]
    assert re.fullmatch(r"AP-\d{4}-00001", first), first
    assert second == first.replace("00001", "00002")
    with database.transaction() as session:
        session.execute(text("ALTER SEQUENCE proposal_reference_seq RESTART WITH 123456"))
    assert submit(client)["reference"] == first.replace("00001", "123456")


def test_openapi_document_describes_the_api(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.json
    assert spec["openapi"].startswith("3.")
    assert {
        "/api/v1/proposals",
        "/api/v1/proposals/{proposal_id}",
        "/api/v1/drafts",
        "/api/v1/drafts/{draft_id}",
        "/api/v1/drafts/{draft_id}/submit",
    } <= set(spec["paths"])
    post = spec["paths"]["/api/v1/proposals"]["post"]
    assert "Idempotency-Key" in [p["name"] for p in post["parameters"]]
    assert "ProposalInput" in spec["components"]["schemas"]


def test_status_url_uses_the_public_base_url(client, monkeypatch):
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://alliances.agency.example")
    url = urlparse(submit(client)["status_url"])
    assert f"{url.scheme}://{url.netloc}" == "https://alliances.agency.example"
    assert url.path.startswith("/status/")
    assert parse_qs(url.query) == {}


def test_an_idempotency_key_of_the_longest_allowed_length_works(client):
    key = "k" * 200  # the documented maxLength; stored with its scope, it would not fit as is
    first = client.post(
        "/api/v1/proposals", json=example_proposal(), headers={"Idempotency-Key": key}
    )
    again = client.post(
        "/api/v1/proposals", json=example_proposal(), headers={"Idempotency-Key": key}
    )
    longer = client.post(
        "/api/v1/proposals", json=example_proposal(), headers={"Idempotency-Key": key + "k"}
    )

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json == first.json
    assert (longer.status_code, longer.json) == (
        422,
        {"errors": {"Idempotency-Key": ["Use at most 200 characters."]}},
    )
    assert count(Proposal) == 1


def test_the_edit_page_shows_what_the_agency_asked_also_when_the_form_comes_back(client):
    submitted = submit(client)
    token = token_of(submitted["status_url"])
    request_changes(submitted["id"], message="Please add a measure.\nAnd name the <trainers>.")
    page = client.get(f"/status/{token}/edit").get_data(as_text=True)
    asked = page.partition('id="changes-requested"')[2].partition("</div>\n</div>")[0]
    assert "What the agency asked you to change" in asked
    assert "Please add a measure.\nAnd name the &lt;trainers&gt;." in asked
    # Refused for a missing field, the form keeps the request above it.
    app = create_app({"TESTING": True, "WTF_CSRF_ENABLED": False})
    refused = app.test_client().post(f"/status/{token}/edit", data={"action": "submit"})
    assert refused.status_code == 422
    assert "Please add a measure." in refused.get_data(as_text=True)
    # The form for a new proposal asks nothing of the kind.
    assert 'id="changes-requested"' not in client.get("/apply").get_data(as_text=True)


@pytest.fixture
def client_intake_api():
    return create_app({"TESTING": True}).test_client()


def stored_counts() -> tuple[int | None, ...]:
    with database.transaction() as session:
        return tuple(
            session.scalar(select(func.count()).select_from(model))
            for model in (Proposal, ProposalVersion, OutboxEvent)
        )


def test_spec_example_is_accepted_stored_and_announced(client_intake_api, redis_client):
    response = client_intake_api.post("/api/v1/proposals", json=example_proposal())

    assert response.status_code == 201
    body = response.json
    assert body["status"] == "submitted"
    assert body["reference"].startswith("AP-2026-") or body["reference"].startswith("AP-")
    with database.transaction() as session:
        proposal = session.get(Proposal, body["id"])
        assert proposal is not None
        assert proposal.reference == body["reference"]
        assert proposal.contact_email == "dana@example.org"
        assert [v.version for v in proposal.versions] == [1]
    [(task, kwargs)] = queued_tasks(redis_client, "review")
    assert task == "review.proposal_submitted"
    event = kwargs["event"]
    assert event["type"] == "proposal.submitted"
    assert event["producer"] == "intake"
    assert event["payload"]["proposal_id"] == body["id"]
    assert event["payload"]["reference"] == body["reference"]
    assert event["payload"]["proposal"]["organization"]["name"] == (
        "Michigan Roofing Contractors Association"
    )


def test_references_are_distinct(client_intake_api, redis_client):
    first = client_intake_api.post("/api/v1/proposals", json=example_proposal()).json["reference"]
    second = client_intake_api.post("/api/v1/proposals", json=example_proposal()).json["reference"]
    assert first != second


def test_no_outreach_goal_is_a_422_with_the_goals_path(client_intake_api, redis_client):
    data = example_proposal()
    data["goals"] = [g for g in data["goals"] if g["category"] != "outreach_communication"]

    response = client_intake_api.post("/api/v1/proposals", json=data)

    assert response.status_code == 422
    assert response.json == {"errors": {"goals": [OUTREACH_REQUIRED_MESSAGE]}}
    assert stored_counts() == (0, 0, 0)
    assert redis_client.llen("review") == 0


def test_agency_lists_are_checked_with_field_paths(client_intake_api, redis_client):
    data = example_proposal(hazards=["falls", "asteroids"], requested_division="moon_office")
    data["goals"][0]["activities"] = ["mailing_lists", "skywriting"]
    data["priority"]["priority_areas"] = ["gravity"]

    response = client_intake_api.post("/api/v1/proposals", json=data)

    assert response.status_code == 422
    assert sorted(response.json["errors"]) == [
        "goals.0.activities",
        "hazards",
        "priority.priority_areas",
        "requested_division",
    ]
    assert "asteroids" in response.json["errors"]["hazards"][0]
    assert stored_counts() == (0, 0, 0)


def test_federal_profile_uses_office_levels(client_intake_api, monkeypatch):
    monkeypatch.setenv("AGENCY_PROFILE", "federal")
    response = client_intake_api.post("/api/v1/proposals", json=example_proposal())
    assert response.status_code == 422
    assert list(response.json["errors"]) == ["requested_division"]
    assert "national_office" in response.json["errors"]["requested_division"][0]

    ok = client_intake_api.post(
        "/api/v1/proposals", json=example_proposal(requested_division="regional_office")
    )
    assert ok.status_code == 201


def stored_lead(proposal_id: str) -> tuple[str, str]:
    with database.transaction() as session:
        proposal = session.get(Proposal, proposal_id)
        assert proposal is not None
        payload = proposal.versions[-1].data
        return payload["requested_division"], payload["requested_office"]


def test_a_federal_proposal_names_its_office_and_its_level_follows(
    client_intake_api, redis_client, monkeypatch
):
    monkeypatch.setenv("AGENCY_PROFILE", "federal")
    data = example_proposal(requested_office="area_lansing")
    del data["requested_division"]

    response = client_intake_api.post("/api/v1/proposals", json=data)

    assert response.status_code == 201, response.json
    assert stored_lead(response.json["id"]) == ("area_office", "area_lansing")
    [(_, kwargs)] = queued_tasks(redis_client, "review")
    assert kwargs["event"]["payload"]["proposal"]["requested_office"] == "area_lansing"

    # A level alone puts the proposal at the top office, which routes it.
    only_level = client_intake_api.post(
        "/api/v1/proposals", json=example_proposal(requested_division="regional_office")
    )
    assert stored_lead(only_level.json["id"]) == ("regional_office", "national_office")


@pytest.mark.parametrize(
    ("lead", "errors"),
    [
        ({"requested_office": "area_atlantis"}, {"requested_office"}),
        (
            {"requested_office": "area_lansing", "requested_division": "regional_office"},
            {"requested_office"},
        ),
        ({}, {"requested_division"}),
        ({"requested_office": "Region 5"}, {"requested_office"}),
    ],
)
def test_a_wrong_office_is_a_422_naming_the_office_and_stores_nothing(
    client_intake_api, redis_client, monkeypatch, lead, errors
):
    monkeypatch.setenv("AGENCY_PROFILE", "federal")
    data = example_proposal()
    del data["requested_division"]
    data.update(lead)

    response = client_intake_api.post("/api/v1/proposals", json=data)

    assert response.status_code == 422
    assert set(response.json["errors"]) == errors
    assert stored_counts() == (0, 0, 0)


def test_a_state_plan_proposal_belongs_to_its_lead_division(client_intake_api, redis_client):
    response = client_intake_api.post(
        "/api/v1/proposals",
        json=example_proposal(requested_division="construction_safety_health"),
    )
    assert response.status_code == 201
    assert stored_lead(response.json["id"]) == (
        "construction_safety_health",
        "construction_safety_health",
    )


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"not json at all", "application/json"),
        (b'{"organization": ', "application/json"),
        (b"organization=x", "application/x-www-form-urlencoded"),
        (b"[1, 2, 3]", "application/json"),
    ],
)
def test_bad_bodies_are_4xx_with_a_message_and_store_nothing(client_intake_api, body, content_type):
    response = client_intake_api.post("/api/v1/proposals", data=body, content_type=content_type)
    assert response.status_code == 422
    assert response.json["errors"]
    assert stored_counts() == (0, 0, 0)


def test_oversized_request_is_refused(client_intake_api):
    huge = example_proposal(hazards_other="x" * (300 * 1024))
    response = client_intake_api.post("/api/v1/proposals", json=huge)
    assert response.status_code == 413
    assert response.json["errors"]["_request"]
    assert stored_counts() == (0, 0, 0)


def test_unknown_route_answers_json_404(client_intake_api):
    response = client_intake_api.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json["errors"]["_request"]
