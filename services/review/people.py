"""The people review's rules are about, and the day they act on: the floor under every part.

Every part (queue, decisions, alliances, roundtables, directory, staff) decides from the acting
staff member, ``shared.domain.Acting``, which ``shared.web.current_acting()`` builds with the
organizations the person declared a conflict of interest with (``conflicted_keys``). The role
rules every part shares are here too:
who is staff (``STAFF_ROLES``, ``require_staff``), who works on proposals (``DECIDERS``:
reviewers and the Coordinator, never a liaison alone), what a declared conflict hides
(``hidden_from``), whose liaison someone is (``is_liaison_of``); and ``today``, the calendar
day in the agency's time zone that views, APIs and tasks pass to the rules.

This module imports no part of review: the parts import it, never each other for these.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.review.base import StaffConflict
from shared.config import Settings
from shared.domain import Acting, Forbidden

STAFF_ROLES = frozenset({"coordinator", "reviewer", "liaison"})
DECIDERS = frozenset({"coordinator", "reviewer"})


def today(settings: Settings) -> date:
    """Today's date in the agency's time zone (``AGENCY_TIMEZONE``)."""
    return datetime.now(settings.agency_timezone).date()


# -- who acts ---------------------------------------------------------------------------------


def conflicted_keys(session: Session, staff_id: uuid.UUID) -> set[str]:
    """The organization keys ``staff_id`` declared a conflict of interest with."""
    return set(
        session.scalars(
            select(StaffConflict.organization_key).where(StaffConflict.staff_id == staff_id)
        )
    )


# -- what every part checks -------------------------------------------------------------------


def require_staff(acting: Acting) -> None:
    if not acting.has_any_role(*STAFF_ROLES):
        raise Forbidden("This is for the agency's staff only.")


def may_work_on_proposals(acting: Acting) -> bool:
    """Reviewers and the Coordinator claim, move and decide proposals; liaisons do not."""
    return acting.has_any_role(*DECIDERS)


def require_decider(acting: Acting, doing: str) -> None:
    if not may_work_on_proposals(acting):
        raise Forbidden(f"Only reviewers and the Coordinator {doing}.")


def hidden_from(acting: Acting, organization_name: str) -> bool:
    """A declared conflict hides the organization's proposals from the person."""
    return acting.in_conflict_with(organization_name)


def is_liaison_of(acting: Acting, liaison_id: uuid.UUID | None) -> bool:
    """Whether ``acting`` is, as a liaison, the one named ``liaison_id`` (an alliance's)."""
    return "liaison" in acting.roles and liaison_id == acting.staff_id
