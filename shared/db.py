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
    """Run ``callback`` once the session's outermost transaction has committed.

    Releasing a savepoint (``begin_nested``) is not that commit: the rows are not visible to
    anyone else yet. A savepoint rolled back drops the callbacks added inside it and keeps
    the others.
    """
    if not session.info.get("after_commit_listening"):
        event.listen(session, "after_commit", _run_after_commit)
        event.listen(session, "after_soft_rollback", _drop_after_rollback)
        session.info["after_commit_listening"] = True
    registered_in = session.get_nested_transaction() or session.get_transaction()
    callbacks: list[tuple[Any, Callable[[], None]]] = session.info.setdefault("after_commit", [])
    callbacks.append((registered_in, callback))


def _run_after_commit(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint released; the commit is still to come
        return
    pending: list[tuple[Any, Callable[[], None]]] = session.info.pop("after_commit", [])
    for _transaction, callback in pending:
        # The transaction is already committed: a failing follow-up (a broker that is down,
        # say) must not look like a failed transaction. Sweeps catch up.
        try:
            callback()
        except Exception:
            log.warning("an after-commit step failed", exc_info=True)


def _drop_after_rollback(session: Session, previous_transaction: Any) -> None:
    def inside(transaction: Any) -> bool:
        while transaction is not None:
            if transaction is previous_transaction:
                return True
            transaction = transaction.parent
        return False

    pending: list[tuple[Any, Callable[[], None]]] = session.info.get("after_commit", [])
    session.info["after_commit"] = [entry for entry in pending if not inside(entry[0])]
