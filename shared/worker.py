"""Wiring for a service's Celery worker process: logging, metrics, fork safety, health and the
canary."""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from celery import signals

from shared.celery_app import ServiceCelery, canary_queue
from shared.config import load_settings
from shared.health import WorkerMonitor, record_canary, redis_client
from shared.logs import configure_logging
from shared.metrics import instrument_tasks, process_ended, serve_metrics

log = logging.getLogger(__name__)


def register_canary(app: ServiceCelery) -> Any:
    """``<service>.canary``: run on the worker's own canary queue, it proves consumption."""
    clients: dict[str, Any] = {}

    @app.task(  # type: ignore[untyped-decorator]  # Celery has no type hints
        name=f"{app.service}.canary", ignore_result=True, acks_late=False, shared=False
    )
    def canary() -> None:
        client = clients.get("redis")
        if client is None:  # one client per pool process, made after the fork
            client = clients["redis"] = redis_client(load_settings().redis_url)
        record_canary(client, app.service)

    return canary


def install_worker_hooks(app: ServiceCelery) -> None:
    stops: list[threading.Event] = []
    canary = register_canary(app)
    instrument_tasks()

    @signals.setup_logging.connect(weak=False)  # type: ignore[untyped-decorator]
    def setup_logging(**kwargs: Any) -> None:
        settings = load_settings()
        configure_logging(settings.log_level, log_format=settings.log_format, service=app.service)

    @signals.celeryd_after_setup.connect(weak=False)  # type: ignore[untyped-decorator]
    def consume_canary_queue(sender: Any = None, instance: Any = None, **kwargs: Any) -> None:
        if instance is not None and instance.app is app:
            instance.app.amqp.queues.select_add(canary_queue(app.service))

    @signals.worker_process_init.connect(weak=False)  # type: ignore[untyped-decorator]
    def forget_inherited_connections(**kwargs: Any) -> None:
        # A pool process must never use the database connections it inherited from its
        # parent: two processes on one socket corrupt each other's transactions (a commit
        # after a mail was sent failed this way). close=False leaves the parent's intact.
        if app.database is not None:
            app.database.forget_after_fork()

    @signals.worker_process_shutdown.connect(weak=False)  # type: ignore[untyped-decorator]
    def forget_the_process(pid: int | None = None, **kwargs: Any) -> None:
        process_ended(pid or os.getpid())

    @signals.worker_ready.connect(weak=False)  # type: ignore[untyped-decorator]
    def on_ready(sender: Any = None, **kwargs: Any) -> None:
        if sender is None or sender.app is not app or app.database is None:
            return
        settings = load_settings()
        if settings.metrics_port:
            forks = "prefork" in getattr(sender.pool_cls, "__module__", "")
            if settings.metrics_dir is None and forks:
                log.warning(
                    "PROMETHEUS_MULTIPROC_DIR is not set: the metrics on port %d miss what "
                    "the pool processes count (deploy/monitoring/README.md)",
                    settings.metrics_port,
                )
            serve_metrics(settings.metrics_port, what=f"the {app.service} worker")

        def send_canary() -> None:
            canary.apply_async(
                queue=canary_queue(app.service),
                expires=settings.reliability.worker_stall_seconds * 2,
                retry=False,
            )

        monitor = WorkerMonitor(
            service=app.service,
            database=app.database,
            send_canary=send_canary,
            redis_url=settings.redis_url,
            stall_seconds=settings.reliability.worker_stall_seconds,
        )
        stops.append(monitor.start())

    @signals.worker_shutdown.connect(weak=False)  # type: ignore[untyped-decorator]
    def on_shutdown(sender: Any = None, **kwargs: Any) -> None:
        for stop in stops:
            stop.set()
