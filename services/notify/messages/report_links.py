"""A new link to a report's form, sent to the partner at a staff member's request
(``report.link_resent``): the partner's contact gets the fresh signed link, with the report's
period and due date, who asked and their liaison. No copy to the liaison: the report's staff
page lists every link sent again, and the liaison usually is the one who asked."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from services.notify.messages.domain import (
    PARTNER,
    proposal_of,
    record_liaison,
    record_message,
)
from services.notify.messages.render import branding
from shared.agency import AgencyProfile
from shared.config import Settings
from shared.events import Event

TEMPLATE = "report_link"


def link_resent(
    session: Session, *, event: Event, settings: Settings, profile: AgencyProfile
) -> list[uuid.UUID]:
    """Record the message to the partner's contact; the id of the message recorded (none for
    a redelivered event). The cause is the report and the moment of the request: each request
    is a message of its own, a redelivery of one is not."""
    payload = event.payload
    record_liaison(session, payload)
    contact = payload["contact"]
    cause = f"report.link_resent:{payload['report_id']}:{payload['sent_at'].isoformat()}:contact"
    context = {
        **branding(settings, profile),
        **payload,
        "sent_at": payload["sent_at"].astimezone(settings.agency_timezone),
        "recipient_name": contact["name"],
        "to_liaison": False,
    }
    message_id = record_message(
        session,
        cause=cause,
        template=TEMPLATE,
        to_address=contact["email"],
        recipient=PARTNER,
        context=context,
        proposal_id=proposal_of(session, payload),
        alliance_id=payload["alliance_id"],
        reference=payload["reference"],
        organization=payload["partner_name"],
        language=contact.get("language", "en"),
    )
    return [message_id] if message_id is not None else []
