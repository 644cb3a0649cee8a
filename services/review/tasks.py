"""Review's tasks: thin wrappers that decode the event and call the queue."""

from __future__ import annotations

from sqlalchemy.orm import Session

from services.review import people
from services.review.queue import domain as queue
from services.review.worker import celery, outbox
from shared.config import load_settings
from shared.events import Event
from shared.tasks import event_consumer, register_relay

relay_outbox = register_relay(celery, outbox)


@event_consumer(celery, name="review.proposal_submitted", event_type="proposal.submitted")
def proposal_submitted(event: Event, *, session: Session) -> None:
    queue.receive_submitted_proposal(session, event=event, today=people.today(load_settings()))


@event_consumer(celery, name="review.proposal_resubmitted", event_type="proposal.resubmitted")
def proposal_resubmitted(event: Event, *, session: Session) -> None:
    queue.receive_submitted_proposal(session, event=event, today=people.today(load_settings()))
