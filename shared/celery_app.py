"""The one Celery application factory: every Celery setting of the project is here.

Celery only carries; the database is the record. Tasks are acknowledged after they run
(``task_acks_late``) and re-queued if their worker process dies (``task_reject_on_worker_lost``);
each consumer is idempotent, so a redelivery is harmless. Due times live in the database,
never in long countdowns (which Redis would redeliver after ``visibility_timeout``).
"""

from __future__ import annotations

import importlib
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from celery import Celery
from kombu import Queue

from shared.config import SERVICES, load_settings

if TYPE_CHECKING:
    from flask import Flask

    from shared.db import Database
    from shared.inbox import ProcessedEventMixin, RejectedEventMixin


def route_by_service(
    name: str, args: Any, kwargs: Any, options: Any, task: Any = None, **kw: Any
) -> dict[str, str] | None:
    """Every task runs on the queue of the service its name starts with (as
    ``shared.events.queue_of`` says; not imported, so that beat needs no event schemas)."""
    service = name.split(".", 1)[0]
    if service not in SERVICES:
        return None
    return {"queue": canary_queue(service) if name == f"{service}.canary" else service}


# How often beat has reporting send the report reminders that came due: they are set for
# 9:00 local time, so a minute late is on time.
REPORT_SWEEP_SECONDS = 60.0


def beat_schedule(relay_seconds: float, sweep_seconds: float) -> dict[str, dict[str, Any]]:
    """What beat sends, and how often. Every entry is safe to run twice (tested)."""
    every = timedelta(seconds=relay_seconds)
    schedule: dict[str, dict[str, Any]] = {
        f"{service}-relay-outbox": {
            "task": f"{service}.relay_outbox",
            "schedule": every,
            "options": {"queue": service, "expires": relay_seconds * 2},
        }
        for service in SERVICES
    }
    schedule["notify-deliver-pending"] = {
        "task": "notify.deliver_pending",
        "schedule": timedelta(seconds=sweep_seconds),
        "options": {"queue": "notify", "expires": sweep_seconds * 2},
    }
    # Webhook deliveries due for (another) attempt (services/notify/webhooks/tasks.py).
    schedule["notify-deliver-webhooks"] = {
        "task": "notify.deliver_webhooks",
        "schedule": timedelta(seconds=sweep_seconds),
        "options": {"queue": "notify", "expires": sweep_seconds * 2},
    }
    schedule["intake-expire-drafts"] = {
        "task": "intake.expire_drafts",
        "schedule": timedelta(hours=1),
        "options": {"queue": "intake", "expires": 3600},
    }
    # Report reminders due by now, each sent once (services/reporting/reports/domain.py).
    schedule["reporting-sweep-deadlines"] = {
        "task": "reporting.sweep_deadlines",
        "schedule": timedelta(seconds=REPORT_SWEEP_SECONDS),
        "options": {"queue": "reporting", "expires": REPORT_SWEEP_SECONDS * 2},
    }
    return schedule


def canary_queue(service: str) -> str:
    """The queue of a worker's canary: its own, so a backlog of real work never delays it."""
    return f"{service}.canary"


def celery_settings() -> dict[str, Any]:
    settings = load_settings()
    reliability = settings.reliability
    return {
        "broker_url": settings.redis_url,
        # json only: pickle would let whoever reaches the broker run code.
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "result_accept_content": ["json"],
        "task_ignore_result": True,
        "result_backend": None,
        # No results are kept, so beat must not add its "celery.backend_cleanup" entry (it
        # went to a queue whose worker does not know it).
        "result_expires": None,
        # At-least-once: acknowledge after the task ran; a pool child that dies mid-task puts
        # its task back. Every consumer is idempotent, so a repeat is harmless.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        # A task that failed unexpectedly (its retry could not even be queued, the database
        # was gone for its error record) or hit its time limit is not acknowledged: Redis
        # hands it out again after the visibility timeout. Consumers keep known failures in
        # rejected_events themselves and end normally.
        "task_acks_on_failure_or_timeout": False,
        "worker_prefetch_multiplier": 1,
        "task_queues": [Queue(service) for service in SERVICES]
        + [Queue(canary_queue(service)) for service in SERVICES],
        "task_routes": (route_by_service,),
        "task_create_missing_queues": False,
        # Limits stay below the visibility timeout, so Redis never hands a task that is still
        # running to a second worker.
        "task_time_limit": reliability.task_time_limit,
        "task_soft_time_limit": reliability.task_soft_time_limit,
        "broker_connection_retry_on_startup": True,
        "broker_connection_retry": True,
        "broker_connection_max_retries": None,
        "broker_connection_timeout": 3,
        "broker_transport_options": {
            # How long a task held by a worker that died (kill -9, power loss) waits before
            # Redis hands it to another worker. Due times never live in countdowns this long.
            "visibility_timeout": reliability.visibility_timeout,
            "socket_timeout": 10,
            "socket_connect_timeout": 3,
            "socket_keepalive": True,
            "retry_on_timeout": True,
            "health_check_interval": 25,
        },
        "broker_heartbeat": 0,
        # Chosen deliberately: when the broker connection drops, running tasks finish their
        # work (a mail half-sent, a commit half-done) instead of being killed mid-way. Their
        # acknowledgement is lost with the connection, so they run again later, and every
        # handler is idempotent (the inbox; notify's delivery states), so the repeat does
        # nothing. Killing them is what sent mail twice.
        "worker_cancel_long_running_tasks_on_connection_loss": False,
        "worker_hijack_root_logger": False,
        "worker_send_task_events": False,
        "enable_utc": True,
        "timezone": "UTC",
        "beat_schedule": beat_schedule(
            settings.outbox_relay_seconds, reliability.delivery_sweep_seconds
        ),
        # Beat wakes at least this often, so its heartbeat and leader lock stay fresh.
        "beat_max_loop_interval": min(5.0, settings.outbox_relay_seconds),
        "beat_scheduler": "shared.beat:LeaderScheduler",
    }


class ServiceCelery(Celery):  # type: ignore[misc]  # Celery has no type hints
    """A service's Celery app, knowing the service's database, inbox and Flask app."""

    service: str
    database: Database | None
    processed_model: type[ProcessedEventMixin] | None
    rejected_model: type[RejectedEventMixin] | None
    _flask_app_factory: str | None
    _flask_app: Flask | None

    @property
    def flask_app(self) -> Flask | None:
        if self._flask_app is None and self._flask_app_factory:
            module_name, _, attr = self._flask_app_factory.partition(":")
            factory = getattr(importlib.import_module(module_name), attr)
            self._flask_app = factory()
        return self._flask_app


def create_celery(
    service: str,
    *,
    database: Database | None = None,
    processed_model: type[ProcessedEventMixin] | None = None,
    rejected_model: type[RejectedEventMixin] | None = None,
    flask_app_factory: str | None = None,
    include: list[str] | None = None,
) -> ServiceCelery:
    app = ServiceCelery(service, include=include or [], set_as_current=False)
    app.config_from_object(celery_settings())
    # Tasks are routed by name (route_by_service); the default queue only has to exist. Beat
    # and the command line are not services: give them one that does (a KeyError otherwise
    # made beat apply none of its schedule).
    app.conf.task_default_queue = service if service in SERVICES else SERVICES[0]
    app.service = service
    app.database = database
    app.processed_model = processed_model
    app.rejected_model = rejected_model
    app._flask_app_factory = flask_app_factory
    app._flask_app = None
    return app
