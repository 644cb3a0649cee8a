"""What the evaluation tests (domain and pages) share: a signed alliance's dates, the
justification, and counting the evaluations and their events."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, select

from services.reporting.evaluations.models import Evaluation
from services.reporting.models import OutboxEvent
from services.reporting.worker import database

SIGNED = date(2024, 1, 15)
ENDS = date(2027, 1, 14)
AT = datetime(2026, 6, 1, 15, tzinfo=UTC)
JUSTIFICATION = "Met <script>alert(1)</script> & more.\nSecond line"


def shared_events() -> list[dict[str, Any]]:
    with database.transaction() as session:
        return [
            row.message
            for row in session.scalars(
                select(OutboxEvent).where(OutboxEvent.type == "evaluation.shared")
            )
        ]


def evaluation_count() -> int:
    with database.transaction() as session:
        return session.scalar(select(func.count()).select_from(Evaluation)) or 0
