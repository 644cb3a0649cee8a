"""The e-mail that lets a staff member set their password: the Coordinator's invitation of a
new person, or the answer to "Forgot your password?" (review's ``staff.password_link``).

The link in it is a bearer credential: whoever holds it sets the account's password. It goes
to the person only. The stored message keeps it (a retry must carry it), but the message log,
its HTML frame and the API show every part with it hidden, to everyone, the Coordinator too
(``links.hide_signed_links``, which knows the path ``/staff/set-password/``); the event is no
webhook type, so no endpoint receives it. The message is about no proposal, so only the
Coordinator sees it in the log at all.
"""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from services.notify.messages.domain import STAFF, record_message
from services.notify.messages.render import branding
from shared.agency import AgencyProfile
from shared.config import Settings
from shared.events import Event

TEMPLATES = {"invitation": "staff_invitation", "reset": "staff_password_reset"}


def joined(labels: list[str]) -> str:
    """ "Reviewer", "Reviewer and Liaison", "Coordinator, Reviewer and Liaison"."""
    if len(labels) <= 1:
        return "".join(labels)
    return ", ".join(labels[:-1]) + " and " + labels[-1]


def password_link(
    session: Session, *, event: Event, settings: Settings, profile: AgencyProfile
) -> list[uuid.UUID]:
    """The invitation or the password-reset e-mail to the person the link is for; once per
    event."""
    payload = event.payload
    context = {
        **branding(settings, profile),
        "name": payload["name"],
        "email": payload["email"],
        "roles": joined(list(payload.get("roles") or [])),
        "invited_by": payload.get("invited_by") or "",
        "set_password_url": payload["set_password_url"],
        "expires_at": payload["expires_at"].astimezone(settings.agency_timezone),
    }
    created = record_message(
        session,
        cause=f"staff.password_link:{event.event_id}",
        template=TEMPLATES[payload["kind"]],
        to_address=payload["email"],
        recipient=STAFF,
        context=context,
    )
    return [created] if created else []
