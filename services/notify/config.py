"""Notify's own settings: when failed deliveries are tried again.

``NOTIFY_RETRY_SCHEDULE``, ``NOTIFY_SENDING_LEASE_SECONDS`` and ``NOTIFY_REQUEUE_SECONDS`` are
declared, parsed and checked (the lease against the SMTP time-outs too) with every other
setting in shared/config.py, once per process.
"""

from __future__ import annotations

from datetime import timedelta

from shared.config import (
    DEFAULT_RETRY_SCHEDULE,
    RECORDING_MARGIN,
    SMTP_STEPS_AFTER_CLAIM,
    ConfigurationError,
    DeliverySettings,
    duration,
    durations,
    load_settings,
)

__all__ = [
    "DEFAULT_RETRY_SCHEDULE",
    "RECORDING_MARGIN",
    "SMTP_STEPS_AFTER_CLAIM",
    "DeliverySettings",
    "delivery_settings",
    "load_delivery_settings",
    "parse_duration",
    "parse_retry_schedule",
]


def parse_duration(raw: str, *, variable: str) -> timedelta:
    """``30s``, ``5m``, ``2h`` or ``1d``: a positive whole number and a unit."""
    try:
        return duration(raw)
    except ValueError as err:
        raise ConfigurationError([f"{variable}: {err}"]) from None


def parse_retry_schedule(
    raw: str, *, variable: str = "NOTIFY_RETRY_SCHEDULE"
) -> tuple[timedelta, ...]:
    """The pauses between attempts, comma-separated and never shrinking."""
    try:
        return durations(raw)
    except ValueError as err:
        raise ConfigurationError([f"{variable}: {err}"]) from None


def load_delivery_settings() -> DeliverySettings:
    return load_settings().delivery


def delivery_settings() -> DeliverySettings:
    """The settings, read once per process (tests replace this function)."""
    return load_settings().delivery
