"""Staff accounts and sign-in (shared/staff_auth.py, services/review/staff/) over HTTP,
against the real Redis and PostgreSQL. Who may do what is tested at the domain level in
tests/review/staff/test_domain.py.

New staff set their own password from an e-mailed invitation, and anyone who forgot theirs
asks for a link on the sign-in page (services/review/staff/domain.py, views.py).

A link works once, until it expires (STAFF_INVITATION_DAYS, STAFF_PASSWORD_RESET_MINUTES),
while it is the person's newest and their account is active; an altered, used, replaced or
expired link answers a page that says what happened and how to get a new one, never a 500.
"Forgot your password?" answers the same whether or not the address has an account, sends
nothing to a deactivated one, and is rate-limited per client and per account. Review only
stores a hash of each link; the link itself leaves in the ``staff.password_link`` event."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from sqlalchemy import select

from services.review import create_app
from services.review.models import AuditEntry, StaffUser
from services.review.worker import database
from shared import staff_auth
from shared.staff_auth import COOKIE_NAME
from tests.review.factories import PASSWORD as staff_invitations_PASSWORD
from tests.review.factories import staff_member
from tests.review.staff.helpers import invite, links_sent, token_of

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clean_databases")]

PASSWORD = "correct horse battery staple"


@pytest.fixture
def app(redis_client):
    return create_app({"TESTING": True})


def csrf_token(client) -> str:
    html = client.get("/staff/sign-in").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def sign_in(client, email="rae@agency.example", password=PASSWORD, **extra):
    data = {"csrf_token": csrf_token(client), "email": email, "password": password, **extra}
    return client.post("/staff/sign-in", data=data)


def test_api_writes_need_the_csrf_token_in_a_header(app):
    @staff_auth.staff_api_required()
    def write():
        return {"ok": True}

    app.add_url_rule("/api/v1/test-write", "test_write", write, methods=["POST"])
    staff_member()
    client = app.test_client()
    sign_in(client)
    refused = client.post("/api/v1/test-write", json={})
    assert refused.status_code == 400
    assert refused.get_json() == {"errors": {"_request": ["The CSRF token is missing."]}}
    token = client.get("/api/v1/staff/me").get_json()["csrf_token"]
    accepted = client.post("/api/v1/test-write", json={}, headers={"X-CSRFToken": token})
    assert accepted.status_code == 200


# -- the staff API ----------------------------------------------------------------------------


def api_client(app, email="cora@agency.example", *roles):
    """Signed in as a new person with ``roles`` (Coordinator by default), and the token."""
    staff_member(email, *(roles or ("coordinator",)), name="Cora Coordinator")
    client = app.test_client()
    assert sign_in(client, email=email).status_code == 303
    return client, {"X-CSRFToken": client.get("/api/v1/staff/me").get_json()["csrf_token"]}


def test_the_coordinator_manages_accounts_through_the_api(app):
    client, token = api_client(app)
    added = client.post(
        "/api/v1/staff",
        json={
            "email": "Lee@Agency.Example",
            "name": "Lee Liaison",
            "roles": ["liaison"],
            "password": "orange kettle on the moon",
        },
        headers=token,
    )
    assert added.status_code == 201
    lee = added.get_json()
    assert sorted(lee) == [
        "active",
        "created_at",
        "email",
        "id",
        "invited",
        "name",
        "office",
        "roles",
        "updated_at",
    ]
    assert lee["invited"] is False  # a password was given: no invitation
    assert (lee["email"], lee["name"], lee["roles"], lee["active"]) == (
        "lee@agency.example",
        "Lee Liaison",
        ["liaison"],
        True,
    )
    lee_client = app.test_client()
    assert (
        sign_in(lee_client, email=lee["email"], password="orange kettle on the moon").status_code
        == 303
    )

    roles = client.post(
        f"/api/v1/staff/{lee['id']}/roles", json={"roles": ["reviewer", "liaison"]}, headers=token
    )
    assert roles.status_code == 200
    assert roles.get_json()["roles"] == ["reviewer", "liaison"]
    assert lee_client.get("/api/v1/staff/me").status_code == 401  # signed out by the change

    password = client.post(
        f"/api/v1/staff/{lee['id']}/password",
        json={"password": "a fresh start at last"},
        headers=token,
    )
    assert password.status_code == 204
    assert (
        sign_in(app.test_client(), email=lee["email"], password="a fresh start at last").status_code
        == 303
    )

    off = client.post(f"/api/v1/staff/{lee['id']}/active", json={"active": False}, headers=token)
    assert off.status_code == 200
    assert off.get_json()["active"] is False
    assert (
        sign_in(app.test_client(), email=lee["email"], password="a fresh start at last").status_code
        == 401
    )
    listing = client.get("/api/v1/staff").get_json()
    assert [(p["email"], p["active"]) for p in listing["staff"]] == [
        ("cora@agency.example", True),
        ("lee@agency.example", False),
    ]
    assert listing["count"] == 2


def test_the_api_refuses_demoting_the_last_coordinator_and_stores_nothing(app):
    client, token = api_client(app)
    cora_id = client.get("/api/v1/staff/me").get_json()["id"]
    demoted = client.post(
        f"/api/v1/staff/{cora_id}/roles", json={"roles": ["reviewer"]}, headers=token
    )
    assert demoted.status_code == 409
    assert demoted.get_json() == {
        "errors": {
            "_request": ["Someone must remain Coordinator: give the role to another person first."]
        }
    }
    deactivated = client.post(
        f"/api/v1/staff/{cora_id}/active", json={"active": False}, headers=token
    )
    assert deactivated.status_code == 409
    own = client.post(
        f"/api/v1/staff/{cora_id}/password",
        json={"password": "a fresh start at last"},
        headers=token,
    )
    assert own.status_code == 403
    missing = client.post(
        f"/api/v1/staff/{uuid.uuid4()}/active", json={"active": False}, headers=token
    )
    assert missing.status_code == 404
    assert client.get("/api/v1/staff/me").get_json()["roles"] == ["coordinator"]
    with database.transaction() as session:
        cora = session.get(StaffUser, uuid.UUID(cora_id))
        assert (cora.roles, cora.active) == (["coordinator"], True)
        actions = session.scalars(select(AuditEntry.action)).all()
    assert actions == ["staff account created"]
    assert sign_in(app.test_client(), email="cora@agency.example").status_code == 303


def test_everyone_changes_their_own_password_through_the_api_with_the_current_one(app):
    client, token = api_client(app, "rae@agency.example", "reviewer")
    elsewhere = app.test_client()
    sign_in(elsewhere)
    wrong = client.post(
        "/api/v1/staff/me/password",
        json={"current_password": "a guess", "new_password": "another long passphrase"},
        headers=token,
    )
    assert wrong.status_code == 422
    assert wrong.get_json() == {
        "errors": {"current_password": ["Your current password is not right."]}
    }
    differ = client.post(
        "/api/v1/staff/me/password",
        json={
            "current_password": PASSWORD,
            "new_password": "another long passphrase",
            "confirm_password": "another long passphrasE",
        },
        headers=token,
    )
    assert differ.get_json() == {
        "errors": {"new_password": ["The two new passwords are not the same."]}
    }
    assert sign_in(app.test_client()).status_code == 303  # nothing changed so far
    changed = client.post(
        "/api/v1/staff/me/password",
        json={"current_password": PASSWORD, "new_password": "another long passphrase"},
        headers=token,
    )
    assert changed.status_code == 204
    assert client.get("/api/v1/staff/me").status_code == 200
    assert elsewhere.get("/api/v1/staff/me").status_code == 401
    assert sign_in(app.test_client(), password="another long passphrase").status_code == 303


def test_the_openapi_document_describes_the_staff_api(app):
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    paths = document["paths"]
    assert {path for path in paths if path.startswith("/api/v1/staff")} == {
        "/api/v1/staff",
        "/api/v1/staff/me",
        "/api/v1/staff/me/password",
        "/api/v1/staff/{user_id}/roles",
        "/api/v1/staff/{user_id}/active",
        "/api/v1/staff/{user_id}/password",
        "/api/v1/staff/{user_id}/invitation",
        "/api/v1/staff/{user_id}/office",
    }
    add = paths["/api/v1/staff"]["post"]
    assert "requestBody" in add
    assert "201" in add["responses"]
    schemas = document["components"]["schemas"]
    assert set(schemas["PersonIn"]["properties"]) == {
        "email",
        "name",
        "roles",
        "password",
        "office",
    }


NEW_PASSWORD = "orange kettle on the moon"


@pytest.fixture
def app_staff_invitations(redis_client: Any):
    return create_app({"TESTING": True})


@pytest.fixture
def cora() -> StaffUser:
    return staff_member("cora@agency.example", "coordinator", name="Cora Coordinator")


# -- the pages ----------------------------------------------------------------------------------


def csrf_token_staff_invitations(client: Any, path: str = "/staff/sign-in") -> str:
    html = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def signed_in_client(app: Any, email: str = "cora@agency.example") -> Any:
    client = app.test_client()
    data = {
        "csrf_token": csrf_token_staff_invitations(client),
        "email": email,
        "password": staff_invitations_PASSWORD,
    }
    assert client.post("/staff/sign-in", data=data).status_code == 303
    return client


def words(response: Any) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)).split())


def test_the_link_page_sets_the_password_and_signs_the_person_in(app_staff_invitations, cora):
    invite(cora)
    token = token_of(links_sent()[0])
    client = app_staff_invitations.test_client()
    path = f"/staff/set-password/{token}"
    form = client.get(path)
    assert form.status_code == 200
    assert form.headers["Referrer-Policy"] == "no-referrer"
    assert "Welcome, Lee Liaison." in words(form)
    assert '<label class="usa-label" for="new-password">New password' in form.get_data(as_text=True)
    assert '<label class="usa-label" for="confirm-password">New password again' in form.get_data(
        as_text=True
    )
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.get_data(as_text=True)).group(1)

    differ = client.post(
        path,
        data={"csrf_token": csrf, "new_password": NEW_PASSWORD, "confirm_password": "other"},
    )
    assert differ.status_code == 422
    assert "New password again: The two new passwords are not the same." in words(differ)
    weak = client.post(
        path, data={"csrf_token": csrf, "new_password": "short", "confirm_password": "short"}
    )
    assert weak.status_code == 422
    assert "New password: Use at least 12 characters (this one has 5)." in words(weak)
    empty = client.post(path, data={"csrf_token": csrf})
    assert empty.status_code == 422
    assert "New password: Enter a password." in words(empty)

    done = client.post(
        path,
        data={"csrf_token": csrf, "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD},
    )
    assert done.status_code == 303
    assert done.headers["Location"] == "/staff/me?password_set=invitation"
    assert client.get_cookie(COOKIE_NAME) is not None
    me = client.get("/api/v1/staff/me").get_json()
    assert (me["email"], me["roles"]) == ("lee@agency.example", ["liaison", "reviewer"])
    assert "Your password is set and you are signed in." in words(
        client.get(done.headers["Location"])
    )

    again = app_staff_invitations.test_client().get(path)
    assert again.status_code == 410
    assert "This link was already used" in words(again)
    assert "Ask the Alliance Coordinator to send the invitation again" in words(again)


def test_the_api_invites_when_no_password_is_sent(app_staff_invitations, cora):
    client = signed_in_client(app_staff_invitations)
    token = client.get("/api/v1/staff/me").get_json()["csrf_token"]
    added = client.post(
        "/api/v1/staff",
        json={"email": "lee@agency.example", "name": "Lee Liaison", "roles": ["liaison"]},
        headers={"X-CSRFToken": token},
    )
    assert added.status_code == 201
    assert added.get_json()["invited"] is True
    again = client.post(
        f"/api/v1/staff/{added.get_json()['id']}/invitation", headers={"X-CSRFToken": token}
    )
    assert again.status_code == 200
    assert [s["kind"] for s in links_sent()] == ["invitation", "invitation"]
    listed = client.get("/api/v1/staff").get_json()["staff"]
    assert {(p["email"], p["invited"]) for p in listed} == {
        ("cora@agency.example", False),
        ("lee@agency.example", True),
    }
