"""The settings of notify: mail delivery and its retries, and webhooks."""

from __future__ import annotations

from shared.config.declarations import Section, Setting
from shared.config.parsers import (
    DURATIONS,
    HOST_NAMES,
    KEYS,
    durations,
    seconds,
    text,
    whole,
)

NOTIFY = Section("Notify", "E-mail delivery and its retries.")
DEFAULT_RETRY_SCHEDULE = "30s,1m,2m,5m,10m,20m,30m,1h,2h,4h,8h,8h"
NOTIFY_RETRY_SCHEDULE = NOTIFY.add(
    Setting(
        "NOTIFY_RETRY_SCHEDULE",
        DURATIONS,
        durations(DEFAULT_RETRY_SCHEDULE),
        "the pauses between delivery attempts before a message fails (13 attempts over "
        "just over a day by default)",
        default_doc=f"`{DEFAULT_RETRY_SCHEDULE}`",
    )
)
NOTIFY_SENDING_LEASE_SECONDS = NOTIFY.add(
    Setting(
        "NOTIFY_SENDING_LEASE_SECONDS",
        whole("seconds", 1),
        120,
        "how long a message may stay `sending` before it counts as an uncertain delivery and "
        "goes again; it must outlast 5 SMTP time-outs and 30 s",
    )
)
NOTIFY_REQUEUE_SECONDS = NOTIFY.add(
    Setting(
        "NOTIFY_REQUEUE_SECONDS",
        whole("seconds", 1),
        300,
        "how long the delivery sweep leaves a message it queued before queuing it again",
    )
)

# -- webhooks: services/notify/webhooks/config.py reads these
WEBHOOKS = Section(
    "Webhooks",
    "Signed event deliveries to the HTTPS endpoints the Coordinator registers "
    '(SPEC.md, "Webhooks"; docs: services/notify/webhooks/).',
)

WEBHOOK_ALLOWED_HOSTS = WEBHOOKS.add(
    Setting(
        "WEBHOOK_ALLOWED_HOSTS",
        HOST_NAMES,
        (),
        "hosts webhooks may reach although they resolve to loopback, private, link-local or "
        "other internal addresses, over `http://` too (for tests and local receivers only)",
        default_doc="(none)",
    )
)
DEFAULT_WEBHOOK_RETRY_SCHEDULE = "5s,5m,30m,2h,5h,10h,24h"
WEBHOOK_RETRY_SCHEDULE = WEBHOOKS.add(
    Setting(
        "WEBHOOK_RETRY_SCHEDULE",
        DURATIONS,
        durations(DEFAULT_WEBHOOK_RETRY_SCHEDULE),
        "the pauses between attempts at a delivery before it fails (an answer's `Retry-After` "
        "lengthens one, up to `WEBHOOK_MAX_RETRY_AFTER_SECONDS`)",
        default_doc=f"`{DEFAULT_WEBHOOK_RETRY_SCHEDULE}`",
    )
)
WEBHOOK_MAX_RETRY_AFTER_SECONDS = WEBHOOKS.add(
    Setting(
        "WEBHOOK_MAX_RETRY_AFTER_SECONDS",
        whole("seconds", 1),
        86400,
        "the longest `Retry-After` an endpoint's answer may ask for",
    )
)
WEBHOOK_CONNECT_TIMEOUT_SECONDS = WEBHOOKS.add(
    Setting(
        "WEBHOOK_CONNECT_TIMEOUT_SECONDS",
        seconds(0.1),
        5.0,
        "how long a delivery waits to connect (and for the TLS handshake)",
    )
)
WEBHOOK_READ_TIMEOUT_SECONDS = WEBHOOKS.add(
    Setting(
        "WEBHOOK_READ_TIMEOUT_SECONDS",
        seconds(0.1),
        15.0,
        "how long a delivery waits for the endpoint's answer",
    )
)
WEBHOOK_DISABLE_AFTER_DAYS = WEBHOOKS.add(
    Setting(
        "WEBHOOK_DISABLE_AFTER_DAYS",
        whole("days", 1),
        3,
        "an endpoint whose every delivery failed for this long is disabled and the "
        "Coordinator told",
    )
)
WEBHOOK_SECRETS_KEY = WEBHOOKS.add(
    Setting(
        "WEBHOOK_SECRETS_KEY",
        text("any long random text"),
        "",
        "encrypts the endpoints' signing secrets in the database; changing it without listing "
        "the old key in `WEBHOOK_SECRETS_KEY_FALLBACKS` makes every endpoint need a new secret; "
        "production checks it as it checks `SECRET_KEY`",
        default_doc="derived from `SECRET_KEY` (and `SECRET_KEY_FALLBACKS`)",
        secret=True,
    )
)
WEBHOOK_SECRETS_KEY_FALLBACKS = WEBHOOKS.add(
    Setting(
        "WEBHOOK_SECRETS_KEY_FALLBACKS",
        KEYS,
        (),
        "older keys that still decrypt the secrets they encrypted while `WEBHOOK_SECRETS_KEY` "
        "encrypts the new ones (when moving from the key derived from `SECRET_KEY` to one of "
        "its own, list the old `SECRET_KEY` here); rotate each endpoint's secret before "
        "dropping a key",
        default_doc="(none)",
        secret=True,
    )
)
