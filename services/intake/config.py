"""Intake's own settings (``INTAKE_*``, declared with every other one in shared/config/)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

from shared.config import load_settings


@dataclass(frozen=True)
class IntakeSettings:
    public_base_url: str
    timezone: ZoneInfo
    draft_lifetime: timedelta
    status_link_lifetime: timedelta
    rate_limit: str


def load_intake_settings() -> IntakeSettings:
    settings = load_settings()
    return IntakeSettings(
        public_base_url=settings.public_base_url,
        timezone=settings.agency_timezone,
        # How long a saved draft (and the e-mailed link to it) lives.
        draft_lifetime=settings.intake_draft_lifetime,
        # How long a status link works: a proposal's life from submission to decision.
        status_link_lifetime=settings.intake_status_link_lifetime,
        # Per client, on submit and draft endpoints (Flask-Limiter syntax).
        rate_limit=settings.intake_rate_limit,
    )
