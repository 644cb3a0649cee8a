"""Reporting's copy of the conflicts of interest staff declared in review
(``staff.conflict_declared``, stored as ``base.StaffConflict``). Who is acting with those
conflicts, and what a conflict hides, is the floor's (services/reporting/people.py
``hidden_from``; ``shared.web.current_acting()`` reads them)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from services.reporting.people import CONFLICTS
from shared.events import Event


def record_declared(session: Session, *, event: Event) -> None:
    """Keep a ``staff.conflict_declared`` (once per staff member and organization)."""
    CONFLICTS.record(session, event=event)
