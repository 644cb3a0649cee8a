"""Composing and delivering messages. Templates live in ``templates/email/``."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from services.notify.mail import Mailer
from services.notify.models import Message
from shared.agency import GOAL_CATEGORIES, ORGANIZATION_TYPES, AgencyProfile
from shared.config import Settings
from shared.db import utcnow
from shared.events import Event, new_event
from shared.outbox import Outbox

log = logging.getLogger(__name__)

TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates" / "email"),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)

MAX_ATTEMPTS = 8


def render(template: str, context: dict[str, Any]) -> tuple[str, str, str]:
    """(subject, text body, html body) of ``template`` with ``context``."""
    subject = TEMPLATES.get_template(f"{template}.subject.txt").render(context).strip()
    text = TEMPLATES.get_template(f"{template}.txt").render(context)
    html = TEMPLATES.get_template(f"{template}.html").render(context)
    return " ".join(subject.split()), text, html


def record_message(
    session: Session,
    *,
    cause: str,
    template: str,
    to_address: str,
    context: dict[str, Any],
    proposal_id: uuid.UUID | None = None,
    reference: str = "",
    held: bool = False,
) -> uuid.UUID | None:
    """Store a message unless one exists for ``cause``. Returns the new id or None.

    A ``held`` message (decisions) waits for staff to preview, edit and release it; the
    others are ``pending`` and go out at once.
    """
    subject, text, html = render(template, context)
    message_id = uuid.uuid4()
    inserted = session.execute(
        insert(Message)
        .values(
            id=message_id,
            cause=cause,
            template=template,
            proposal_id=proposal_id,
            reference=reference,
            to_address=to_address,
            subject=subject,
            text_body=text,
            html_body=html,
            status="held" if held else "pending",
            attempts=0,
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["cause"])
        .returning(Message.id)
    ).first()
    return inserted[0] if inserted else None


def proposal_received(
    session: Session, *, event: Event, settings: Settings, profile: AgencyProfile
) -> list[uuid.UUID]:
    """A receipt to the applicant's contact and an alert to the Coordinator."""
    payload = event.payload
    proposal = payload["proposal"]
    context = {
        "agency": profile.name,
        "reference": payload["reference"],
        "version": payload["version"],
        "submitted_at": payload["submitted_at"].astimezone(settings.agency_timezone),
        "status_url": payload.get("status_url") or "",
        "organization": proposal["organization"],
        "organization_type": ORGANIZATION_TYPES.get(
            proposal["organization"]["type"], proposal["organization"]["type"]
        ),
        "contact": proposal["contact"],
        "goals": [
            {**goal, "category_label": GOAL_CATEGORIES.get(goal["category"], goal["category"])}
            for goal in proposal["goals"]
        ],
        "division": profile.divisions.get(
            proposal["requested_division"], proposal["requested_division"]
        ),
        "review_url": f"{settings.public_base_url}/review/api/v1/queue",
    }
    proposal_id = payload["proposal_id"]
    key = f"{proposal_id}:v{payload['version']}"
    created = [
        record_message(
            session,
            cause=f"proposal.submitted:{key}:receipt",
            template="proposal_receipt",
            to_address=proposal["contact"]["email"],
            context=context,
            proposal_id=proposal_id,
            reference=payload["reference"],
        ),
        record_message(
            session,
            cause=f"proposal.submitted:{key}:coordinator",
            template="proposal_coordinator_alert",
            to_address=settings.coordinator_email,
            context=context,
            proposal_id=proposal_id,
            reference=payload["reference"],
        ),
    ]
    return [message_id for message_id in created if message_id is not None]


def draft_saved(
    session: Session, *, event: Event, settings: Settings, profile: AgencyProfile
) -> list[uuid.UUID]:
    """The link to resume a saved draft, to the address the applicant gave."""
    payload = event.payload
    context = {
        "agency": profile.name,
        "contact_name": payload["contact_name"],
        "organization_name": payload["organization_name"],
        "resume_url": payload["resume_url"],
        "expires_at": payload["expires_at"].astimezone(settings.agency_timezone),
    }
    created = record_message(
        session,
        cause=f"proposal.draft_saved:{event.event_id}",
        template="draft_link",
        to_address=payload["contact_email"],
        context=context,
        proposal_id=payload["proposal_id"],
    )
    return [created] if created else []


def decision_made(
    session: Session, *, event: Event, settings: Settings, profile: AgencyProfile
) -> list[uuid.UUID]:
    """The decision message to the applicant, held for staff to release."""
    payload = event.payload
    template = {
        "proposal.changes_requested": "decision_changes_requested",
        "proposal.declined": "decision_declined",
        "proposal.approved": "decision_approved",
    }[event.type]
    context = {"agency": profile.name, **payload, "tz": settings.agency_timezone}
    created = record_message(
        session,
        cause=f"{event.type}:{payload['proposal_id']}:v{payload['version']}",
        template=template,
        to_address=payload["contact_email"],
        context=context,
        proposal_id=payload["proposal_id"],
        reference=payload["reference"],
        held=True,
    )
    del created  # held: nothing to deliver until staff release it
    return []


def alliance_signed(
    session: Session, *, event: Event, settings: Settings, profile: AgencyProfile
) -> list[uuid.UUID]:
    """Welcome to the partner's contact and to the liaison."""
    payload = event.payload
    context = {"agency": profile.name, **payload}
    created = [
        record_message(
            session,
            cause=f"alliance.signed:{payload['alliance_id']}:contact",
            template="alliance_signed_partner",
            to_address=payload["contact"]["email"],
            context=context,
            proposal_id=payload["proposal_id"],
            reference=payload["reference"],
        ),
        record_message(
            session,
            cause=f"alliance.signed:{payload['alliance_id']}:liaison",
            template="alliance_signed_liaison",
            to_address=payload["liaison"]["email"],
            context=context,
            proposal_id=payload["proposal_id"],
            reference=payload["reference"],
        ),
    ]
    return [message_id for message_id in created if message_id is not None]


# -- the held decisions: staff preview, edit, hold and release them --------------------------


class NotEditable(Exception):
    pass


def held_messages(session: Session) -> list[Message]:
    return list(
        session.scalars(
            select(Message).where(Message.status == "held").order_by(Message.created_at)
        )
    )


def edit_held(
    session: Session, *, message_id: uuid.UUID, subject: str, text_body: str, actor: str
) -> Message:
    """Staff rewrite a held message; the HTML part becomes the edited text, escaped."""
    message = session.scalars(
        select(Message).where(Message.id == message_id).with_for_update()
    ).first()
    if message is None or message.status != "held":
        raise NotEditable("Only a held message can be edited.")
    subject = " ".join(subject.split())
    if not subject or not text_body.strip():
        raise NotEditable("A message needs a subject and a text.")
    message.subject = subject[:300]
    message.text_body = text_body.replace("\r\n", "\n")
    paragraphs = "".join(
        f"<p>{escape(p).replace(chr(10), Markup('<br>'))}</p>"
        for p in message.text_body.split("\n\n")
        if p.strip()
    )
    message.html_body = f'<!doctype html><html lang="en"><body>{paragraphs}</body></html>'
    message.edited_by = actor
    return message


def release_held(session: Session, *, message_ids: list[uuid.UUID], actor: str) -> list[uuid.UUID]:
    """Let held messages go out; returns the ids now pending delivery."""
    released = []
    for message in session.scalars(
        select(Message)
        .where(Message.id.in_(message_ids), Message.status == "held")
        .with_for_update()
    ):
        message.status = "pending"
        message.released_by = actor
        released.append(message.id)
    return released


def hold_again(session: Session, *, message_ids: list[uuid.UUID], actor: str) -> int:
    """Take back messages released but not yet sent."""
    count = 0
    for message in session.scalars(
        select(Message)
        .where(Message.id.in_(message_ids), Message.status == "pending")
        .with_for_update(skip_locked=True)
    ):
        message.status = "held"
        message.released_by = None
        count += 1
    return count


def resend(session: Session, *, message_id: uuid.UUID, actor: str) -> uuid.UUID:
    """A new copy of a message, to go out again (the original stays as it was)."""
    original = session.get(Message, message_id)
    if original is None:
        raise NotEditable("There is no such message.")
    if original.status == "held":
        raise NotEditable("This message was never released: release it instead.")
    copy = Message(
        cause=f"resend:{original.id}:{uuid.uuid4()}",
        template=original.template,
        proposal_id=original.proposal_id,
        reference=original.reference,
        to_address=original.to_address,
        subject=original.subject,
        text_body=original.text_body,
        html_body=original.html_body,
        status="pending",
        attempts=0,
        released_by=actor,
    )
    session.add(copy)
    session.flush()
    return copy.id


def build_email(message: Message, *, mail_from: str) -> EmailMessage:
    email = EmailMessage()
    email["From"] = mail_from
    email["To"] = message.to_address
    email["Subject"] = message.subject
    email["Message-ID"] = make_msgid(idstring=str(message.id), domain="alliance.local")
    email["X-Alliance-Message"] = str(message.id)
    if message.reference:
        email["X-Alliance-Reference"] = message.reference
    email.set_content(message.text_body)
    email.add_alternative(message.html_body, subtype="html")
    return email


def deliver(
    session: Session,
    *,
    message_id: uuid.UUID,
    mailer: Mailer,
    mail_from: str,
    outbox: Outbox | None = None,
) -> str:
    """Send one pending message. Returns its status afterwards.

    The row stays locked while sending so that two workers never send it at once; a message
    already sent is left alone. A send failure is recorded and the message stays ``pending``
    for the caller to retry, until ``MAX_ATTEMPTS`` makes it ``failed``.
    """
    message = session.scalars(
        select(Message).where(Message.id == message_id).with_for_update(skip_locked=True)
    ).first()
    if message is None:
        return "busy"
    if message.status != "pending":
        return message.status
    message.attempts += 1
    try:
        mailer.send(build_email(message, mail_from=mail_from))
    except Exception as err:
        message.last_error = f"{type(err).__name__}: {err}"[:2000]
        if message.attempts >= MAX_ATTEMPTS:
            message.status = "failed"
            log.error(
                "giving up on message %s after %d attempts: %s", message.id, message.attempts, err
            )
        else:
            log.warning(
                "sending message %s failed (attempt %d): %s", message.id, message.attempts, err
            )
        return message.status
    message.status = "sent"
    message.sent_at = utcnow()
    message.last_error = None
    if outbox is not None:
        # Intake shows the applicant what was sent about their proposal.
        outbox.add(
            session,
            new_event(
                "message.sent",
                producer="notify",
                payload={
                    "message_id": message.id,
                    "proposal_id": message.proposal_id,
                    "reference": message.reference,
                    "template": message.template,
                    "subject": message.subject,
                    "to_address": message.to_address,
                    "sent_at": message.sent_at,
                },
            ),
        )
    log.info("sent %s to %s (%s)", message.template, message.to_address, message.cause)
    return message.status


def pending_message_ids(session: Session, *, older_than_seconds: float) -> list[uuid.UUID]:
    cutoff = utcnow() - timedelta(seconds=older_than_seconds)
    return list(
        session.scalars(
            select(Message.id)
            .where(Message.status == "pending", Message.created_at < cutoff)
            .order_by(Message.created_at)
            .limit(500)
        )
    )


# -- the agreement's life (issue 4): renewed, concluded, terminated, Ambassador -------------

ALLIANCE_CHANGE_TEMPLATES = {
    "alliance.renewed": "alliance_renewed",
    "alliance.concluded": "alliance_concluded",
    "alliance.terminated": "alliance_terminated",
    "alliance.ambassador_designated": "alliance_ambassador",
}


def alliance_changed(
    session: Session, *, event: Event, settings: Settings, profile: AgencyProfile
) -> list[uuid.UUID]:
    """The same news to the partner's contact and to the liaison, each addressed by name."""
    payload = event.payload
    template = ALLIANCE_CHANGE_TEMPLATES[event.type]
    # One message per recipient per change: a renewal happens more than once, the rest once.
    key = f"renewal{payload['renewal']}" if event.type == "alliance.renewed" else "once"
    created = []
    for role, person in (("contact", payload["contact"]), ("liaison", payload["liaison"])):
        context = {
            "agency": profile.name,
            **payload,
            "recipient_name": person["name"],
            "to_liaison": role == "liaison",
        }
        created.append(
            record_message(
                session,
                cause=f"{event.type}:{payload['alliance_id']}:{key}:{role}",
                template=template,
                to_address=person["email"],
                context=context,
                proposal_id=payload["proposal_id"],
                reference=payload["reference"],
            )
        )
    return [message_id for message_id in created if message_id is not None]
