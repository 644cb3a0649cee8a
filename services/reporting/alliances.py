"""Signed alliances as reporting sees them."""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from services.reporting.models import Alliance
from shared.events import AllianceSignedV1, Event


def record_signed(session: Session, *, event: Event) -> None:
    payload = event.payload
    values = {
        "reference": payload["reference"],
        "partner_name": str(payload["partner"].get("name", ""))[:200],
        "contact_email": payload["contact"]["email"],
        "liaison_email": payload["liaison"]["email"],
        "division": payload["division"],
        "signing_date": payload["signing_date"],
        "term_years": payload["term_years"],
        "ends_on": payload["ends_on"],
        "signed": AllianceSignedV1().dump(payload),
    }
    session.execute(
        insert(Alliance)
        .values(id=payload["alliance_id"], **values)
        .on_conflict_do_update(index_elements=["id"], set_=values)
    )
