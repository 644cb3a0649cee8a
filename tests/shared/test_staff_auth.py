"""Staff accounts and sign-in (shared/staff_auth.py, services/review/staff/) over HTTP,
against the real Redis and PostgreSQL. Who may do what is tested at the domain level in
tests/review/staff/test_domain.py."""

import json
import os
import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select

from services.review import create_app
from services.review.models import AuditEntry, StaffUser
from services.review.staff import domain as accounts
from services.review.staff import views as staff_views
from services.review.worker import database
from shared import staff_auth
from shared.config import ConfigurationError, read_settings
from shared.staff_auth import COOKIE_NAME, SESSION_KEY, USER_SESSIONS_KEY
from tests.production import production_environment
from tests.review.factories import acting_as, staff_member

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
