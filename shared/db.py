"""Database helpers shared by every service: engine, sessions, typed columns."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Engine, create_engine, event
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from shared.config import load_settings

log = logging.getLogger(__name__)


class CommitOutcomeUnknown(Exception):
    """The database connection was lost while committing: the change may or may not be kept."""


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamptz that refuses naive datetimes and always comes back in UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime stored; use an aware datetime")
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return value.astimezone(UTC) if value is not None else None


def sqlalchemy_url(url: str) -> str:
    """Accept plain ``postgresql://`` URLs and use the psycopg 3 driver for them."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class Database:
    """One service's database: a lazily created engine and its session factory."""

    def __init__(self, service: str, url: str | None = None):
        self.service = service
        self._url = url
        self._engine: Engine | None = None
        self._sessionmaker: sessionmaker[Session] | None = None

    @property
    def url(self) -> str:
        return self._url or load_settings().database_url(self.service)

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = create_engine(
                sqlalchemy_url(self.url),
                pool_pre_ping=True,
                pool_size=5,
                max_overflow=5,
                connect_args={"connect_timeout": 5, "application_name": f"alliance-{self.service}"},
            )
        return self._engine

    def configure(self, url: str) -> None:
        """Point at another database (tests); drops the current engine."""
        self.dispose()
        self._url = url

    def forget_after_fork(self) -> None:
        """In a forked child: drop the parent's pooled connections without closing them."""
        if self._engine is not None:
            self._engine.dispose(close=False)

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
        self._engine = None
        self._sessionmaker = None

    @property
    def sessions(self) -> sessionmaker[Session]:
        if self._sessionmaker is None:
            self._sessionmaker = sessionmaker(self.engine, expire_on_commit=False)
        return self._sessionmaker

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session whose work commits at the end of the block, or rolls back on error.

        A connection lost during the COMMIT itself raises ``CommitOutcomeUnknown``: the
        server may have committed before the answer was lost, so nobody can say "not stored".
        """
        with self.sessions() as session:
            session.begin()
            try:
                yield session
            except BaseException:
                session.rollback()
                raise
            commit_or_raise(session)


def commit_or_raise(session: Session) -> None:
    """Commit; a connection lost during the COMMIT itself raises ``CommitOutcomeUnknown``."""
    try:
        session.commit()
    except DBAPIError as err:
        if isinstance(err, OperationalError) or err.connection_invalidated:
            raise CommitOutcomeUnknown(str(err.orig or err)) from err
        raise


def after_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run ``callback`` once the session's current transaction has committed."""
    callbacks: list[Callable[[], None]] = session.info.setdefault("after_commit", [])
    if not callbacks:

        def run(sess: Session) -> None:
            pending = list(sess.info.pop("after_commit", []))
            for fn in pending:
                # The transaction is already committed: a failing follow-up (a broker that
                # is down, say) must not look like a failed transaction. Sweeps catch up.
                try:
                    fn()
                except Exception:
                    log.warning("an after-commit step failed", exc_info=True)

        def drop(sess: Session, previous_transaction: Any) -> None:
            sess.info.pop("after_commit", None)

        event.listen(session, "after_commit", run, once=True)
        event.listen(session, "after_soft_rollback", drop, once=True)
    callbacks.append(callback)
