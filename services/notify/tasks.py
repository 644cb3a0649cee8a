"""Notify's tasks: record messages for events, deliver them when due, sweep what is due."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from contextlib import closing
from datetime import timedelta
from functools import partial
from typing import Any, TypeVar

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from services.notify import assignments, config, conflicts, coordinators, messages
from services.notify.mail import Mailer, NotSent, OutcomeUnknown, Refused, mailer_from_settings
from services.notify.report_links import link_resent
from services.notify.staff_accounts import password_link
from services.notify.worker import celery, database, outbox
from shared.config import Settings, load_agency_profile, load_settings
from shared.db import CommitOutcomeUnknown, after_commit, utcnow
from shared.events import Event
from shared.tasks import ServiceTask, event_consumer, register_relay

log = logging.getLogger(__name__)

T = TypeVar("T")

relay_outbox = register_relay(celery, outbox)


def deliver_after_commit(
    session: Session, message_ids: list[uuid.UUID], *, countdown: float = 0
) -> None:
    """Queue each message's delivery once the transaction commits (``countdown`` seconds on:
    a message due later; the sweep queues it anyway if this is lost)."""
    for message_id in message_ids:
        after_commit(
            session,
            partial(
                deliver_message.apply_async,
                kwargs={"message_id": str(message_id)},
                countdown=countdown,
            ),
        )


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


@event_consumer(celery, name="notify.reports_scheduled", event_type="alliance.reports_scheduled")
def reports_scheduled(event: Event, *, session: Session) -> None:
    """The signed-alliance welcome (term 0) or a renewed term's report calendar."""
    created = messages.reports_scheduled(
        session, event=event, settings=load_settings(), profile=load_agency_profile()
    )
    deliver_after_commit(session, created)


@event_consumer(celery, name="notify.conflict_declared", event_type="staff.conflict_declared")
def conflict_declared(event: Event, *, session: Session) -> None:
    conflicts.record(session, event=event)


@event_consumer(celery, name="notify.coordinators_changed", event_type="staff.coordinators_changed")
def coordinators_changed(event: Event, *, session: Session) -> None:
    """Review's active Coordinators: who gets the Coordinator's mail from now on."""
    coordinators.record(session, event=event)


@event_consumer(celery, name="notify.staff_password_link", event_type="staff.password_link")
def staff_password_link(event: Event, *, session: Session) -> None:
    """A staff member's invitation or password reset link, to them alone."""
    created = password_link(
        session, event=event, settings=load_settings(), profile=load_agency_profile()
    )
    deliver_after_commit(session, created)


@event_consumer(celery, name="notify.proposal_assigned", event_type="proposal.assigned")
def proposal_assigned(event: Event, *, session: Session) -> None:
    """The reviewer the Coordinator gave a proposal to hears of it."""
    created = assignments.proposal_assigned(
        session, event=event, settings=load_settings(), profile=load_agency_profile()
    )
    deliver_after_commit(session, created)


# -- delivery ---------------------------------------------------------------------------------
#
# The order keeps the window between "the server has it" and "we know it" as small as SMTP
# allows: greet the server, commit the claim (``sending``, the attempt counted), run the mail
# transaction, and right after the 250 commit ``sent`` in a short transaction of its own.
# A worker that dies in between leaves the row ``sending``; the sweep finds it after the lease
# and sends it again, counted in ``ambiguous_deliveries`` (at least once, never silently).

# Self-scheduling is a speed-up for short pauses only: due times live in the database, and a
# long countdown would sit in Redis past its visibility timeout (then be handed out again).
SELF_SCHEDULE_LIMIT = timedelta(minutes=5)
SWEEP_BATCH = 200
RECORD_TRIES = 4


def delivery_policy(settings: Settings) -> messages.DeliveryPolicy:
    return messages.DeliveryPolicy(
        retry_schedule=config.delivery_settings().retry_schedule,
        coordinator_email=settings.coordinator_email,
        agency=load_agency_profile().name,
        failures_url=f"{settings.public_base_url}/notify/staff/deliveries",
        branding=messages.branding(settings, load_agency_profile()),
    )


def _lost_database(err: BaseException) -> bool:
    return isinstance(err, OperationalError | CommitOutcomeUnknown) or (
        isinstance(err, DBAPIError) and err.connection_invalidated
    )


def record(step: Callable[[Session], T]) -> T:
    """Run ``step`` in a transaction, again on a fresh connection if the database was lost."""
    for attempt in range(1, RECORD_TRIES + 1):
        try:
            with database.transaction() as session:
                return step(session)
        except (DBAPIError, CommitOutcomeUnknown) as err:
            # Recording again is safe: each step checks the state it finds first.
            if not _lost_database(err) or attempt == RECORD_TRIES:
                raise
            log.warning("recording a delivery failed (try %d), again: %s", attempt, err)
            time.sleep(0.25 * 2**attempt)
    raise AssertionError("unreachable")


def deliver(
    message_id: uuid.UUID, *, mailer: Mailer, mail_from: str, policy: messages.DeliveryPolicy
) -> messages.Outcome:
    """One attempt at one message, if it is due; returns what became of it.

    The one task that commits more than once, on purpose: "sending" must be committed before
    the SMTP conversation and "sent" right after the server's 250 (docs/reliability.md), and
    no transaction may stay open across a mail server's answer.
    """
    with database.transaction() as session:
        state = messages.delivery_state(session, message_id=message_id, now=utcnow())
    if state != "due":
        return messages.Outcome(status=state)
    try:
        connection = mailer.connect()
    except NotSent as err:
        with database.transaction() as session:
            claimed = messages.claim(session, message_id=message_id, now=utcnow())
            if claimed is None:
                return messages.Outcome(status="busy")
            return messages.record_not_sent(
                session,
                message_id=message_id,
                attempt=claimed.attempts,
                error=str(err),
                permanent=False,
                policy=policy,
                now=utcnow(),
            )
    with closing(connection):
        with database.transaction() as session:
            claimed = messages.claim(session, message_id=message_id, now=utcnow())
            if claimed is None:
                return messages.Outcome(status="busy")
            attempt = claimed.attempts
            try:
                email = messages.build_email(claimed, mail_from=mail_from)
            except ValueError as err:
                # A stored value no e-mail can carry (an address that is not one address):
                # no attempt can do better, so the message fails, visibly, with the reason.
                return messages.record_not_sent(
                    session,
                    message_id=message_id,
                    attempt=attempt,
                    error=f"Unsendable: {err}",
                    permanent=True,
                    policy=policy,
                    now=utcnow(),
                )
        try:
            connection.send(email)
        except OutcomeUnknown as err:
            step = partial(
                messages.record_uncertain, error=str(err), policy=policy, attempt=attempt
            )
        except (NotSent, Refused) as err:
            step = partial(
                messages.record_not_sent,
                error=str(err),
                permanent=isinstance(err, Refused),
                policy=policy,
                attempt=attempt,
            )
        else:
            step = partial(messages.record_sent, outbox=outbox, attempt=attempt)
        return record(lambda session: step(session, message_id=message_id, now=utcnow()))


@celery.task(name="notify.deliver_message", base=ServiceTask, shared=False)
def deliver_message(*, message_id: str) -> str:
    """Attempt a message if it is due; duplicates of this task find it busy, sent or not due."""
    settings = load_settings()
    outcome = deliver(
        uuid.UUID(message_id),
        mailer=mailer_from_settings(settings),
        mail_from=settings.mail_from,
        policy=delivery_policy(settings),
    )
    for follow_up in outcome.follow_up:
        _enqueue(follow_up)
    if outcome.status == "pending" and outcome.next_attempt_at is not None:
        wait = outcome.next_attempt_at - utcnow()
        if wait < _self_schedule_limit():
            _enqueue(uuid.UUID(message_id), countdown=max(wait.total_seconds(), 0))
    return outcome.status


def _self_schedule_limit() -> timedelta:
    visibility = celery.conf.broker_transport_options.get("visibility_timeout", 3600)
    return min(SELF_SCHEDULE_LIMIT, timedelta(seconds=float(visibility) / 2))


def _enqueue(message_id: uuid.UUID, **options: Any) -> bool:
    try:
        deliver_message.apply_async(kwargs={"message_id": str(message_id)}, **options)
    except Exception:
        # The database has the due time; the next sweep queues it.
        log.warning("could not queue message %s; the sweep will", message_id, exc_info=True)
        return False
    return True


@celery.task(name="notify.deliver_pending", base=ServiceTask, acks_late=False, shared=False)
def deliver_pending() -> int:
    """Queue the messages due now, after making those whose worker died mid-send due again."""
    settings = load_settings()
    with database.transaction() as session:
        messages.recover_stalled(
            session,
            lease=config.delivery_settings().sending_lease,
            policy=delivery_policy(settings),
            now=utcnow(),
        )
    with database.transaction() as session:
        ids = messages.queue_due_messages(
            session,
            now=utcnow(),
            requeue_after=config.delivery_settings().requeue_after,
            limit=SWEEP_BATCH,
        )
    queued = 0
    for message_id in ids:
        # No expiry: behind a backlog the task waits its turn (an expired one starved the
        # oldest messages); the sweep does not queue it again until requeue_after.
        if not _enqueue(message_id):
            with database.transaction() as session:
                messages.forget_queued(session, message_ids=ids[queued:])
            break  # the broker is away: the next sweep tries again
        queued += 1
    if ids:
        log.info("queued %d of %d due messages", queued, len(ids))
    return queued


# -- the agreement's life -----------------------------------------------------------


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


# -- report deadlines ---------------------------------------------------------------


def _report_deadline(event: Event, session: Session) -> None:
    created = messages.report_deadline(
        session, event=event, settings=load_settings(), profile=load_agency_profile()
    )
    deliver_after_commit(session, created)


@event_consumer(celery, name="notify.report_due_soon", event_type="report.due_soon")
def report_due_soon(event: Event, *, session: Session) -> None:
    _report_deadline(event, session)


@event_consumer(celery, name="notify.report_due", event_type="report.due")
def report_due(event: Event, *, session: Session) -> None:
    _report_deadline(event, session)


@event_consumer(celery, name="notify.report_overdue", event_type="report.overdue")
def report_overdue(event: Event, *, session: Session) -> None:
    _report_deadline(event, session)


@event_consumer(celery, name="notify.report_escalated", event_type="report.escalated")
def report_escalated(event: Event, *, session: Session) -> None:
    _report_deadline(event, session)


# -- the partner's report and the liaison's review ----------------------------------


@event_consumer(celery, name="notify.report_submitted", event_type="report.submitted")
def report_submitted(event: Event, *, session: Session) -> None:
    created = messages.report_submitted(
        session, event=event, settings=load_settings(), profile=load_agency_profile()
    )
    deliver_after_commit(session, created)


def _report_reviewed(event: Event, session: Session) -> None:
    created = messages.report_reviewed(
        session, event=event, settings=load_settings(), profile=load_agency_profile()
    )
    deliver_after_commit(session, created)


@event_consumer(celery, name="notify.report_accepted", event_type="report.accepted")
def report_accepted(event: Event, *, session: Session) -> None:
    _report_reviewed(event, session)


@event_consumer(
    celery, name="notify.report_revision_requested", event_type="report.revision_requested"
)
def report_revision_requested(event: Event, *, session: Session) -> None:
    _report_reviewed(event, session)


@event_consumer(celery, name="notify.report_link_resent", event_type="report.link_resent")
def report_link_resent(event: Event, *, session: Session) -> None:
    """A new link to a report's form, to the partner's contact."""
    created = link_resent(
        session, event=event, settings=load_settings(), profile=load_agency_profile()
    )
    deliver_after_commit(session, created)


# -- the annual evaluation shared with the partner --------------------------------


@event_consumer(celery, name="notify.evaluation_shared", event_type="evaluation.shared")
def evaluation_shared(event: Event, *, session: Session) -> None:
    created = messages.evaluation_shared(
        session, event=event, settings=load_settings(), profile=load_agency_profile()
    )
    deliver_after_commit(session, created)
