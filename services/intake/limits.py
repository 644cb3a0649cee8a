"""Rate limits per client on the endpoints that write (Flask-Limiter, stored in Redis)."""

from __future__ import annotations

import time

from flask import Flask, Response, current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from shared.config import load_settings

# No X-RateLimit-* headers on every answer: they cost two more reads of the counter in Redis
# per submission. The client refused learns when to try again (``say_when_to_retry``).
limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=False)


def writing_limit() -> str:
    return str(current_app.config["INTAKE_RATE_LIMIT"])


def say_when_to_retry(response: Response) -> Response:
    """A 429 says in ``Retry-After`` when the client's window ends."""
    if response.status_code == 429:
        try:
            refused = limiter.current_limit
            if refused is not None:
                seconds = max(1, int(refused.reset_at - time.time()))
                response.headers["Retry-After"] = str(seconds)
        except Exception:  # the counter unreadable now: the 429 goes without it
            current_app.logger.warning("no Retry-After for a 429", exc_info=True)
    return response


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
    app.after_request(say_when_to_retry)
