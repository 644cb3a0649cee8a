"""Who is acting in reporting, with the conflicts of interest they declared in review."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from services.reporting.conflicts.models import StaffConflict
from shared.conflicts import StaffConflicts
from shared.domain import Acting, Forbidden
from shared.events import Event

COPY = StaffConflicts(StaffConflict)


def record_declared(session: Session, *, event: Event) -> None:
    """Keep a ``staff.conflict_declared`` (once per staff member and organization)."""
    COPY.record(session, event=event)


def acting_for(session: Session, staff: Any) -> Acting:
    """The signed-in staff member (``g.staff``) with the conflicts reporting knows of."""
    return COPY.acting(session, staff)


def check_no_conflict(acting: Acting, partner_name: str) -> None:
    """Nobody reviews the reports of, or evaluates, a partner they declared a conflict of
    interest with, the Coordinator included."""
    if acting.in_conflict_with(partner_name):
        raise Forbidden(
            f"You declared a conflict of interest with {partner_name}: "
            "another staff member must do this."
        )
