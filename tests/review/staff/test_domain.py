"""New staff set their own password from an e-mailed invitation, and anyone who forgot theirs
asks for a link on the sign-in page (services/review/staff/domain.py, views.py).

A link works once, until it expires (STAFF_INVITATION_DAYS, STAFF_PASSWORD_RESET_MINUTES),
while it is the person's newest and their account is active; an altered, used, replaced or
expired link answers a page that says what happened and how to get a new one, never a 500.
"Forgot your password?" answers the same whether or not the address has an account, sends
nothing to a deactivated one, and is rate-limited per client and per account. Review only
stores a hash of each link; the link itself leaves in the ``staff.password_link`` event.

Who may do what with staff accounts, decided by services/review/staff/domain.py alone.

Each rule is tried by the Coordinator, a reviewer, a liaison and a deactivated Coordinator,
straight through the domain function (no page, no API, no route gate in front). A refused
action raises the typed error and leaves the database as it was: accounts, roles, passwords,
the audit log, and the target's sessions in Redis.

Staff accounts and sign-in (shared/staff_auth.py, services/review/staff/) over HTTP,
against the real Redis and PostgreSQL. Who may do what is tested at the domain level in
tests/review/staff/test_domain.py."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.review.models import AuditEntry, StaffUser
from services.review.staff import domain as accounts
from services.review.staff.models import StaffPasswordLink
from services.review.worker import database
from shared import staff_auth
from shared.config import load_settings
from shared.db import utcnow
from shared.domain import Acting, Conflict, Forbidden, Invalid, NotFound
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
from tests.shared.factories import staff_session

pytestmark = pytest.mark.integration


@pytest.fixture
def cora() -> StaffUser:
    return staff_member("cora@agency.example", "coordinator", name="Cora Coordinator")


# -- the invitation, in the domain --------------------------------------------------------------


@pytest.mark.usefixtures("clean_databases")
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


@pytest.mark.usefixtures("clean_databases")
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


@pytest.mark.usefixtures("clean_databases")
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


@pytest.mark.usefixtures("clean_databases")
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


@pytest.mark.usefixtures("clean_databases")
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


@pytest.mark.usefixtures("clean_databases")
def test_an_expired_link_is_refused(cora):
    invite(cora)
    token = token_of(links_sent()[0])
    age_links(days=7, seconds=1)
    assert refusal(token) == "expired"
    with database.transaction() as session, pytest.raises(accounts.LinkRefused):
        accounts.set_password_from_link(
            session, token=token, new_password=NEW_PASSWORD, settings=load_settings()
        )


@pytest.mark.usefixtures("clean_databases")
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


@pytest.mark.usefixtures("clean_databases")
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


@pytest.mark.usefixtures("clean_databases")
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


@pytest.mark.usefixtures("clean_databases")
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


@pytest.mark.usefixtures("clean_databases")
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


@pytest.mark.usefixtures("clean_databases")
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


@pytest.mark.usefixtures("clean_databases")
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


@pytest.mark.usefixtures("clean_databases")
def test_a_reset_link_ends_every_session_of_the_person(cora, redis_client):
    elsewhere = staff_auth.start_session(cora.id, cora.email, cora.name, cora.roles)
    forgot(cora.email)
    use(token_of(links_sent()[0]))
    assert staff_auth.load_session(elsewhere) is None


@pytest.mark.usefixtures("clean_databases")
def test_a_reset_link_expires_after_an_hour(cora):
    forgot(cora.email)
    age_links(hours=1, seconds=1)
    assert refusal(token_of(links_sent()[0])) == "expired"


NEW_PASSWORD_STAFF_DOMAIN = "a fresh start at last"
IDENTITIES = ("coordinator", "reviewer", "liaison", "deactivated")


@dataclass
class Staff:
    session: Session
    people: dict[str, StaffUser]

    def acting(self, who: str) -> Acting:
        return acting_as(self.people[who])

    def add(self, key: str, roles: list[str], *, active: bool = True) -> StaffUser:
        self.people[key] = staff_member(
            f"{key}@agency.example",
            *roles,
            name=f"{key.title()} Person",
            active=active,
            session=self.session,
        )
        return self.people[key]


@pytest.fixture
def staff(rolled_back, redis_client) -> Staff:
    """The Coordinator, a reviewer, a liaison, a deactivated Coordinator, and two people to
    act on: Tia (a reviewer, signed in) and Ina (deactivated)."""
    world = Staff(session=rolled_back("review"), people={})
    world.add("coordinator", ["coordinator"])
    world.add("reviewer", ["reviewer"])
    world.add("liaison", ["liaison"])
    world.add("deactivated", ["coordinator"], active=False)
    world.add("tia", ["reviewer"])
    world.add("ina", ["reviewer"], active=False)
    return world


def stored(staff: Staff) -> list[Any]:
    """Everything a staff action could change, as the database (and Redis) hold it now."""
    session = staff.session
    accounts_now = session.execute(
        select(
            StaffUser.email, StaffUser.roles, StaffUser.active, StaffUser.password_hash
        ).order_by(StaffUser.email)
    ).all()
    audit = session.scalar(select(func.count()).select_from(AuditEntry))
    sessions = staff_auth.redis_client().scard(
        staff_auth.USER_SESSIONS_KEY + str(staff.people["tia"].id)
    )
    return [accounts_now, audit, sessions]


SEE = "Only the Coordinator sees the staff accounts."
ACTIVE = "Only the Coordinator deactivates and reactivates accounts."

# Each Coordinator-only action, done by ``acting`` on Tia (or Ina, to reactivate), and what
# anyone else is told.
ACTIONS: dict[str, tuple[Callable[[Staff, Acting], Any], str]] = {
    "see the staff list": (
        lambda s, acting: accounts.list_people(s.session, acting=acting),
        SEE,
    ),
    "see an account": (
        lambda s, acting: accounts.get_person(s.session, acting=acting, user_id=s.people["tia"].id),
        SEE,
    ),
    "add a person": (
        lambda s, acting: accounts.create_staff(
            s.session,
            acting=acting,
            email="new@agency.example",
            name="New Person",
            roles=["liaison"],
            password=PASSWORD,
            settings=load_settings(),
        ),
        "Only the Coordinator adds staff accounts.",
    ),
    "change roles": (
        lambda s, acting: accounts.change_roles(
            s.session, acting=acting, user_id=s.people["tia"].id, roles=["liaison"]
        ),
        "Only the Coordinator changes roles.",
    ),
    "deactivate": (
        lambda s, acting: accounts.set_active(
            s.session, acting=acting, user_id=s.people["tia"].id, active=False
        ),
        ACTIVE,
    ),
    "reactivate": (
        lambda s, acting: accounts.set_active(
            s.session, acting=acting, user_id=s.people["ina"].id, active=True
        ),
        ACTIVE,
    ),
    "set someone's password": (
        lambda s, acting: accounts.set_password(
            s.session,
            acting=acting,
            user_id=s.people["tia"].id,
            password=NEW_PASSWORD_STAFF_DOMAIN,
            settings=load_settings(),
        ),
        "Only the Coordinator sets another person's password.",
    ),
}
READS = {"see the staff list", "see an account"}


@pytest.mark.parametrize("identity", IDENTITIES)
@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_only_an_active_coordinator_manages_staff_accounts(staff, action, identity):
    act, refusal = ACTIONS[action]
    staff_session(staff.people["tia"])
    before = stored(staff)
    if identity == "coordinator":
        act(staff, staff.acting(identity))
        assert (stored(staff) == before) == (action in READS)
        return
    with pytest.raises(Forbidden) as refused:
        act(staff, staff.acting(identity))
    if identity == "deactivated":  # a Coordinator, but no longer active
        refusal = "Your staff account is not active."
    assert refused.value.message == refusal
    assert stored(staff) == before


def test_a_session_that_still_says_coordinator_counts_for_nothing_after_a_demotion(staff):
    stale = staff.acting("coordinator")
    staff.add("second", ["coordinator"])
    accounts.change_roles(
        staff.session,
        acting=staff.acting("second"),
        user_id=staff.people["coordinator"].id,
        roles=["reviewer"],
    )
    before = stored(staff)
    with pytest.raises(Forbidden):
        accounts.set_active(
            staff.session, acting=stale, user_id=staff.people["tia"].id, active=False
        )
    assert stored(staff) == before


def test_the_last_active_coordinator_is_neither_demoted_nor_deactivated(staff):
    coordinator = staff.acting("coordinator")
    myself = staff.people["coordinator"].id
    before = stored(staff)
    with pytest.raises(Conflict) as demoted:
        accounts.change_roles(staff.session, acting=coordinator, user_id=myself, roles=["reviewer"])
    assert demoted.value.message == (
        "Someone must remain Coordinator: give the role to another person first."
    )
    with pytest.raises(Conflict) as deactivated:
        accounts.set_active(staff.session, acting=coordinator, user_id=myself, active=False)
    assert deactivated.value.message.startswith("This is the only active Coordinator")
    assert stored(staff) == before  # the deactivated Coordinator does not count

    staff.add("second", ["coordinator"])
    accounts.change_roles(staff.session, acting=coordinator, user_id=myself, roles=["reviewer"])
    assert staff.people["coordinator"].roles == ["reviewer"]
    with pytest.raises(Conflict):
        accounts.set_active(
            staff.session,
            acting=staff.acting("second"),
            user_id=staff.people["second"].id,
            active=False,
        )


def test_the_coordinator_sets_only_other_peoples_passwords(staff):
    before = stored(staff)
    with pytest.raises(Forbidden) as refused:
        accounts.set_password(
            staff.session,
            acting=staff.acting("coordinator"),
            user_id=staff.people["coordinator"].id,
            password=NEW_PASSWORD_STAFF_DOMAIN,
            settings=load_settings(),
        )
    assert refused.value.message == (
        "Change your own password from your account, with your current one."
    )
    assert stored(staff) == before


@pytest.mark.parametrize("identity", ["coordinator", "reviewer", "liaison"])
def test_everyone_changes_their_own_password_with_the_current_one(staff, identity):
    person = staff.people[identity]
    here, elsewhere = staff_session(person), staff_session(person)
    before = stored(staff)
    with pytest.raises(Invalid) as wrong:
        accounts.change_password(
            staff.session,
            acting=staff.acting(identity),
            current_password="not my password",
            new_password=NEW_PASSWORD_STAFF_DOMAIN,
            settings=load_settings(),
        )
    assert wrong.value.errors == {"current_password": ["Your current password is not right."]}
    assert stored(staff) == before

    accounts.change_password(
        staff.session,
        acting=staff.acting(identity),
        current_password=PASSWORD,
        new_password=NEW_PASSWORD_STAFF_DOMAIN,
        keep_session=here,
        settings=load_settings(),
    )
    assert (
        accounts.authenticate(
            staff.session, email=person.email, password=PASSWORD, settings=load_settings()
        )
        is None
    )
    assert (
        accounts.authenticate(
            staff.session,
            email=person.email,
            password=NEW_PASSWORD_STAFF_DOMAIN,
            settings=load_settings(),
        )
        == person
    )
    assert staff_auth.load_session(here) is not None
    assert staff_auth.load_session(elsewhere) is None


def test_a_deactivated_person_changes_no_password(staff):
    before = stored(staff)
    with pytest.raises(Forbidden):
        accounts.change_password(
            staff.session,
            acting=staff.acting("deactivated"),
            current_password=PASSWORD,
            new_password=NEW_PASSWORD_STAFF_DOMAIN,
            settings=load_settings(),
        )
    assert stored(staff) == before


def test_an_account_that_does_not_exist_is_not_found(staff):
    import uuid

    with pytest.raises(NotFound):
        accounts.get_person(staff.session, acting=staff.acting("coordinator"), user_id=uuid.uuid4())
    with pytest.raises(NotFound):
        accounts.set_active(
            staff.session, acting=staff.acting("coordinator"), user_id=uuid.uuid4(), active=False
        )


def test_an_unknown_address_costs_a_password_check_too(staff, monkeypatch):
    checked: list[str] = []
    verify = accounts._verify

    def counted(stored: str, given: str) -> bool:
        checked.append(given)
        return verify(stored, given)

    monkeypatch.setattr(accounts, "_verify", counted)
    assert (
        accounts.authenticate(
            staff.session, email="nobody@agency.example", password="x", settings=load_settings()
        )
        is None
    )
    assert checked == ["x"]


# -- passwords --------------------------------------------------------------------------------


@pytest.mark.usefixtures("clean_databases")
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
    assert (
        accounts.password_problems(PASSWORD_STAFF_AUTH, email="rae@agency.example", name="Rae")
        == []
    )


@pytest.mark.usefixtures("clean_databases")
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
            password=PASSWORD_STAFF_AUTH,
            actor="t",
            settings=load_settings(),
        )
    assert caught.value.errors["email"] == ["Enter an e-mail address in the form name@agency.gov."]
    assert caught.value.errors["roles"] == ["Choose at least one role."]
