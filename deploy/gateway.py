"""The development gateway: every service's web side under one port.

``/`` is intake (the public form and ``/api/v1/proposals``), ``/review``, ``/reporting`` and
``/notify`` are the other services. In production a reverse proxy does the same routing
(``deploy/nginx.conf``) in front of each service's own web process.

``/metrics`` at the root is the whole system's: what every process of ``alliance run`` counted
(they share one ``PROMETHEUS_MULTIPROC_DIR``) and every service's gauges (shared/metrics.py).
Each service's own page stays at its prefix (``/review/metrics``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client.registry import Collector
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from shared.staff_shell import GATEWAY_PREFIXES

# Every service but intake (at ``/``) under its prefix.
MOUNTS = {prefix: service for service, prefix in GATEWAY_PREFIXES.items() if prefix}

METRICS_PATH = "/metrics"

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class SystemMetrics:
    """Answers ``GET /metrics`` with the whole system's metrics; passes the rest to ``app``."""

    def __init__(self, app: WsgiApp, gauges: Iterable[Collector]) -> None:
        self.app = app
        self.gauges = list(gauges)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ.get("PATH_INFO") != METRICS_PATH or environ.get("REQUEST_METHOD") != "GET":
            return self.app(environ, start_response)
        from shared.metrics import CONTENT_TYPE, page

        body = page(self.gauges)
        start_response(
            "200 OK",
            [
                ("Content-Type", CONTENT_TYPE),
                ("Content-Length", str(len(body))),
                ("Cache-Control", "no-store"),
            ],
        )
        return [body]


def create_gateway() -> Any:
    import services.intake
    import services.notify
    import services.reporting
    import services.review
    from services.intake.metrics import gauges as intake_gauges
    from services.notify.metrics import gauges as notify_gauges
    from services.reporting.metrics import gauges as reporting_gauges
    from services.review.metrics import gauges as review_gauges

    factories = {
        "review": services.review.create_app,
        "reporting": services.reporting.create_app,
        "notify": services.notify.create_app,
    }
    intake = services.intake.create_app()
    mounted: dict[str, Any] = {prefix: factories[name]() for prefix, name in MOUNTS.items()}
    every_service = (intake_gauges, review_gauges, reporting_gauges, notify_gauges)
    return DispatcherMiddleware(SystemMetrics(intake, every_service), mounted)
