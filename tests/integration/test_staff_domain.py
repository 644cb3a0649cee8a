"""Who may do what with staff accounts, decided by services/review/staff/domain.py alone.

Each rule is tried by the Coordinator, a reviewer, a liaison and a deactivated Coordinator,
straight through the domain function (no page, no API, no route gate in front). A refused
action raises the typed error and leaves the database as it was: accounts, roles, passwords,
the audit log, and the target's sessions in Redis.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.review.models import AuditEntry, StaffUser
from services.review.staff import domain as accounts
from shared import staff_auth
from shared.config import load_settings
from shared.domain import Acting, Conflict, Forbidden, Invalid, NotFound
from tests.factories import PASSWORD, acting_as, staff_member, staff_session

pytestmark = pytest.mark.integration

NEW_PASSWORD = "a fresh start at last"
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
            password=NEW_PASSWORD,
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
            password=NEW_PASSWORD,
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
            new_password=NEW_PASSWORD,
            settings=load_settings(),
        )
    assert wrong.value.errors == {"current_password": ["Your current password is not right."]}
    assert stored(staff) == before

    accounts.change_password(
        staff.session,
        acting=staff.acting(identity),
        current_password=PASSWORD,
        new_password=NEW_PASSWORD,
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
            staff.session, email=person.email, password=NEW_PASSWORD, settings=load_settings()
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
            new_password=NEW_PASSWORD,
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
