"""The base task class and the event-consumer decorator every service uses.

A task runs inside its service's Flask app context, in one database session and one
transaction, with the task id and event id on every log line. Event consumers check the
envelope against the catalog (a malformed event is logged and kept in ``rejected_events``),
record the event id in the inbox in the same transaction as their effect (a redelivered event
does nothing), and retry with backoff when the database or broker is briefly unreachable.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from contextlib import nullcontext
from typing import Any

from celery import Task
from celery.utils.time import get_exponential_backoff_interval
from sqlalchemy.exc import DBAPIError, OperationalError

from shared.celery_app import ServiceCelery
from shared.db import CommitOutcomeUnknown
from shared.events import Event, MalformedEvent, parse_event
from shared.inbox import claim, safe_event_id, safe_payload_id
from shared.logs import log_context
from shared.metrics import INBOX_REJECTS
from shared.outbox import Outbox

log = logging.getLogger(__name__)

# Failures that a later attempt can cure: the database or the network was away.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OperationalError,
    # Lost during the commit: done again, the inbox finds it done if it was kept after all.
    CommitOutcomeUnknown,
    ConnectionError,
    TimeoutError,
)


def _is_transient(err: BaseException) -> bool:
    if isinstance(err, DBAPIError) and err.connection_invalidated:
        return True
    return isinstance(err, TRANSIENT_ERRORS)


class ServiceTask(Task):  # type: ignore[misc]  # Celery has no type hints
    acks_late = True
    reject_on_worker_lost = True
    ignore_result = True
    # A database or network that is away is waited for, however long: giving up would drop
    # an event the producer already counts as delivered. The pause before attempt n + 1 is
    # Celery's exponential backoff (retry_countdown): drawn at random up to 2**n seconds (full
    # jitter: consumers that failed together do not all come back together), at most 5 minutes.
    max_retries = None
    retry_backoff = True
    retry_backoff_max = 300
    retry_jitter = True

    def retry_countdown(self) -> int:
        """Seconds to wait before the next attempt, as the backoff above declares."""
        countdown: int = get_exponential_backoff_interval(
            factor=int(max(1.0, self.retry_backoff)),
            retries=self.request.retries,
            maximum=self.retry_backoff_max,
            full_jitter=self.retry_jitter,
        )
        return countdown

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        app: ServiceCelery = self.app
        raw = kwargs.get("event")
        flask_app = app.flask_app
        context = flask_app.app_context() if flask_app is not None else nullcontext()
        ids = log_context(
            task_id=self.request.id,
            event_id=safe_event_id(raw),
            proposal_id=safe_payload_id(raw, "proposal_id"),
            alliance_id=safe_payload_id(raw, "alliance_id"),
        )
        with ids, context:
            return super().__call__(*args, **kwargs)


EventHandler = Callable[..., None]


def event_consumer(
    app: ServiceCelery, *, name: str, event_type: str
) -> Callable[[EventHandler], Any]:
    """Register ``handler(event, *, session)`` as the task ``name`` consuming ``event_type``."""

    def decorator(handler: EventHandler) -> Any:
        @app.task(name=name, bind=True, base=ServiceTask, shared=False)  # type: ignore[untyped-decorator]
        def consume(self: ServiceTask, *, event: Any) -> None:
            database = app.database
            assert database is not None
            assert app.processed_model is not None
            try:
                parsed = parse_event(event, expected_type=event_type)
            except MalformedEvent as err:
                log.error("rejected a malformed %s event: %s", event_type, err.errors)
                keep_rejected(
                    app, consumer=name, raw=event, reason="malformed", errors=err.errors, detail=""
                )
                return
            try:
                with database.transaction() as session:
                    if not claim(session, app.processed_model, consumer=name, event=parsed):
                        log.info(
                            "%s %s already processed; nothing to do", parsed.type, parsed.event_id
                        )
                        return
                    handler(parsed, session=session)
                log.info("processed %s %s", parsed.type, parsed.event_id)
            except Exception as err:
                if _is_transient(err):
                    log.warning("transient failure, retrying: %s", err)
                    raise self.retry(exc=err, countdown=self.retry_countdown()) from err
                log.exception(
                    "handling %s %s failed; kept for inspection", parsed.type, parsed.event_id
                )
                keep_rejected(
                    app,
                    consumer=name,
                    raw=event,
                    reason="failed",
                    errors={"_schema": [f"{type(err).__name__}: {err}"]},
                    detail=traceback.format_exc(),
                )

        consume.handler = handler
        return consume

    return decorator


def keep_rejected(
    app: ServiceCelery, *, consumer: str, raw: Any, reason: str, errors: Any, detail: str
) -> None:
    assert app.database is not None
    assert app.rejected_model is not None
    body = raw if isinstance(raw, dict | list | str | int | float | bool) else repr(raw)
    with app.database.transaction() as session:
        session.add(
            app.rejected_model(  # type: ignore[call-arg]
                consumer=consumer,
                event_id=safe_event_id(raw),
                reason=reason,
                body=body,
                errors=errors,
                detail=detail,
            )
        )
    INBOX_REJECTS.labels(app.service, reason).inc()


def register_relay(app: ServiceCelery, outbox: Outbox) -> Any:
    """The periodic task that re-publishes this service's pending outbox rows."""

    @app.task(  # type: ignore[untyped-decorator]
        name=f"{app.service}.relay_outbox", base=ServiceTask, acks_late=False, shared=False
    )
    def relay_outbox() -> int:
        sent = outbox.publish_pending()
        if sent:
            log.info("relayed %d pending events", sent)
        return sent

    return relay_outbox


__all__ = ["Event", "ServiceTask", "event_consumer", "keep_rejected", "register_relay"]
