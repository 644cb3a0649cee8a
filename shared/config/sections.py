"""Every section of settings, in the order docs/configuration.md shows them."""

from __future__ import annotations

from typing import Any

from shared.config import (
    agency,
    intake,
    mail,
    monitoring,
    notify,
    reliability,
    reporting,
    review,
    running,
    staff,
)
from shared.config.declarations import Section, Setting

SECTIONS: list[Section] = [
    running.RUNNING,
    running.SERVERS,
    mail.MAIL,
    agency.THE_AGENCY,
    staff.STAFF_SIGN_IN,
    intake.INTAKE,
    review.REVIEW,
    reporting.REPORTING,
    notify.NOTIFY,
    notify.WEBHOOKS,
    reliability.RELIABILITY,
    monitoring.MONITORING,
]


def declared_settings() -> list[Setting[Any]]:
    return [setting for declared in SECTIONS for setting in declared.settings]
