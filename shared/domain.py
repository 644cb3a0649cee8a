"""What every service's domain functions share: who acts, and the errors they raise.

Domain functions take the acting staff member and decide every rule and permission
themselves; views and APIs call them and never re-check. The errors below are turned into
HTTP answers in one place (``shared.web.register_error_handlers``), for pages and JSON alike:

==============  ======  ===================================================
error           status  meaning
==============  ======  ===================================================
``NotFound``    404     no such thing, or the actor may not know it exists
``Forbidden``   403     the actor's role or a declared conflict forbids it
``Conflict``    409     the thing's state does not allow it (now)
``Invalid``     422     the input is wrong; ``errors`` names each field
==============  ======  ===================================================
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


class DomainError(Exception):
    """A request the domain refuses; the message is written for the person who asked."""

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def errors(self) -> dict[str, list[str]]:
        """``{field: [messages]}``, the shape of every error answer (SPEC)."""
        return {"_request": [self.message]}


class NotFound(DomainError):
    status = 404


class Forbidden(DomainError):
    status = 403


class Conflict(DomainError):
    status = 409


class Invalid(DomainError):
    """Input the rules refuse, with a message per field (``_request`` for the whole)."""

    status = 422

    def __init__(self, errors: Mapping[str, Iterable[str]] | str, *, field: str = "_request"):
        if isinstance(errors, str):
            errors = {field: [errors]}
        self._errors = {name: list(messages) for name, messages in errors.items()}
        first = next(iter(self._errors.values()), ["The input is not valid."])
        super().__init__(first[0] if first else "The input is not valid.")

    @property
    def errors(self) -> dict[str, list[str]]:
        return self._errors


def organization_key(name: str) -> str:
    """A name folded for conflict matching: case, punctuation and spacing do not count.

    Stored keys (review's ``staff_conflicts``) were made by this exact rule: keep it.
    """
    return " ".join(re.findall(r"[a-z0-9]+", name.lower()))


@dataclass(frozen=True)
class Acting:
    """The staff member a domain function acts for: identity, roles, declared conflicts.

    ``conflicts`` holds the organization keys (``organization_key``) the person declared a
    conflict of interest with; each service reads them from its own copy (review records
    them, the others learn them from the ``staff.conflict_declared`` event).
    """

    staff_id: uuid.UUID
    email: str
    roles: frozenset[str]
    name: str = ""
    conflicts: frozenset[str] = field(default_factory=frozenset)
    # The office the person belongs to (shared/offices.py ``office_scope``); "" is the top one.
    office: str = ""

    @property
    def is_coordinator(self) -> bool:
        return "coordinator" in self.roles

    def has_any_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    def in_conflict_with(self, organization_name: str) -> bool:
        return organization_key(organization_name) in self.conflicts

    @classmethod
    def of(cls, staff: Any, *, conflicts: Iterable[str] = ()) -> Acting:
        """From a signed-in staff session (``g.staff``, shared/staff_auth.py)."""
        return cls(
            staff_id=uuid.UUID(str(staff.user_id)),
            email=str(staff.email),
            roles=frozenset(staff.roles),
            name=str(getattr(staff, "name", "") or ""),
            conflicts=frozenset(conflicts),
            office=str(getattr(staff, "office", "") or ""),
        )
