"""The people reporting's rules are about, and the day they act on: the floor under every
part, importing no part (the parts import it, never each other for these).

- ``CONFLICTS``: the conflicts of interest staff declared in review (reporting's copy,
  ``base.StaffConflict``, kept by conflicts/domain.py ``record_declared``), which
  ``shared.web.current_acting()`` reads into the acting person.
- ``is_liaison_of``: whether the person is an alliance's liaison (reporting's alliance copy
  names the liaison: matched by staff id or e-mail).
- ``today``: the agency's date at an instant (its time zone, not the server's).
- ``hidden_from`` is the one rule of what a declared conflict of interest hides: a person who
  declared one with an organization reads nothing of it in reporting (its reports, their
  schedule and activities, its evaluations, the figures counted from them, its proposals).
  Every read goes through it:

  - a read of one alliance (its reports, an evaluation, the reports API, the printable PDF)
    refuses the person (``check_may_read``: ``Forbidden``, 403, naming no partner);
  - a read of many (the CSV exports, the work list, the dashboard) leaves the partner out
    (``readable_alliances``) and says so with ``LeftOut.note``: a visible note on a page, a
    last row in a CSV. (No reporting API lists many alliances: each reads one, and refuses.)

  Reviewing the partner's reports and evaluating the alliance are refused the same way
  (``check_no_conflict``, which names the partner: the person is about to act on it).

The alliances here are any object with an alliance's fields
(services/reporting/alliances/models.py ``Alliance``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from services.reporting.base import StaffConflict
from shared.config import load_agency_profile
from shared.conflicts import StaffConflicts
from shared.domain import Acting, Forbidden
from shared.offices import in_scope, office_scope

CONFLICTS = StaffConflicts(StaffConflict)

IN_CONFLICT = (
    "You declared a conflict of interest with this partner: its reports, activities and "
    "evaluations are not shown to you."
)


class AllianceLike(Protocol):
    """What the floor reads of an alliance."""

    @property
    def id(self) -> uuid.UUID: ...

    @property
    def partner_name(self) -> str: ...

    @property
    def liaison(self) -> Mapping[str, Any]: ...

    @property
    def liaison_email(self) -> str: ...

    @property
    def office(self) -> str | None: ...


def today(now: datetime, timezone: ZoneInfo) -> date:
    """The agency's date at ``now`` (an aware instant), in its ``timezone``."""
    return now.astimezone(timezone).date()


def is_liaison_of(acting: Acting, alliance: AllianceLike) -> bool:
    """Whether ``acting`` is the alliance's liaison, by staff id or by e-mail address."""
    liaison_id = str((alliance.liaison or {}).get("id") or "")
    return liaison_id == str(acting.staff_id) or (
        alliance.liaison_email.casefold() == acting.email.casefold()
    )


def hidden_from(acting: Acting, organization_name: str) -> bool:
    """Whether a declared conflict of interest hides everything about the organization (a
    partner, or a proposal's applicant) from the person, the Coordinator included."""
    return acting.in_conflict_with(organization_name)


def sees_office_of(acting: Acting, alliance: AllianceLike) -> bool:
    """Whether the alliance is of ``acting``'s offices (their office and those under it; the
    top office's staff see every office), or ``acting`` is its liaison."""
    scope = office_scope(acting.office, load_agency_profile().offices)
    return in_scope(scope, alliance.office) or is_liaison_of(acting, alliance)


def check_may_read(acting: Acting, alliance: AllianceLike) -> None:
    """Refuse (``Forbidden``) a read of one alliance whose partner is hidden from the person,
    or of an office outside theirs."""
    if hidden_from(acting, alliance.partner_name):
        raise Forbidden(IN_CONFLICT)
    if not sees_office_of(acting, alliance):
        offices = load_agency_profile().offices
        office = alliance.office or offices.top.slug
        name = offices.name(office) if office in offices else office
        raise Forbidden(
            f"This alliance belongs to {name}, outside your office: its staff and the offices "
            "above it handle its reports."
        )


def check_no_conflict(acting: Acting, partner_name: str) -> None:
    """Nobody reviews the reports of, or evaluates, a partner they declared a conflict of
    interest with, the Coordinator included."""
    if hidden_from(acting, partner_name):
        raise Forbidden(
            f"You declared a conflict of interest with {partner_name}: "
            "another staff member must do this."
        )


def _counted(count: int, thing: str) -> str:
    return f"{count} {thing}" + ("" if count == 1 else "s")


@dataclass(frozen=True)
class LeftOut:
    """How much a read left out because of the person's declared conflicts."""

    alliances: int = 0
    proposals: int = 0

    def __bool__(self) -> bool:
        return bool(self.alliances or self.proposals)

    @property
    def note(self) -> str:
        """``N alliance(s) left out because you declared a conflict of interest.`` (and the
        proposals, when some were); empty when nothing was left out."""
        parts = [
            _counted(count, thing)
            for count, thing in ((self.alliances, "alliance"), (self.proposals, "proposal"))
            if count
        ]
        if not parts:
            return ""
        return f"{' and '.join(parts)} left out because you declared a conflict of interest."


@dataclass(frozen=True)
class Readable:
    """The alliances a read of many may show, and what it left out."""

    alliance_ids: frozenset[uuid.UUID]
    left_out: LeftOut

    def shows(self, alliance: AllianceLike) -> bool:
        return alliance.id in self.alliance_ids


def readable_alliances(acting: Acting, alliances: Iterable[AllianceLike]) -> Readable:
    """Of the alliances a read would show (already narrowed by that read's own rule, e.g. a
    liaison's own), those the person may read: those of their offices, less the partners a
    declared conflict hides, which are counted as left out."""
    shown: set[uuid.UUID] = set()
    hidden = 0
    for alliance in alliances:
        if not sees_office_of(acting, alliance):
            continue  # another office's: not the person's to see, nothing left out of theirs
        if hidden_from(acting, alliance.partner_name):
            hidden += 1
        else:
            shown.add(alliance.id)
    return Readable(frozenset(shown), LeftOut(alliances=hidden))
