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

import contextvars
import logging
import os
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
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
    func,
    or_,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, Session, declared_attr, mapped_column

from shared.config import load_settings
from shared.db import Database, UTCDateTime, after_commit, utcnow
from shared.events import Event, queue_of, subscribers
from shared.metrics import OUTBOX_PUBLISHED

if TYPE_CHECKING:
    from celery import Celery

log = logging.getLogger(__name__)

NUDGE_PAUSE_SECONDS = 5.0
NUDGE_WAIT_SECONDS = 0.5


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
        # After a failed publish, nudges wait this long (monotonic clock) and leave the rows
        # to the relay: a request never waits on a broker known to be away.
        self._broker_away_until = 0.0
        self._busy_since: float | None = None  # when the nudge now running began
        self._executor: ThreadPoolExecutor | None = None
        self._executor_pid = 0

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
        """Publish freshly committed rows now; failures leave them to the relay.

        The caller (a web request, a task) waits at most ``NUDGE_WAIT_SECONDS``: a broker that
        hangs instead of refusing would otherwise hold it for its socket time-out.
        """
        now = time.monotonic()
        if now < self._broker_away_until:
            log.info("broker recently unreachable; the relay will publish %d event(s)", len(ids))
            return
        busy_since = self._busy_since
        if busy_since is not None and now - busy_since > NUDGE_WAIT_SECONDS:
            log.info("the broker is slow to answer; the relay will publish %d event(s)", len(ids))
            return
        # The request's log context (its service, its ids) goes with the publishing.
        future = self._nudger().submit(contextvars.copy_context().run, self._nudge_now, ids)
        try:
            future.result(timeout=NUDGE_WAIT_SECONDS)
        except FutureTimeout:
            log.warning("the broker is slow to answer; publishing goes on in the background")

    def _nudger(self) -> ThreadPoolExecutor:
        # One publishing thread per process, made after any fork (threads do not survive it).
        if self._executor is None or self._executor_pid != os.getpid():
            self._executor = ThreadPoolExecutor(1, thread_name_prefix=f"{self.producer}-outbox")
            self._executor_pid = os.getpid()
        return self._executor

    def _nudge_now(self, ids: list[int]) -> None:
        self._busy_since = time.monotonic()
        try:
            self.publish_pending(ids=ids, retry=False)
        except Exception:
            self._broker_away_until = time.monotonic() + NUDGE_PAUSE_SECONDS
            log.warning("outbox nudge failed; the relay will publish later", exc_info=True)
        finally:
            self._busy_since = None

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
        sent = 0
        with self.database.transaction() as session:
            due = model.published_at.is_(None)
            if ids is None:
                due = or_(due, model.republish_at <= now)
            query = (
                select(model)
                .where(due)
                .order_by(model.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
            if ids is not None:
                query = query.where(model.id.in_(ids))
            for row in session.scalars(query):
                try:
                    self._send(row.message, retry=retry)
                except Exception as err:
                    row.attempts += 1
                    row.last_error = f"{type(err).__name__}: {err}"[:2000]
                    log.warning(
                        "could not publish %s %s (attempt %d): %s",
                        row.type,
                        row.event_id,
                        row.attempts,
                        err,
                    )
                    if not retry:
                        self._broker_away_until = time.monotonic() + NUDGE_PAUSE_SECONDS
                    break  # the broker is likely down; keep order and try again later
                row.published_at = row.published_at or now
                row.attempts += 1
                row.publications += 1
                row.republish_at = (
                    now + timedelta(seconds=reliability.outbox_republish_seconds)
                    if row.publications < reliability.outbox_publications
                    else None
                )
                row.last_error = None
                sent += 1
        if sent:
            OUTBOX_PUBLISHED.labels(self.producer).inc(sent)
        return sent

    def _send(self, message: dict[str, Any], *, retry: bool) -> None:
        for task_name in subscribers(message["type"]):
            self.celery_app.send_task(
                task_name,
                kwargs={"event": message},
                queue=queue_of(task_name),
                retry=retry,
                retry_policy={"max_retries": 3, "interval_start": 0.2, "interval_step": 0.5},
            )
            log.info("published %s %s to %s", message["type"], message["event_id"], task_name)


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
