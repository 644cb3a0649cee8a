"""Notify: what to say to whom (messages/), getting it out by e-mail and to webhook endpoints
(delivery/, webhooks/), and the staff's log over both (log/); who the staff are (staff/).
This module only wires the parts into notify's app."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the worker imports this package too, and needs no Flask
    from flask import Flask


def create_app(test_config: dict[str, object] | None = None) -> Flask:
    from services.notify import log, webhooks
    from services.notify.metrics import gauges
    from services.notify.staff import conflicts
    from services.notify.worker import database
    from shared.web import create_service_app

    return create_service_app(
        __name__,
        service="notify",
        title="messages (staff)",
        test_config=test_config,
        parts=[log, webhooks],
        database=database,
        conflicts=conflicts.keys_of,
        gauges=gauges,
    )
