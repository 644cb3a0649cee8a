"""Intake's tasks: thin wrappers around services/intake/proposals.py."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from services.intake import proposals
from services.intake.worker import celery, database, outbox
from shared.events import Event
from shared.tasks import ServiceTask, event_consumer, register_relay

log = logging.getLogger(__name__)

relay_outbox = register_relay(celery, outbox)


@event_consumer(celery, name="intake.changes_requested", event_type="proposal.changes_requested")
def changes_requested(event: Event, *, session: Session) -> None:
    proposals.record_changes_requested(session, event=event)


@event_consumer(celery, name="intake.proposal_declined", event_type="proposal.declined")
def proposal_declined(event: Event, *, session: Session) -> None:
    proposals.record_decision(session, event=event, status="declined", note=event.payload["reason"])


@event_consumer(celery, name="intake.proposal_approved", event_type="proposal.approved")
def proposal_approved(event: Event, *, session: Session) -> None:
    signing = event.payload.get("signing_date")
    # Events from before approval and signing were two steps carry the signing date.
    note = (
        f"Alliance to be signed on {signing.isoformat()}"
        if signing
        else "The agreement is signed next: the schedule of reports follows once it is."
    )
    proposals.record_decision(session, event=event, status="approved", note=note)


@event_consumer(celery, name="intake.message_sent", event_type="message.sent")
def message_sent(event: Event, *, session: Session) -> None:
    proposals.record_message_sent(session, event=event)


@celery.task(name="intake.expire_drafts", base=ServiceTask, acks_late=False, shared=False)
def expire_drafts() -> int:
    with database.transaction() as session:
        removed = proposals.delete_expired_drafts(session)
    if removed:
        log.info("removed %d expired drafts", removed)
    return removed
