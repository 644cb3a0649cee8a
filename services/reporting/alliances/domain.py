"""Signed alliances as reporting sees them: recorded from ``alliance.signed``, their people
and their status (``models.STATUSES``) kept current by the events of the alliance's life:
signed and renewed make it ``active``; ``record_status`` records concluded, terminated and
Ambassador."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from services.reporting.alliances.models import STATUSES, Alliance
from shared.events import AllianceSignedV1, Event, PersonSchema


def _person(person: dict[str, Any]) -> dict[str, Any]:
    dumped: dict[str, Any] = PersonSchema().dump(person)
    return dumped


def record_signed(session: Session, *, event: Event) -> None:
    payload = event.payload
    values = {
        "reference": payload["reference"],
        "partner_name": str(payload["partner"].get("name", ""))[:200],
        "contact_email": payload["contact"]["email"],
        "liaison_email": payload["liaison"]["email"],
        "contact": _person(payload["contact"]),
        "liaison": _person(payload["liaison"]),
        "division": payload["division"],
        "office": payload.get("office") or None,
        "signing_date": payload["signing_date"],
        "term_years": payload["term_years"],
        "ends_on": payload["ends_on"],
        "signed": AllianceSignedV1().dump(payload),
        "status": "active",
    }
    session.execute(
        insert(Alliance)
        .values(id=payload["alliance_id"], **values)
        .on_conflict_do_update(index_elements=["id"], set_=values)
    )


def record_people(session: Session, *, event: Event) -> bool:
    """Keep the contact and liaison an alliance change names (reminders go to them); False
    for an alliance reporting never heard was signed."""
    payload = event.payload
    alliance_id: uuid.UUID = payload["alliance_id"]
    changed = session.execute(
        update(Alliance)
        .where(Alliance.id == alliance_id)
        .values(
            contact=_person(payload["contact"]),
            liaison=_person(payload["liaison"]),
            contact_email=payload["contact"]["email"],
            liaison_email=payload["liaison"]["email"],
        )
    )
    return bool(changed.rowcount)  # type: ignore[attr-defined]


def record_renewed(session: Session, *, event: Event) -> bool:
    payload = event.payload
    if not record_people(session, event=event):
        return False
    session.execute(
        update(Alliance)
        .where(Alliance.id == payload["alliance_id"])
        .values(ends_on=payload["ends_on"], status="active")
    )
    return True


def record_moved(session: Session, *, event: Event) -> bool:
    """File the alliance under the office ``alliance.moved`` names; False for an alliance
    reporting never heard was signed (it was moved before its signing: ``alliance.signed``
    will carry the office)."""
    payload = event.payload
    changed = session.execute(
        update(Alliance)
        .where(Alliance.id == payload["alliance_id"])
        .values(office=payload["office"])
    )
    return bool(changed.rowcount)  # type: ignore[attr-defined]


def record_status(session: Session, *, alliance_id: uuid.UUID, status: str) -> bool:
    """The alliance's status after a conclusion, termination or Ambassador designation;
    False for an alliance reporting never heard was signed."""
    if status not in STATUSES:
        raise ValueError(f"unknown alliance status {status!r}")
    changed = session.execute(
        update(Alliance).where(Alliance.id == alliance_id).values(status=status)
    )
    return bool(changed.rowcount)  # type: ignore[attr-defined]
