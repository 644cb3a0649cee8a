"""One attempt at one e-mail, over the mail channel (delivery/mail.py), through the steps of
the delivery state machine (delivery/domain.py).

The order keeps the window between "the server has it" and "we know it" as small as SMTP
allows: greet the server, commit the claim (``sending``, the attempt counted), run the mail
transaction, and right after the 250 commit ``sent`` in a short transaction of its own.
A worker that dies in between leaves the row ``sending``; the sweep finds it after the lease
and sends it again, counted in ``ambiguous_deliveries`` (at least once, never silently).

The one place that commits more than once, on purpose: "sending" must be committed before
the SMTP conversation and "sent" right after the server's 250 (docs/reliability.md), and no
transaction may stay open across a mail server's answer.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from contextlib import closing
from functools import partial
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from services.notify.delivery import domain
from services.notify.delivery.mail import Mailer, NotSent, OutcomeUnknown, Refused, build_email
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
    """One attempt at one message, if it is due; returns what became of it."""
    with database.transaction() as session:
        state = domain.delivery_state(session, message_id=message_id, now=utcnow())
    if state != "due":
        return domain.Outcome(status=state)
    try:
        connection = mailer.connect()
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
    with closing(connection):
        with database.transaction() as session:
            claimed = domain.claim(session, message_id=message_id, now=utcnow())
            if claimed is None:
                return domain.Outcome(status="busy")
            attempt = claimed.attempts
            try:
                email = build_email(claimed, mail_from=mail_from)
            except ValueError as err:
                # A stored value no e-mail can carry (an address that is not one address):
                # no attempt can do better, so the message fails, visibly, with the reason.
                return domain.record_not_sent(
                    session,
                    message_id=message_id,
                    attempt=attempt,
                    error=f"Unsendable: {err}",
                    permanent=True,
                    policy=policy,
                    now=utcnow(),
                )
        step: Callable[..., domain.Outcome]
        try:
            connection.send(email)
        except OutcomeUnknown as err:
            step = partial(domain.record_uncertain, error=str(err), policy=policy, attempt=attempt)
        except (NotSent, Refused) as err:
            step = partial(
                domain.record_not_sent,
                error=str(err),
                permanent=isinstance(err, Refused),
                policy=policy,
                attempt=attempt,
            )
        else:
            step = partial(domain.record_sent, outbox=outbox, attempt=attempt)
        return record(database, lambda session: step(session, message_id=message_id, now=utcnow()))
