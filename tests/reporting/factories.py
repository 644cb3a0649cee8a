"""Builders of reporting's things: its consumers run as its worker runs them, and a
partner's submitted report."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from shared.events import Event

# -- reporting ---------------------------------------------------------------------------------


def run_reporting_task(name: str, event: Event) -> None:
    """Run one of reporting's tasks (``reporting.alliance_signed``, ...) on ``event`` here, in
    this process, as its worker would."""
    import services.reporting.tasks

    services.reporting.tasks.celery.tasks[name](event=event.to_message())


def signed_with_an_annual_report(
    name: str, liaison: Any, *, division: str
) -> tuple[Event, uuid.UUID]:
    """An alliance of ``name`` signed January 15, 2024 for three years, with ``liaison`` and
    ``division``, in reporting: its ``alliance.signed`` event and its first annual report."""
    from sqlalchemy import select

    from services.reporting.reports.models import Report
    from services.reporting.worker import database
    from tests.review.factories import alliance_signed_event

    signed = alliance_signed_event(name, signing_date=date(2024, 1, 15), ends_on=date(2027, 1, 14))
    signed.payload["liaison"] = {"id": liaison.id, "name": liaison.name, "email": liaison.email}
    signed.payload["division"] = division
    run_reporting_task("reporting.alliance_signed", signed)
    with database.transaction() as session:
        report_id = session.scalars(
            select(Report.id)
            .where(Report.alliance_id == signed.payload["alliance_id"], Report.kind == "annual")
            .order_by(Report.period_start)
            .limit(1)
        ).one()
    return signed, report_id


def partner_submits(
    monkeypatch: Any, report_id: uuid.UUID, data: Mapping[str, str], at: datetime
) -> None:
    """The partner submits ``data`` (the form's fields) through the report's link at ``at``."""
    from services.reporting import create_app as reporting_app
    from services.reporting.reports import tokens
    from services.reporting.submissions import views as form_views

    monkeypatch.setattr(form_views, "now", lambda: at)
    client = reporting_app({"TESTING": True, "WTF_CSRF_ENABLED": False}).test_client()
    answer = client.post(
        f"/reports/{tokens.make_token(report_id)}", data={**data, "action": "submit"}
    )
    assert answer.status_code == 303, answer.get_data(as_text=True)
