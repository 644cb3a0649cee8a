"""The development gateway: every service's web side under one port.

``/`` is intake (the public form and ``/api/v1/proposals``), ``/review``, ``/reporting`` and
``/notify`` are the other services. In production a reverse proxy does the same routing
(``deploy/nginx.conf``) in front of each service's own web process.
"""

from __future__ import annotations

from typing import Any

from werkzeug.middleware.dispatcher import DispatcherMiddleware

from shared.staff_shell import GATEWAY_PREFIXES

# Every service but intake (at ``/``) under its prefix.
MOUNTS = {prefix: service for service, prefix in GATEWAY_PREFIXES.items() if prefix}


def create_gateway() -> Any:
    import services.intake
    import services.notify
    import services.reporting
    import services.review

    factories = {
        "review": services.review.create_app,
        "reporting": services.reporting.create_app,
        "notify": services.notify.create_app,
    }
    intake = services.intake.create_app()
    mounted: dict[str, Any] = {prefix: factories[name]() for prefix, name in MOUNTS.items()}
    return DispatcherMiddleware(intake, mounted)
