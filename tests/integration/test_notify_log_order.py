"""The message log is in the order of the times it shows (issue 16): each row shows when the
message was sent (or, until it is, when it was recorded), and the rows go newest first by that
time. A decision letter held for a last look is recorded long before it is sent: it used to
sit among the older messages, under the time it was sent."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest

from services.notify import create_app
from services.notify.models import Message
from services.notify.worker import database
from shared.db import utcnow
from tests.factories import COORDINATOR, signed_in

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clean_databases")]

REFERENCE = "AP-2026-10031"


@pytest.fixture
def app(redis_client: Any):
    return create_app({"TESTING": True, "WTF_CSRF_ENABLED": False})


def a_message(*, recorded: int, sent: int | None, **values: Any) -> uuid.UUID:
    """A message recorded ``recorded`` minutes ago and sent ``sent`` minutes ago (or not)."""
    now = utcnow()
    fields: dict[str, Any] = {
        "cause": f"test:{uuid.uuid4()}",
        "template": "proposal_receipt",
        "to_address": "dana@example.org",
        "subject": f"A message about {REFERENCE}",
        "text_body": "Dear Dana,\n",
        "html_body": "<p>Dear Dana,</p>",
        "reference": REFERENCE,
        "status": "sent" if sent is not None else "pending",
        "attempts": 1 if sent is not None else 0,
        "ambiguous_deliveries": 0,
        "created_at": now - timedelta(minutes=recorded),
        "next_attempt_at": now - timedelta(minutes=recorded),
        "sent_at": now - timedelta(minutes=sent) if sent is not None else None,
        **values,
    }
    with database.transaction() as session:
        message = Message(**fields)
        session.add(message)
        session.flush()
        return message.id


ROW = re.compile(
    r'<td data-label="When"><time datetime="([^"]+)">.*?href="/staff/log/([0-9a-f-]{36})"',
    re.S,
)


def rows(page: str) -> list[tuple[datetime, str]]:
    """(the time shown, the message's id) of each row of the log, top to bottom."""
    return [(datetime.fromisoformat(at), message_id) for at, message_id in ROW.findall(page)]


def test_the_log_goes_newest_first_by_the_time_each_row_shows(app):
    receipt = a_message(recorded=90, sent=89)
    # Held for a last look: recorded an hour ago, released and sent five minutes ago.
    letter = a_message(recorded=60, sent=5, template="decision_approved")
    welcome = a_message(recorded=20, sent=20, template="alliance_signed_partner")
    waiting = a_message(recorded=10, sent=None, template="report_due_soon")  # shows recorded
    client = signed_in(app, COORDINATOR)

    for url in ("/staff/log", f"/staff/log?reference={REFERENCE}"):
        response = client.get(url)
        assert response.status_code == 200
        shown = rows(response.get_data(as_text=True))
        assert [message_id for _, message_id in shown] == [
            str(letter),
            str(waiting),
            str(welcome),
            str(receipt),
        ]
        times = [at for at, _ in shown]
        assert times == sorted(times, reverse=True)


def test_the_order_holds_across_pages(app):
    # Sent in the reverse of the order they were recorded in: the first recorded, sent last.
    ids = [a_message(recorded=200 - n, sent=n) for n in range(55)]  # two pages of 50
    client = signed_in(app, COORDINATOR)

    seen: list[tuple[datetime, str]] = []
    page = 1
    while True:
        response = client.get(f"/staff/log?page={page}")
        assert response.status_code == 200
        found = rows(response.get_data(as_text=True))
        if not found or (seen and found[-1] == seen[-1]):
            break
        seen += found
        page += 1
    assert page == 3
    assert [message_id for _, message_id in seen] == [str(i) for i in ids]
    times = [at for at, _ in seen]
    assert times == sorted(times, reverse=True)
