"""Intake's own settings, from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from shared.config import ConfigurationError, load_settings


def _days(variable: str, default: int) -> timedelta:
    raw = os.environ.get(variable, "").strip()
    try:
        days = int(raw) if raw else default
    except ValueError:
        raise ConfigurationError(f"{variable} must be a whole number of days") from None
    if days < 1:
        raise ConfigurationError(f"{variable} must be at least 1")
    return timedelta(days=days)


@dataclass(frozen=True)
class IntakeSettings:
    public_base_url: str
    timezone: Any
    draft_lifetime: timedelta
    status_link_lifetime: timedelta
    rate_limit: str


def load_intake_settings() -> IntakeSettings:
    settings = load_settings()
    return IntakeSettings(
        public_base_url=settings.public_base_url,
        timezone=settings.agency_timezone,
        # How long a saved draft (and the e-mailed link to it) lives.
        draft_lifetime=_days("INTAKE_DRAFT_DAYS", 30),
        # How long a status link works: a proposal's life from submission to decision.
        status_link_lifetime=_days("INTAKE_STATUS_LINK_DAYS", 730),
        # Per client, on submit and draft endpoints (Flask-Limiter syntax).
        rate_limit=os.environ.get("INTAKE_RATE_LIMIT", "").strip() or "20 per minute;200 per hour",
    )
