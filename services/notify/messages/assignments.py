"""The reviewer's e-mail when the Coordinator gives them a proposal (``proposal.assigned``).

One message per assignment (the event's id makes its cause: a redelivered event records
nothing new), to the reviewer by name, marked as staff's (``recipient`` "staff": intake never
lists it). It names the proposal and is kept with it, so the message log shows it to whoever
may read that proposal's messages (services/notify/log/domain.py ``visible_to``), never to
someone in conflict with the organization. The link opens the proposal's staff page (sign-in
first, if need be); its text says where it leads, never the address.
"""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from services.notify.messages import domain as messages
from services.notify.messages.render import branding
from shared.agency import AgencyProfile
from shared.config import Settings
from shared.events import Event

TEMPLATE = "proposal_assigned"


def proposal_assigned(
    session: Session, *, event: Event, settings: Settings, profile: AgencyProfile
) -> list[uuid.UUID]:
    """Tell the assigned reviewer which proposal is now theirs, who gave it and where it is."""
    payload = event.payload
    assignee = payload["assignee"]
    context = {
        **branding(settings, profile),
        "recipient_name": assignee["name"],
        "reference": payload["reference"],
        "organization_name": payload["organization_name"],
        "assigned_by": payload["assigned_by"],
        "assigned_at": payload["assigned_at"].astimezone(settings.agency_timezone),
        "proposal_url": messages.staff_proposal_url(settings, payload["proposal_id"]),
    }
    created = messages.record_message(
        session,
        cause=f"proposal.assigned:{event.event_id}",
        template=TEMPLATE,
        to_address=assignee["email"],
        recipient=messages.STAFF,
        context=context,
        proposal_id=payload["proposal_id"],
        reference=payload["reference"],
        organization=payload["organization_name"],
    )
    return [created] if created is not None else []
