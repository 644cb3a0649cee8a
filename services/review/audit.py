"""The audit trail: every change with the fields before and after, who and when.

An entry's actor is the staff member's e-mail address (or ``review`` for what review did by
itself); pages show people by name (``staff.domain.names``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.review.base import AuditEntry
from shared.db import utcnow

SYSTEM = "review"


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
