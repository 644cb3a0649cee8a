"""The e-mails themselves, against real PostgreSQL, Redis and a real (in-process,
aiosmtpd) SMTP server: every event of SPEC's notification table gives the right people the
right message (subject, plain text and HTML with its CSS inlined, the agency's logo and
signature, absolute links) and, where due, a report calendar (.ics) that mail clients update
in place; user text cannot inject markup or headers."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from services.notify.messages import calendars
from services.notify.worker import database

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clean_databases")]
DUE = date(2026, 7, 30)
NEW_DUE = date(2026, 8, 17)


def test_the_calendar_module_keeps_one_sequence_per_due_date():
    report_id = uuid.uuid4()
    with database.transaction() as session:
        first = calendars.sequence(session, report_id=report_id, due_date=DUE)
        again = calendars.sequence(session, report_id=report_id, due_date=DUE)
        moved = calendars.sequence(session, report_id=report_id, due_date=NEW_DUE)
        back = calendars.sequence(session, report_id=report_id, due_date=DUE)
    assert (first, again, moved, back) == (0, 0, 1, 2)
