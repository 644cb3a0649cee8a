"""Staff accounts: who may sign in, with which roles, and their passwords.

Every rule about accounts lives here, and each function that changes one takes the acting
staff member and refuses on its own (views and APIs never re-check):

- only an active Coordinator sees the staff list, adds a person, changes roles, deactivates
  or reactivates an account, or sets someone else's password (``_as_coordinator``);
- the last active Coordinator can be neither demoted nor deactivated (``Conflict``);
- a person changes their own password with their current one (``change_password``), never
  through ``set_password``;
- a person sets their own password from an e-mailed link (``set_password_from_link``): the
  Coordinator's invitation (``invite_staff``, ``resend_invitation``) or the answer to "Forgot
  your password?" (``request_password_reset``). A link works once, until it expires
  (STAFF_INVITATION_DAYS, STAFF_PASSWORD_RESET_MINUTES), while it is the person's newest and
  their account is active; only a hash of it is stored, and notify mails it (the event
  ``staff.password_link``).

Plain functions over a SQLAlchemy session; the caller owns the transaction and nothing here
commits, and gives the settings where a function needs them (``settings``: the hashing cost,
the links' lifetimes and address). Passwords are hashed with Argon2id (argon2-cffi) at the
cost the setting ``STAFF_PASSWORD_HASH`` names (shared/config/staff.py), and rehashed at
sign-in when that cost has changed. Anything that takes access away (deactivation, a change of
roles or of password) also ends the person's sessions (shared/staff_auth.py). Anything that
changes who the active Coordinators are also tells the other services, through review's outbox
in the same transaction (``staff.coordinators_changed`` with the whole list: notify sends the
Coordinator's mail to them).
"""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.review import audit, people
from services.review.staff.models import StaffPasswordLink, StaffUser
from services.review.worker import outbox
from shared import staff_auth
from shared.config import SERVICES, Settings, load_agency_profile
from shared.db import after_commit, utcnow
from shared.domain import Acting, Conflict, Forbidden, Invalid, NotFound
from shared.events import new_event

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256  # Argon2 takes any length; this keeps one attempt's cost bounded

# Argon2id at each cost STAFF_PASSWORD_HASH may name. "strong" is argon2-cffi's default (RFC
# 9106's low-memory profile: 64 MiB, 3 passes, 4 lanes, about 0.15 s a hash); "fast" is the
# least Argon2 allows, for tests only (production refuses it). A hash records its own cost, so
# it verifies whatever the setting is now, and is upgraded at the person's next sign-in.
HASHERS: dict[str, PasswordHasher] = {
    "strong": PasswordHasher(),
    "fast": PasswordHasher(time_cost=1, memory_cost=8, parallelism=1),
}

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

# What a person is told about each field; the input schemas (schemas.py) reuse them, so the
# form and the API say the same.
ENTER_EMAIL = "Enter the person's e-mail address."
ENTER_NAME = "Enter the person's name."
ENTER_PASSWORD = "Enter a password."  # noqa: S105 (a message, not a password)
CHOOSE_A_ROLE = "Choose at least one role."
NO_SUCH_ACCOUNT = "There is no such staff account."
TAKEN_EMAIL = "There is already a staff account with this e-mail address."
WRONG_CURRENT_PASSWORD = "Your current password is not right."  # noqa: S105

# The dozen-plus-character passwords that top the leaked-password lists.
COMMON_PASSWORDS = frozenset(
    {
        "123456789012",
        "1234567890123",
        "12345678901234",
        "000000000000",
        "111111111111",
        "abc123456789",
        "abcdefghijkl",
        "qwertyuiop12",
        "qwerty123456",
        "qwertyuiopasdf",
        "password1234",
        "password12345",
        "password123456",
        "passwordpassword",
        "letmein12345",
        "welcome12345",
        "iloveyou1234",
        "changeme1234",
        "administrator",
        "alliance1234",
        "alliance2026",
    }
)


def normalize_email(email: str) -> str:
    return email.strip().lower()


def role_labels(roles: Iterable[str]) -> list[str]:
    held = set(roles)
    return [label for role, label in staff_auth.ROLES.items() if role in held]


def password_problems(password: str, *, email: str = "", name: str = "") -> list[str]:
    """Why a new password is too weak (none: it will do)."""
    if not password:
        return [ENTER_PASSWORD]
    if len(password) < MIN_PASSWORD_LENGTH:
        return [
            f"Use at least {MIN_PASSWORD_LENGTH} characters (this one has {len(password)}). "
            "A few unrelated words make a long password that is easy to remember."
        ]
    if len(password) > MAX_PASSWORD_LENGTH:
        return [f"Use at most {MAX_PASSWORD_LENGTH} characters."]
    folded = password.lower()
    if folded in COMMON_PASSWORDS or len(set(folded)) < 5:
        return [
            "This password is too easy to guess. Choose another one, for example a few "
            "unrelated words."
        ]
    personal = [normalize_email(email), normalize_email(email).split("@")[0]]
    personal += [part for part in re.split(r"\W+", name.lower()) if len(part) >= 4]
    if any(len(word) >= 4 and word in folded for word in personal):
        return ["Do not use your e-mail address or name in your password."]
    return []


# -- hashing ----------------------------------------------------------------------------------


def hasher(settings: Settings) -> PasswordHasher:
    """The Argon2id hasher at the cost STAFF_PASSWORD_HASH names now."""
    return HASHERS[settings.staff_password_hash]


def hash_password(password: str, *, settings: Settings) -> str:
    return hasher(settings).hash(password)


@functools.cache
def _dummy_hash(profile: str) -> str:
    return HASHERS[profile].hash("not anyone's password")


def _verify(password_hash: str, password: str) -> bool:
    """Whether ``password`` is the one ``password_hash`` was made from (at whatever cost)."""
    try:
        return HASHERS["fast"].verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _matches(password_hash: str | None, password: str, *, settings: Settings) -> bool:
    """``_verify``; no hash (an invited person who has not set a password yet) costs the same
    time as a check at today's cost and matches nothing."""
    if password_hash is None:
        _verify(_dummy_hash(settings.staff_password_hash), password)
        return False
    return _verify(password_hash, password)


# -- reading ----------------------------------------------------------------------------------


def find_by_email(session: Session, *, email: str) -> StaffUser | None:
    return session.scalars(
        select(StaffUser).where(StaffUser.email == normalize_email(email))
    ).first()


def get_staff(session: Session, *, user_id: uuid.UUID) -> StaffUser:
    """The account with this id, whoever asks: for other domain functions that need a
    person's name or roles (a reviewer to assign, a liaison to name). Pages and APIs about
    accounts go through ``get_person``."""
    user = session.get(StaffUser, user_id)
    if user is None:
        raise NotFound(NO_SUCH_ACCOUNT)
    return user


def list_staff(session: Session) -> list[StaffUser]:
    """Every account, active people first, then by name (see ``list_people``)."""
    return list(
        session.scalars(
            select(StaffUser).order_by(StaffUser.active.desc(), StaffUser.name, StaffUser.email)
        )
    )


def active_coordinators(session: Session) -> list[StaffUser]:
    """The active Coordinators, by name."""
    return list(
        session.scalars(
            select(StaffUser)
            .where(StaffUser.active.is_(True), StaffUser.roles.contains(["coordinator"]))
            .order_by(StaffUser.name, StaffUser.email)
        )
    )


def coordinators_changed_event_payload(session: Session) -> dict[str, object]:
    """What ``staff.coordinators_changed`` says: every active Coordinator as it is now."""
    return {
        "coordinators": [
            {
                "id": user.id,
                "name": user.name,
                "email": user.email,
                "office": user.office or load_agency_profile().offices.top.slug,
            }
            for user in active_coordinators(session)
        ],
        "changed_at": utcnow(),
    }


def _announce_coordinators(session: Session) -> None:
    """Tell the other services who the active Coordinators are now, in the caller's
    transaction (review's outbox publishes it once that commits)."""
    session.flush()
    outbox.add(
        session,
        new_event(
            "staff.coordinators_changed",
            producer="review",
            payload=coordinators_changed_event_payload(session),
        ),
    )


def _as_coordinator(session: Session, acting: Acting, *, only_the_coordinator: str) -> None:
    """Refuse unless ``acting`` is an active Coordinator, by their account as it is now (a
    session could outlive a change that has not reached it yet)."""
    account = session.get(StaffUser, acting.staff_id)
    if account is None or not account.active:
        raise Forbidden("Your staff account is not active.")
    if not acting.is_coordinator or "coordinator" not in account.roles:
        raise Forbidden(f"Only the Coordinator {only_the_coordinator}.")


def list_people(session: Session, *, acting: Acting) -> list[StaffUser]:
    """The staff list the Coordinator manages: the people of their offices (the top office's
    Coordinator: everyone)."""
    _as_coordinator(session, acting, only_the_coordinator="sees the staff accounts")
    return [user for user in list_staff(session) if people.sees_office(acting, user.office)]


def get_person(session: Session, *, acting: Acting, user_id: uuid.UUID) -> StaffUser:
    """One account, as the Coordinator manages it."""
    _as_coordinator(session, acting, only_the_coordinator="sees the staff accounts")
    return _managed(session, acting, user_id)


def _managed(session: Session, acting: Acting, user_id: uuid.UUID) -> StaffUser:
    """An account of ``acting``'s offices: a Coordinator manages the people of their office
    and the offices under it."""
    user = get_staff(session, user_id=user_id)
    people.check_office(acting, user.office, "This person")
    return user


def checked_office(acting: Acting, office: str | None) -> str | None:
    """The office a person is given, as stored (None: the top office); ``Invalid`` when the
    agency has no such office or it is outside ``acting``'s."""
    offices = load_agency_profile().offices
    if not office:
        office = (acting.office or None) if people.scope(acting) is not None else None
        return office
    if office not in offices:
        raise Invalid({"office": ["Choose one of the agency's offices."]})
    if not people.sees_office(acting, office):
        raise Invalid(
            {"office": [f"{offices.name(office)} is outside your office: choose one of yours."]}
        )
    return None if office == offices.top.slug else office


# -- names for the records' actors ------------------------------------------------------------


FORMER_STAFF = "A former staff member"
SYSTEM_NAME = "The system"


def names(session: Session, actors: Iterable[str | None], *, applicant: str = "") -> dict[str, str]:
    """Who did something, as people read it, for each actor a record keeps: a staff member's
    name for their address (an address no account has any more: "A former staff member"),
    the applicant's contact by name (``applicant``), "The system" for a service acting on its
    own; a name is kept as it is. Never an address."""
    wanted = {actor for actor in actors if actor is not None}
    addresses = {actor.strip().lower() for actor in wanted if "@" in actor}
    by_address: dict[str, str] = {}
    if addresses:
        by_address = {
            email: name
            for email, name in session.execute(
                select(StaffUser.email, StaffUser.name).where(StaffUser.email.in_(addresses))
            ).tuples()
            if name.strip()
        }
    shown: dict[str, str] = {}
    for actor in wanted:
        if "@" in actor:
            shown[actor] = by_address.get(actor.strip().lower(), FORMER_STAFF)
        elif actor == "applicant":
            shown[actor] = f"{applicant} (applicant)" if applicant else "The applicant"
        elif actor in SERVICES or actor in ("system", ""):
            shown[actor] = SYSTEM_NAME
        else:
            shown[actor] = actor
    return shown


def name_of(session: Session, actor: str | None) -> str:
    """The name to show for one actor (see ``names``)."""
    return names(session, [actor]).get(actor or "", actor or "")


# -- liaisons ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Liaison:
    """A staff member who may be an alliance's liaison, as a decision names them."""

    id: uuid.UUID
    name: str
    email: str


LiaisonLookup = Callable[[uuid.UUID], Liaison | None]


def staff_liaisons(session: Session) -> LiaisonLookup:
    """The active staff accounts holding the Liaison role, looked up by id."""

    def lookup(staff_id: uuid.UUID) -> Liaison | None:
        try:
            person = get_staff(session, user_id=staff_id)
        except NotFound:
            return None
        if not person.active or "liaison" not in person.roles:
            return None
        return Liaison(id=person.id, name=person.name, email=person.email)

    return lookup


def liaison_choices(session: Session) -> list[Liaison]:
    """Who can be chosen as an approved alliance's liaison."""
    return [
        Liaison(id=person.id, name=person.name, email=person.email)
        for person in list_staff(session)
        if person.active and "liaison" in person.roles
    ]


# -- signing in -------------------------------------------------------------------------------


def authenticate(
    session: Session, *, email: str, password: str, settings: Settings
) -> StaffUser | None:
    """The active person with this e-mail and password, or None (whatever was wrong).

    An unknown address costs as much time as a wrong password, so the answer's timing does
    not tell who has an account. A hash made at another cost is rehashed at today's.
    """
    user = find_by_email(session, email=email) if len(password) <= MAX_PASSWORD_LENGTH else None
    if user is None:
        _verify(_dummy_hash(settings.staff_password_hash), password)
        return None
    if not _matches(user.password_hash, password, settings=settings) or not user.active:
        return None
    if user.password_hash is not None and hasher(settings).check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password, settings=settings)
    return user


# -- changing ---------------------------------------------------------------------------------


def _checked_roles(roles: Iterable[str]) -> tuple[list[str], list[str]]:
    chosen = list(dict.fromkeys(r.strip() for r in roles if r.strip()))
    unknown = [r for r in chosen if r not in staff_auth.ROLES]
    if unknown:
        return [], [f"Choose from the roles listed ({', '.join(staff_auth.ROLES.values())})."]
    if not chosen:
        return [], [CHOOSE_A_ROLE]
    return [r for r in staff_auth.ROLES if r in chosen], []


def _end_sessions_now_and_after_commit(
    session: Session, user_id: uuid.UUID, *, keep: str | None = None
) -> None:
    """Now, so access stops at once (failing loudly if Redis is away), and again after the
    commit, in case the person signed in while this transaction was open."""

    def end() -> None:
        staff_auth.end_user_sessions(user_id, keep=keep)

    end()
    after_commit(session, end)


def create_staff(
    session: Session,
    *,
    acting: Acting,
    email: str,
    name: str,
    roles: Iterable[str],
    password: str | None = None,
    office: str | None = None,
    settings: Settings,
) -> StaffUser:
    """The Coordinator adds a person, who can sign in at once with ``password``; without
    one (None) the person is invited to set their own (``invite_staff``). ``office``: one of
    the Coordinator's offices (none given: the Coordinator's own)."""
    if password is None:
        return invite_staff(
            session,
            acting=acting,
            email=email,
            name=name,
            roles=roles,
            office=office,
            settings=settings,
        )
    _as_coordinator(session, acting, only_the_coordinator="adds staff accounts")
    return add_account(
        session,
        email=email,
        name=name,
        roles=roles,
        password=password,
        office=checked_office(acting, office),
        actor=acting.email,
        settings=settings,
    )


def invite_staff(
    session: Session,
    *,
    acting: Acting,
    email: str,
    name: str,
    roles: Iterable[str],
    office: str | None = None,
    settings: Settings,
) -> StaffUser:
    """The Coordinator adds a person without a password: the person is e-mailed an
    invitation with a link to set their own, which works once, for STAFF_INVITATION_DAYS."""
    _as_coordinator(session, acting, only_the_coordinator="adds staff accounts")
    user = add_account(
        session,
        email=email,
        name=name,
        roles=roles,
        password=None,
        office=checked_office(acting, office),
        actor=acting.email,
        settings=settings,
    )
    _send_link(
        session,
        user,
        kind="invitation",
        actor=acting.email,
        invited_by=acting.name,
        settings=settings,
    )
    return user


def add_account(
    session: Session,
    *,
    email: str,
    name: str,
    roles: Iterable[str],
    password: str | None,
    actor: str,
    settings: Settings,
    office: str | None = None,
) -> StaffUser:
    """An account no staff member asked for: the first Coordinator (``alliance
    create-coordinator``) and test builders. Pages and APIs use ``create_staff``.
    ``password`` None leaves the account waiting for its person to set one (an invitation:
    ``invite_staff`` sends the link)."""
    errors: dict[str, list[str]] = {}
    email = normalize_email(email)
    name = " ".join(name.split())
    if not email:
        errors["email"] = [ENTER_EMAIL]
    elif len(email) > 254 or not _EMAIL.match(email):
        errors["email"] = ["Enter an e-mail address in the form name@agency.gov."]
    elif find_by_email(session, email=email) is not None:
        errors["email"] = [TAKEN_EMAIL]
    if not name:
        errors["name"] = [ENTER_NAME]
    elif len(name) > 200:
        errors["name"] = ["Keep the name to 200 characters."]
    chosen, role_errors = _checked_roles(roles)
    if role_errors:
        errors["roles"] = role_errors
    problems = [] if password is None else password_problems(password, email=email, name=name)
    if problems:
        errors["password"] = problems
    if errors:
        raise Invalid(errors)
    user = StaffUser(
        email=email,
        name=name,
        roles=chosen,
        password_hash=None if password is None else hash_password(password, settings=settings),
        active=True,
        office=office,
    )
    try:
        with session.begin_nested():
            session.add(user)
            session.flush()
    except IntegrityError:
        raise Invalid({"email": [TAKEN_EMAIL]}) from None
    audit.record(
        session,
        entity_type="staff",
        entity_id=user.id,
        action="staff account created",
        actor=actor,
        changes={
            "email": [None, email],
            "name": [None, name],
            "roles": [None, chosen],
            "office": [None, people.office_name(office)],
        },
    )
    if "coordinator" in chosen:
        _announce_coordinators(session)
    return user


def _other_active_coordinators(session: Session, user_id: uuid.UUID) -> int:
    """Locked, so two Coordinators cannot each remove the other at the same moment."""
    others = session.scalars(
        select(StaffUser.id)
        .where(
            StaffUser.active.is_(True),
            StaffUser.roles.contains(["coordinator"]),
            StaffUser.id != user_id,
        )
        .with_for_update()
    ).all()
    return len(others)


def change_roles(
    session: Session, *, acting: Acting, user_id: uuid.UUID, roles: Iterable[str]
) -> StaffUser:
    """The Coordinator changes a person's roles; they take effect at the person's next
    sign-in: their sessions end now. Someone must remain Coordinator."""
    _as_coordinator(session, acting, only_the_coordinator="changes roles")
    user = _managed(session, acting, user_id)
    chosen, role_errors = _checked_roles(roles)
    if role_errors:
        raise Invalid({"roles": role_errors})
    if chosen == list(user.roles):
        return user
    if (
        "coordinator" in user.roles
        and "coordinator" not in chosen
        and user.active
        and not _other_active_coordinators(session, user.id)
    ):
        raise Conflict("Someone must remain Coordinator: give the role to another person first.")
    before = list(user.roles)
    user.roles = chosen
    audit.record(
        session,
        entity_type="staff",
        entity_id=user.id,
        action="roles changed",
        actor=acting.email,
        changes={"roles": [before, chosen]},
    )
    session.flush()  # the answer shows the record as stored (updated_at)
    if user.active and ("coordinator" in before) != ("coordinator" in chosen):
        _announce_coordinators(session)
    _end_sessions_now_and_after_commit(session, user.id)
    return user


def change_office(
    session: Session, *, acting: Acting, user_id: uuid.UUID, office: str
) -> StaffUser:
    """The Coordinator moves a person to another of their offices; it takes effect at the
    person's next sign-in (their sessions end now), and a Coordinator's alerts follow."""
    _as_coordinator(session, acting, only_the_coordinator="moves people between offices")
    user = _managed(session, acting, user_id)
    if not office:
        raise Invalid({"office": ["Choose an office."]})
    chosen = checked_office(acting, office)
    if chosen == user.office:
        return user
    before = user.office
    user.office = chosen
    audit.record(
        session,
        entity_type="staff",
        entity_id=user.id,
        action="office changed",
        actor=acting.email,
        changes={"office": [people.office_name(before), people.office_name(chosen)]},
    )
    session.flush()
    if user.active and "coordinator" in user.roles:
        _announce_coordinators(session)
    _end_sessions_now_and_after_commit(session, user.id)
    return user


def set_active(session: Session, *, acting: Acting, user_id: uuid.UUID, active: bool) -> StaffUser:
    """The Coordinator deactivates an account (ending every session of it at once) or
    reactivates it. The last active Coordinator stays active."""
    _as_coordinator(session, acting, only_the_coordinator="deactivates and reactivates accounts")
    user = _managed(session, acting, user_id)
    if user.active == active:
        return user
    if (
        not active
        and "coordinator" in user.roles
        and not _other_active_coordinators(session, user.id)
    ):
        raise Conflict(
            "This is the only active Coordinator: make someone else Coordinator "
            "before deactivating this account."
        )
    user.active = active
    audit.record(
        session,
        entity_type="staff",
        entity_id=user.id,
        action="reactivated" if active else "deactivated",
        actor=acting.email,
        changes={"active": [not active, active]},
    )
    session.flush()  # the answer shows the record as stored (updated_at)
    if "coordinator" in user.roles:
        _announce_coordinators(session)
    if not active:
        _end_links(session, user.id)
        _end_sessions_now_and_after_commit(session, user.id)
    return user


def set_password(
    session: Session, *, acting: Acting, user_id: uuid.UUID, password: str, settings: Settings
) -> StaffUser:
    """The Coordinator gives someone else a new password (a forgotten one, say); the person's
    sessions end, so whoever knew the old password is out. One's own password is changed
    with ``change_password``, which asks for the current one."""
    _as_coordinator(session, acting, only_the_coordinator="sets another person's password")
    if user_id == acting.staff_id:
        raise Forbidden("Change your own password from your account, with your current one.")
    user = get_staff(session, user_id=user_id)
    problems = password_problems(password, email=user.email, name=user.name)
    if problems:
        raise Invalid({"password": problems})
    user.password_hash = hash_password(password, settings=settings)
    audit.record(
        session, entity_type="staff", entity_id=user.id, action="password set", actor=acting.email
    )
    _end_links(session, user.id)
    _end_sessions_now_and_after_commit(session, user.id)
    return user


def change_password(
    session: Session,
    *,
    acting: Acting,
    current_password: str,
    new_password: str,
    settings: Settings,
    keep_session: str | None = None,
) -> StaffUser:
    """Anyone's own password, given the current one. Their other sessions end;
    ``keep_session`` (the one they are using) stays."""
    user = session.get(StaffUser, acting.staff_id)
    if user is None or not user.active:
        raise Forbidden("Your staff account is not active.")
    if not _matches(user.password_hash, current_password, settings=settings):
        raise Invalid({"current_password": [WRONG_CURRENT_PASSWORD]})
    problems = password_problems(new_password, email=user.email, name=user.name)
    if not problems and new_password == current_password:
        problems = ["Choose a password different from your current one."]
    if problems:
        raise Invalid({"new_password": problems})
    user.password_hash = hash_password(new_password, settings=settings)
    audit.record(
        session,
        entity_type="staff",
        entity_id=user.id,
        action="password changed",
        actor=user.email,
    )
    _end_links(session, user.id)
    _end_sessions_now_and_after_commit(session, user.id, keep=keep_session)
    return user


# -- e-mailed links that set a password --------------------------------------------------------

# Where a link opens, behind the gateway (views.py ``set_password_from_link``).
SET_PASSWORD_PATH = "/review/staff/set-password/"  # noqa: S105 (a path)
# "Forgot your password?" e-mails one account at most this many links an hour, whoever asks.
RESET_LINKS_PER_HOUR = 3
LINK_ACTIONS = {"invitation": "invitation sent", "reset": "password reset link sent"}


class LinkRefused(Exception):
    """A set-your-password link that cannot be used, and why (``reason``): ``unknown`` (no
    such link: mistyped, cut short or altered), ``used``, ``replaced`` (a newer link was sent,
    or the password was set another way), ``inactive`` (the account was deactivated) or
    ``expired``. ``kind`` is the link's (``invitation`` or ``reset``; "" when unknown)."""

    def __init__(self, reason: str, kind: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.kind = kind


@dataclass(frozen=True)
class PasswordLink:
    """A usable link, as its page greets the person."""

    kind: str
    name: str
    email: str
    expires_at: datetime


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def set_password_url(token: str, *, settings: Settings) -> str:
    return f"{settings.public_base_url}{SET_PASSWORD_PATH}{token}"


def _lifetime(kind: str, settings: Settings) -> timedelta:
    if kind == "invitation":
        return settings.staff_invitation_lifetime
    return settings.staff_password_reset_lifetime


def _end_links(session: Session, user_id: uuid.UUID, *, now: datetime | None = None) -> None:
    """Every link of the person not used yet stops working (a newer link, a password set)."""
    session.execute(
        update(StaffPasswordLink)
        .where(
            StaffPasswordLink.user_id == user_id,
            StaffPasswordLink.used_at.is_(None),
            StaffPasswordLink.ended_at.is_(None),
        )
        .values(ended_at=now or utcnow())
    )


def _send_link(
    session: Session,
    user: StaffUser,
    *,
    kind: str,
    actor: str,
    invited_by: str = "",
    settings: Settings,
) -> StaffPasswordLink:
    """A new link for ``user`` (their older ones end), e-mailed by notify once this
    transaction commits. Only the link's hash is stored; the link itself travels in the
    event, the way the partners' signed links do."""
    now = utcnow()
    _end_links(session, user.id, now=now)
    token = secrets.token_urlsafe(32)
    link = StaffPasswordLink(
        user_id=user.id,
        kind=kind,
        token_hash=_token_hash(token),
        created_at=now,
        expires_at=now + _lifetime(kind, settings),
    )
    session.add(link)
    session.flush()
    audit.record(
        session,
        entity_type="staff",
        entity_id=user.id,
        action=LINK_ACTIONS[kind],
        actor=actor,
        changes={"expires_at": [None, link.expires_at.isoformat()]},
    )
    outbox.add(
        session,
        new_event(
            "staff.password_link",
            producer="review",
            payload={
                "staff_id": user.id,
                "kind": kind,
                "name": user.name,
                "email": user.email,
                "roles": role_labels(user.roles),
                "invited_by": invited_by,
                "set_password_url": set_password_url(token, settings=settings),
                "expires_at": link.expires_at,
            },
        ),
    )
    return link


def latest_invitation(
    session: Session, *, acting: Acting, user_id: uuid.UUID
) -> StaffPasswordLink | None:
    """The newest invitation sent to a person (when and until when), as the Coordinator
    sees it on the person's page."""
    _as_coordinator(session, acting, only_the_coordinator="sees the staff accounts")
    return session.scalars(
        select(StaffPasswordLink)
        .where(StaffPasswordLink.user_id == user_id, StaffPasswordLink.kind == "invitation")
        .order_by(StaffPasswordLink.created_at.desc())
        .limit(1)
    ).first()


def resend_invitation(
    session: Session, *, acting: Acting, user_id: uuid.UUID, settings: Settings
) -> StaffUser:
    """The Coordinator sends an invited person a new invitation; the older links stop
    working."""
    _as_coordinator(session, acting, only_the_coordinator="sends invitations")
    user = session.get(StaffUser, user_id, with_for_update=True)
    if user is None:
        raise NotFound(NO_SUCH_ACCOUNT)
    if not user.active:
        raise Conflict(
            "This account is deactivated: reactivate it before sending the invitation again."
        )
    if not user.invited:
        raise Conflict(
            f"{user.name} has already set a password. If it is forgotten, they can use "
            '"Forgot your password?" on the sign-in page.'
        )
    _send_link(
        session,
        user,
        kind="invitation",
        actor=acting.email,
        invited_by=acting.name,
        settings=settings,
    )
    return user


def request_password_reset(session: Session, *, email: str, settings: Settings) -> None:
    """ "Forgot your password?": e-mail a link to set a new password to the active account
    with this address, if there is one. Returns nothing either way, so the page answers the
    same whether or not the address has an account; a deactivated account gets nothing, and
    one account at most RESET_LINKS_PER_HOUR links an hour."""
    found = find_by_email(session, email=email)
    if found is None or not found.active:
        return
    user = session.get(StaffUser, found.id, with_for_update=True)  # one request at a time
    if user is None:
        return
    recent = session.scalar(
        select(func.count())
        .select_from(StaffPasswordLink)
        .where(
            StaffPasswordLink.user_id == user.id,
            StaffPasswordLink.kind == "reset",
            StaffPasswordLink.created_at > utcnow() - timedelta(hours=1),
        )
    )
    if (recent or 0) >= RESET_LINKS_PER_HOUR:
        return
    _send_link(session, user, kind="reset", actor=user.email, settings=settings)


def _usable_link(
    session: Session, token: str, *, for_update: bool = False
) -> tuple[StaffPasswordLink, StaffUser]:
    if not token or len(token) > 200:
        raise LinkRefused("unknown")
    query = select(StaffPasswordLink).where(StaffPasswordLink.token_hash == _token_hash(token))
    link = session.scalars(query.with_for_update() if for_update else query).first()
    if link is None:
        raise LinkRefused("unknown")
    user = get_staff(session, user_id=link.user_id)
    if link.used_at is not None:
        raise LinkRefused("used", link.kind)
    if not user.active:  # before "replaced": deactivating ends the links too
        raise LinkRefused("inactive", link.kind)
    if link.ended_at is not None:
        raise LinkRefused("replaced", link.kind)
    if link.expires_at <= utcnow():
        raise LinkRefused("expired", link.kind)
    return link, user


def check_password_link(session: Session, *, token: str) -> PasswordLink:
    """The link's person and kind, if it can still be used (else ``LinkRefused``)."""
    link, user = _usable_link(session, token)
    return PasswordLink(
        kind=link.kind, name=user.name, email=user.email, expires_at=link.expires_at
    )


def set_password_from_link(
    session: Session,
    *,
    token: str,
    new_password: str,
    settings: Settings,
    keep_session: str | None = None,
) -> StaffUser:
    """The person sets their password from an e-mailed link, which then stops working, as do
    their other links. Every session of theirs ends (but ``keep_session``, the one about to
    start): whoever knew an old password is out."""
    link, user = _usable_link(session, token, for_update=True)
    problems = password_problems(new_password, email=user.email, name=user.name)
    if problems:
        raise Invalid({"new_password": problems})
    now = utcnow()
    user.password_hash = hash_password(new_password, settings=settings)
    link.used_at = now
    _end_links(session, user.id, now=now)
    audit.record(
        session,
        entity_type="staff",
        entity_id=user.id,
        action=(
            "password set from the invitation"
            if link.kind == "invitation"
            else "password set from a reset link"
        ),
        actor=user.email,
    )
    _end_sessions_now_and_after_commit(session, user.id, keep=keep_session)
    return user
