"""Reporting's tasks: thin wrappers around its domain modules."""

from __future__ import annotations

from sqlalchemy.orm import Session

from services.reporting import alliances
from services.reporting.worker import celery, outbox
from shared.events import Event
from shared.tasks import event_consumer, register_relay

relay_outbox = register_relay(celery, outbox)


@event_consumer(celery, name="reporting.alliance_signed", event_type="alliance.signed")
def alliance_signed(event: Event, *, session: Session) -> None:
    alliances.record_signed(session, event=event)
