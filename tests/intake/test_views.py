"""The public form over HTTP (no browser): validation, drafts, double submission, CSRF."""

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from services.intake import create_app
from services.intake.models import Proposal
from services.intake.tasks import changes_requested
from services.intake.worker import database
from shared.events import new_event
from shared.testing import example_proposal
from tests.helpers import queued_tasks

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clean_databases")]


def form_fields(data: dict) -> list[tuple[str, str]]:
    """What a browser sends for ``data`` filled into the form."""
    fields: list[tuple[str, str]] = []

    def walk(prefix: str, value) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else key, inner)
        elif isinstance(value, list) and prefix != "goals":
            fields.extend((prefix, str(v)) for v in value)
        elif prefix == "goals":
            for index, goal in enumerate(value):
                walk(f"goals.{index}", goal)
        else:
            fields.append((prefix, "" if value is None else str(value)))

    walk("", data)
    return fields


class FormClient:
    """A test client that posts repeated fields as a browser does (a list of pairs)."""

    def __init__(self, app):
        self.client = app.test_client()

    def get(self, url):
        return self.client.get(url)

    def post(self, url, data):
        # A browser always sends the hidden honeypot field, empty.
        if not any(name == "contact.nickname" for name, _ in data):
            data = [*data, ("contact.nickname", "")]
        return self.client.post(url, data=MultiDict(data))


@pytest.fixture
def client(redis_client):
    return FormClient(create_app({"TESTING": True, "WTF_CSRF_ENABLED": False}))


def count() -> int | None:
    with database.transaction() as session:
        return session.scalar(select(func.count()).select_from(Proposal))


def summary_links(html: str) -> list[str]:
    return re.findall(r'<li><a class="usa-link" href="#([^"]+)">', html)


def test_empty_form_offers_every_section(client):
    html = client.get("/apply").get_data(as_text=True)
    for name in (
        "organization.name",
        "organization.type",
        "organization.address.zip",
        "contact.email",
        "contact.fax",
        "hazards",
        "hazards_other",
        "goals.0.description",
        "goals.0.term",
        "goals.0.activities",
        "goals.0.measure",
        "priority.priority_areas",
        "priority.emerging_issue",
        "priority.expertise_gap",
        "requested_division",
        "existing_relationship",
    ):
        assert f'name="{name}"' in html, name
    assert 'value="add_goal:training_education"' in html
    assert 'value="add_goal:national_dialogue"' not in html  # state plan: no such category
    assert 'name="csrf_token"' in html


def test_bad_input_is_shown_inline_and_summarised_and_nothing_typed_is_lost(client):
    data = example_proposal()
    data["organization"]["address"]["zip"] = "4893"
    data["contact"]["email"] = "dana-at-example"
    data["organization"]["name"] = "Roofers <b>United</b>"

    response = client.post("/apply", data=[*form_fields(data), ("action", "submit")])

    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert summary_links(html) == ["organization-address-zip", "contact-email"]
    assert 'id="organization-address-zip-error"' in html
    assert "Enter a 5-digit ZIP code, like 48933." in html
    assert 'value="4893"' in html
    assert 'value="dana-at-example"' in html
    assert 'value="Roofers &lt;b&gt;United&lt;/b&gt;"' in html  # never rendered as HTML
    assert 'value="Publish fall-protection toolbox talks to members"' in html or (
        "Publish fall-protection toolbox talks to members</textarea>" in html
    )
    assert count() == 0


def test_no_outreach_goal_is_explained_next_to_the_goals(client):
    data = example_proposal()
    data["goals"] = [g for g in data["goals"] if g["category"] != "outreach_communication"]

    response = client.post("/apply", data=[*form_fields(data), ("action", "submit")])

    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert summary_links(html) == ["goals-outreach-communication"]
    assert 'id="goals-outreach-communication-error"' in html
    assert "every alliance must include one" in html
    assert count() == 0


def test_goals_can_be_added_and_removed_without_losing_anything(client):
    data = example_proposal()
    added = client.post(
        "/apply", data=[*form_fields(data), ("action", "add_goal:training_education")]
    ).get_data(as_text=True)
    assert 'name="goals.2.description"' in added
    assert "Train 500 roofers in fall protection" in added

    removed = client.post(
        "/apply", data=[*form_fields(data), ("action", "remove_goal:1")]
    ).get_data(as_text=True)
    assert "Train 500 roofers in fall protection" not in removed
    assert 'name="goals.1.description"' not in removed
    assert "Dana Smith" in removed
    assert count() == 0


def test_valid_form_submits_once_even_if_sent_twice(client, redis_client):
    fields = [
        *form_fields(example_proposal()),
        ("action", "submit"),
        ("submission_id", uuid.uuid4().hex),
    ]
    first = client.post("/apply", data=fields)
    second = client.post("/apply", data=fields)

    assert (first.status_code, second.status_code) == (303, 303)
    assert first.headers["Location"] == second.headers["Location"]
    assert count() == 1
    confirmation = client.get(first.headers["Location"]).get_data(as_text=True)
    with database.transaction() as session:
        reference = session.scalars(select(Proposal.reference)).one()
    assert f"Your reference number is <strong>{reference}</strong>" in confirmation
    assert [name for name, _ in queued_tasks(redis_client, "review")] == [
        "review.proposal_submitted"
    ]


def test_draft_needs_an_email_then_saves_and_resumes(client, redis_client):
    partial = [
        ("organization.name", "Half-done Roofers"),
        ("contact.email", ""),
        ("goals.0.category", "outreach_communication"),
        ("goals.0.description", "Toolbox talks"),
        ("action", "save_draft"),
    ]
    refused = client.post("/apply", data=partial)
    assert refused.status_code == 422
    assert summary_links(refused.get_data(as_text=True)) == ["contact-email"]
    assert 'value="Half-done Roofers"' in refused.get_data(as_text=True)

    partial[1] = ("contact.email", "dana@example.org")
    saved = client.post("/apply", data=partial)
    assert saved.status_code == 303
    resume = client.get(saved.headers["Location"]).get_data(as_text=True)
    assert "Draft saved. We e-mailed a link to dana@example.org" in resume
    assert 'value="Half-done Roofers"' in resume
    assert "Toolbox talks</textarea>" in resume
    found = re.search(r'name="draft_token" value="([^"]+)"', resume)
    assert found is not None
    draft_token = found.group(1)
    [(task, kwargs)] = queued_tasks(redis_client, "notify")
    assert task == "notify.draft_saved"
    assert kwargs["event"]["payload"]["resume_url"].endswith(f"/apply/resume/{draft_token}")

    fields = [*form_fields(example_proposal()), ("action", "submit"), ("draft_token", draft_token)]
    submitted = client.post("/apply", data=fields)
    assert submitted.status_code == 303
    assert count() == 1
    with database.transaction() as session:
        assert session.scalars(select(Proposal.status)).one() == "submitted"
    assert client.get(f"/apply/resume/{draft_token}").status_code == 404


def test_honeypot_filled_is_refused_and_nothing_stored(client):
    fields = [*form_fields(example_proposal()), ("action", "submit"), ("contact.nickname", "bot")]
    response = client.post("/apply", data=fields)
    assert response.status_code == 400
    assert count() == 0


def test_missing_csrf_token_keeps_what_was_typed(redis_client):
    client = FormClient(create_app({"TESTING": True}))
    response = client.post("/apply", data=[*form_fields(example_proposal()), ("action", "submit")])
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Everything you typed is still below" in html
    assert 'value="Michigan Roofing Contractors Association"' in html
    assert count() == 0


def test_bad_links_get_a_plain_page(client):
    response = client.get("/status/not-a-real-token")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "This link is not valid" in html
    assert "usa-banner" in html


def test_status_page_then_edit_and_resubmit(client):
    fields = [*form_fields(example_proposal()), ("action", "submit")]
    location = client.post("/apply", data=fields).headers["Location"]
    token = location.rsplit("/", 1)[1]
    status = client.get(f"/status/{token}").get_data(as_text=True)
    assert "Submitted: waiting for review" in status
    assert client.get(f"/status/{token}/edit").status_code == 409

    with database.transaction() as session:
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
    status = client.get(f"/status/{token}").get_data(as_text=True)
    assert "Please name the conferences." in status
    edit_page = client.get(f"/status/{token}/edit").get_data(as_text=True)
    assert 'value="Michigan Roofing Contractors Association"' in edit_page
    assert "Resubmit proposal" in edit_page

    changed = example_proposal()
    changed["goals"][0]["activities_other"] = "Speak at the Michigan Safety Conference"
    done = client.post(f"/status/{token}/edit", data=[*form_fields(changed), ("action", "submit")])
    assert done.status_code == 303
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "resubmitted as version 2" in page
    assert "Resubmitted: waiting for review" in page


def test_editing_a_proposal_not_open_for_changes_is_refused_and_nothing_is_stored(client):
    fields = [*form_fields(example_proposal()), ("action", "submit")]
    token = client.post("/apply", data=fields).headers["Location"].rsplit("/", 1)[1]
    changed = example_proposal()
    changed["organization"]["name"] = "Someone Else"

    shown = client.get(f"/status/{token}/edit")
    sent = client.post(f"/status/{token}/edit", data=[*form_fields(changed), ("action", "submit")])

    for response in (shown, sent):
        assert response.status_code == 409
        html = response.get_data(as_text=True)
        assert "<h1>Not possible now</h1>" in html
        assert "This proposal cannot be edited now" in html
    with database.transaction() as session:
        proposal = session.scalars(select(Proposal)).one()
        assert (proposal.status, proposal.version, proposal.organization_name) == (
            "submitted",
            1,
            "Michigan Roofing Contractors Association",
        )


def test_an_expired_link_gets_a_page_that_says_so(client, monkeypatch):
    fields = [*form_fields(example_proposal()), ("action", "submit")]
    token = client.post("/apply", data=fields).headers["Location"].rsplit("/", 1)[1]
    monkeypatch.setenv("INTAKE_STATUS_LINK_DAYS", "1")
    import itsdangerous.timed

    later = datetime.now(UTC) + timedelta(days=2)
    monkeypatch.setattr(itsdangerous.timed.time, "time", later.timestamp)

    response = client.get(f"/status/{token}")

    assert response.status_code == 403
    html = response.get_data(as_text=True)
    assert "<h1>Link expired</h1>" in html
    assert "This link has expired. Ask the Alliance Coordinator for a new one." in html


def test_an_expired_form_token_on_the_edit_page_keeps_the_edit_form(redis_client):
    client = FormClient(create_app({"TESTING": True, "WTF_CSRF_ENABLED": False}))
    fields = [*form_fields(example_proposal()), ("action", "submit")]
    token = client.post("/apply", data=fields).headers["Location"].rsplit("/", 1)[1]
    with database.transaction() as session:
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
    guarded = FormClient(create_app({"TESTING": True}))  # CSRF on, and no token sent

    response = guarded.post(f"/status/{token}/edit", data=fields)

    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Everything you typed is still below" in html
    assert f'action="/status/{token}/edit"' in html  # sent again, it resubmits this proposal
    assert "Resubmit proposal" in html
    with database.transaction() as session:
        assert session.scalars(select(Proposal.version)).one() == 1


def test_the_federal_form_asks_for_the_office_by_name_and_says_what_is_missing(
    client, redis_client, monkeypatch
):
    monkeypatch.setenv("AGENCY_PROFILE", "federal")
    page = client.get("/apply").get_data(as_text=True)
    assert '<select class="usa-select" id="requested-office" name="requested_office"' in page
    assert ">Lansing Area Office, Region V (Chicago)</option>" in page
    assert 'name="requested_division"' not in page

    data = example_proposal()
    del data["requested_division"]
    missing = client.post("/apply", data=[*form_fields(data), ("action", "submit")])
    assert missing.status_code == 422
    assert "requested-office" in summary_links(missing.get_data(as_text=True))
    assert count() == 0

    chosen = client.post(
        "/apply",
        data=[
            *form_fields({**data, "requested_office": "area_lansing"}),
            ("action", "submit"),
            ("submission_id", uuid.uuid4().hex),
        ],
    )
    assert chosen.status_code == 303
    [(_, kwargs)] = queued_tasks(redis_client, "review")
    proposal = kwargs["event"]["payload"]["proposal"]
    assert (proposal["requested_office"], proposal["requested_division"]) == (
        "area_lansing",
        "area_office",
    )


def test_a_partner_fills_the_form_in_spanish_and_the_language_is_kept(client, redis_client):
    page = client.get("/apply?lang=es")
    html = page.get_data(as_text=True)
    assert '<html lang="es">' in html
    assert "Proponga una alianza con" in html
    assert 'lang="en" hreflang="en" href="?lang=en">English</a>' in html
    assert "alliance_lang=es" in page.headers["Set-Cookie"]

    # The cookie keeps Spanish; the checks answer in Spanish, field by field.
    data = example_proposal()
    data["contact"]["email"] = "no-es-correo"
    refused = client.post("/apply", data=[*form_fields(data), ("action", "submit")])
    text = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "Hay un problema" in text
    assert "Escriba una dirección de correo electrónico, como nombre@ejemplo.org." in text
    assert ">Correo electrónico: " in text

    sent = client.post(
        "/apply",
        data=[
            *form_fields(
                {
                    **example_proposal(),
                    "contact": {**example_proposal()["contact"], "language": "es"},
                }
            ),
            ("action", "submit"),
            ("submission_id", uuid.uuid4().hex),
        ],
    )
    assert sent.status_code == 303
    confirmation = client.get(sent.headers["Location"]).get_data(as_text=True)
    assert "Propuesta enviada" in confirmation
    # The status link, opened anywhere (no cookie), is in the language the contact chose.
    status_path = re.search(r'href="(/status/[^"]+)"', confirmation).group(1)
    elsewhere = FormClient(create_app({"TESTING": True, "WTF_CSRF_ENABLED": False}))
    status = elsewhere.get(status_path).get_data(as_text=True)
    assert '<html lang="es">' in status
    assert "Enviada: en espera de revisión" in status
    [(_, kwargs)] = queued_tasks(redis_client, "review")
    assert kwargs["event"]["payload"]["proposal"]["contact"]["language"] == "es"


def test_the_browser_s_language_is_the_first_guess_and_a_choice_wins(client, redis_client):
    spanish = client.client.get("/apply", headers={"Accept-Language": "es-MX,es;q=0.9"})
    assert '<html lang="es">' in spanish.get_data(as_text=True)
    english = client.get("/apply?lang=en").get_data(as_text=True)
    assert "Propose an alliance with" in english
