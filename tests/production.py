"""An environment ``APP_ENV=production`` accepts, for tests that run the apps in production.

Production refuses a short or published ``SECRET_KEY``, servers without a real password, any
debug switch and an ``http://`` base URL (``production_problems`` in shared/config/production.py).
The test servers have no passwords: their URLs get a long random one, which they ignore (PostgreSQL
with trust authentication; Redis and Valkey accept any password for the ``default`` user when
it has none, so the broker URL names that user). Keys and passwords are made afresh on each
call: no value in the repository is one production would take.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from urllib.parse import quote, urlsplit, urlunsplit

from sqlalchemy.engine import make_url

from shared.config import SERVICES


def strong_key() -> str:
    return secrets.token_hex(32)


def strong_password() -> str:
    return secrets.token_hex(12)


def database_url_with_password(url: str, password: str) -> str:
    """``url`` with ``password`` for its user, unless it carries a password already."""
    parsed = make_url(url)
    if parsed.password:
        return url
    return parsed.set(password=password).render_as_string(hide_password=False)


def redis_url_with_password(url: str, password: str) -> str:
    """``url`` signing in as Redis's ``default`` user with ``password``, unless it carries a
    password already."""
    parts = urlsplit(url)
    if parts.password:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"default:{quote(password, safe='')}@{host}"))


def production_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The variables that make ``environ`` (the test servers' URLs among them) a production
    environment: set them all (a blank one counts as unset)."""
    password = strong_password()
    env = {
        "APP_ENV": "production",
        "SECRET_KEY": strong_key(),
        "SECRET_KEY_FALLBACKS": "",
        "PUBLIC_BASE_URL": "https://alliances.agency.example",
        "COORDINATOR_EMAIL": environ.get("COORDINATOR_EMAIL") or "coordinator@agency.example",
        "STAFF_PASSWORD_HASH": "",  # production hashes strongly
        "REDIS_URL": redis_url_with_password(environ["REDIS_URL"], password),
    }
    for service in SERVICES:
        name = f"{service.upper()}_DATABASE_URL"
        env[name] = database_url_with_password(environ[name], password)
    return env
