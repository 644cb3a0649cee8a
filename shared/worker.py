"""Wiring for a service's Celery worker process: logging and the health heartbeat."""

from __future__ import annotations

import threading
from typing import Any

from celery import signals

from shared.celery_app import ServiceCelery
from shared.config import load_settings
from shared.health import start_heartbeat
from shared.logs import configure_logging


def install_worker_hooks(app: ServiceCelery) -> None:
    stops: list[threading.Event] = []

    @signals.setup_logging.connect(weak=False)
    def setup_logging(**kwargs: Any) -> None:
        configure_logging(load_settings().log_level)

    @signals.worker_ready.connect(weak=False)
    def on_ready(sender: Any = None, **kwargs: Any) -> None:
        if sender is None or sender.app is not app or app.database is None:
            return
        stops.append(start_heartbeat(load_settings().redis_url, app.service, app.database))

    @signals.worker_shutdown.connect(weak=False)
    def on_shutdown(sender: Any = None, **kwargs: Any) -> None:
        for stop in stops:
            stop.set()
