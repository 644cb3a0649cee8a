"""One attempt at one e-mail, over the mail channel (delivery/mail.py), through the steps of
the delivery state machine (delivery/domain.py).

The order keeps the window between "the server has it" and "we know it" as small as SMTP
allows: greet the server, commit the claim (``sending``, the attempt counted), run the mail
transaction, and right after the 250 commit ``sent`` in a short transaction of its own.
A worker that dies in between leaves the row ``sending``; the sweep finds it after the lease
and sends it again, counted in ``ambiguous_deliveries`` (at least once, never silently).

``deliver_due`` sends what is due one message after another over one kept connection, each
through the same steps; a server that cannot be reached marks the mail channel down instead
of charging an attempt to the message, and ``probe`` finds out when it is back.

The one place that commits more than once, on purpose: "sending" must be committed before
the SMTP conversation and "sent" right after the server's 250 (docs/reliability.md), and no
transaction may stay open across a mail server's answer.
"""

from __future__ import annotations

import contextvars
import logging
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from email.message import EmailMessage
from functools import partial
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from services.notify.delivery import domain
from services.notify.delivery.mail import (
    MailConnection,
    Mailer,
    NotSent,
    OutcomeUnknown,
    Refused,
    Unreachable,
    build_email,
)
from services.notify.models import Message
from shared.db import CommitOutcomeUnknown, Database, utcnow
from shared.outbox import Outbox

log = logging.getLogger(__name__)

T = TypeVar("T")

RECORD_TRIES = 4


def _lost_database(err: BaseException) -> bool:
    return isinstance(err, OperationalError | CommitOutcomeUnknown) or (
        isinstance(err, DBAPIError) and err.connection_invalidated
    )


def record(database: Database, step: Callable[[Session], T]) -> T:
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
    message_id: uuid.UUID,
    *,
    database: Database,
    outbox: Outbox | None,
    mailer: Mailer,
    mail_from: str,
    policy: domain.DeliveryPolicy,
) -> domain.Outcome:
    """One attempt at one message, if it is due and the mail server is not known to be down
    (then it waits, uncharged: ``waiting``, or probes the server when that is due); returns
    what became of it."""
    with database.transaction() as session:
        state = domain.delivery_state(session, message_id=message_id, now=utcnow())
        # While the server is down a message waits, unless its probe is due: then this
        # attempt is the probe (one at a time), so mail resumes however long the queue is.
        probing = state == "due" and domain.channel_is_down(session)
        if probing and not domain.claim_probe(session, now=utcnow()):
            state = "waiting"
    if state != "due":
        return domain.Outcome(status=state)
    try:
        connection = mailer.connect()
    except Unreachable as err:
        return _unreachable(database, err)
    except NotSent as err:
        with database.transaction() as session:
            claimed = domain.claim(session, message_id=message_id, now=utcnow())
            if claimed is None:
                return domain.Outcome(status="busy")
            return domain.record_not_sent(
                session,
                message_id=message_id,
                attempt=claimed.attempts,
                error=str(err),
                permanent=False,
                policy=policy,
                now=utcnow(),
            )
    if probing:
        record(database, lambda session: domain.channel_up(session, now=utcnow()))
    with closing(connection):
        return _attempt(
            lambda session: domain.claim(session, message_id=message_id, now=utcnow()),
            connection=connection,
            database=database,
            outbox=outbox,
            mail_from=mail_from,
            policy=policy,
        ) or domain.Outcome(status="busy")


@dataclass
class Drained:
    """What ``deliver_due`` did: how many messages it attempted and sent, the new messages to
    deliver as well, and whether it stopped at its limit with more due."""

    attempted: int = 0
    sent: int = 0
    follow_up: list[uuid.UUID] = field(default_factory=list)
    more: bool = False
    channel_went_down: bool = False

    @classmethod
    def merged(cls, parts: list[Drained]) -> Drained:
        return cls(
            attempted=sum(p.attempted for p in parts),
            sent=sum(p.sent for p in parts),
            follow_up=[m for p in parts for m in p.follow_up],
            more=any(p.more for p in parts),
            channel_went_down=any(p.channel_went_down for p in parts),
        )


@dataclass(frozen=True)
class Claimed:
    """A message claimed for an attempt and its e-mail; no e-mail when none can carry it (the
    message then failed in the claiming transaction: ``failed``)."""

    message_id: uuid.UUID
    attempt: int
    email: EmailMessage | None
    failed: domain.Outcome | None = None


def claim_next(
    session: Session, *, mail_from: str, policy: domain.DeliveryPolicy
) -> Claimed | None:
    """Claim the message due the longest and build its e-mail (None when nothing is due)."""
    message = domain.claim_next(session, now=utcnow())
    if message is None:
        return None
    try:
        return Claimed(message.id, message.attempts, build_email(message, mail_from=mail_from))
    except ValueError as err:
        failed = domain.record_not_sent(
            session,
            message_id=message.id,
            attempt=message.attempts,
            error=f"Unsendable: {err}",
            permanent=True,
            policy=policy,
            now=utcnow(),
        )
        return Claimed(message.id, message.attempts, None, failed)


# With a backlog, several connections send at once (each waits on the mail server and the
# database while another works), one for every MESSAGES_PER_SENDER due, up to ``senders``.
MESSAGES_PER_SENDER = 20


def deliver_due(
    *,
    database: Database,
    outbox: Outbox | None,
    mailer: Mailer,
    mail_from: str,
    policy: domain.DeliveryPolicy,
    limit: int,
    seconds: float,
    senders: int = 1,
) -> Drained:
    """Attempt the messages due, the longest waiting first, up to ``limit`` messages or
    ``seconds``, one after another over a kept connection (several at once when many are
    due): what a task and a greeting per message made slow."""
    with database.transaction() as session:
        if domain.channel_is_down(session):
            return Drained()
        due = domain.count_due(session, now=utcnow(), up_to=limit)
    if not due:
        return Drained()
    senders = max(1, min(senders, due // MESSAGES_PER_SENDER))
    send = partial(
        _send_due,
        database=database,
        outbox=outbox,
        mailer=mailer,
        mail_from=mail_from,
        policy=policy,
        limit=-(-limit // senders),
        deadline=time.monotonic() + seconds,
    )
    if senders == 1:
        return send()
    with ThreadPoolExecutor(senders, thread_name_prefix="mail-sender") as pool:
        # Each sender in a copy of this task's context (its log fields).
        running = [pool.submit(contextvars.copy_context().run, send) for _ in range(senders)]
        return Drained.merged([sender.result() for sender in running])


def _send_due(
    *,
    database: Database,
    outbox: Outbox | None,
    mailer: Mailer,
    mail_from: str,
    policy: domain.DeliveryPolicy,
    limit: int,
    deadline: float,
) -> Drained:
    """One connection's share of ``deliver_due``. Each message goes through the same steps
    as in ``deliver``; the transaction that records one message's outcome right after the
    server's answer also claims the next (one commit a message, the steps in their order)."""
    drained = Drained()
    try:
        connection: MailConnection | None = mailer.connect()
    except Unreachable as err:
        drained.channel_went_down = _unreachable(database, err).channel_went_down
        return drained
    except NotSent:
        return drained  # each message's own task records this against it
    try:
        with database.transaction() as session:
            claimed = claim_next(session, mail_from=mail_from, policy=policy)
        while claimed is not None:
            drained.attempted += 1
            step: Callable[[Session], domain.Outcome] | None = None
            if claimed.failed is not None:
                drained.follow_up += claimed.failed.follow_up
            else:
                assert connection is not None
                step = _sent_or_not(connection, claimed, outbox=outbox, policy=policy)
                if not getattr(connection, "reusable", True):
                    # That transaction did not end cleanly: a new connection for the next.
                    connection.close()
                    connection = _reconnect(database, mailer, drained)
            go_on = connection is not None and drained.attempted < limit
            if go_on and time.monotonic() > deadline:
                go_on, drained.more = False, True
            outcome, claimed = record(
                database, partial(_record_and_claim, step, go_on, mail_from, policy)
            )
            if outcome is not None:
                drained.sent += outcome.status == "sent"
                drained.follow_up += outcome.follow_up
        if connection is not None and drained.attempted >= limit:
            drained.more = True
    finally:
        if connection is not None:
            connection.close()
    return drained


def _record_and_claim(
    step: Callable[[Session], domain.Outcome] | None,
    go_on: bool,
    mail_from: str,
    policy: domain.DeliveryPolicy,
    session: Session,
) -> tuple[domain.Outcome | None, Claimed | None]:
    outcome = step(session) if step is not None else None
    return outcome, claim_next(session, mail_from=mail_from, policy=policy) if go_on else None


def _sent_or_not(
    connection: MailConnection,
    claimed: Claimed,
    *,
    outbox: Outbox | None,
    policy: domain.DeliveryPolicy,
) -> Callable[[Session], domain.Outcome]:
    """Send the claimed message; the step that records what became of it."""
    assert claimed.email is not None
    step: Callable[..., domain.Outcome]
    try:
        connection.send(claimed.email)
    except OutcomeUnknown as err:
        step = partial(domain.record_uncertain, error=str(err), policy=policy)
    except (NotSent, Refused) as err:
        step = partial(
            domain.record_not_sent,
            error=str(err),
            permanent=isinstance(err, Refused),
            policy=policy,
        )
    else:
        step = partial(domain.record_sent, outbox=outbox)
    return lambda session: step(
        session, message_id=claimed.message_id, attempt=claimed.attempt, now=utcnow()
    )


def _reconnect(database: Database, mailer: Mailer, drained: Drained) -> MailConnection | None:
    try:
        return mailer.connect()
    except Unreachable as err:
        drained.channel_went_down = _unreachable(database, err).channel_went_down
    except NotSent:
        pass
    return None


def probe(*, database: Database, mailer: Mailer) -> str:
    """Whether a down mail server answers again, if this probe is due (one at a time):
    ``up`` (it answers, or was never down), ``down`` (still unreachable: probe again
    ``PROBE_EVERY`` later) or ``busy`` (another probe has this turn)."""
    with database.transaction() as session:
        if not domain.channel_is_down(session):
            return "up"
        if not domain.claim_probe(session, now=utcnow()):
            return "busy"
    try:
        connection = mailer.connect()
    except NotSent as err:  # unreachable, or greeting but refusing us: still not usable
        error = str(err)
        record(database, lambda session: domain.channel_down(session, error=error, now=utcnow()))
        return "down"
    connection.close()  # kept for the messages that waited
    record(database, lambda session: domain.channel_up(session, now=utcnow()))
    return "up"


def _unreachable(database: Database, err: Unreachable) -> domain.Outcome:
    error = str(err)
    went_down = record(
        database, lambda session: domain.channel_down(session, error=error, now=utcnow())
    )
    return domain.Outcome(status="waiting", channel_went_down=went_down)


def _attempt(
    claim: Callable[[Session], Message | None],
    *,
    connection: MailConnection,
    database: Database,
    outbox: Outbox | None,
    mail_from: str,
    policy: domain.DeliveryPolicy,
) -> domain.Outcome | None:
    """Claim a message (None when ``claim`` finds none), send it over ``connection`` and
    record what became of it, each in a short transaction of its own."""
    with database.transaction() as session:
        message = claim(session)
        if message is None:
            return None
        try:
            claimed = Claimed(
                message.id, message.attempts, build_email(message, mail_from=mail_from)
            )
        except ValueError as err:
            # A stored value no e-mail can carry (an address that is not one address):
            # no attempt can do better, so the message fails, visibly, with the reason.
            return domain.record_not_sent(
                session,
                message_id=message.id,
                attempt=message.attempts,
                error=f"Unsendable: {err}",
                permanent=True,
                policy=policy,
                now=utcnow(),
            )
    return record(database, _sent_or_not(connection, claimed, outbox=outbox, policy=policy))
