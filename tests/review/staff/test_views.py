"""New staff set their own password from an e-mailed invitation, and anyone who forgot theirs
asks for a link on the sign-in page (services/review/staff/domain.py, views.py).

A link works once, until it expires (STAFF_INVITATION_DAYS, STAFF_PASSWORD_RESET_MINUTES),
while it is the person's newest and their account is active; an altered, used, replaced or
expired link answers a page that says what happened and how to get a new one, never a 500.
"Forgot your password?" answers the same whether or not the address has an account, sends
nothing to a deactivated one, and is rate-limited per client and per account. Review only
stores a hash of each link; the link itself leaves in the ``staff.password_link`` event.

Staff accounts and sign-in (shared/staff_auth.py, services/review/staff/) over HTTP,
against the real Redis and PostgreSQL. Who may do what is tested at the domain level in
tests/review/staff/test_domain.py."""

from __future__ import annotations

import re
from typing import Any

import pytest

from services.review import create_app
from services.review.models import StaffUser
from services.review.staff import domain as accounts
from services.review.worker import database
from shared.config import load_settings
from tests.review.factories import PASSWORD, acting_as, staff_member
from tests.review.staff.helpers import (
    NEW_PASSWORD,
    PASSWORD_STAFF_AUTH,
    age_links,
    can_sign_in,
    forgot,
    invite,
    links_sent,
    refusal,
    token_of,
    use,
)

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clean_databases")]

SENT = "If an account exists for that address, we sent a link to set a new password."


@pytest.fixture
def app(redis_client: Any):
    return create_app({"TESTING": True})


@pytest.fixture
def cora() -> StaffUser:
    return staff_member("cora@agency.example", "coordinator", name="Cora Coordinator")


# -- a forgotten password, in the domain --------------------------------------------------------


# -- the pages ----------------------------------------------------------------------------------


def csrf_token(client: Any, path: str = "/staff/sign-in") -> str:
    html = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def signed_in_client(app: Any, email: str = "cora@agency.example") -> Any:
    client = app.test_client()
    data = {"csrf_token": csrf_token(client), "email": email, "password": PASSWORD}
    assert client.post("/staff/sign-in", data=data).status_code == 303
    return client


def words(response: Any) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)).split())


def test_the_sign_in_page_links_to_forgot_password(app):
    page = app.test_client().get("/staff/sign-in").get_data(as_text=True)
    assert re.search(
        r'<a class="usa-link" href="/staff/forgot-password">Forgot your password\?</a>', page
    )


def test_forgot_password_answers_the_same_whether_or_not_the_account_exists(app, cora):
    staff_member("ina@agency.example", "reviewer", active=False)
    answers = []
    for email in ("cora@agency.example", "nobody@agency.example", "ina@agency.example"):
        client = app.test_client()
        response = client.post(
            "/staff/forgot-password",
            data={"csrf_token": csrf_token(client, "/staff/forgot-password"), "email": email},
        )
        assert response.status_code == 303
        follow = client.get(response.headers["Location"])
        answers.append((response.headers["Location"], follow.status_code, words(follow)))
    assert answers[0] == answers[1] == answers[2]
    assert SENT in answers[0][2]
    assert "The link works once, for 1 hour." in answers[0][2]
    assert [s["email"] for s in links_sent()] == ["cora@agency.example"]


def test_forgot_password_wants_an_address(app):
    client = app.test_client()
    response = client.post(
        "/staff/forgot-password",
        data={"csrf_token": csrf_token(client, "/staff/forgot-password"), "email": " "},
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'href="#email">E-mail address: Enter your e-mail address.' in html
    assert 'id="email-error-message"' in html or "usa-error-message" in html


def test_forgot_password_is_rate_limited_per_client(app, cora):
    app.config["STAFF_PASSWORD_RESET_LIMIT"] = "2 per minute"
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "10.7.7.7"
    token = csrf_token(client, "/staff/forgot-password")
    statuses = [
        client.post(
            "/staff/forgot-password", data={"csrf_token": token, "email": f"x{n}@agency.example"}
        ).status_code
        for n in range(3)
    ]
    assert statuses == [303, 303, 429]
    refused = client.post(
        "/staff/forgot-password", data={"csrf_token": token, "email": "cora@agency.example"}
    )
    assert refused.status_code == 429
    assert "Too many requests from here. Wait a few minutes, then try again." in words(refused)
    assert links_sent() == []  # nothing was sent past the limit
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "10.8.8.8"
    answer = elsewhere.post(
        "/staff/forgot-password",
        data={"csrf_token": csrf_token(elsewhere, "/staff/forgot-password"), "email": cora.email},
    )
    assert answer.status_code == 303


@pytest.mark.parametrize(
    ("setup", "status", "title", "advice"),
    [
        ("altered", 404, "This link does not work", "Ask for a new link"),
        ("expired", 410, "This link has expired", "send the invitation again"),
        ("replaced", 410, "This link was replaced", "send the invitation again"),
        ("deactivated", 410, "This account is deactivated", "Ask the Alliance Coordinator"),
    ],
)
def test_a_link_that_cannot_be_used_says_why_and_what_to_do(
    app, cora, setup, status, title, advice
):
    lee = invite(cora)
    token = token_of(links_sent()[0])
    if setup == "altered":
        token = token[:-3]
    elif setup == "expired":
        age_links(days=8)
    elif setup == "replaced":
        with database.transaction() as session:
            accounts.resend_invitation(
                session, acting=acting_as(cora), user_id=lee.id, settings=load_settings()
            )
    else:
        with database.transaction() as session:
            accounts.set_active(session, acting=acting_as(cora), user_id=lee.id, active=False)
    for method in ("GET", "POST"):
        client = app.test_client()
        response = client.open(
            f"/staff/set-password/{token}",
            method=method,
            data={"csrf_token": csrf_token(client), "new_password": NEW_PASSWORD},
        )
        assert response.status_code == status, method
        assert title in words(response)
        assert advice in words(response)
    assert not can_sign_in(lee.email, NEW_PASSWORD)


def test_a_forgotten_password_link_page_offers_a_new_link_when_it_has_expired(app, cora):
    forgot(cora.email)
    age_links(hours=2)
    response = app.test_client().get(f"/staff/set-password/{token_of(links_sent()[0])}")
    assert response.status_code == 410
    assert '<a class="usa-link" href="/staff/forgot-password">Ask for a new link</a>' in (
        response.get_data(as_text=True)
    )


def test_the_coordinator_invites_from_the_page_and_sends_the_invitation_again(app, cora):
    client = signed_in_client(app)
    form = client.get("/staff/people/new").get_data(as_text=True)
    # The invitation is the page's default.
    assert re.search(r'id="access" type="radio" name="access" value="invitation"\s+checked', form)
    added = client.post(
        "/staff/people/new",
        data={
            "csrf_token": csrf_token(client),
            "email": "lee@agency.example",
            "name": "Lee Liaison",
            "roles": ["liaison"],
            "access": "invitation",
        },
    )
    assert added.status_code == 303
    person = client.get(added.headers["Location"])
    assert "Lee Liaison was e-mailed an invitation to set their password" in words(person)
    assert "(invited, not yet signed in)" in words(person)
    [sent] = links_sent()
    assert sent["email"] == "lee@agency.example"

    listing = client.get("/staff/people")
    assert "Invited, not yet signed in" in words(listing)
    assert "Send the invitation again to Lee Liaison" in words(listing)
    lee_id = re.search(r"/staff/people/([0-9a-f-]{36})/invitation", listing.get_data(as_text=True))[
        1
    ]
    again = client.post(
        f"/staff/people/{lee_id}/invitation",
        data={"csrf_token": csrf_token(client), "from": "people"},
    )
    assert again.status_code == 303
    assert "A new invitation was sent to Lee Liaison." in words(
        client.get(again.headers["Location"])
    )
    assert len(links_sent()) == 2
    assert refusal(token_of(links_sent()[0])) == "replaced"

    use(token_of(links_sent()[1]))
    listing = words(client.get("/staff/people"))
    assert "Invited, not yet signed in" not in listing
    refused = client.post(
        f"/staff/people/{lee_id}/invitation", data={"csrf_token": csrf_token(client)}
    )
    assert refused.status_code == 409
    assert "Lee Liaison has already set a password." in words(refused)


def test_choosing_an_initial_password_on_the_page_needs_one(app, cora):
    client = signed_in_client(app)
    response = client.post(
        "/staff/people/new",
        data={
            "csrf_token": csrf_token(client),
            "email": "lee@agency.example",
            "name": "Lee Liaison",
            "roles": ["liaison"],
            "access": "password",
            "password": "",
        },
    )
    assert response.status_code == 422
    assert "Password: Enter a password." in words(response)
    assert re.search(r'value="password"\s+checked', response.get_data(as_text=True))
    assert links_sent() == []


@pytest.fixture
def app_staff_auth(redis_client):
    return create_app({"TESTING": True})


def csrf_token_staff_auth(client) -> str:
    html = client.get("/staff/sign-in").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def sign_in(client, email="rae@agency.example", password=PASSWORD_STAFF_AUTH, **extra):
    data = {
        "csrf_token": csrf_token_staff_auth(client),
        "email": email,
        "password": password,
        **extra,
    }
    return client.post("/staff/sign-in", data=data)


# -- taking access away -----------------------------------------------------------------------


def coordinator_client(app, email="cora@agency.example"):
    staff_member(email, "coordinator", name="Cora Coordinator")
    client = app.test_client()
    assert sign_in(client, email=email).status_code == 303
    return client


def test_changed_roles_end_the_sessions_and_apply_at_the_next_sign_in(app_staff_auth):
    user_id = staff_member().id
    client = app_staff_auth.test_client()
    sign_in(client)
    coordinator = coordinator_client(app_staff_auth)
    response = coordinator.post(
        f"/staff/people/{user_id}",
        data={"csrf_token": csrf_token_staff_auth(coordinator), "roles": ["reviewer", "liaison"]},
    )
    assert response.status_code == 303
    assert client.get("/api/v1/staff/me").status_code == 401
    sign_in(client)
    assert client.get("/api/v1/staff/me").get_json()["roles"] == ["liaison", "reviewer"]


def test_someone_must_remain_coordinator(app_staff_auth):
    coordinator = coordinator_client(app_staff_auth)
    with database.transaction() as session:
        cora = accounts.find_by_email(session, email="cora@agency.example")
        cora_id = cora.id
    response = coordinator.post(
        f"/staff/people/{cora_id}",
        data={"csrf_token": csrf_token_staff_auth(coordinator), "roles": "reviewer"},
    )
    assert response.status_code == 409
    assert "Someone must remain Coordinator" in response.get_data(as_text=True)
    response = coordinator.post(
        f"/staff/people/{cora_id}/deactivate",
        data={"csrf_token": csrf_token_staff_auth(coordinator)},
    )
    assert response.status_code == 409
    assert "only active Coordinator" in response.get_data(as_text=True)
    assert coordinator.get("/api/v1/staff/me").status_code == 200
    own_page = coordinator.get(f"/staff/people/{cora_id}").get_data(as_text=True)
    assert f'action="/staff/people/{cora_id}/password"' not in own_page  # see change_password
    assert 'href="/staff/password">change your password</a>' in own_page


def test_a_password_change_keeps_this_session_and_ends_the_others(app_staff_auth):
    staff_member()
    here, elsewhere = app_staff_auth.test_client(), app_staff_auth.test_client()
    sign_in(here)
    sign_in(elsewhere)
    new = "a different long passphrase"
    response = here.post(
        "/staff/password",
        data={
            "csrf_token": csrf_token_staff_auth(here),
            "current_password": PASSWORD_STAFF_AUTH,
            "new_password": new,
            "confirm_password": new,
        },
    )
    assert response.status_code == 303
    assert here.get("/api/v1/staff/me").status_code == 200
    assert elsewhere.get("/api/v1/staff/me").status_code == 401
    assert sign_in(app_staff_auth.test_client()).status_code == 401
    assert sign_in(app_staff_auth.test_client(), password=new).status_code == 303


def test_a_password_change_needs_the_current_password_and_a_strong_new_one(app_staff_auth):
    staff_member()
    client = app_staff_auth.test_client()
    sign_in(client)

    def change(current, new, confirm=None):
        return client.post(
            "/staff/password",
            data={
                "csrf_token": csrf_token_staff_auth(client),
                "current_password": current,
                "new_password": new,
                "confirm_password": new if confirm is None else confirm,
            },
        )

    wrong = change("guess", "another long passphrase")
    assert wrong.status_code == 422
    assert "Your current password is not right." in wrong.get_data(as_text=True)
    short = change(PASSWORD_STAFF_AUTH, "short")
    assert "Use at least 12 characters (this one has 5)." in short.get_data(as_text=True)
    mismatch = change(PASSWORD_STAFF_AUTH, "another long passphrase", "another long passphrasE")
    assert "The two new passwords are not the same." in mismatch.get_data(as_text=True)
    assert sign_in(app_staff_auth.test_client()).status_code == 303


def test_the_coordinator_sets_a_new_password_for_someone_who_forgot_theirs(app_staff_auth):
    user_id = staff_member(name="Rae Reviewer").id
    forgetful = app_staff_auth.test_client()
    sign_in(forgetful)
    coordinator = coordinator_client(app_staff_auth)
    weak = coordinator.post(
        f"/staff/people/{user_id}/password",
        data={"csrf_token": csrf_token_staff_auth(coordinator), "password": "rae reviewer 1"},
    )
    assert weak.status_code == 422
    assert "Do not use your e-mail address or name" in weak.get_data(as_text=True)
    response = coordinator.post(
        f"/staff/people/{user_id}/password",
        data={
            "csrf_token": csrf_token_staff_auth(coordinator),
            "password": "a fresh start at last",
        },
    )
    assert response.status_code == 303
    assert forgetful.get("/api/v1/staff/me").status_code == 401
    assert sign_in(app_staff_auth.test_client()).status_code == 401
    assert (
        sign_in(app_staff_auth.test_client(), password="a fresh start at last").status_code == 303
    )


# -- staff management -------------------------------------------------------------------------


def test_the_coordinator_adds_a_person_who_can_then_sign_in(app_staff_auth):
    coordinator = coordinator_client(app_staff_auth)
    response = coordinator.post(
        "/staff/people/new",
        data={
            "csrf_token": csrf_token_staff_auth(coordinator),
            "email": "Lee@Agency.Example",
            "name": "Lee Liaison",
            "roles": ["liaison", "reviewer"],
            "password": "orange kettle on the moon",
        },
    )
    assert response.status_code == 303
    listing = coordinator.get("/staff/people").get_data(as_text=True)
    assert "Lee Liaison" in listing
    assert "lee@agency.example" in listing
    assert "Reviewer, Liaison" in listing
    people = coordinator.get("/api/v1/staff").get_json()
    assert sorted(p["email"] for p in people["staff"]) == [
        "cora@agency.example",
        "lee@agency.example",
    ]
    lee = app_staff_auth.test_client()
    signed_in = sign_in(lee, email="lee@agency.example", password="orange kettle on the moon")
    assert signed_in.status_code == 303
    assert lee.get("/api/v1/staff/me").get_json()["roles"] == ["liaison", "reviewer"]


def test_adding_a_person_shows_every_problem_next_to_its_field(app_staff_auth):
    coordinator = coordinator_client(app_staff_auth)
    response = coordinator.post(
        "/staff/people/new",
        data={
            "csrf_token": csrf_token_staff_auth(coordinator),
            "email": "cora@agency.example",
            "name": "",
            "password": "short",
        },
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert re.findall(r'<li><a class="usa-link" href="#([^"]+)">', html) == [
        "email",
        "name",
        "roles",
        "password",
    ]
    assert "There is already a staff account with this e-mail address." in html
