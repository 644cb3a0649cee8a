"""The audit trail: every change with the fields before and after, who and when.

An entry's actor is the staff member's e-mail address (or ``review`` for what review did by
itself); pages show people by name (``names``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.review.models import AuditEntry, StaffUser
from shared.config import SERVICES
from shared.db import utcnow

SYSTEM = "review"
SYSTEM_NAME = "The system"


def diff_fields(before: Any, after: Any, prefix: str = "") -> dict[str, list[Any]]:
    """``{"goals.0.measure": [old, new], ...}`` for every leaf that differs."""
    if isinstance(before, dict) and isinstance(after, dict):
        changes: dict[str, list[Any]] = {}
        for key in sorted(set(before) | set(after), key=str):
            path = f"{prefix}.{key}" if prefix else str(key)
            changes.update(diff_fields(before.get(key), after.get(key), path))
        return changes
    if (
        isinstance(before, list)
        and isinstance(after, list)
        and (any(isinstance(v, dict) for v in before + after))
    ):
        changes = {}
        for index in range(max(len(before), len(after))):
            old = before[index] if index < len(before) else None
            new = after[index] if index < len(after) else None
            changes.update(diff_fields(old, new, f"{prefix}.{index}" if prefix else str(index)))
        return changes
    if before != after:
        return {prefix or "_": [before, after]}
    return {}


def record(
    session: Session,
    *,
    entity_type: str,
    entity_id: Any,
    action: str,
    actor: str,
    changes: dict[str, list[Any]] | None = None,
    note: str = "",
) -> AuditEntry:
    entry = AuditEntry(
        entity_type=entity_type,
        entity_id=str(entity_id),
        action=action,
        actor=actor,
        changes=changes or {},
        note=note,
        at=utcnow(),
    )
    session.add(entry)
    return entry


def history(session: Session, *, entity_type: str, entity_id: Any) -> list[AuditEntry]:
    return list(
        session.scalars(
            select(AuditEntry)
            .where(AuditEntry.entity_type == entity_type, AuditEntry.entity_id == str(entity_id))
            .order_by(AuditEntry.at, AuditEntry.id)
        )
    )


FORMER_STAFF = "A former staff member"


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
