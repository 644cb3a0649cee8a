"""New staff set their own password from an e-mailed invitation, and anyone who forgot theirs
asks for a link on the sign-in page (services/review/staff/domain.py, views.py).

A link works once, until it expires (STAFF_INVITATION_DAYS, STAFF_PASSWORD_RESET_MINUTES),
while it is the person's newest and their account is active; an altered, used, replaced or
expired link answers a page that says what happened and how to get a new one, never a 500.
"Forgot your password?" answers the same whether or not the address has an account, sends
nothing to a deactivated one, and is rate-limited per client and per account. Review only
stores a hash of each link; the link itself leaves in the ``staff.password_link`` event.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, text

from services.review import create_app
from services.review.models import AuditEntry, OutboxEvent, StaffUser
from services.review.staff import domain as accounts
from services.review.staff.models import StaffPasswordLink
from services.review.worker import database
from shared import staff_auth
from shared.config import load_settings
from shared.db import utcnow
from shared.domain import Conflict, Forbidden, Invalid
from shared.events import parse_event
from shared.staff_auth import COOKIE_NAME
from tests.factories import PASSWORD, acting_as, staff_member

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clean_databases")]

NEW_PASSWORD = "orange kettle on the moon"
SENT = "If an account exists for that address, we sent a link to set a new password."


@pytest.fixture
def app(redis_client: Any):
    return create_app({"TESTING": True})


@pytest.fixture
def cora() -> StaffUser:
    return staff_member("cora@agency.example", "coordinator", name="Cora Coordinator")


def links_sent() -> list[dict[str, Any]]:
    """Review's ``staff.password_link`` events, oldest first, as notify receives them."""
    with database.transaction() as session:
        messages = session.scalars(
            select(OutboxEvent.message)
            .where(OutboxEvent.type == "staff.password_link")
            .order_by(OutboxEvent.id)
        ).all()
    return [parse_event(message).payload for message in messages]


def token_of(payload: dict[str, Any]) -> str:
    url = payload["set_password_url"]
    prefix = load_settings().public_base_url + "/review/staff/set-password/"
    assert url.startswith(prefix), url
    return str(url.removeprefix(prefix))


def invite(cora: StaffUser, email: str = "lee@agency.example", *roles: str) -> StaffUser:
    with database.transaction() as session:
        return accounts.invite_staff(
            session,
            acting=acting_as(cora),
            email=email,
            name="Lee Liaison",
            roles=list(roles) or ["liaison", "reviewer"],
            settings=load_settings(),
        )


def use(token: str, password: str = NEW_PASSWORD) -> StaffUser:
    with database.transaction() as session:
        return accounts.set_password_from_link(
            session, token=token, new_password=password, settings=load_settings()
        )


def refusal(token: str) -> str:
    with (
        database.transaction() as session,
        pytest.raises(accounts.LinkRefused) as refused,
    ):
        accounts.check_password_link(session, token=token)
    return refused.value.reason


def can_sign_in(email: str, password: str) -> bool:
    with database.transaction() as session:
        return (
            accounts.authenticate(session, email=email, password=password, settings=load_settings())
            is not None
        )


def age_links(**delta: float) -> None:
    """Every link as if made ``delta`` ago: created and expiring that much earlier."""
    with database.transaction() as session:
        session.execute(
            text(
                "UPDATE staff_password_links"
                " SET created_at = created_at - :delta, expires_at = expires_at - :delta"
            ),
            {"delta": timedelta(**delta)},
        )


# -- the invitation, in the domain --------------------------------------------------------------


def test_the_coordinator_invites_a_person_who_has_no_password_until_they_set_one(cora):
    lee = invite(cora)
    assert lee.invited
    [sent] = links_sent()
    assert sent["kind"] == "invitation"
    assert (sent["name"], sent["email"], sent["invited_by"]) == (
        "Lee Liaison",
        "lee@agency.example",
        "Cora Coordinator",
    )
    assert sent["roles"] == ["Reviewer", "Liaison"]
    lifetime = sent["expires_at"] - utcnow()
    assert timedelta(days=7) - timedelta(minutes=5) < lifetime <= timedelta(days=7)
    token = token_of(sent)
    assert len(token) >= 43  # 256 random bits
    # Nothing signs in yet, not even an empty password.
    assert not can_sign_in("lee@agency.example", "")
    assert not can_sign_in("lee@agency.example", NEW_PASSWORD)
    # Review keeps only a hash of the link.
    with database.transaction() as session:
        [stored] = session.scalars(select(StaffPasswordLink)).all()
        assert token not in stored.token_hash
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.entity_id == str(lee.id))
        ).all()
    assert sorted(actions) == ["invitation sent", "staff account created"]

    with database.transaction() as session:
        link = accounts.check_password_link(session, token=token)
    assert (link.kind, link.name, link.email) == ("invitation", "Lee Liaison", lee.email)
    person = use(token)
    assert not person.invited
    assert can_sign_in("lee@agency.example", NEW_PASSWORD)


def test_only_the_coordinator_invites_and_sends_an_invitation_again(cora):
    riley = staff_member("riley@agency.example", "reviewer", name="Riley Reviewer")
    with database.transaction() as session, pytest.raises(Forbidden):
        accounts.invite_staff(
            session,
            acting=acting_as(riley),
            email="lee@agency.example",
            name="Lee",
            roles=["liaison"],
            settings=load_settings(),
        )
    lee = invite(cora)
    with database.transaction() as session, pytest.raises(Forbidden):
        accounts.resend_invitation(
            session, acting=acting_as(riley), user_id=lee.id, settings=load_settings()
        )
    assert len(links_sent()) == 1


def test_an_invitation_checks_the_person_as_adding_one_does(cora):
    with database.transaction() as session, pytest.raises(Invalid) as refused:
        accounts.invite_staff(
            session,
            acting=acting_as(cora),
            email="cora@agency.example",
            name="",
            roles=[],
            settings=load_settings(),
        )
    assert sorted(refused.value.errors) == ["email", "name", "roles"]
    assert links_sent() == []


def test_a_link_sets_the_password_once(cora):
    invite(cora)
    token = token_of(links_sent()[0])
    use(token)
    assert refusal(token) == "used"
    with database.transaction() as session, pytest.raises(accounts.LinkRefused) as again:
        accounts.set_password_from_link(
            session, token=token, new_password="someone else now", settings=load_settings()
        )
    assert again.value.reason == "used"
    assert can_sign_in("lee@agency.example", NEW_PASSWORD)
    assert not can_sign_in("lee@agency.example", "someone else now")


def test_a_weak_password_leaves_the_link_usable(cora):
    invite(cora)
    token = token_of(links_sent()[0])
    for weak, problem in (
        ("short", "Use at least 12 characters"),
        ("password1234", "too easy to guess"),
        ("lee liaison forever", "Do not use your e-mail address or name"),
    ):
        with database.transaction() as session, pytest.raises(Invalid) as refused:
            accounts.set_password_from_link(
                session, token=token, new_password=weak, settings=load_settings()
            )
        assert problem in refused.value.errors["new_password"][0]
    use(token)


def test_an_expired_link_is_refused(cora):
    invite(cora)
    token = token_of(links_sent()[0])
    age_links(days=7, seconds=1)
    assert refusal(token) == "expired"
    with database.transaction() as session, pytest.raises(accounts.LinkRefused):
        accounts.set_password_from_link(
            session, token=token, new_password=NEW_PASSWORD, settings=load_settings()
        )


@pytest.mark.parametrize(
    "altered",
    [
        lambda token: token[:-1] + ("A" if token[-1] != "A" else "B"),
        lambda token: token[:20],
        lambda token: token + "x",
        lambda token: "",
        lambda token: "x" * 500,
    ],
    ids=["a changed character", "cut short", "one more", "empty", "very long"],
)
def test_an_altered_link_is_unknown(cora, altered):
    invite(cora)
    token = token_of(links_sent()[0])
    assert refusal(altered(token)) == "unknown"
    use(token)  # the real one still works


def test_a_new_invitation_ends_the_old_links(cora):
    lee = invite(cora)
    first = token_of(links_sent()[0])
    with database.transaction() as session:
        accounts.resend_invitation(
            session, acting=acting_as(cora), user_id=lee.id, settings=load_settings()
        )
    second = token_of(links_sent()[1])
    assert refusal(first) == "replaced"
    use(second)
    with database.transaction() as session, pytest.raises(Conflict, match="already set"):
        accounts.resend_invitation(
            session, acting=acting_as(cora), user_id=lee.id, settings=load_settings()
        )


def test_a_deactivated_persons_link_is_refused_and_no_invitation_goes_to_them(cora):
    lee = invite(cora)
    token = token_of(links_sent()[0])
    with database.transaction() as session:
        accounts.set_active(session, acting=acting_as(cora), user_id=lee.id, active=False)
    assert refusal(token) == "inactive"
    with database.transaction() as session, pytest.raises(Conflict, match="deactivated"):
        accounts.resend_invitation(
            session, acting=acting_as(cora), user_id=lee.id, settings=load_settings()
        )
    with database.transaction() as session:
        accounts.set_active(session, acting=acting_as(cora), user_id=lee.id, active=True)
    assert refusal(token) == "replaced"  # reactivation does not bring old links back


def test_the_coordinator_setting_the_password_ends_the_invitation(cora):
    lee = invite(cora)
    token = token_of(links_sent()[0])
    with database.transaction() as session:
        accounts.set_password(
            session,
            acting=acting_as(cora),
            user_id=lee.id,
            password=PASSWORD,
            settings=load_settings(),
        )
    assert refusal(token) == "replaced"
    assert can_sign_in(lee.email, PASSWORD)


def test_a_password_given_when_adding_a_person_sends_no_invitation(cora):
    with database.transaction() as session:
        lee = accounts.create_staff(
            session,
            acting=acting_as(cora),
            email="lee@agency.example",
            name="Lee Liaison",
            roles=["liaison"],
            password=NEW_PASSWORD,
            settings=load_settings(),
        )
    assert not lee.invited
    assert links_sent() == []
    with database.transaction() as session, pytest.raises(Invalid) as refused:
        accounts.create_staff(
            session,
            acting=acting_as(cora),
            email="ola@agency.example",
            name="Ola",
            roles=["liaison"],
            password="",  # sent, but empty: not an invitation
            settings=load_settings(),
        )
    assert refused.value.errors == {"password": ["Enter a password."]}


# -- a forgotten password, in the domain --------------------------------------------------------


def forgot(email: str) -> None:
    with database.transaction() as session:
        accounts.request_password_reset(session, email=email, settings=load_settings())


def test_forgot_password_sends_a_one_hour_link_to_an_active_account_only(cora):
    staff_member("ina@agency.example", "reviewer", name="Ina Inactive", active=False)
    forgot("nobody@agency.example")
    forgot("ina@agency.example")
    assert links_sent() == []
    forgot("  CORA@agency.example ")
    [sent] = links_sent()
    assert (sent["kind"], sent["email"], sent["name"]) == (
        "reset",
        "cora@agency.example",
        "Cora Coordinator",
    )
    lifetime = sent["expires_at"] - utcnow()
    assert timedelta(minutes=55) < lifetime <= timedelta(hours=1)
    # The old password works until the new one is set.
    assert can_sign_in(cora.email, PASSWORD)
    use(token_of(sent))
    assert not can_sign_in(cora.email, PASSWORD)
    assert can_sign_in(cora.email, NEW_PASSWORD)


def test_forgot_password_sends_one_account_at_most_three_links_an_hour(cora):
    for _ in range(5):
        forgot(cora.email)
    sent = links_sent()
    assert len(sent) == accounts.RESET_LINKS_PER_HOUR == 3
    # Only the newest works.
    assert [refusal(token_of(s)) for s in sent[:-1]] == ["replaced", "replaced"]
    age_links(hours=1, seconds=1)
    forgot(cora.email)
    assert len(links_sent()) == 4


def test_a_reset_link_ends_every_session_of_the_person(cora, redis_client):
    elsewhere = staff_auth.start_session(cora.id, cora.email, cora.name, cora.roles)
    forgot(cora.email)
    use(token_of(links_sent()[0]))
    assert staff_auth.load_session(elsewhere) is None


def test_a_reset_link_expires_after_an_hour(cora):
    forgot(cora.email)
    age_links(hours=1, seconds=1)
    assert refusal(token_of(links_sent()[0])) == "expired"


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


def test_the_link_page_sets_the_password_and_signs_the_person_in(app, cora):
    invite(cora)
    token = token_of(links_sent()[0])
    client = app.test_client()
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

    again = app.test_client().get(path)
    assert again.status_code == 410
    assert "This link was already used" in words(again)
    assert "Ask the Alliance Coordinator to send the invitation again" in words(again)


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


def test_the_api_invites_when_no_password_is_sent(app, cora):
    client = signed_in_client(app)
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
