"""Who gets the Coordinator's mail: the one rule, and notify's copy of the Coordinators.

Review owns the staff accounts and announces the active Coordinators whenever that set
changes (``staff.coordinators_changed``, the whole list); the consumer
``notify.coordinators_changed`` keeps the latest list here (``record``). The new-proposal
alert, the 30-day escalation, the alert about a message that could not be delivered and the
one about a disabled webhook endpoint go to each of them by name (``coordinator_recipients``),
and to COORDINATOR_EMAIL only while notify knows no Coordinator (a system with none created
yet, or one whose announcement has not arrived).

What is about one office (a new proposal, an overdue report's escalation) goes to that office's
Coordinators, and when it has none, to the nearest office above it that has some
(shared/offices.py ``upward``); a Coordinator announced with no office is the top office's.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from services.notify.models import KnownCoordinators
from shared.config import Settings, load_agency_profile
from shared.db import utcnow
from shared.events import Event
from shared.offices import OfficeTree

ROW = 1  # the one row of ``known_coordinators``
FALLBACK_NAME = "Alliance Coordinator"


@dataclass(frozen=True)
class CoordinatorRecipient:
    """One recipient of the Coordinator's mail. ``staff_id`` None: the fallback address."""

    name: str
    email: str
    staff_id: uuid.UUID | None = None
    office: str = ""  # "": the top office

    @property
    def cause_suffix(self) -> str:
        """What a message's cause ends with: ``coordinator`` for the fallback (and every
        message recorded before Coordinators were known by name), ``coordinator:<staff id>``
        for a named Coordinator."""
        return "coordinator" if self.staff_id is None else f"coordinator:{self.staff_id}"


def record(session: Session, *, event: Event) -> None:
    """Keep the list ``event`` announces, unless a later announcement is already kept."""
    coordinators: list[dict[str, Any]] = [
        {
            "id": str(person["id"]),
            "name": person["name"],
            "email": person["email"].lower(),
            "office": person.get("office", ""),
        }
        for person in event.payload["coordinators"]
    ]
    as_of = event.occurred_at
    table: Any = KnownCoordinators.__table__
    statement = insert(table).values(
        id=ROW, coordinators=coordinators, as_of=as_of, updated_at=utcnow()
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[table.c.id],
            set_={
                "coordinators": statement.excluded.coordinators,
                "as_of": statement.excluded.as_of,
                "updated_at": statement.excluded.updated_at,
            },
            where=table.c.as_of <= statement.excluded.as_of,
        )
    )


def known_coordinators(session: Session) -> list[CoordinatorRecipient]:
    """The active Coordinators as review last announced them (none: not known)."""
    row = session.get(KnownCoordinators, ROW)
    if row is None:
        return []
    return [
        CoordinatorRecipient(
            name=person["name"],
            email=person["email"],
            staff_id=uuid.UUID(person["id"]),
            office=person.get("office", ""),
        )
        for person in row.coordinators
    ]


def coordinator_recipients(
    session: Session,
    *,
    settings: Settings | None = None,
    fallback_email: str = "",
    office: str | None = None,
) -> list[CoordinatorRecipient]:
    """Who gets the Coordinator's mail: every active Coordinator notify knows, by name, or
    for something of one ``office``, that office's Coordinators, else those of the nearest
    office above it with any (``offices_first``); COORDINATOR_EMAIL (``settings``', or
    ``fallback_email`` where only that is at hand) only when it knows none."""
    fallback = settings.coordinator_email if settings is not None else fallback_email
    known = known_coordinators(session)
    if known and office is not None:
        known = nearest_office_coordinators(known, office, load_agency_profile().offices)
    return known or [CoordinatorRecipient(name=FALLBACK_NAME, email=fallback)]


def nearest_office_coordinators(
    coordinators: list[CoordinatorRecipient], office: str, offices: OfficeTree
) -> list[CoordinatorRecipient]:
    """The Coordinators of ``office``, or of the nearest office above it that has any; all of
    them when ``office`` is none the tree knows (an event older than offices, or a tree
    changed since: nobody is left out)."""
    top = offices.top.slug
    by_office: dict[str, list[CoordinatorRecipient]] = {}
    for coordinator in coordinators:
        by_office.setdefault(coordinator.office or top, []).append(coordinator)
    if not office or office not in offices:
        return coordinators
    for step in offices.upward(office):
        if step.slug in by_office:
            return by_office[step.slug]
    return coordinators  # only Coordinators of offices elsewhere: better them than nobody
