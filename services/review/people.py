"""The people review's rules are about, and the day they act on: the floor under every part.

Every part (queue, decisions, alliances, roundtables, directory, staff) decides from the acting
staff member, ``shared.domain.Acting``, which ``shared.web.current_acting()`` builds with the
organizations the person declared a conflict of interest with (``conflicted_keys``). The role
rules every part shares are here too:
who is staff (``STAFF_ROLES``, ``require_staff``), who works on proposals (``DECIDERS``:
reviewers and the Coordinator, never a liaison alone), what a declared conflict hides
(``hidden_from``), whose liaison someone is (``is_liaison_of``), which offices someone sees and
acts for (``scope``, ``check_office``: their own office and the offices under it, the top
office everything); and ``today``, the calendar day in the agency's time zone that views, APIs
and tasks pass to the rules.

This module imports no part of review: the parts import it, never each other for these.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.review.base import StaffConflict
from shared.config import Settings, load_agency_profile
from shared.domain import Acting, Forbidden
from shared.offices import in_scope, office_scope

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


# -- offices ----------------------------------------------------------------------------------


def scope(acting: Acting) -> frozenset[str] | None:
    """The offices ``acting`` sees and acts for: None for every office (the top office's
    staff), otherwise their office and every office under it."""
    return office_scope(acting.office, load_agency_profile().offices)


def office_name(office: str | None) -> str:
    """An office by its name; None (and an office the tree no longer has) as the top office's
    name or the slug."""
    offices = load_agency_profile().offices
    if office is None:
        return offices.top.name
    return offices.name(office) if office in offices else office


def office_choices(acting: Acting) -> dict[str, str]:
    """The offices ``acting`` may choose among (a filter, a move): those in their scope, each
    labelled with its region, parents before children."""
    return load_agency_profile().offices.labelled_choices(scope(acting))


def sees_office(acting: Acting, office: str | None) -> bool:
    return in_scope(scope(acting), office)


def check_office(acting: Acting, office: str | None, what: str) -> None:
    """Refuse ``acting`` what belongs to an office outside theirs (``what``: "This proposal")."""
    if not sees_office(acting, office):
        theirs = office_name(acting.office or None)
        raise Forbidden(
            f"{what} belongs to {office_name(office)}, outside {theirs}: its staff and the "
            "offices above it handle it."
        )
