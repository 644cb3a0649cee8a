"""Staff accounts: who may sign in, with which roles, and their passwords.

Plain functions over a SQLAlchemy session; the caller owns the transaction. Passwords are
hashed with Argon2id (argon2-cffi) and rehashed at sign-in when the parameters change.
Anything that takes access away (deactivation, a change of roles or of password) also ends
the person's sessions (shared/staff_auth.py).
"""

from __future__ import annotations

import functools
import re
import uuid
from collections.abc import Iterable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.review import audit
from services.review.models import StaffUser
from shared import staff_auth
from shared.db import after_commit

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256  # Argon2 takes any length; this keeps one attempt's cost bounded

# Argon2id with argon2-cffi's defaults (RFC 9106's low-memory profile). Changing these makes
# every stored hash "need rehash", and each is upgraded at the person's next sign-in.
HASHER = PasswordHasher()

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

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


class AccountError(Exception):
    """Input that cannot be accepted: messages for people, by field."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(m for messages in errors.values() for m in messages))
        self.errors = errors


def normalize_email(email: str) -> str:
    return email.strip().lower()


def role_labels(roles: Iterable[str]) -> list[str]:
    return [staff_auth.ROLES[role] for role in staff_auth.ROLES if role in set(roles)]


def password_problems(password: str, *, email: str = "", name: str = "") -> list[str]:
    """Why a new password is too weak (none: it will do)."""
    if not password:
        return ["Enter a password."]
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


def hash_password(password: str) -> str:
    return HASHER.hash(password)


@functools.cache
def _dummy_hash(parameters: tuple[int, int, int]) -> str:
    return HASHER.hash("not anyone's password")


def _verify(password_hash: str, password: str) -> bool:
    try:
        return HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# -- reading ----------------------------------------------------------------------------------


def find_by_email(session: Session, *, email: str) -> StaffUser | None:
    return session.scalars(
        select(StaffUser).where(StaffUser.email == normalize_email(email))
    ).first()


def get_staff(session: Session, *, user_id: uuid.UUID) -> StaffUser:
    user = session.get(StaffUser, user_id)
    if user is None:
        raise AccountError({"_request": ["There is no such staff account."]})
    return user


def list_staff(session: Session) -> list[StaffUser]:
    """Active people first, then by name."""
    return list(
        session.scalars(
            select(StaffUser).order_by(StaffUser.active.desc(), StaffUser.name, StaffUser.email)
        )
    )


# -- signing in -------------------------------------------------------------------------------


def authenticate(session: Session, *, email: str, password: str) -> StaffUser | None:
    """The active person with this e-mail and password, or None (whatever was wrong).

    An unknown address costs as much time as a wrong password, so the answer's timing does
    not tell who has an account. A hash made with older parameters is upgraded.
    """
    user = find_by_email(session, email=email) if len(password) <= MAX_PASSWORD_LENGTH else None
    if user is None:
        _verify(_dummy_hash((HASHER.time_cost, HASHER.memory_cost, HASHER.parallelism)), password)
        return None
    if not _verify(user.password_hash, password) or not user.active:
        return None
    if HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


# -- changing ---------------------------------------------------------------------------------


def _checked_roles(roles: Iterable[str]) -> tuple[list[str], list[str]]:
    chosen = list(dict.fromkeys(r.strip() for r in roles if r.strip()))
    unknown = [r for r in chosen if r not in staff_auth.ROLES]
    if unknown:
        return [], [f"Choose from the roles listed ({', '.join(staff_auth.ROLES.values())})."]
    if not chosen:
        return [], ["Choose at least one role."]
    return [r for r in staff_auth.ROLES if r in chosen], []


def _end_sessions_now_and_after_commit(session: Session, user_id: uuid.UUID) -> None:
    """Now, so access stops at once (failing loudly if Redis is away), and again after the
    commit, in case the person signed in while this transaction was open."""

    def end() -> None:
        staff_auth.end_user_sessions(user_id)

    end()
    after_commit(session, end)


def create_staff(
    session: Session,
    *,
    email: str,
    name: str,
    roles: Iterable[str],
    password: str,
    actor: str,
) -> StaffUser:
    errors: dict[str, list[str]] = {}
    email = normalize_email(email)
    name = " ".join(name.split())
    if not email:
        errors["email"] = ["Enter the person's e-mail address."]
    elif len(email) > 254 or not _EMAIL.match(email):
        errors["email"] = ["Enter an e-mail address in the form name@agency.gov."]
    elif find_by_email(session, email=email) is not None:
        errors["email"] = ["There is already a staff account with this e-mail address."]
    if not name:
        errors["name"] = ["Enter the person's name."]
    elif len(name) > 200:
        errors["name"] = ["Keep the name to 200 characters."]
    chosen, role_errors = _checked_roles(roles)
    if role_errors:
        errors["roles"] = role_errors
    problems = password_problems(password, email=email, name=name)
    if problems:
        errors["password"] = problems
    if errors:
        raise AccountError(errors)
    user = StaffUser(
        email=email, name=name, roles=chosen, password_hash=hash_password(password), active=True
    )
    try:
        with session.begin_nested():
            session.add(user)
            session.flush()
    except IntegrityError:
        raise AccountError(
            {"email": ["There is already a staff account with this e-mail address."]}
        ) from None
    audit.record(
        session,
        entity_type="staff",
        entity_id=user.id,
        action="staff account created",
        actor=actor,
        changes={"email": [None, email], "name": [None, name], "roles": [None, chosen]},
    )
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
    session: Session, *, user_id: uuid.UUID, roles: Iterable[str], actor: str
) -> StaffUser:
    """New roles take effect at the person's next sign-in: their sessions end now."""
    user = get_staff(session, user_id=user_id)
    chosen, role_errors = _checked_roles(roles)
    if role_errors:
        raise AccountError({"roles": role_errors})
    if chosen == list(user.roles):
        return user
    if (
        "coordinator" in user.roles
        and "coordinator" not in chosen
        and user.active
        and not _other_active_coordinators(session, user.id)
    ):
        raise AccountError(
            {"roles": ["Someone must remain Coordinator: give the role to another person first."]}
        )
    before = list(user.roles)
    user.roles = chosen
    audit.record(
        session,
        entity_type="staff",
        entity_id=user.id,
        action="roles changed",
        actor=actor,
        changes={"roles": [before, chosen]},
    )
    _end_sessions_now_and_after_commit(session, user.id)
    return user


def set_active(session: Session, *, user_id: uuid.UUID, active: bool, actor: str) -> StaffUser:
    """Deactivate (ending every session at once) or reactivate an account."""
    user = get_staff(session, user_id=user_id)
    if user.active == active:
        return user
    if (
        not active
        and "coordinator" in user.roles
        and not _other_active_coordinators(session, user.id)
    ):
        raise AccountError(
            {
                "_request": [
                    "This is the only active Coordinator: make someone else Coordinator "
                    "before deactivating this account."
                ]
            }
        )
    user.active = active
    audit.record(
        session,
        entity_type="staff",
        entity_id=user.id,
        action="reactivated" if active else "deactivated",
        actor=actor,
        changes={"active": [not active, active]},
    )
    if not active:
        _end_sessions_now_and_after_commit(session, user.id)
    return user


def set_password(session: Session, *, user_id: uuid.UUID, password: str, actor: str) -> StaffUser:
    """The Coordinator gives someone a new password (a forgotten one, say); the person's
    sessions end, so whoever knew the old password is out."""
    user = get_staff(session, user_id=user_id)
    problems = password_problems(password, email=user.email, name=user.name)
    if problems:
        raise AccountError({"password": problems})
    user.password_hash = hash_password(password)
    audit.record(
        session, entity_type="staff", entity_id=user.id, action="password set", actor=actor
    )
    _end_sessions_now_and_after_commit(session, user.id)
    return user


def change_password(
    session: Session,
    *,
    user_id: uuid.UUID,
    current_password: str,
    new_password: str,
    keep_session: str | None = None,
) -> StaffUser:
    """Everyone's own password. Their other sessions end; ``keep_session`` stays."""
    user = get_staff(session, user_id=user_id)
    if not _verify(user.password_hash, current_password):
        raise AccountError({"current_password": ["Your current password is not right."]})
    problems = password_problems(new_password, email=user.email, name=user.name)
    if not problems and new_password == current_password:
        problems = ["Choose a password different from your current one."]
    if problems:
        raise AccountError({"new_password": problems})
    user.password_hash = hash_password(new_password)
    audit.record(
        session,
        entity_type="staff",
        entity_id=user.id,
        action="password changed",
        actor=user.email,
    )
    user_id = user.id

    def end_others() -> None:
        staff_auth.end_user_sessions(user_id, keep=keep_session)

    end_others()
    after_commit(session, end_others)
    return user
