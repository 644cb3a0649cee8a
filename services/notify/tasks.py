"""Notify's tasks, thin: each consumer records the messages of an event (messages/) and queues
them after the commit; ``deliver_message`` makes one attempt at an e-mail (delivery/), and
beat's sweep ``deliver_pending`` queues what is due. The webhooks' tasks are
services/notify/webhooks/tasks.py."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from sqlalchemy.orm import Session

from services.notify.delivery import attempts, queue
from services.notify.delivery import domain as delivery
from services.notify.delivery.mail import Mailer, mailer_from_settings
from services.notify.delivery.queue import deliver_after_commit
from services.notify.messages import assignments
from services.notify.messages import domain as messages
from services.notify.messages.render import branding
from services.notify.messages.report_links import link_resent
from services.notify.messages.staff_accounts import password_link
from services.notify.staff import conflicts, coordinators
from services.notify.webhooks import tasks as webhook_tasks
from services.notify.worker import celery, database, outbox
from shared.config import Settings, load_agency_profile, load_settings
from shared.db import utcnow
from shared.events import Event
from shared.staff_shell import absolute_url
from shared.tasks import ServiceTask, event_consumer, register_relay

log = logging.getLogger(__name__)

relay_outbox = register_relay(celery, outbox)

# The webhooks' consumers are notify's too: importing notify's tasks registers every one of them,
# as the worker does.
WEBHOOK_CONSUMERS = webhook_tasks.CONSUMERS


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


# -- delivery: one attempt at a message (delivery/attempts.py), beat's sweep ---------------------

# Self-scheduling is a speed-up for short pauses only: due times live in the database, and a
# long countdown would sit in Redis past its visibility timeout (then be handed out again).
SELF_SCHEDULE_LIMIT = timedelta(minutes=5)
SWEEP_BATCH = 200


def delivery_policy(settings: Settings) -> delivery.DeliveryPolicy:
    profile = load_agency_profile()
    return delivery.DeliveryPolicy(
        retry_schedule=settings.delivery.retry_schedule,
        coordinator_email=settings.coordinator_email,
        agency=profile.name,
        failures_url=absolute_url(settings.public_base_url, "notify", "/staff/deliveries"),
        branding=branding(settings, profile),
    )


def deliver(
    message_id: uuid.UUID, *, mailer: Mailer, mail_from: str, policy: delivery.DeliveryPolicy
) -> delivery.Outcome:
    """One attempt at one message, if it is due, on notify's database and outbox."""
    return attempts.deliver(
        message_id,
        database=database,
        outbox=outbox,
        mailer=mailer,
        mail_from=mail_from,
        policy=policy,
    )


# A task that sends what is due goes on for this long at most, so the event consumers on the
# same queue wait little behind it; it queues another to carry on.
DRAIN_SECONDS = 5.0
DRAIN_LIMIT = 500
# Connections a backlog is sent over at once (delivery/attempts.py ``deliver_due``).
SENDERS = 3


@celery.task(name=queue.DELIVER_MESSAGE, base=ServiceTask, shared=False)
def deliver_message(*, message_id: str) -> str:
    """Attempt a message if it is due, then whatever else is due, over the same connection;
    duplicates of this task find it busy, sent or not due."""
    settings = load_settings()
    mailer = mailer_from_settings(settings)
    policy = delivery_policy(settings)
    outcome = deliver(
        uuid.UUID(message_id), mailer=mailer, mail_from=settings.mail_from, policy=policy
    )
    for follow_up in outcome.follow_up:
        queue.queue_message(follow_up)
    if outcome.status == "waiting":
        if outcome.channel_went_down:
            queue_probe()
        return outcome.status
    if outcome.status == "pending" and outcome.next_attempt_at is not None:
        wait = outcome.next_attempt_at - utcnow()
        if wait < _self_schedule_limit():
            queue.queue_message(uuid.UUID(message_id), countdown=max(wait.total_seconds(), 0))
    _deliver_due(settings, mailer=mailer, policy=policy)
    return outcome.status


@celery.task(name=queue.DELIVER_DUE, base=ServiceTask, shared=False)
def deliver_due() -> int:
    """Send what is due, for a while; another of this task carries on after it."""
    settings = load_settings()
    return _deliver_due(
        settings, mailer=mailer_from_settings(settings), policy=delivery_policy(settings)
    )


def _deliver_due(settings: Settings, *, mailer: Mailer, policy: delivery.DeliveryPolicy) -> int:
    drained = attempts.deliver_due(
        database=database,
        outbox=outbox,
        mailer=mailer,
        mail_from=settings.mail_from,
        policy=policy,
        limit=DRAIN_LIMIT,
        seconds=DRAIN_SECONDS,
        senders=SENDERS,
    )
    for follow_up in drained.follow_up:
        queue.queue_message(follow_up)
    if drained.channel_went_down:
        queue_probe()
    elif drained.more:
        queue.queue_due()
    return drained.sent


@celery.task(name=queue.PROBE_MAIL, base=ServiceTask, shared=False)
def probe_mail() -> str:
    """While the mail server is down: whether it answers again, every few seconds; once it
    does, what waited for it goes at once."""
    settings = load_settings()
    mailer = mailer_from_settings(settings)
    found = attempts.probe(database=database, mailer=mailer)
    if found == "down":
        queue_probe()
    elif found == "up":
        _deliver_due(settings, mailer=mailer, policy=delivery_policy(settings))
    return found


def queue_probe() -> None:
    queue.queue_probe(countdown=delivery.PROBE_EVERY.total_seconds())


def _self_schedule_limit() -> timedelta:
    visibility = celery.conf.broker_transport_options.get("visibility_timeout", 3600)
    return min(SELF_SCHEDULE_LIMIT, timedelta(seconds=float(visibility) / 2))


@celery.task(name="notify.deliver_pending", base=ServiceTask, acks_late=False, shared=False)
def deliver_pending() -> int:
    """Queue the messages due now, after making those whose worker died mid-send due again;
    while the mail server is down, probe it when that is due (and send what waited once it
    answers)."""
    settings = load_settings()
    with database.transaction() as session:
        delivery.recover_stalled(
            session,
            lease=settings.delivery.sending_lease,
            policy=delivery_policy(settings),
            now=utcnow(),
        )
    with database.transaction() as session:
        channel_down = delivery.channel_is_down(session)
    if channel_down:
        # The sweep probes too: a probe queued behind a long queue comes late.
        if attempts.probe(database=database, mailer=mailer_from_settings(settings)) != "up":
            return 0
        _deliver_due(
            settings, mailer=mailer_from_settings(settings), policy=delivery_policy(settings)
        )
    with database.transaction() as session:
        ids = delivery.queue_due_messages(
            session,
            now=utcnow(),
            requeue_after=settings.delivery.requeue_after,
            limit=SWEEP_BATCH,
        )
    queued = 0
    for message_id in ids:
        # No expiry: behind a backlog the task waits its turn (an expired one starved the
        # oldest messages); the sweep does not queue it again until requeue_after.
        if not queue.queue_message(message_id):
            with database.transaction() as session:
                delivery.forget_queued(session, message_ids=ids[queued:])
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


@event_consumer(celery, name="notify.alliance_moved", event_type="alliance.moved")
def alliance_moved(event: Event, *, session: Session) -> None:
    messages.alliance_moved(session, event=event)


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
