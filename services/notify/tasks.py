"""Notify's tasks: record messages for events, deliver them, sweep what is left pending."""

from __future__ import annotations

import logging
import uuid
from functools import partial

from sqlalchemy.orm import Session

from services.notify import messages
from services.notify.mail import mailer_from_settings
from services.notify.worker import celery, database, outbox
from shared.agency import load_agency_profile
from shared.config import load_settings
from shared.db import after_commit
from shared.events import Event
from shared.tasks import ServiceTask, event_consumer, register_relay

log = logging.getLogger(__name__)

relay_outbox = register_relay(celery, outbox)


def deliver_after_commit(session: Session, message_ids: list[uuid.UUID]) -> None:
    for message_id in message_ids:
        after_commit(session, partial(deliver_message.delay, message_id=str(message_id)))


@event_consumer(celery, name="notify.proposal_submitted", event_type="proposal.submitted")
def proposal_submitted(event: Event, *, session: Session) -> None:
    created = messages.proposal_received(
        session, event=event, settings=load_settings(), profile=load_agency_profile()
    )
    deliver_after_commit(session, created)


@event_consumer(celery, name="notify.proposal_resubmitted", event_type="proposal.resubmitted")
def proposal_resubmitted(event: Event, *, session: Session) -> None:
    created = messages.proposal_received(
        session, event=event, settings=load_settings(), profile=load_agency_profile()
    )
    deliver_after_commit(session, created)


@event_consumer(celery, name="notify.draft_saved", event_type="proposal.draft_saved")
def draft_saved(event: Event, *, session: Session) -> None:
    created = messages.draft_saved(
        session, event=event, settings=load_settings(), profile=load_agency_profile()
    )
    deliver_after_commit(session, created)


def _decision(event: Event, session: Session) -> None:
    messages.decision_made(
        session, event=event, settings=load_settings(), profile=load_agency_profile()
    )


@event_consumer(celery, name="notify.changes_requested", event_type="proposal.changes_requested")
def changes_requested(event: Event, *, session: Session) -> None:
    _decision(event, session)


@event_consumer(celery, name="notify.proposal_declined", event_type="proposal.declined")
def proposal_declined(event: Event, *, session: Session) -> None:
    _decision(event, session)


@event_consumer(celery, name="notify.proposal_approved", event_type="proposal.approved")
def proposal_approved(event: Event, *, session: Session) -> None:
    _decision(event, session)


@event_consumer(celery, name="notify.alliance_signed", event_type="alliance.signed")
def alliance_signed(event: Event, *, session: Session) -> None:
    created = messages.alliance_signed(
        session, event=event, settings=load_settings(), profile=load_agency_profile()
    )
    deliver_after_commit(session, created)


@celery.task(name="notify.deliver_message", bind=True, base=ServiceTask, shared=False)
def deliver_message(self: ServiceTask, *, message_id: str) -> str:
    settings = load_settings()
    with database.transaction() as session:
        status = messages.deliver(
            session,
            message_id=uuid.UUID(message_id),
            mailer=mailer_from_settings(settings),
            mail_from=settings.mail_from,
            outbox=outbox,
        )
    if status == "pending":
        # Sending failed and was recorded; try again with growing pauses.
        raise self.retry(countdown=min(5 * 2**self.request.retries, 600), max_retries=None)
    return status


@celery.task(name="notify.deliver_pending", base=ServiceTask, acks_late=False, shared=False)
def deliver_pending() -> int:
    """Pick up messages whose delivery task was lost (a broker restart, say)."""
    with database.transaction() as session:
        ids = messages.pending_message_ids(session, older_than_seconds=60)
    for message_id in ids:
        deliver_message.delay(message_id=str(message_id))
    if ids:
        log.info("re-queued %d pending messages", len(ids))
    return len(ids)


# -- the agreement's life (issue 4) -----------------------------------------------------------


def _alliance_changed(event: Event, session: Session) -> None:
    created = messages.alliance_changed(
        session, event=event, settings=load_settings(), profile=load_agency_profile()
    )
    deliver_after_commit(session, created)


@event_consumer(celery, name="notify.alliance_renewed", event_type="alliance.renewed")
def alliance_renewed(event: Event, *, session: Session) -> None:
    _alliance_changed(event, session)


@event_consumer(celery, name="notify.alliance_concluded", event_type="alliance.concluded")
def alliance_concluded(event: Event, *, session: Session) -> None:
    _alliance_changed(event, session)


@event_consumer(celery, name="notify.alliance_terminated", event_type="alliance.terminated")
def alliance_terminated(event: Event, *, session: Session) -> None:
    _alliance_changed(event, session)


@event_consumer(
    celery, name="notify.ambassador_designated", event_type="alliance.ambassador_designated"
)
def ambassador_designated(event: Event, *, session: Session) -> None:
    _alliance_changed(event, session)
