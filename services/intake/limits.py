"""Rate limits per client on the endpoints that write (Flask-Limiter, stored in Redis)."""

from __future__ import annotations

from flask import Flask, current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from shared.config import load_settings

limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=True)


def writing_limit() -> str:
    return str(current_app.config["INTAKE_RATE_LIMIT"])


def init_limits(app: Flask) -> None:
    app.config.setdefault("INTAKE_RATE_LIMIT", load_settings().intake_rate_limit)
    app.config.setdefault("RATELIMIT_STORAGE_URI", load_settings().redis_url)
    app.config.setdefault(
        "RATELIMIT_STORAGE_OPTIONS", {"socket_timeout": 2, "socket_connect_timeout": 2}
    )
    app.config.setdefault("RATELIMIT_KEY_PREFIX", "alliance-intake")
    # A broker outage must not stop proposals coming in: count in memory meanwhile.
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    limiter.init_app(app)
