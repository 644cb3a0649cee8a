"""The settings of how the system notices and recovers from lost tasks, stalled workers and
outages."""

from __future__ import annotations

from shared.config.declarations import Section, Setting
from shared.config.parsers import (
    seconds,
    whole,
)

RELIABILITY = Section(
    "Reliability",
    "How the system notices and recovers from lost tasks, stalled workers and outages "
    "(docs/reliability.md).",
)
CELERY_VISIBILITY_TIMEOUT = RELIABILITY.add(
    Setting(
        "CELERY_VISIBILITY_TIMEOUT",
        seconds(5),
        900.0,
        "before a task held by a worker that died goes to another worker; task time limits "
        "stay below it",
    )
)
WORKER_STALL_SECONDS: Setting[float | None] = RELIABILITY.add(
    Setting(
        "WORKER_STALL_SECONDS",
        seconds(5),
        None,
        "a worker whose canary task waited this long is stuck and restarts",
        default_doc="the task time limit + 30 (`150`)",
    )
)
DELIVERY_SWEEP_SECONDS = RELIABILITY.add(
    Setting(
        "DELIVERY_SWEEP_SECONDS",
        seconds(0.1),
        10.0,
        "how often beat queues the mail due for (another) delivery attempt",
    )
)
OUTBOX_RELAY_SECONDS = RELIABILITY.add(
    Setting(
        "OUTBOX_RELAY_SECONDS",
        seconds(0.1),
        5.0,
        "how often beat publishes events still waiting in an outbox",
    )
)
OUTBOX_PUBLICATIONS = RELIABILITY.add(
    Setting(
        "OUTBOX_PUBLICATIONS",
        whole("", 1),
        2,
        "how many times in all every event goes out (consumers ignore repeats)",
    )
)
OUTBOX_REPUBLISH_SECONDS = RELIABILITY.add(
    Setting(
        "OUTBOX_REPUBLISH_SECONDS",
        seconds(1),
        600.0,
        "how long after its first publication an event goes out again",
    )
)
BEAT_LEADER_SECONDS = RELIABILITY.add(
    Setting(
        "BEAT_LEADER_SECONDS",
        seconds(1),
        15.0,
        "how long the leading beat's lock lasts unrenewed before a standby beat takes over",
    )
)
RETRY_AFTER_SECONDS = RELIABILITY.add(
    Setting(
        "RETRY_AFTER_SECONDS",
        whole("seconds", 1),
        30,
        "what a 503 (database or broker down) tells the client to wait",
    )
)
