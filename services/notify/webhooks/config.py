"""The webhook settings (declared with every other setting in shared/config.py, section
"Webhooks"), read once per process; tests replace ``webhook_settings``."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta

from shared.config import (
    SECRET_KEY,
    SECRET_KEY_FALLBACKS,
    WEBHOOK_ALLOWED_HOSTS,
    WEBHOOK_CONNECT_TIMEOUT_SECONDS,
    WEBHOOK_DISABLE_AFTER_DAYS,
    WEBHOOK_MAX_RETRY_AFTER_SECONDS,
    WEBHOOK_READ_TIMEOUT_SECONDS,
    WEBHOOK_RETRY_SCHEDULE,
    WEBHOOK_SECRETS_KEY,
    WEBHOOK_SECRETS_KEY_FALLBACKS,
    load_settings,
)

# A delivery whose worker died mid-attempt (``sending`` this long past its start) is due again.
LEASE_MARGIN = timedelta(seconds=30)


@dataclass(frozen=True)
class WebhookSettings:
    allowed_hosts: frozenset[str]
    # retry_schedule[n - 1] is the pause after the n-th failed attempt.
    retry_schedule: tuple[timedelta, ...]
    max_retry_after: timedelta
    connect_timeout: float
    read_timeout: float
    disable_after: timedelta
    # Encrypts the endpoints' secrets at rest (services/notify/webhooks/signing.py).
    secrets_key: str
    # Older keys that still decrypt what they encrypted.
    secrets_key_fallbacks: tuple[str, ...] = ()

    @property
    def max_attempts(self) -> int:
        return len(self.retry_schedule) + 1

    @property
    def sending_lease(self) -> timedelta:
        """Longer than any attempt can take: connect, send and read are each bounded."""
        return timedelta(seconds=self.connect_timeout + 2 * self.read_timeout) + LEASE_MARGIN


def load_webhook_settings() -> WebhookSettings:
    load_settings()  # every setting checked, a bad one stops the process
    environ = os.environ
    own_key = WEBHOOK_SECRETS_KEY.read(environ)
    fallbacks = WEBHOOK_SECRETS_KEY_FALLBACKS.read(environ)
    if not own_key:  # derived from SECRET_KEY: its fallbacks open what they sealed
        fallbacks += SECRET_KEY_FALLBACKS.read(environ)
    return WebhookSettings(
        allowed_hosts=frozenset(WEBHOOK_ALLOWED_HOSTS.read(environ)),
        retry_schedule=WEBHOOK_RETRY_SCHEDULE.read(environ),
        max_retry_after=timedelta(seconds=WEBHOOK_MAX_RETRY_AFTER_SECONDS.read(environ)),
        connect_timeout=WEBHOOK_CONNECT_TIMEOUT_SECONDS.read(environ),
        read_timeout=WEBHOOK_READ_TIMEOUT_SECONDS.read(environ),
        disable_after=timedelta(days=WEBHOOK_DISABLE_AFTER_DAYS.read(environ)),
        secrets_key=own_key or SECRET_KEY.read(environ),
        secrets_key_fallbacks=fallbacks,
    )


def webhook_settings() -> WebhookSettings:
    """The settings as the environment gives them now (tests replace this function)."""
    return load_webhook_settings()
