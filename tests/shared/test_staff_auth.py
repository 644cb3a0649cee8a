"""Staff accounts and sign-in (shared/staff_auth.py, services/review/staff/) over HTTP,
against the real Redis and PostgreSQL. Who may do what is tested at the domain level in
test_staff_domain.py."""

import json
import os
import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import func, select

from deploy.cli import main as alliance
from services.review import create_app
from services.review.models import AuditEntry, StaffUser
from services.review.staff import domain as accounts
from services.review.staff import views as staff_views
from services.review.worker import database
from shared import staff_auth
from shared.config import ConfigurationError, load_settings, read_settings
from shared.domain import Invalid
from shared.staff_auth import COOKIE_NAME, SESSION_KEY, USER_SESSIONS_KEY
from tests.factories import acting_as, staff_member
from tests.production import production_environment

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clean_databases")]

PASSWORD = "correct horse battery staple"
WRONG = "E-mail or password is incorrect."
NUL_REFUSED = "Remove the control character U+0000: it cannot be typed, and nothing was stored."


@pytest.fixture
def app(redis_client):
    return create_app({"TESTING": True})


def csrf_token(client) -> str:
    html = client.get("/staff/sign-in").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def sign_in(client, email="rae@agency.example", password=PASSWORD, **extra):
    data = {"csrf_token": csrf_token(client), "email": email, "password": password, **extra}
    return client.post("/staff/sign-in", data=data)


def client_at(app, address: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def session_cookie(client) -> str | None:
    cookie = client.get_cookie(COOKIE_NAME)
    return cookie.value if cookie else None


def backdate(redis_client, session_id, **changes: timedelta) -> None:
    """Move a session's timestamps into the past, as if time had passed."""
    key = SESSION_KEY + session_id
    record = json.loads(redis_client.get(key))
    for field, delta in changes.items():
        record[field] = (datetime.fromisoformat(record[field]) - delta).isoformat()
    redis_client.set(key, json.dumps(record), keepttl=True)


# -- signing in and out -----------------------------------------------------------------------


def test_sign_in_sets_a_session_cookie_for_every_service_and_returns_to_next(app, redis_client):
    staff_member(name="Rae Reviewer")
    client = app.test_client()
    response = sign_in(client, next="/reporting/reports?due=soon")
    assert response.status_code == 303
    assert response.headers["Location"] == "/reporting/reports?due=soon"
    [set_cookie] = [c for c in response.headers.getlist("Set-Cookie") if c.startswith(COOKIE_NAME)]
    attributes = {part.strip().split("=")[0].lower() for part in set_cookie.split(";")}
    assert {"httponly", "path", "samesite"} <= attributes
    assert "Path=/;" in set_cookie + ";"
    assert "SameSite=Lax" in set_cookie
    assert "secure" not in attributes  # only when APP_ENV=production
    assert "expires" not in attributes  # the server decides when a session ends
    session_id = session_cookie(client)
    assert len(session_id) == 43  # 256 random bits, URL-safe base64
    record = json.loads(redis_client.get(SESSION_KEY + session_id))
    assert record["email"] == "rae@agency.example"
    assert record["roles"] == ["reviewer"]
    me = client.get("/api/v1/staff/me").get_json()
    assert (me["email"], me["name"], me["roles"]) == (
        "rae@agency.example",
        "Rae Reviewer",
        ["reviewer"],
    )


def test_the_e_mail_address_is_matched_whatever_its_case(app):
    staff_member("Rae@Agency.Example")
    response = sign_in(app.test_client(), email="  RAE@agency.example ")
    assert response.status_code == 303


def test_sign_in_goes_only_to_paths_on_this_site(app):
    staff_member()
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:x"):
        response = sign_in(app.test_client(), next=target)
        with app.test_request_context():
            home = staff_views.home_url()
        assert response.headers["Location"] == home, target
        assert home in ("/staff/", "/staff/me")


def test_a_wrong_password_an_unknown_address_and_a_deactivated_account_look_the_same(app):
    staff_member()
    coordinator = acting_as(staff_member("cora@agency.example", "coordinator"))
    with database.transaction() as session:
        accounts.set_active(
            session, acting=coordinator, user_id=staff_member("x@agency.example").id, active=False
        )
    answers = [
        sign_in(app.test_client(), password="not the password at all"),
        sign_in(app.test_client(), email="nobody@agency.example"),
        sign_in(app.test_client(), email="x@agency.example"),
    ]
    for response in answers:
        assert response.status_code == 401
        assert COOKIE_NAME not in response.headers.get("Set-Cookie", "")
        html = response.get_data(as_text=True)
        assert WRONG in html
        assert "not found" not in html.lower()
        assert "deactivated" not in html.lower()
    errors = [
        re.findall(r'<a class="usa-link" href="#email">([^<]*)</a>', r.get_data(as_text=True))
        for r in answers
    ]
    assert errors == [[WRONG], [WRONG], [WRONG]]


def test_empty_fields_are_named(app):
    client = app.test_client()
    response = client.post("/staff/sign-in", data={"csrf_token": csrf_token(client)})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Enter your e-mail address." in html
    assert "Enter your password." in html


def error_beside(html: str, field_id: str) -> str | None:
    """The message shown beside a form field (shared/templates/_macros.html)."""
    found = re.search(
        rf'<span class="usa-error-message" id="{field_id}-error">([^<]*)</span>', html
    )
    return found.group(1) if found else None


@pytest.mark.parametrize("field", ["email", "password"])
def test_a_nul_in_the_sign_in_form_is_named_beside_its_field_never_a_500(app, field):
    staff_member()
    client = app.test_client()
    typed = {"email": "rae@agency.example", "password": PASSWORD}
    typed[field] = typed[field][:3] + "\x00" + typed[field][3:]
    response = sign_in(client, **typed)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert error_beside(html, field) == NUL_REFUSED
    assert COOKIE_NAME not in response.headers.get("Set-Cookie", "")
    assert "\x00" not in html  # the address is not shown again with its NUL
    assert session_cookie(client) is None


def test_sign_out_ends_the_session_and_the_same_cookie_is_refused_afterwards(app, redis_client):
    staff_member()
    client = app.test_client()
    sign_in(client)
    session_id = session_cookie(client)
    assert client.get("/api/v1/staff/me").status_code == 200

    response = client.post("/staff/sign-out", data={"csrf_token": csrf_token(client)})
    assert response.status_code == 303
    assert response.headers["Location"] == "/staff/sign-in?signed_out=1"
    assert session_cookie(client) is None
    assert redis_client.exists(SESSION_KEY + session_id) == 0

    replay = app.test_client()
    replay.set_cookie(COOKIE_NAME, session_id)
    page = replay.get("/staff/me")
    assert page.status_code == 303
    assert page.headers["Location"] == "/staff/sign-in?next=%2Fstaff%2Fme"
    assert page.headers["Set-Cookie"].startswith(f"{COOKIE_NAME}=;")  # the stale one is cleared
    replay.set_cookie(COOKIE_NAME, session_id)
    assert replay.get("/api/v1/staff/me").status_code == 401


def test_a_form_sent_after_the_session_ended_comes_back_to_its_page(app):
    staff_member("cora@agency.example", "coordinator")
    client = app.test_client()
    sign_in(client, email="cora@agency.example")
    token = csrf_token(client)
    client.post("/staff/sign-out", data={"csrf_token": token})
    response = client.post(
        "/staff/people/new",
        data={"csrf_token": token, "email": "x@agency.example"},
        headers={"Referer": "http://localhost/staff/people/new?from=list"},
    )
    assert response.status_code == 303
    assert (
        response.headers["Location"] == "/staff/sign-in?next=%2Fstaff%2Fpeople%2Fnew%3Ffrom%3Dlist"
    )
    elsewhere = client.post(
        "/staff/people/new",
        data={"csrf_token": token},
        headers={"Referer": "https://evil.example/staff/people/new"},
    )
    assert elsewhere.headers["Location"] == "/staff/sign-in"


def test_the_cookie_is_secure_in_production(app, monkeypatch):
    staff_member()
    # Production hashes strongly and takes only strong keys and passwords (tests/production.py).
    for name, value in production_environment(os.environ).items():
        monkeypatch.setenv(name, value)
    response = sign_in(app.test_client())
    [set_cookie] = [c for c in response.headers.getlist("Set-Cookie") if c.startswith(COOKIE_NAME)]
    assert "; Secure" in set_cookie


def test_staff_pages_are_not_cached(app):
    staff_member()
    client = app.test_client()
    sign_in(client)
    response = client.get("/api/v1/staff/me")
    assert response.headers["Cache-Control"] == "no-store"


# -- time-outs --------------------------------------------------------------------------------


def test_an_idle_session_ends_after_30_minutes(app, redis_client):
    staff_member()
    client = app.test_client()
    sign_in(client)
    session_id = session_cookie(client)
    backdate(redis_client, session_id, last_seen=timedelta(minutes=29))
    assert client.get("/api/v1/staff/me").status_code == 200  # and last_seen is now again
    record = json.loads(redis_client.get(SESSION_KEY + session_id))
    assert datetime.now(UTC) - datetime.fromisoformat(record["last_seen"]) < timedelta(minutes=1)

    backdate(redis_client, session_id, last_seen=timedelta(minutes=31))
    assert client.get("/api/v1/staff/me").status_code == 401
    assert redis_client.exists(SESSION_KEY + session_id) == 0


def test_a_session_ends_12_hours_after_sign_in_however_busy(app, redis_client):
    staff_member()
    client = app.test_client()
    sign_in(client)
    session_id = session_cookie(client)
    backdate(redis_client, session_id, created_at=timedelta(hours=11, minutes=59))
    assert client.get("/api/v1/staff/me").status_code == 200
    backdate(redis_client, session_id, created_at=timedelta(minutes=2))
    assert client.get("/api/v1/staff/me").status_code == 401


def test_the_time_outs_come_from_the_environment(redis_client, monkeypatch):
    monkeypatch.setenv("STAFF_IDLE_MINUTES", "5")
    monkeypatch.setenv("STAFF_SESSION_HOURS", "1")
    start = datetime.now(UTC)
    user_id = uuid.uuid4()
    session_id = staff_auth.start_session(user_id, "a@b.example", "A", ["liaison"], now=start)
    assert 0 < redis_client.ttl(SESSION_KEY + session_id) <= 300  # Redis forgets it too
    seen = staff_auth.load_session(session_id, now=start + timedelta(minutes=4))
    assert seen is not None
    assert seen.roles == frozenset({"liaison"})
    later = start + timedelta(minutes=8)
    assert staff_auth.load_session(session_id, now=later) is not None  # idle only 4 minutes
    assert staff_auth.load_session(session_id, now=later + timedelta(minutes=6)) is None

    other = staff_auth.start_session(user_id, "a@b.example", "A", ["liaison"], now=start)
    for minutes in range(3, 60, 3):
        assert staff_auth.load_session(other, now=start + timedelta(minutes=minutes))
    assert staff_auth.load_session(other, now=start + timedelta(minutes=60, seconds=30)) is None


def test_a_request_in_flight_cannot_bring_back_a_session_that_just_ended(redis_client):
    session_id = staff_auth.start_session(uuid.uuid4(), "a@b.example", "A", ["reviewer"])
    staff_auth.end_session(session_id)
    assert staff_auth.load_session(session_id) is None
    assert redis_client.exists(SESSION_KEY + session_id) == 0
    assert staff_auth.load_session("not-a-session-id") is None


# -- taking access away -----------------------------------------------------------------------


def coordinator_client(app, email="cora@agency.example"):
    staff_member(email, "coordinator", name="Cora Coordinator")
    client = app.test_client()
    assert sign_in(client, email=email).status_code == 303
    return client


def test_deactivation_ends_every_session_of_that_person_at_once(app, redis_client):
    user_id = staff_member().id
    laptop, phone = app.test_client(), app.test_client()
    sign_in(laptop)
    sign_in(phone)
    bystander = coordinator_client(app)
    assert redis_client.scard(USER_SESSIONS_KEY + str(user_id)) == 2

    response = bystander.post(
        f"/staff/people/{user_id}/deactivate", data={"csrf_token": csrf_token(bystander)}
    )
    assert response.status_code == 303
    assert laptop.get("/api/v1/staff/me").status_code == 401
    assert phone.get("/api/v1/staff/me").status_code == 401
    assert bystander.get("/api/v1/staff/me").status_code == 200
    assert sign_in(app.test_client()).status_code == 401

    bystander.post(
        f"/staff/people/{user_id}/reactivate", data={"csrf_token": csrf_token(bystander)}
    )
    assert sign_in(app.test_client()).status_code == 303
    with database.transaction() as session:
        actions = session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.entity_id == str(user_id))
            .order_by(AuditEntry.id)  # rows come back in no set order without it
        ).all()
    assert actions == ["staff account created", "deactivated", "reactivated"]


def test_changed_roles_end_the_sessions_and_apply_at_the_next_sign_in(app):
    user_id = staff_member().id
    client = app.test_client()
    sign_in(client)
    coordinator = coordinator_client(app)
    response = coordinator.post(
        f"/staff/people/{user_id}",
        data={"csrf_token": csrf_token(coordinator), "roles": ["reviewer", "liaison"]},
    )
    assert response.status_code == 303
    assert client.get("/api/v1/staff/me").status_code == 401
    sign_in(client)
    assert client.get("/api/v1/staff/me").get_json()["roles"] == ["liaison", "reviewer"]


def test_someone_must_remain_coordinator(app):
    coordinator = coordinator_client(app)
    with database.transaction() as session:
        cora = accounts.find_by_email(session, email="cora@agency.example")
        cora_id = cora.id
    response = coordinator.post(
        f"/staff/people/{cora_id}",
        data={"csrf_token": csrf_token(coordinator), "roles": "reviewer"},
    )
    assert response.status_code == 409
    assert "Someone must remain Coordinator" in response.get_data(as_text=True)
    response = coordinator.post(
        f"/staff/people/{cora_id}/deactivate", data={"csrf_token": csrf_token(coordinator)}
    )
    assert response.status_code == 409
    assert "only active Coordinator" in response.get_data(as_text=True)
    assert coordinator.get("/api/v1/staff/me").status_code == 200
    own_page = coordinator.get(f"/staff/people/{cora_id}").get_data(as_text=True)
    assert f'action="/staff/people/{cora_id}/password"' not in own_page  # see change_password
    assert 'href="/staff/password">change your password</a>' in own_page


def test_a_password_change_keeps_this_session_and_ends_the_others(app):
    staff_member()
    here, elsewhere = app.test_client(), app.test_client()
    sign_in(here)
    sign_in(elsewhere)
    new = "a different long passphrase"
    response = here.post(
        "/staff/password",
        data={
            "csrf_token": csrf_token(here),
            "current_password": PASSWORD,
            "new_password": new,
            "confirm_password": new,
        },
    )
    assert response.status_code == 303
    assert here.get("/api/v1/staff/me").status_code == 200
    assert elsewhere.get("/api/v1/staff/me").status_code == 401
    assert sign_in(app.test_client()).status_code == 401
    assert sign_in(app.test_client(), password=new).status_code == 303


def test_a_password_change_needs_the_current_password_and_a_strong_new_one(app):
    staff_member()
    client = app.test_client()
    sign_in(client)

    def change(current, new, confirm=None):
        return client.post(
            "/staff/password",
            data={
                "csrf_token": csrf_token(client),
                "current_password": current,
                "new_password": new,
                "confirm_password": new if confirm is None else confirm,
            },
        )

    wrong = change("guess", "another long passphrase")
    assert wrong.status_code == 422
    assert "Your current password is not right." in wrong.get_data(as_text=True)
    short = change(PASSWORD, "short")
    assert "Use at least 12 characters (this one has 5)." in short.get_data(as_text=True)
    mismatch = change(PASSWORD, "another long passphrase", "another long passphrasE")
    assert "The two new passwords are not the same." in mismatch.get_data(as_text=True)
    assert sign_in(app.test_client()).status_code == 303


def test_the_coordinator_sets_a_new_password_for_someone_who_forgot_theirs(app):
    user_id = staff_member(name="Rae Reviewer").id
    forgetful = app.test_client()
    sign_in(forgetful)
    coordinator = coordinator_client(app)
    weak = coordinator.post(
        f"/staff/people/{user_id}/password",
        data={"csrf_token": csrf_token(coordinator), "password": "rae reviewer 1"},
    )
    assert weak.status_code == 422
    assert "Do not use your e-mail address or name" in weak.get_data(as_text=True)
    response = coordinator.post(
        f"/staff/people/{user_id}/password",
        data={"csrf_token": csrf_token(coordinator), "password": "a fresh start at last"},
    )
    assert response.status_code == 303
    assert forgetful.get("/api/v1/staff/me").status_code == 401
    assert sign_in(app.test_client()).status_code == 401
    assert sign_in(app.test_client(), password="a fresh start at last").status_code == 303


# -- passwords --------------------------------------------------------------------------------


def test_weak_passwords_are_refused_with_a_reason():
    assert accounts.password_problems("") == ["Enter a password."]
    assert accounts.password_problems("eleven char") == [
        "Use at least 12 characters (this one has 11). A few unrelated words make a long "
        "password that is easy to remember."
    ]
    assert accounts.password_problems("x" * 257) == ["Use at most 256 characters."]
    guessable = [
        "This password is too easy to guess. Choose another one, for example a few unrelated words."
    ]
    assert accounts.password_problems("Password1234") == guessable
    assert accounts.password_problems("abababababab") == guessable
    assert accounts.password_problems("rae.reviewer-2026", email="rae.reviewer@agency.example") == [
        "Do not use your e-mail address or name in your password."
    ]
    assert accounts.password_problems("MarguerITE is here", name="Marguerite Smith") == [
        "Do not use your e-mail address or name in your password."
    ]
    assert accounts.password_problems(PASSWORD, email="rae@agency.example", name="Rae") == []


def test_an_account_needs_a_valid_unique_address_a_name_a_role_and_a_strong_password():
    staff_member("rae@agency.example")
    with pytest.raises(Invalid) as caught, database.transaction() as session:
        accounts.add_account(
            session,
            email="RAE@agency.example",
            name=" ",
            roles=["boss"],
            password="short",
            actor="t",
            settings=load_settings(),
        )
    assert caught.value.errors == {
        "email": ["There is already a staff account with this e-mail address."],
        "name": ["Enter the person's name."],
        "roles": ["Choose from the roles listed (Coordinator, Reviewer, Liaison)."],
        "password": [
            "Use at least 12 characters (this one has 5). A few unrelated words make a long "
            "password that is easy to remember."
        ],
    }
    with pytest.raises(Invalid) as caught, database.transaction() as session:
        accounts.add_account(
            session,
            email="not an address",
            name="N",
            roles=[],
            password=PASSWORD,
            actor="t",
            settings=load_settings(),
        )
    assert caught.value.errors["email"] == ["Enter an e-mail address in the form name@agency.gov."]
    assert caught.value.errors["roles"] == ["Choose at least one role."]


def stored_hash(user_id) -> str | None:
    with database.transaction() as session:
        return session.get(StaffUser, user_id).password_hash


def test_tests_hash_passwords_at_the_least_cost_argon2id_allows():
    # STAFF_PASSWORD_HASH=fast (conftest.py): a sign-in costs microseconds, not 0.15 s.
    stored = stored_hash(staff_member().id)
    assert stored.startswith("$argon2id$v=19$m=8,t=1,p=1$")
    assert PASSWORD not in stored


def test_a_hash_made_at_one_cost_verifies_at_another_and_is_rehashed_at_sign_in(app, monkeypatch):
    user_id = staff_member().id
    monkeypatch.setenv("STAFF_PASSWORD_HASH", "strong")
    assert sign_in(app.test_client()).status_code == 303
    strong = stored_hash(user_id)
    assert strong.startswith("$argon2id$v=19$m=65536,t=3,p=4$")  # RFC 9106, low memory
    assert sign_in(app.test_client()).status_code == 303
    assert stored_hash(user_id) == strong  # no rehash needed

    monkeypatch.setenv("STAFF_PASSWORD_HASH", "fast")
    assert sign_in(app.test_client(), password="not the password at all").status_code == 401
    assert stored_hash(user_id) == strong  # a wrong password changes nothing
    assert sign_in(app.test_client()).status_code == 303
    assert stored_hash(user_id).startswith("$argon2id$v=19$m=8,t=1,p=1$")


def test_production_refuses_the_cheap_hash_and_hashes_strongly_by_default():
    production = production_environment(os.environ)
    assert read_settings(production).staff_password_hash == "strong"
    with pytest.raises(ConfigurationError) as refused:
        read_settings({**production, "STAFF_PASSWORD_HASH": "fast"})
    assert "STAFF_PASSWORD_HASH" in str(refused.value)
    with pytest.raises(ConfigurationError) as unknown:
        read_settings({"STAFF_PASSWORD_HASH": "cheap"})
    assert "STAFF_PASSWORD_HASH='cheap'" in str(unknown.value)


# -- rate limits ------------------------------------------------------------------------------


def test_failed_sign_ins_are_limited_per_e_mail_address_from_any_client(redis_client):
    # Explicitly on: Flask-Limiter keeps "enabled" from the last app it was set up for.
    app = create_app({"TESTING": True, "RATELIMIT_ENABLED": True})
    staff_member()
    for attempt in range(5):
        client = client_at(app, f"10.0.0.{attempt}")
        assert sign_in(client, password=f"wrong guess {attempt}").status_code == 401
    blocked = sign_in(client_at(app, "10.0.1.1"))
    assert blocked.status_code == 429
    assert "Too many sign-in attempts" in blocked.get_data(as_text=True)
    assert COOKIE_NAME not in blocked.headers.get("Set-Cookie", "")
    staff_member("other@agency.example")
    other = client_at(app, "10.0.1.1")
    assert sign_in(other, email="other@agency.example").status_code == 303


def test_failed_sign_ins_are_limited_per_client(redis_client):
    app = create_app(
        {"TESTING": True, "RATELIMIT_ENABLED": True, "STAFF_SIGN_IN_LIMIT": "3 per minute"}
    )
    staff_member()
    client = app.test_client()
    for _ in range(5):  # signing in successfully does not count
        assert sign_in(client).status_code == 303
    for attempt in range(3):
        assert sign_in(client, email=f"guess{attempt}@agency.example").status_code == 401
    assert sign_in(client).status_code == 429
    elsewhere = client_at(app, "10.9.9.9")
    assert sign_in(elsewhere).status_code == 303


# -- cross-site request forgery ---------------------------------------------------------------


def test_a_form_post_without_the_csrf_token_is_refused(app):
    staff_member()
    response = app.test_client().post(
        "/staff/sign-in", data={"email": "rae@agency.example", "password": PASSWORD}
    )
    assert response.status_code == 400
    assert "this page timed out" in response.get_data(as_text=True)
    assert COOKIE_NAME not in response.headers.get("Set-Cookie", "")

    coordinator = coordinator_client(app)
    response = coordinator.post(
        "/staff/people/new",
        data={
            "email": "new@agency.example",
            "name": "New",
            "roles": "liaison",
            "password": PASSWORD,
        },
    )
    assert response.status_code == 400
    with database.transaction() as session:
        assert accounts.find_by_email(session, email="new@agency.example") is None


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


# -- staff management -------------------------------------------------------------------------


def test_the_coordinator_adds_a_person_who_can_then_sign_in(app):
    coordinator = coordinator_client(app)
    response = coordinator.post(
        "/staff/people/new",
        data={
            "csrf_token": csrf_token(coordinator),
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
    lee = app.test_client()
    signed_in = sign_in(lee, email="lee@agency.example", password="orange kettle on the moon")
    assert signed_in.status_code == 303
    assert lee.get("/api/v1/staff/me").get_json()["roles"] == ["liaison", "reviewer"]


def test_adding_a_person_shows_every_problem_next_to_its_field(app):
    coordinator = coordinator_client(app)
    response = coordinator.post(
        "/staff/people/new",
        data={
            "csrf_token": csrf_token(coordinator),
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


def test_a_page_for_another_role_answers_403_with_a_page(app):
    staff_member()
    client = app.test_client()
    sign_in(client)
    response = client.get("/staff/people")
    assert response.status_code == 403
    assert "This page is for the Coordinator only." in response.get_data(as_text=True)
    api = client.get("/api/v1/staff")
    assert api.status_code == 403
    assert api.get_json() == {"errors": {"_request": ["This is for the Coordinator only."]}}


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


def test_the_api_and_the_form_refuse_the_same_input_with_the_same_messages(app):
    client, token = api_client(app)
    person = {"email": "cora@agency.example", "name": "N", "roles": [], "password": "short"}
    api = client.post("/api/v1/staff", json=person, headers=token)
    form = client.post("/staff/people/new", data={**person, "csrf_token": csrf_token(client)})
    assert (api.status_code, form.status_code) == (422, 422)
    html = form.get_data(as_text=True)
    for field, messages in api.get_json()["errors"].items():
        assert error_beside(html, field) == " ".join(messages), field
    assert sorted(api.get_json()["errors"]) == ["email", "password", "roles"]

    nul = {**person, "email": "new@agency.example", "name": "New\x00Person"}
    api = client.post("/api/v1/staff", json=nul, headers=token)
    form = client.post("/staff/people/new", data={**nul, "csrf_token": csrf_token(client)})
    assert api.status_code == 422
    assert api.get_json() == {"errors": {"name": [NUL_REFUSED]}}
    assert form.status_code == 422
    assert error_beside(form.get_data(as_text=True), "name") == NUL_REFUSED
    with database.transaction() as session:
        assert accounts.find_by_email(session, email="new@agency.example") is None
        assert session.scalar(select(func.count()).select_from(StaffUser)) == 1


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
    }
    add = paths["/api/v1/staff"]["post"]
    assert "requestBody" in add
    assert "201" in add["responses"]
    schemas = document["components"]["schemas"]
    assert set(schemas["PersonIn"]["properties"]) == {"email", "name", "roles", "password"}


# -- one sign-in for every service ------------------------------------------------------------


def test_another_service_accepts_the_session_and_sends_strangers_to_review_to_sign_in(
    app, monkeypatch
):
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://alliances.agency.example")
    other = Flask("reporting")
    staff_auth.init_staff_auth(other)

    @other.get("/reports")
    @staff_auth.staff_required("liaison", "coordinator")
    def reports():
        return f"reports for {staff_auth.current_staff().name}"

    # Behind the gateway at /reporting: next is the path the browser asked for.
    stranger = other.test_client().get("/reports?due=soon", base_url="http://localhost/reporting/")
    assert stranger.status_code == 303
    assert stranger.headers["Location"] == (
        "https://alliances.agency.example/review/staff/sign-in"
        "?next=%2Freporting%2Freports%3Fdue%3Dsoon"
    )

    staff_member("lee@agency.example", "liaison", name="Lee Liaison")
    review = app.test_client()
    sign_in(review, email="lee@agency.example")
    client = other.test_client()
    client.set_cookie(COOKIE_NAME, session_cookie(review))
    response = client.get("/reports")
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "reports for Lee Liaison"

    review.post("/staff/sign-out", data={"csrf_token": csrf_token(review)})
    assert client.get("/reports").status_code == 303


# -- the operator's command -------------------------------------------------------------------


def test_create_coordinator_makes_the_first_coordinator_once():
    runner = CliRunner()
    result = runner.invoke(
        alliance,
        ["create-coordinator", "--email", "Cora@Agency.Example", "--name", "Cora Coordinator"],
        env={"ALLIANCE_PASSWORD": PASSWORD},
    )
    assert result.exit_code == 0, result.output
    assert "created Coordinator cora@agency.example" in result.output
    with database.transaction() as session:
        cora = accounts.authenticate(
            session, email="cora@agency.example", password=PASSWORD, settings=load_settings()
        )
        assert cora is not None
        assert cora.roles == ["coordinator"]

    again = runner.invoke(
        alliance,
        ["create-coordinator", "--email", "cora@agency.example", "--name", "Cora Again"],
        env={"ALLIANCE_PASSWORD": PASSWORD},
    )
    assert again.exit_code == 1
    assert "There is already a staff account with this e-mail address." in again.output


def test_create_coordinator_asks_for_the_password_twice_and_refuses_a_weak_one():
    runner = CliRunner()
    weak = runner.invoke(
        alliance,
        ["create-coordinator", "--email", "cora@agency.example", "--name", "Cora"],
        input="short\nshort\n",
        env={"ALLIANCE_PASSWORD": ""},
    )
    assert weak.exit_code == 1
    assert "Use at least 12 characters" in weak.output
    assert "short" not in weak.output  # hidden input is not echoed
    asked = runner.invoke(
        alliance,
        ["create-coordinator", "--email", "cora@agency.example", "--name", "Cora"],
        input=f"{PASSWORD}\n{PASSWORD}\n",
        env={"ALLIANCE_PASSWORD": ""},
    )
    assert asked.exit_code == 0, asked.output
    assert "Repeat for confirmation" in asked.output
    assert PASSWORD not in asked.output
