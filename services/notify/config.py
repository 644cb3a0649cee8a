"""Notify's own settings, from the environment: when failed deliveries are tried again."""

from __future__ import annotations

import functools
import itertools
import logging
import os
import re
from dataclasses import dataclass
from datetime import timedelta

from shared.config import ConfigurationError, load_settings

log = logging.getLogger(__name__)

# 13 attempts over just over a day (24 h 8 min 30 s from the first to the last), so that an
# outage of minutes or hours costs a few attempts and only a day-long one gives up.
DEFAULT_RETRY_SCHEDULE = "30s,1m,2m,5m,10m,20m,30m,1h,2h,4h,8h,8h"
DEFAULT_SENDING_LEASE_SECONDS = 120

# After a message is marked ``sending`` the SMTP conversation still has MAIL, RCPT, DATA, the
# content and the final answer, each bounded by the SMTP time-out; then the result is stored.
SMTP_STEPS_AFTER_CLAIM = 5
RECORDING_MARGIN = timedelta(seconds=30)

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"(\d+)([smhd])")


def parse_duration(raw: str, *, variable: str) -> timedelta:
    """``30s``, ``5m``, ``2h`` or ``1d``: a positive whole number and a unit."""
    match = _DURATION.fullmatch(raw.strip().lower())
    if match is None or int(match[1]) == 0:
        raise ConfigurationError(
            f"{variable}: {raw.strip()!r} is not a duration such as 30s, 5m, 2h or 1d"
        )
    return timedelta(seconds=int(match[1]) * _UNITS[match[2]])


def parse_retry_schedule(
    raw: str, *, variable: str = "NOTIFY_RETRY_SCHEDULE"
) -> tuple[timedelta, ...]:
    """The pauses between attempts, comma-separated and never shrinking."""
    if not raw.strip():
        raise ConfigurationError(f"{variable} must list at least one duration, e.g. 30s,1m,1h")
    schedule = tuple(parse_duration(part, variable=variable) for part in raw.split(","))
    for earlier, later in itertools.pairwise(schedule):
        if later < earlier:
            raise ConfigurationError(
                f"{variable} must not shrink: {later} comes after {earlier} in {raw.strip()!r}"
            )
    return schedule


@dataclass(frozen=True)
class DeliverySettings:
    # retry_schedule[n - 1] is the pause after the n-th attempt failed; one entry fewer than
    # the attempts a message gets.
    retry_schedule: tuple[timedelta, ...]
    # How long a message may stay ``sending`` before its worker is presumed dead.
    sending_lease: timedelta
    # How long the sweep leaves a message it queued before queuing it again (its task may
    # wait behind a backlog; a copy per sweep would only lengthen the queue).
    requeue_after: timedelta = timedelta(seconds=300)

    @property
    def max_attempts(self) -> int:
        return len(self.retry_schedule) + 1


def load_delivery_settings() -> DeliverySettings:
    schedule = parse_retry_schedule(
        os.environ.get("NOTIFY_RETRY_SCHEDULE", "").strip() or DEFAULT_RETRY_SCHEDULE
    )
    if sum(schedule, timedelta()) < timedelta(days=1):
        log.warning(
            "NOTIFY_RETRY_SCHEDULE gives up after %s: a longer mail outage fails messages",
            sum(schedule, timedelta()),
        )
    raw_lease = os.environ.get("NOTIFY_SENDING_LEASE_SECONDS", "").strip()
    try:
        lease_seconds = int(raw_lease) if raw_lease else DEFAULT_SENDING_LEASE_SECONDS
    except ValueError:
        raise ConfigurationError(
            f"NOTIFY_SENDING_LEASE_SECONDS must be a whole number of seconds, not {raw_lease!r}"
        ) from None
    lease = timedelta(seconds=lease_seconds)
    smtp = load_settings().smtp
    if smtp is not None:
        needed = SMTP_STEPS_AFTER_CLAIM * timedelta(seconds=smtp.timeout) + RECORDING_MARGIN
        if lease < needed:
            raise ConfigurationError(
                "NOTIFY_SENDING_LEASE_SECONDS must outlast a send's SMTP time-outs "
                f"({SMTP_STEPS_AFTER_CLAIM} x {smtp.timeout:g} s) plus "
                f"{RECORDING_MARGIN.seconds} s: at least {needed.total_seconds():g}, "
                f"not {lease_seconds}"
            )
    elif lease_seconds < 1:
        raise ConfigurationError("NOTIFY_SENDING_LEASE_SECONDS must be at least 1")
    raw_requeue = os.environ.get("NOTIFY_REQUEUE_SECONDS", "").strip()
    try:
        requeue_seconds = int(raw_requeue) if raw_requeue else 300
    except ValueError:
        raise ConfigurationError(
            f"NOTIFY_REQUEUE_SECONDS must be a whole number of seconds, not {raw_requeue!r}"
        ) from None
    if requeue_seconds < 1:
        raise ConfigurationError("NOTIFY_REQUEUE_SECONDS must be at least 1")
    return DeliverySettings(
        retry_schedule=schedule,
        sending_lease=lease,
        requeue_after=timedelta(seconds=requeue_seconds),
    )


@functools.cache
def delivery_settings() -> DeliverySettings:
    """The settings, read once per process (tests replace this function)."""
    return load_delivery_settings()
