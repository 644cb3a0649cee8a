"""Reporting's tasks: thin wrappers around its domain modules."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from services.reporting import metrics
from services.reporting.alliances import domain as alliances
from services.reporting.conflicts import domain as conflicts
from services.reporting.proposals import domain as proposals
from services.reporting.reports import domain as reports
from services.reporting.worker import celery, database, outbox
from shared.events import Event
from shared.tasks import ServiceTask, event_consumer, register_relay

log = logging.getLogger(__name__)

relay_outbox = register_relay(celery, outbox)


@event_consumer(celery, name="reporting.alliance_signed", event_type="alliance.signed")
def alliance_signed(event: Event, *, session: Session) -> None:
    alliances.record_signed(session, event=event)
    payload = event.payload
    reports.schedule_and_announce(
        session,
        alliance_id=payload["alliance_id"],
        term=0,
        term_years=payload["term_years"],
        signing_date=payload["signing_date"],
        ends_on=payload["ends_on"],
        outbox=outbox,
        owed_from=payload.get("imported_on"),
        welcome=payload.get("welcome", True),
        reminders_from=payload.get("reminders_from"),
    )


@event_consumer(celery, name="reporting.alliance_renewed", event_type="alliance.renewed")
def alliance_renewed(event: Event, *, session: Session) -> None:
    payload = event.payload
    if not alliances.record_renewed(session, event=event):
        raise LookupError(f"alliance {payload['alliance_id']} was never signed here")
    reports.schedule_and_announce(
        session,
        alliance_id=payload["alliance_id"],
        term=payload["renewal"],
        term_years=payload["term_years"],
        signing_date=payload["signing_date"],
        ends_on=payload["ends_on"],
        outbox=outbox,
    )


@event_consumer(celery, name="reporting.alliance_moved", event_type="alliance.moved")
def alliance_moved(event: Event, *, session: Session) -> None:
    alliances.record_moved(session, event=event)


@event_consumer(celery, name="reporting.alliance_concluded", event_type="alliance.concluded")
def alliance_concluded(event: Event, *, session: Session) -> None:
    alliances.record_people(session, event=event)
    reports.cut_schedule(
        session,
        alliance_id=event.payload["alliance_id"],
        effective_on=event.payload["concluded_on"],
    )
    alliances.record_status(session, alliance_id=event.payload["alliance_id"], status="concluded")


@event_consumer(celery, name="reporting.alliance_terminated", event_type="alliance.terminated")
def alliance_terminated(event: Event, *, session: Session) -> None:
    alliances.record_people(session, event=event)
    reports.cut_schedule(
        session,
        alliance_id=event.payload["alliance_id"],
        effective_on=event.payload["effective_on"],
    )
    alliances.record_status(session, alliance_id=event.payload["alliance_id"], status="terminated")


@event_consumer(
    celery, name="reporting.ambassador_designated", event_type="alliance.ambassador_designated"
)
def ambassador_designated(event: Event, *, session: Session) -> None:
    alliances.record_people(session, event=event)
    reports.cut_for_ambassador(
        session,
        alliance_id=event.payload["alliance_id"],
        designated_on=event.payload["designated_on"],
    )
    alliances.record_status(session, alliance_id=event.payload["alliance_id"], status="ambassador")


@event_consumer(celery, name="reporting.conflict_declared", event_type="staff.conflict_declared")
def conflict_declared(event: Event, *, session: Session) -> None:
    conflicts.record_declared(session, event=event)


@event_consumer(celery, name="reporting.proposal_submitted", event_type="proposal.submitted")
def proposal_submitted(event: Event, *, session: Session) -> None:
    proposals.record(session, event=event)


@event_consumer(celery, name="reporting.proposal_resubmitted", event_type="proposal.resubmitted")
def proposal_resubmitted(event: Event, *, session: Session) -> None:
    proposals.record(session, event=event)


@event_consumer(celery, name="reporting.changes_requested", event_type="proposal.changes_requested")
def changes_requested(event: Event, *, session: Session) -> None:
    proposals.record(session, event=event)


@event_consumer(celery, name="reporting.proposal_declined", event_type="proposal.declined")
def proposal_declined(event: Event, *, session: Session) -> None:
    proposals.record(session, event=event)


@event_consumer(celery, name="reporting.proposal_approved", event_type="proposal.approved")
def proposal_approved(event: Event, *, session: Session) -> None:
    proposals.record(session, event=event)


@celery.task(name="reporting.sweep_deadlines", base=ServiceTask, acks_late=False, shared=False)
def sweep_deadlines() -> dict[str, int]:
    with metrics.SWEEP_DURATION.time(), database.transaction() as session:
        sent = reports.sweep(session, now=datetime.now(UTC), outbox=outbox)
    metrics.count_reminders(sent)
    if sent.total():
        log.info("sent report reminders: %s", dict(sent))
    return dict(sent)
