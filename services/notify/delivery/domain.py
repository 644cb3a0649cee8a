"""One delivery state machine and one retry policy for every channel: an e-mail (``Message``)
and a webhook delivery (``WebhookDelivery``) go through the same steps.

    pending -> sending -> sent (an e-mail) or delivered (a webhook) | failed

- ``start_attempt``: a due pending delivery becomes ``sending``, its attempt counted, in a short
  transaction committed before the channel is used (only a pending, due delivery can be
  claimed, so however many copies of a task run, each attempt counts once);
- the channel's adapter makes the attempt (delivery/mail.py for e-mail, the webhooks' HTTP
  client) and its outcome is recorded: done, or ``retry_or_fail`` on the ``RetryPolicy``;
- ``stalled``: deliveries ``sending`` past their lease (their worker died) are taken back;
- ``mark_due`` and ``unmark_queued``: beat's sweep marks what is due, and unmarks what it
  could not queue.

Then the e-mail channel's own records: ``record_sent`` (intake hears of it),
``record_not_sent``, ``record_uncertain`` (maybe delivered: counted), ``recover_stalled``, and
the Coordinator's alert when a message fails for good; ``claim_next``, the message due the
longest, for a worker that sends what is due over one connection; and the state of the mail
channel itself (``channel_is_down``, ``channel_down``, ``claim_probe``, ``channel_up``): a
server that cannot be reached is not an attempt charged to each message waiting for it. The
webhook channel's records are services/notify/webhooks/domain.py ``record_attempt``.

The functions take the caller's session and never commit.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from services.notify.messages.domain import DELIVERY_FAILED_TEMPLATE, delivery_failed
from services.notify.models import Deliverable, MailChannel, Message
from shared.events import new_event
from shared.outbox import Outbox

log = logging.getLogger(__name__)

D = TypeVar("D", bound=Deliverable)


# -- the retry policy -----------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    """When a failed attempt is tried again: ``schedule[n - 1]`` is the pause after the n-th
    attempt, so a delivery gets one attempt more than the schedule has pauses."""

    schedule: tuple[timedelta, ...]

    @property
    def max_attempts(self) -> int:
        return len(self.schedule) + 1

    def pause_after(self, attempts: int, *, at_least: timedelta = timedelta(0)) -> timedelta | None:
        """The pause before the next attempt after ``attempts`` were made, at least
        ``at_least`` (a webhook's ``Retry-After``); None once the attempts are spent."""
        if attempts >= self.max_attempts:
            return None
        return max(self.schedule[max(attempts, 1) - 1], at_least)


@dataclass(frozen=True)
class Outcome:
    """What a delivery step left behind."""

    status: str
    next_attempt_at: datetime | None = None
    # The mail server just became unreachable: someone has to start probing it.
    channel_went_down: bool = False
    # New messages to deliver as well: the Coordinator's alert about a failure or about a
    # disabled webhook endpoint.
    follow_up: tuple[uuid.UUID, ...] = field(default_factory=tuple)


# -- the state machine, for any channel -------------------------------------------------------


def due_state(model: type[D], session: Session, item_id: uuid.UUID, *, now: datetime) -> str:
    """``due`` when the delivery waits for an attempt now, else its status (``missing`` when
    there is no such delivery)."""
    row = session.execute(
        select(model.status, model.next_attempt_at).where(model.id == item_id)
    ).first()
    if row is None:
        return "missing"
    status, next_attempt_at = row
    if status == "pending" and next_attempt_at <= now:
        return "due"
    return str(status)


def start_attempt(
    model: type[D],
    session: Session,
    item_id: uuid.UUID,
    *,
    now: datetime,
    eligible: ColumnElement[bool] | None = None,
) -> D | None:
    """Start an attempt: a due pending delivery (that is ``eligible``, when the channel says
    more) becomes ``sending``, its attempt counted. None when it is not due, not pending, not
    eligible, or locked by another worker's claim."""
    query = select(model).where(
        model.id == item_id, model.status == "pending", model.next_attempt_at <= now
    )
    if eligible is not None:
        query = query.where(eligible)
    item = session.scalars(query.with_for_update(skip_locked=True)).first()
    return None if item is None else _begin(item, now=now)


def _begin(item: D, *, now: datetime) -> D:
    item.status = "sending"
    item.sending_since = now
    item.attempts += 1
    return item


def locked(model: type[D], session: Session, item_id: uuid.UUID) -> D | None:
    """The delivery, locked for recording an attempt's outcome."""
    return session.scalars(select(model).where(model.id == item_id).with_for_update()).first()


def still_sending(item: Deliverable | None, attempt: int) -> bool:
    """Whether ``attempt`` is still the delivery's current one: once a lease ran out the sweep
    owns the delivery, and a late report of that attempt is moot."""
    return item is not None and item.status == "sending" and item.attempts == attempt


def retry_or_fail(
    item: Deliverable,
    *,
    policy: RetryPolicy,
    now: datetime,
    at_least: timedelta = timedelta(0),
    delay: timedelta | None = None,
) -> Outcome:
    """After a failed attempt: ``pending`` again after the policy's pause (or ``delay``), or
    ``failed`` once the attempts are spent."""
    pause = policy.pause_after(item.attempts, at_least=at_least)
    item.sending_since = None
    if pause is None:
        item.status = "failed"
        return Outcome(status="failed")
    item.status = "pending"
    item.next_attempt_at = now + (pause if delay is None else delay)
    return Outcome(status="pending", next_attempt_at=item.next_attempt_at)


def stalled(
    model: type[D], session: Session, *, lease: timedelta, now: datetime, limit: int = 200
) -> Sequence[D]:
    """Deliveries ``sending`` for longer than ``lease`` (their worker died), locked, the
    oldest first."""
    return session.scalars(
        select(model)
        .where(model.status == "sending", model.sending_since < now - lease)
        .order_by(model.sending_since)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()


def mark_due(
    model: type[D],
    session: Session,
    *,
    now: datetime,
    requeue_after: timedelta,
    limit: int = 200,
    eligible: ColumnElement[bool] | None = None,
) -> list[uuid.UUID]:
    """Pending deliveries due for an attempt, the longest waiting first, that no task queued
    by an earlier sweep may still be carrying; marked so until ``now + requeue_after``."""
    due = select(model.id).where(
        model.status == "pending",
        model.next_attempt_at <= now,
        or_(model.queued_until.is_(None), model.queued_until <= now),
    )
    if eligible is not None:
        due = due.where(eligible)
    ids = list(
        session.scalars(
            due.order_by(model.next_attempt_at, model.created_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    if ids:
        session.execute(
            update(model).where(model.id.in_(ids)).values(queued_until=now + requeue_after)
        )
    return ids


def unmark_queued(model: type[D], session: Session, *, item_ids: Sequence[uuid.UUID]) -> None:
    """The sweep could not queue these after all (the broker is away): the next one may."""
    if item_ids:
        session.execute(update(model).where(model.id.in_(item_ids)).values(queued_until=None))


# -- the e-mail channel -----------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryPolicy:
    """How an e-mail's attempts are spaced, and whom to tell when a message fails for good."""

    # retry_schedule[n - 1] is the pause after the n-th attempt (``RetryPolicy``).
    retry_schedule: tuple[timedelta, ...]
    coordinator_email: str
    agency: str
    failures_url: str
    # MAIL_LOGO_URL and MAIL_SIGNATURE for the failure alert (messages/render.py ``branding``).
    branding: dict[str, Any] = field(default_factory=dict)

    @property
    def retry(self) -> RetryPolicy:
        return RetryPolicy(self.retry_schedule)

    @property
    def max_attempts(self) -> int:
        return self.retry.max_attempts


def delivery_state(session: Session, *, message_id: uuid.UUID, now: datetime) -> str:
    """``due`` when the message waits for an attempt now, else its status (or ``missing``)."""
    return due_state(Message, session, message_id, now=now)


def claim(session: Session, *, message_id: uuid.UUID, now: datetime) -> Message | None:
    """Start an attempt at a message (``start_attempt``)."""
    return start_attempt(Message, session, message_id, now=now)


def claim_next(session: Session, *, now: datetime) -> Message | None:
    """Start an attempt at the pending message due the longest, passing over those another
    worker is claiming; None when nothing is due. One statement: it runs once a message."""
    due = (
        select(Message.id)
        .where(Message.status == "pending", Message.next_attempt_at <= now)
        .order_by(Message.next_attempt_at, Message.created_at)
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    return session.scalars(
        update(Message)
        .where(Message.id == due)
        .values(status="sending", sending_since=now, attempts=Message.attempts + 1)
        .returning(Message),
        execution_options={"synchronize_session": False},
    ).first()


def count_due(session: Session, *, now: datetime, up_to: int) -> int:
    """How many pending messages are due for an attempt (counted up to ``up_to``)."""
    due = (
        select(Message.id)
        .where(Message.status == "pending", Message.next_attempt_at <= now)
        .limit(up_to)
        .subquery()
    )
    return int(session.scalar(select(func.count()).select_from(due)) or 0)


def record_sent(
    session: Session,
    *,
    message_id: uuid.UUID,
    attempt: int,
    now: datetime,
    outbox: Outbox | None = None,
) -> Outcome:
    """The server answered 250: the message is ``sent``, and intake hears of it."""
    # The usual case in one statement: the attempt is still the message's current one.
    current = session.scalars(
        update(Message)
        .where(Message.id == message_id, Message.status == "sending", Message.attempts == attempt)
        .values(status="sent", sent_at=now, sending_since=None, last_error=None)
        .returning(Message),
        execution_options={"synchronize_session": False},
    ).first()
    if current is not None:
        return _sent(current, outbox=outbox, session=session)
    message = locked(Message, session, message_id)
    if message is None:
        return Outcome(status="missing")
    if message.status == "sent":
        log.warning(
            "message %s was delivered again by attempt %d (already sent at %s)",
            message.id,
            attempt,
            message.sent_at,
        )
        return Outcome(status="sent")
    if not still_sending(message, attempt):
        # Slower than the lease: the sweep counted it as ambiguous, yet it did go out.
        log.warning(
            "message %s attempt %d was delivered after its lease ran out (status %s)",
            message.id,
            attempt,
            message.status,
        )
    message.status = "sent"
    message.sent_at = now
    message.sending_since = None
    message.last_error = None
    return _sent(message, outbox=outbox, session=session)


def _sent(message: Message, *, outbox: Outbox | None, session: Session) -> Outcome:
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
                    "recipient": message.recipient,
                    "sent_at": message.sent_at,
                },
            ),
        )
    log.info("sent %s to %s (%s)", message.template, message.to_address, message.cause)
    return Outcome(status="sent")


def record_not_sent(
    session: Session,
    *,
    message_id: uuid.UUID,
    attempt: int,
    error: str,
    permanent: bool,
    policy: DeliveryPolicy,
    now: datetime,
) -> Outcome:
    """The server certainly did not take the message: try again on schedule, or give up.

    A ``permanent`` refusal (a 5xx answer, a message no e-mail can carry) fails it at once.
    """
    message = locked(Message, session, message_id)
    if message is None or not still_sending(message, attempt):
        return Outcome(status=message.status if message is not None else "missing")
    message.last_error = error[:2000]
    if permanent:
        log.error("message %s refused for good: %s", message.id, error)
        message.sending_since = None
        message.status = "failed"
        return _failed(session, message, policy=policy)
    return _retry_or_give_up(session, message, policy=policy, now=now)


def record_uncertain(
    session: Session,
    *,
    message_id: uuid.UUID,
    attempt: int,
    error: str,
    policy: DeliveryPolicy,
    now: datetime,
) -> Outcome:
    """The content went out but no answer came: maybe delivered. Count it, and try again."""
    message = locked(Message, session, message_id)
    if message is None or not still_sending(message, attempt):
        return Outcome(status=message.status if message is not None else "missing")
    message.ambiguous_deliveries += 1
    message.last_error = f"ambiguous: {error}"[:2000]
    log.warning(
        "delivery of message %s is ambiguous (attempt %d, %s): the recipient may get it twice",
        message.id,
        attempt,
        error,
    )
    return _retry_or_give_up(session, message, policy=policy, now=now)


def recover_stalled(
    session: Session, *, lease: timedelta, policy: DeliveryPolicy, now: datetime, limit: int = 200
) -> list[uuid.UUID]:
    """Messages ``sending`` for longer than ``lease``: their worker died mid-send.

    Whether the server got them is unknown: each counts as ambiguous and is due again now.
    Returns their ids.
    """
    found = stalled(Message, session, lease=lease, now=now, limit=limit)
    for message in found:
        message.ambiguous_deliveries += 1
        message.last_error = (
            f"ambiguous: attempt {message.attempts} was still sending after {lease}"
            f" (since {message.sending_since:%Y-%m-%d %H:%M:%S %Z}); its worker stopped"
        )
        log.warning(
            "delivery of message %s is ambiguous: attempt %d was still sending after %s",
            message.id,
            message.attempts,
            lease,
        )
        _retry_or_give_up(session, message, policy=policy, now=now, delay=timedelta(0))
    return [message.id for message in found]


def queue_due_messages(
    session: Session, *, now: datetime, requeue_after: timedelta, limit: int = 200
) -> list[uuid.UUID]:
    """Pending messages due for an attempt (``mark_due``)."""
    return mark_due(Message, session, now=now, requeue_after=requeue_after, limit=limit)


def forget_queued(session: Session, *, message_ids: Sequence[uuid.UUID]) -> None:
    unmark_queued(Message, session, item_ids=message_ids)


def _retry_or_give_up(
    session: Session,
    message: Message,
    *,
    policy: DeliveryPolicy,
    now: datetime,
    delay: timedelta | None = None,
) -> Outcome:
    outcome = retry_or_fail(message, policy=policy.retry, now=now, delay=delay)
    if outcome.status == "failed":
        return _failed(session, message, policy=policy)
    log.warning(
        "sending message %s failed (attempt %d of %d), next attempt at %s: %s",
        message.id,
        message.attempts,
        policy.max_attempts,
        message.next_attempt_at.isoformat(timespec="seconds"),
        message.last_error,
    )
    return outcome


def _failed(session: Session, message: Message, *, policy: DeliveryPolicy) -> Outcome:
    """A message failed for good: each active Coordinator is told (not of an alert, which
    would fail the same way)."""
    log.error(
        "giving up on message %s after %d attempts: %s",
        message.id,
        message.attempts,
        message.last_error,
    )
    if message.template == DELIVERY_FAILED_TEMPLATE:
        return Outcome(status="failed")
    alerts = delivery_failed(
        session,
        message=message,
        coordinator_email=policy.coordinator_email,
        agency=policy.agency,
        branding=policy.branding,
        failures_url=policy.failures_url,
    )
    return Outcome(status="failed", follow_up=tuple(alerts))


# -- the mail channel: a server that cannot be reached is the channel's state ------------------

MAIL_CHANNEL = "mail"
# How often a down mail server is tried again, by one worker at a time.
PROBE_EVERY = timedelta(seconds=5)


def channel_is_down(session: Session) -> bool:
    """Whether the mail server was found unreachable and has not answered a probe since:
    messages then wait for it, their attempts uncharged."""
    return (
        session.scalar(
            select(MailChannel.name).where(
                MailChannel.name == MAIL_CHANNEL, MailChannel.down_since.is_not(None)
            )
        )
        is not None
    )


# A probe queued to run at ``probe_at`` may start a moment early.
PROBE_SLACK = timedelta(seconds=1)


def claim_probe(session: Session, *, now: datetime, every: timedelta = PROBE_EVERY) -> bool:
    """Take the due probe of a down channel, moving the next one on: one prober at a time."""
    result = session.execute(
        update(MailChannel)
        .where(
            MailChannel.name == MAIL_CHANNEL,
            MailChannel.down_since.is_not(None),
            or_(MailChannel.probe_at.is_(None), MailChannel.probe_at <= now + PROBE_SLACK),
        )
        .values(probe_at=now + every, updated_at=now)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]  # a CursorResult


def channel_down(
    session: Session, *, error: str, now: datetime, every: timedelta = PROBE_EVERY
) -> bool:
    """The mail server could not be reached: the channel is down, probed every ``every``.
    True when it was up until now (the caller starts the probes)."""
    statement = insert(MailChannel).values(
        name=MAIL_CHANNEL,
        down_since=now,
        probe_at=now + every,
        last_error=error[:2000],
        updated_at=now,
    )
    down_since = session.scalar(
        statement.on_conflict_do_update(
            index_elements=[MailChannel.name],
            set_={
                "down_since": func.coalesce(MailChannel.down_since, statement.excluded.down_since),
                "probe_at": statement.excluded.probe_at,
                "last_error": statement.excluded.last_error,
                "updated_at": statement.excluded.updated_at,
            },
        ).returning(MailChannel.down_since)
    )
    went_down = down_since == now
    if went_down:
        log.error("the mail server cannot be reached; messages wait for it: %s", error)
    return went_down


def channel_up(session: Session, *, now: datetime) -> bool:
    """The mail server answered: the channel is up. True when it was down until now."""
    channel = session.get(MailChannel, MAIL_CHANNEL, with_for_update=True)
    if channel is None or channel.down_since is None:
        return False
    log.warning("the mail server answers again (down since %s)", channel.down_since.isoformat())
    channel.down_since = None
    channel.probe_at = None
    channel.updated_at = now
    return True
