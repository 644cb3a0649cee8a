"""The settings of intake's public proposal form and API."""

from __future__ import annotations

from shared.config.declarations import Section, Setting
from shared.config.parsers import (
    RATE_LIMIT,
    whole,
)

INTAKE = Section("Intake", "The public proposal form and API.")
INTAKE_DRAFT_DAYS = INTAKE.add(
    Setting(
        "INTAKE_DRAFT_DAYS",
        whole("days", 1),
        30,
        "how long a saved draft, and the e-mailed link to it, lives",
    )
)
INTAKE_STATUS_LINK_DAYS = INTAKE.add(
    Setting(
        "INTAKE_STATUS_LINK_DAYS",
        whole("days", 1),
        730,
        "how long a proposal's status link works",
    )
)
INTAKE_RATE_LIMIT = INTAKE.add(
    Setting(
        "INTAKE_RATE_LIMIT",
        RATE_LIMIT,
        "20 per minute;200 per hour",
        "submissions and draft saves allowed per client address",
    )
)
