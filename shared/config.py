"""Configuration from environment variables.

Development gets safe defaults; production (``APP_ENV=production``) fails loudly when a
secret or an address it must not guess is missing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

SERVICES: tuple[str, ...] = ("intake", "review", "reporting", "notify")

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class ConfigurationError(RuntimeError):
    """A setting is missing or malformed; the message says which and what to do."""


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def _env_bool(name: str, default: bool) -> bool:
    raw = _env(name)
    if not raw:
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise ConfigurationError(f"{name} must be true or false, not {raw!r}")


def _env_int(name: str, default: int) -> int:
    raw = _env(name)
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a whole number, not {raw!r}") from None


def database_url_variable(service: str) -> str:
    return f"{service.upper()}_DATABASE_URL"


def default_database_url(service: str) -> str:
    """The development default: the service's own database on a local PostgreSQL server."""
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/alliance_{service}"


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    username: str
    password: str
    starttls: bool
    timeout: float = 10.0


def _env_seconds(name: str, default: float, *, minimum: float = 0.1) -> float:
    raw = _env(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a number of seconds, not {raw!r}") from None
    if value < minimum:
        raise ConfigurationError(f"{name} must be at least {minimum} seconds, not {raw!r}")
    return value


@dataclass(frozen=True)
class ReliabilitySettings:
    """How the system notices and recovers from lost tasks, stalled workers and outages."""

    # Seconds before a task held by a worker that died is handed to another worker.
    visibility_timeout: float = 900.0
    task_time_limit: float = 120.0
    task_soft_time_limit: float = 96.0
    # How often beat has notify re-queue the messages due for (another) delivery attempt.
    delivery_sweep_seconds: float = 10.0
    # A worker whose canary task waited longer than this is stuck and gets restarted.
    worker_stall_seconds: float = 150.0
    # What a web client that met an outage is told to wait before trying again.
    retry_after_seconds: int = 30
    # How long the leading beat's lock lasts unrenewed: a standby beat takes over after it.
    beat_leader_seconds: float = 15.0
    # Every event goes out this many times in all, the repeats this long after the first:
    # longer than a backlog takes to drain, so a repeat normally finds the work done.
    outbox_publications: int = 2
    outbox_republish_seconds: float = 600.0


def load_reliability() -> ReliabilitySettings:
    visibility = _env_seconds("CELERY_VISIBILITY_TIMEOUT", 900.0, minimum=5)
    # A running task must end (hard limit) before Redis would hand it out again. Tasks here
    # take milliseconds to seconds (an SMTP conversation is bounded by its time-outs).
    hard = min(120.0, visibility * 0.8)
    return ReliabilitySettings(
        visibility_timeout=visibility,
        task_time_limit=hard,
        task_soft_time_limit=hard * 0.8,
        delivery_sweep_seconds=_env_seconds("DELIVERY_SWEEP_SECONDS", 10.0),
        # Longer than any task may run: a busy worker is not a stuck one.
        worker_stall_seconds=_env_seconds("WORKER_STALL_SECONDS", hard + 30, minimum=5),
        retry_after_seconds=int(_env_seconds("RETRY_AFTER_SECONDS", 30, minimum=1)),
        beat_leader_seconds=_env_seconds("BEAT_LEADER_SECONDS", 15.0, minimum=1),
        outbox_publications=max(1, _env_int("OUTBOX_PUBLICATIONS", 2)),
        outbox_republish_seconds=_env_seconds("OUTBOX_REPUBLISH_SECONDS", 600.0, minimum=1),
    )


@dataclass(frozen=True)
class Settings:
    env: str
    secret_key: str
    redis_url: str
    database_urls: dict[str, str]
    agency_timezone: ZoneInfo
    coordinator_email: str
    public_base_url: str
    mail_from: str
    mail_dir: Path
    smtp: SmtpSettings | None
    outbox_relay_seconds: float
    log_level: str
    reliability: ReliabilitySettings = field(default_factory=ReliabilitySettings)
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def production(self) -> bool:
        return self.env == "production"

    def database_url(self, service: str) -> str:
        return self.database_urls[service]


def load_settings() -> Settings:
    env = _env("APP_ENV", "development")
    production = env == "production"

    secret_key = _env("SECRET_KEY")
    if not secret_key:
        if production:
            raise ConfigurationError("SECRET_KEY must be set when APP_ENV=production")
        secret_key = "development-only-secret-key"  # noqa: S105 (never used in production)

    redis_url = _env("REDIS_URL")
    if not redis_url:
        if production:
            raise ConfigurationError("REDIS_URL must be set when APP_ENV=production")
        redis_url = "redis://127.0.0.1:6379/0"

    database_urls = {}
    for service in SERVICES:
        url = _env(database_url_variable(service))
        if not url:
            if production:
                raise ConfigurationError(
                    f"{database_url_variable(service)} must be set when APP_ENV=production"
                )
            url = default_database_url(service)
        database_urls[service] = url

    tz_name = _env("AGENCY_TIMEZONE", "America/Detroit")
    try:
        tz = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigurationError(f"AGENCY_TIMEZONE {tz_name!r} is not a known time zone") from None

    coordinator_email = _env("COORDINATOR_EMAIL")
    if not coordinator_email:
        if production:
            raise ConfigurationError("COORDINATOR_EMAIL must be set when APP_ENV=production")
        coordinator_email = "coordinator@agency.example"

    public_base_url = _env("PUBLIC_BASE_URL")
    if not public_base_url:
        if production:
            raise ConfigurationError("PUBLIC_BASE_URL must be set when APP_ENV=production")
        public_base_url = f"http://127.0.0.1:{_env('PORT', '8000')}"

    smtp_host = _env("SMTP_HOST")
    smtp = None
    if smtp_host:
        smtp = SmtpSettings(
            host=smtp_host,
            port=_env_int("SMTP_PORT", 25),
            username=_env("SMTP_USERNAME"),
            password=_env("SMTP_PASSWORD"),
            starttls=_env_bool("SMTP_STARTTLS", False),
            # For the connection and for each command; a send's lease outlasts five of them.
            timeout=_env_seconds("SMTP_TIMEOUT", 10.0, minimum=1),
        )

    return Settings(
        env=env,
        secret_key=secret_key,
        redis_url=redis_url,
        database_urls=database_urls,
        agency_timezone=tz,
        coordinator_email=coordinator_email,
        public_base_url=public_base_url.rstrip("/"),
        mail_from=_env("MAIL_FROM", "Alliance Program <alliances@agency.example>"),
        mail_dir=Path(_env("MAIL_DIR", str(PROJECT_ROOT / "var" / "mail"))),
        smtp=smtp,
        outbox_relay_seconds=_env_seconds("OUTBOX_RELAY_SECONDS", 5.0),
        log_level=_env("LOG_LEVEL", "INFO").upper(),
        reliability=load_reliability(),
    )
