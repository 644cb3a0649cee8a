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
from shared.events import queue_of

if TYPE_CHECKING:
    from flask import Flask

    from shared.db import Database
    from shared.inbox import ProcessedEventMixin, RejectedEventMixin


def route_by_service(
    name: str, args: Any, kwargs: Any, options: Any, task: Any = None, **kw: Any
) -> dict[str, str] | None:
    """Every task runs on the queue of the service its name starts with."""
    try:
        return {"queue": queue_of(name)}
    except ValueError:
        return None


def beat_schedule(relay_seconds: float) -> dict[str, dict[str, Any]]:
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
        "schedule": timedelta(seconds=max(relay_seconds, 10)),
        "options": {"queue": "notify", "expires": max(relay_seconds, 10) * 2},
    }
    schedule["intake-expire-drafts"] = {
        "task": "intake.expire_drafts",
        "schedule": timedelta(hours=1),
        "options": {"queue": "intake", "expires": 3600},
    }
    return schedule


def celery_settings() -> dict[str, Any]:
    settings = load_settings()
    return {
        "broker_url": settings.redis_url,
        # json only: pickle would let whoever reaches the broker run code.
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "result_accept_content": ["json"],
        "task_ignore_result": True,
        "result_backend": None,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_queues": [Queue(service) for service in SERVICES],
        "task_routes": (route_by_service,),
        "task_create_missing_queues": False,
        "task_time_limit": 300,
        "task_soft_time_limit": 240,
        "broker_connection_retry_on_startup": True,
        "broker_connection_timeout": 5,
        "broker_transport_options": {
            # Longer than any task may run, so a running task is not handed out twice.
            "visibility_timeout": 3600,
            "socket_timeout": 10,
            "socket_connect_timeout": 5,
            "socket_keepalive": True,
            "retry_on_timeout": True,
            "health_check_interval": 25,
        },
        "broker_heartbeat": 0,
        "worker_cancel_long_running_tasks_on_connection_loss": True,
        "worker_hijack_root_logger": False,
        "worker_send_task_events": False,
        "enable_utc": True,
        "timezone": "UTC",
        "beat_schedule": beat_schedule(settings.outbox_relay_seconds),
    }


class ServiceCelery(Celery):
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
    if service in SERVICES:
        app.conf.task_default_queue = service
    app.service = service
    app.database = database
    app.processed_model = processed_model
    app.rejected_model = rejected_model
    app._flask_app_factory = flask_app_factory
    app._flask_app = None
    return app
