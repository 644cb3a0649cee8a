"""The transactional outbox.

A state change and the events it causes commit together: the producer adds rows to its own
``outbox_events`` table in the same transaction. After the commit a nudge publishes those rows
at once; a periodic relay (Celery beat) re-publishes whatever is still pending, for example
because the broker was down at commit time. Rows are locked with ``FOR UPDATE SKIP LOCKED`` so
that the nudge and relays running side by side do not send the same row at the same moment
(consumers are idempotent anyway: the inbox makes a repeat harmless).

An operator reads a producer's outbox (``outbox_state``) and makes published events pending
again (``replay``): ``alliance outbox show|replay SERVICE``.
"""

from __future__ import annotations

import atexit
import contextvars
import logging
import os
import threading
import time
import uuid
import weakref
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BigInteger,
    Index,
    Integer,
    String,
    Text,
    Uuid,
    and_,
    case,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, Session, declared_attr, mapped_column

from shared.config import load_settings
from shared.db import Database, UTCDateTime, after_commit, utcnow
from shared.events import Event, queue_of, subscribers
from shared.logs import bind_log_context
from shared.metrics import OUTBOX_PUBLISHED

if TYPE_CHECKING:
    from celery import Celery

log = logging.getLogger(__name__)

NUDGE_PAUSE_SECONDS = 5.0
NUDGE_EXIT_SECONDS = 2.0
NUDGE_BATCH = 500  # rows a publishing transaction takes at most


class OutboxEventMixin:
    __tablename__ = "outbox_events"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    event_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    type: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer)
    message: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    # How often the event went out, and when it goes out once more (None: no more).
    publications: Mapped[int] = mapped_column(Integer, default=0)
    republish_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...]:
        return (
            Index(
                "ix_outbox_events_pending",
                "id",
                postgresql_where=text("published_at IS NULL"),
            ),
            Index(
                "ix_outbox_events_republish",
                "republish_at",
                postgresql_where=text("republish_at IS NOT NULL"),
            ),
        )


class Outbox:
    """One producer's outbox: adds event rows to a transaction and publishes them."""

    def __init__(
        self,
        *,
        model: type[OutboxEventMixin],
        database: Database,
        celery_app: Celery,
        producer: str,
    ):
        self.model = model
        self.database = database
        self.celery_app = celery_app
        self.producer = producer
        # After a failed publish, nudges do nothing until then (monotonic clock) and leave the
        # rows to the relay.
        self._broker_away_until = 0.0
        # The rows nudged and not yet taken by the publishing thread, which ``_wake`` wakes;
        # ``_publishing`` while it sends a batch. The thread is this process's (pid).
        self._lock = threading.Lock()
        self._waiting: list[int] = []
        self._publishing = False
        self._wake = threading.Event()
        self._publisher_pid = 0
        _OUTBOXES.add(self)

    def add(self, session: Session, event: Event) -> None:
        """Store ``event`` in the caller's transaction; publish it once that commits."""
        if event.producer != self.producer:
            raise ValueError(f"{self.producer} cannot publish an event of {event.producer}")
        row: Any = self.model(  # type: ignore[call-arg]
            event_id=event.event_id,
            type=event.type,
            version=event.version,
            message=event.to_message(),
        )
        session.add(row)
        session.flush()
        row_id = row.id
        after_commit(session, lambda: self.nudge([row_id]))

    def nudge(self, ids: list[int]) -> None:
        """Have freshly committed rows published soon, without waiting for it.

        The rows go to this process's publishing thread, which takes whatever has come in
        meanwhile as one batch; the caller (a web request, a task) returns at once, so a slow
        or stopped broker never holds it. While the broker is known to be away (a publish
        failed in the last ``NUDGE_PAUSE_SECONDS``) this does nothing: the relay publishes.
        """
        if time.monotonic() < self._broker_away_until:
            log.info("broker recently unreachable; the relay will publish %d event(s)", len(ids))
            return
        with self._lock:
            if self._publisher_pid != os.getpid():
                self._start_publisher()
            self._waiting.extend(ids)
            self._wake.set()

    def wait_until_published(self, timeout: float = 10.0) -> bool:
        """Wait until this process's publishing thread has handled every row nudged so far
        (published, or left to the relay); False if it had not after ``timeout`` seconds.
        For callers that must see the broker hold what they committed (tests, commands)."""
        if self._publisher_pid != os.getpid():
            return True  # nothing nudged in this process
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if not self._waiting and not self._publishing:
                    return True
            time.sleep(0.005)
        return False

    def _start_publisher(self) -> None:
        # One publishing thread per process, started after any fork (threads do not survive
        # it); what a parent had waiting is its own to publish, or the relay's.
        self._waiting = []
        self._publishing = False
        self._wake = threading.Event()
        self._publisher_pid = os.getpid()
        threading.Thread(
            target=contextvars.Context().run,
            args=(self._publish_what_comes,),
            name=f"{self.producer}-outbox",
            daemon=True,
        ).start()
        # A short-lived process (a command) gives what it committed a moment to go out
        # before it ends, rather than leave it to the relay.
        atexit.register(self.wait_until_published, NUDGE_EXIT_SECONDS)

    def _publish_what_comes(self) -> None:
        bind_log_context(service=self.producer)
        wake = self._wake
        while True:
            wake.wait()
            with self._lock:
                wake.clear()
                ids, self._waiting = self._waiting, []
                self._publishing = bool(ids)
            if ids:
                try:
                    self._nudge_now(ids)
                finally:
                    with self._lock:
                        self._publishing = False

    def _nudge_now(self, ids: list[int]) -> None:
        try:
            for start in range(0, len(ids), NUDGE_BATCH):
                if time.monotonic() < self._broker_away_until:
                    return  # went away since these were nudged: the relay publishes them
                chunk = ids[start : start + NUDGE_BATCH]
                self.publish_pending(ids=chunk, limit=len(chunk), retry=False)
        except Exception:
            self._broker_away_until = time.monotonic() + NUDGE_PAUSE_SECONDS
            log.warning("outbox nudge failed; the relay will publish later", exc_info=True)

    def publish_pending(
        self, *, ids: list[int] | None = None, limit: int = 200, retry: bool = True
    ) -> int:
        """Send pending rows to their subscribers and mark them published. Returns the count.

        The relay (``ids`` None) also sends once more each event whose ``republish_at`` has
        come: Redis can lose a message a worker had popped and not yet recorded (a kill -9 in
        between), so every event goes out a second time a while later (consumers are
        idempotent; the inbox makes the repeat do nothing).
        """
        model: Any = self.model
        reliability = load_settings().reliability
        now = utcnow()
        sent: list[int] = []
        with self.database.transaction() as session:
            due = model.published_at.is_(None)
            if ids is None:
                due = or_(due, model.republish_at <= now)
            query = (
                select(model.id, model.type, model.event_id, model.message)
                .where(due)
                .order_by(model.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
            if ids is not None:
                query = query.where(model.id.in_(ids))
            # One producer (a broker connection from the pool) for the whole batch, taken
            # when the first row goes: failing to take it is that row's failure.
            with ExitStack() as held:
                producer = None
                for row_id, event_type, event_id, message in session.execute(query).all():
                    try:
                        if producer is None:
                            producer = held.enter_context(self.celery_app.producer_or_acquire())
                        self._send(message, retry=retry, producer=producer)
                    except Exception as err:
                        error = f"{type(err).__name__}: {err}"[:2000]
                        session.execute(
                            update(model)
                            .where(model.id == row_id)
                            .values(attempts=model.attempts + 1, last_error=error)
                        )
                        log.warning("could not publish %s %s: %s", event_type, event_id, err)
                        if not retry:
                            self._broker_away_until = time.monotonic() + NUDGE_PAUSE_SECONDS
                        break  # the broker is likely down; keep order and try again later
                    sent.append(row_id)
            if sent:
                # Every row sent, marked in one statement; an event goes out once more
                # (``republish_at``) until it has gone out ``outbox_publications`` times.
                session.execute(
                    update(model)
                    .where(model.id.in_(sent))
                    .values(
                        published_at=func.coalesce(model.published_at, now),
                        attempts=model.attempts + 1,
                        publications=model.publications + 1,
                        republish_at=case(
                            (
                                model.publications + 1 < reliability.outbox_publications,
                                now + timedelta(seconds=reliability.outbox_republish_seconds),
                            ),
                            else_=None,
                        ),
                        last_error=None,
                    )
                    .execution_options(synchronize_session=False)
                )
        if sent:
            OUTBOX_PUBLISHED.labels(self.producer).inc(len(sent))
        return len(sent)

    def _send(self, message: dict[str, Any], *, retry: bool, producer: Any = None) -> None:
        # Celery would otherwise write a repr of the whole event (the proposal, addresses) into
        # every task's headers, at a cost greater than the rest of sending it.
        described = f"{{'event': '{message['type']} {message['event_id']}'}}"
        for task_name in subscribers(message["type"]):
            self.celery_app.send_task(
                task_name,
                kwargs={"event": message},
                queue=queue_of(task_name),
                producer=producer,
                argsrepr="()",
                kwargsrepr=described,
                retry=retry,
                retry_policy={"max_retries": 3, "interval_start": 0.2, "interval_step": 0.5},
            )
            log.info("published %s %s to %s", message["type"], message["event_id"], task_name)

    def add_many(self, session: Session, events: list[Event]) -> list[int]:
        """Store ``events`` in the caller's transaction, all in one INSERT; publish them once
        that commits (one nudge for them all). The ids of their rows.

        For a producer that emits many events at once (the deadline sweep): one row at a time,
        ``add`` costs a flush and a round trip per event."""
        for event in events:
            if event.producer != self.producer:
                raise ValueError(f"{self.producer} cannot publish an event of {event.producer}")
        if not events:
            return []
        table: Any = self.model.__table__  # type: ignore[attr-defined]
        rows = [
            {
                "event_id": event.event_id,
                "type": event.type,
                "version": event.version,
                "message": event.to_message(),
            }
            for event in events
        ]
        # An executemany with RETURNING: SQLAlchemy sends it as multi-row INSERT statements
        # ("insertmanyvalues"), a thousand rows each; the column defaults apply to every row.
        ids = sorted(session.scalars(table.insert().returning(table.c.id), rows))
        after_commit(session, lambda: self.nudge(ids))
        return ids


_OUTBOXES: weakref.WeakSet[Outbox] = weakref.WeakSet()


def wait_until_all_published(timeout: float = 10.0) -> bool:
    """``Outbox.wait_until_published`` for every outbox of this process (tests read the
    broker's queues after it)."""
    deadline = time.monotonic() + timeout
    return all(
        outbox.wait_until_published(max(0.0, deadline - time.monotonic()))
        for outbox in list(_OUTBOXES)
    )


# -- what an operator sees and replays (``alliance outbox show|replay``) ----------------------


@dataclass(frozen=True)
class OutboxState:
    """A producer's outbox as an operator reads it: the rows waiting to be published, those
    whose last publication failed (they wait too: the relay tries them again), and the
    oldest waiting row's creation time (None when none waits)."""

    pending: int
    failed: int
    oldest_pending_at: datetime | None
    published: int
    waiting: list[Any]  # the oldest pending rows, at most the limit asked for


def outbox_state(
    session: Session, model: type[OutboxEventMixin], *, limit: int = 20
) -> OutboxState:
    """What ``model``'s outbox holds now."""
    table: Any = model
    pending, failed, oldest, published = session.execute(
        select(
            func.count().filter(table.published_at.is_(None)),
            func.count().filter(table.published_at.is_(None), table.last_error.is_not(None)),
            func.min(table.created_at).filter(table.published_at.is_(None)),
            func.count().filter(table.published_at.is_not(None)),
        ).select_from(table)
    ).one()
    waiting = list(
        session.scalars(
            select(table).where(table.published_at.is_(None)).order_by(table.id).limit(limit)
        )
    )
    return OutboxState(int(pending), int(failed), oldest, int(published), waiting)


@dataclass(frozen=True)
class Replay:
    """What ``replay`` did: the rows made pending again (``again``), and the rows asked for
    that were pending already (``waiting``); ids of ``outbox_events``."""

    again: list[int]
    waiting: list[int]

    @property
    def ids(self) -> list[int]:
        return sorted(self.again + self.waiting)


def replay(
    session: Session,
    model: type[OutboxEventMixin],
    *,
    event_id: uuid.UUID | None = None,
    failed: bool = False,
    published_since: datetime | None = None,
) -> Replay:
    """Make events pending again, so that the relay publishes them once more: the one of
    ``event_id``; with ``failed``, those whose last publication failed; with
    ``published_since``, every event published since then (after a restore: what the broker
    held when the backup was made). Safe whatever is replayed: every consumer is idempotent (an
    event it has processed does nothing the second time). The caller commits."""
    table: Any = model
    chosen = []
    if event_id is not None:
        chosen.append(table.event_id == event_id)
    if failed:
        chosen.append(and_(table.published_at.is_(None), table.last_error.is_not(None)))
    if published_since is not None:
        chosen.append(table.published_at >= published_since)
    if not chosen:
        return Replay([], [])
    again, waiting = [], []
    for row in session.scalars(
        select(table).where(or_(*chosen)).order_by(table.id).with_for_update()
    ):
        if row.published_at is None:
            waiting.append(row.id)
            continue
        row.published_at = None
        row.republish_at = None
        row.last_error = None
        again.append(row.id)
    return Replay(again, waiting)
