"""What ``APP_ENV=production`` refuses in settings that parsed: weak or published keys and
passwords, servers without a real password, debug switches, links that are not https."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from shared.config.declarations import Setting
from shared.config.notify import WEBHOOK_SECRETS_KEY, WEBHOOK_SECRETS_KEY_FALLBACKS
from shared.config.running import (
    DATABASE_URLS,
    DEVELOPMENT_SECRET_KEY,
    PUBLIC_BASE_URL,
    REDIS_URL,
    SECRET_KEY,
    SECRET_KEY_FALLBACKS,
)
from shared.config.staff import STAFF_SIGN_IN_URL

if TYPE_CHECKING:
    from shared.config.settings import Values


# Every secret and password this repository ships or has shipped as a default or an example
# (code, docs, docker-compose.yml, .env.example), compared without case: anyone can read them, so
# production refuses them. tests/shared/config/test_production.py greps the repository for such
# values and checks that each one is refused.
KNOWN_DEFAULT_SECRETS: frozenset[str] = frozenset(
    {
        DEVELOPMENT_SECRET_KEY,
        "change-me-in-production",  # docker-compose.yml's default before issue 15
        "test-secret-key",  # conftest.py
        "soak-secret-key",  # bench/soak.py
        "secret",
        "secret-key",
        "secret_key",
        "secretkey",
        "changeme",
        "change-me",
    }
)
KNOWN_DEFAULT_PASSWORDS: frozenset[str] = frozenset(
    {
        "alliance",  # docker-compose.yml's POSTGRES_PASSWORD default before issue 15
        "postgres",  # the password of the PostgreSQL image's own examples
        "password",  # docs/configuration.md's example database URL
        "redis",
        "valkey",
        "secret",
        "admin",
        "root",
        "pass",
        "changeme",
        "change-me",
    }
)
# Only a placeholder contains these (.env.example's values all do).
PLACEHOLDER_MARKERS = (
    "change-me",
    "changeme",
    "change_me",
    "replace-me",
    "replace_me",
    "placeholder",
    "example",
    "development-only",
)
SECRET_MIN_BYTES = 32
SECRET_MIN_DISTINCT = 8
PASSWORD_MIN_CHARACTERS = 12
RANDOM_VALUE_ADVICE = "a long random value such as `openssl rand -hex 32` prints"


def _debug_flag(raw: str) -> bool:
    """Flask's own reading of FLASK_DEBUG (flask.helpers.get_debug_flag): anything set is on
    unless it is 0, false or no (so ``off`` turns debug on)."""
    return bool(raw) and raw.lower() not in ("0", "false", "no")


# Environment variables that turn debug mode on in something these processes run, and when
# each counts as on; production refuses every one that is on. Flask reads FLASK_DEBUG itself
# in every app it creates (the interactive debugger and tracebacks for anyone); FLASK_ENV
# =development did so before Flask 2.3; ALLIANCE_DEBUG is this project's name reserved for it.
DEBUG_SWITCHES: dict[str, Callable[[str], bool]] = {
    "FLASK_DEBUG": _debug_flag,
    "ALLIANCE_DEBUG": _debug_flag,
    "FLASK_ENV": lambda raw: raw.lower() == "development",
}


def secret_weakness(value: str) -> str | None:
    """Why production refuses ``value`` as a signing or encryption key, or None."""
    lowered = value.strip().lower()
    if lowered in KNOWN_DEFAULT_SECRETS or lowered in KNOWN_DEFAULT_PASSWORDS:
        return "it is a default published in this repository"
    if any(marker in lowered for marker in PLACEHOLDER_MARKERS):
        return "it is a placeholder"
    if len(value.encode("utf-8")) < SECRET_MIN_BYTES:
        return f"it is shorter than {SECRET_MIN_BYTES} bytes"
    if len(set(value)) < SECRET_MIN_DISTINCT:
        return f"it repeats fewer than {SECRET_MIN_DISTINCT} different characters"
    return None


def password_weakness(password: str | None, user: str | None = None) -> str | None:
    """Why production refuses ``password`` for a database or the broker, or None."""
    if not password:
        return "it has no password"
    lowered = password.lower()
    if lowered in KNOWN_DEFAULT_PASSWORDS or lowered in KNOWN_DEFAULT_SECRETS:
        return "its password is a default published in this repository or the server images"
    if any(marker in lowered for marker in PLACEHOLDER_MARKERS):
        return "its password is a placeholder"
    if user and lowered == user.lower():
        return "its password is its user name"
    if len(password) < PASSWORD_MIN_CHARACTERS:
        return f"its password is shorter than {PASSWORD_MIN_CHARACTERS} characters"
    return None


def _database_password(raw: str) -> tuple[str | None, str | None]:
    from sqlalchemy.engine import make_url

    parsed = make_url(raw)
    password = parsed.password or parsed.query.get("password")
    if isinstance(password, tuple):  # ?password=a&password=b
        password = password[-1]
    return (str(password) if password else None), parsed.username


def _redis_password(raw: str) -> tuple[str | None, str | None]:
    from urllib.parse import parse_qs, unquote

    parts = urlsplit(raw)
    password = unquote(parts.password) if parts.password else None
    if not password:  # unix:///path/redis.sock?password=...
        password = next(reversed(parse_qs(parts.query).get("password", [])), None)
    return password, unquote(parts.username) if parts.username else None


def production_problems(values: Values, environ: Mapping[str, str]) -> list[str]:
    """What APP_ENV=production refuses in settings that parsed: weak or default keys,
    servers without a real password, any debug switch on, links that are not https."""
    problems: list[str] = []

    for key_setting, fallbacks_setting in (
        (SECRET_KEY, SECRET_KEY_FALLBACKS),
        (WEBHOOK_SECRETS_KEY, WEBHOOK_SECRETS_KEY_FALLBACKS),
    ):
        # Unset, a key is either required (and listed so) or derived from SECRET_KEY.
        key = values.get(key_setting, "") if environ.get(key_setting.name, "").strip() else ""
        why = secret_weakness(key) if key else None
        if why is not None:
            problems.append(
                f"{key_setting.name} is refused when APP_ENV=production: {why}; set it to "
                f"{RANDOM_VALUE_ADVICE}"
            )
        fallbacks = values.get(fallbacks_setting, ())
        for number, fallback in enumerate(fallbacks, 1):
            which = f"key {number} of {len(fallbacks)}: " if len(fallbacks) > 1 else ""
            why = secret_weakness(fallback)
            if why is not None:
                problems.append(
                    f"{fallbacks_setting.name} is refused when APP_ENV=production: "
                    f"{which}{why}; drop it (what it signed stops opening) or replace "
                    f"{key_setting.name} and its fallbacks with {RANDOM_VALUE_ADVICE}"
                )

    servers: list[tuple[Setting[str], Callable[[str], tuple[str | None, str | None]], str]] = [
        (
            REDIS_URL,
            _redis_password,
            "start the broker with a password (requirepass) and put it in the URL: "
            "redis://:PASSWORD@host:6379/0",
        ),
        *(
            (
                setting,
                _database_password,
                "give the database user a password and put it in the URL: "
                "postgresql://user:PASSWORD@host:5432/database",
            )
            for setting in DATABASE_URLS.values()
        ),
    ]
    for setting, password_of, advice in servers:
        if setting not in values or not environ.get(setting.name, "").strip():
            continue  # refused already, or missing (and so listed as required)
        password, user = password_of(values[setting])
        why = password_weakness(password, user)
        if why is not None:
            problems.append(
                f"{setting.name} is refused when APP_ENV=production: {why}; {advice} "
                f"(a long random password; letters, digits, '-', '_' and '.' need no escaping)"
            )

    for name, is_on in DEBUG_SWITCHES.items():
        raw = environ.get(name, "").strip()
        if raw and is_on(raw):
            problems.append(
                f"{name}={raw!r} is refused when APP_ENV=production: it turns debug mode on "
                "(tracebacks and an interactive debugger for anyone); unset it"
            )

    for setting in (PUBLIC_BASE_URL, STAFF_SIGN_IN_URL):
        if setting not in values:
            continue
        link = values[setting]
        if link and not link.startswith("/") and urlsplit(link).scheme != "https":
            problems.append(
                f"{setting.name}={link!r} is refused when APP_ENV=production: it must start "
                "with https://, since links in e-mail carry signed tokens and the staff cookie "
                "is sent over https only; serve the gateway over TLS and give its https:// "
                "address"
            )
    return problems
