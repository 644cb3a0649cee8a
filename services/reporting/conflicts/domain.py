"""Who is acting in reporting, with the conflicts of interest they declared in review, and
what a declared conflict hides.

``hidden_from`` is the one rule: a person who declared a conflict of interest with an
organization reads nothing of it in reporting (its reports, their schedule and activities,
its evaluations, the figures counted from them, its proposals). Every read goes through it:

- a read of one alliance (its reports, an evaluation, the reports API, the printable PDF)
  refuses the person (``check_may_read``: ``Forbidden``, 403, naming no partner);
- a read of many (the CSV exports, the work list, the dashboard) leaves the partner out
  (``readable_alliances``) and says so with ``LeftOut.note``: a visible note on a page, a
  last row in a CSV. (No reporting API lists many alliances: each reads one, and refuses.)

Reviewing the partner's reports and evaluating the alliance are refused the same way
(``check_no_conflict``, which names the partner: the person is about to act on it).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from services.reporting.alliances.models import Alliance
from services.reporting.conflicts.models import StaffConflict
from shared.conflicts import StaffConflicts
from shared.domain import Acting, Forbidden
from shared.events import Event

# The conflicts reporting knows of: ``COPY.keys_of`` is what current_acting() (shared/web.py)
# reads for every reporting page and API call.
COPY = StaffConflicts(StaffConflict)

IN_CONFLICT = (
    "You declared a conflict of interest with this partner: its reports, activities and "
    "evaluations are not shown to you."
)


def record_declared(session: Session, *, event: Event) -> None:
    """Keep a ``staff.conflict_declared`` (once per staff member and organization)."""
    COPY.record(session, event=event)


def hidden_from(acting: Acting, organization_name: str) -> bool:
    """Whether a declared conflict of interest hides everything about the organization (a
    partner, or a proposal's applicant) from the person, the Coordinator included."""
    return acting.in_conflict_with(organization_name)


def check_may_read(acting: Acting, alliance: Alliance) -> None:
    """Refuse (``Forbidden``) a read of one alliance whose partner is hidden from the person."""
    if hidden_from(acting, alliance.partner_name):
        raise Forbidden(IN_CONFLICT)


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

    def shows(self, alliance: Alliance) -> bool:
        return alliance.id in self.alliance_ids


def readable_alliances(acting: Acting, alliances: Iterable[Alliance]) -> Readable:
    """Of the alliances a read would show (already narrowed by that read's own rule, e.g. a
    liaison's own), those the person may read; the others are counted as left out."""
    shown: set[uuid.UUID] = set()
    hidden = 0
    for alliance in alliances:
        if hidden_from(acting, alliance.partner_name):
            hidden += 1
        else:
            shown.add(alliance.id)
    return Readable(frozenset(shown), LeftOut(alliances=hidden))
