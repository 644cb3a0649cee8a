"""Sharing an annual evaluation with the partner (``evaluation.shared``): reporting stores the
event once in the transaction that records ``shared_at``; notify mails the ratings and
justifications to the partner's contact with a copy to the liaison, once per evaluation and
recipient, against real PostgreSQL, Redis and a real (in-process) SMTP server; the alliance's
reports page links to each agreement year's evaluation page."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import select

import services.notify.tasks
from services.notify.models import Message
from services.notify.worker import database as notify_database
from services.reporting import create_app
from services.reporting.evaluations import domain as evaluations
from services.reporting.models import OutboxEvent
from services.reporting.worker import database, outbox
from shared.domain import Forbidden
from shared.events import parse_event
from tests.factories import (
    COORDINATOR,
    LIAISON,
    REVIEWER,
    acting_as,
    alliance_signed_event,
    deliver_queued_mail,
    signed_in,
)
from tests.smtp import text_of

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clean_databases")]

SIGNED = date(2024, 1, 15)
ENDS = date(2027, 1, 14)
AT = datetime(2026, 6, 1, 15, tzinfo=UTC)
CONTACT = "dana@example.org"
JUSTIFICATION = "Met <script>alert(1)</script> & more.\nSecond line"


def run_reporting(name: str, event: Any) -> None:
    import services.reporting.tasks

    services.reporting.tasks.celery.tasks[name](event=event.to_message())


@pytest.fixture
def signed(redis_client: Any) -> Any:
    event = alliance_signed_event("Roofers <b>& Sons</b>", signing_date=SIGNED, ends_on=ENDS)
    run_reporting("reporting.alliance_signed", event)
    return event


def ratings() -> dict[str, dict[str, str]]:
    given = {
        key: {"rating": "meets", "justification": f"Seen in the reports ({key})."}
        for key in evaluations.REQUIREMENTS
    }
    given["team_meets"] = {"rating": "meets_in_part", "justification": JUSTIFICATION}
    given["work_plan"] = {"rating": "not_applicable", "justification": ""}
    return given


def record_and_share(alliance_id: uuid.UUID, *, times: int = 1) -> None:
    with database.transaction() as session:
        evaluations.record_evaluation(
            session,
            acting=acting_as(LIAISON),
            alliance_id=alliance_id,
            term=0,
            year=2,
            ratings=ratings(),
            at=AT,
        )
    for _ in range(times):
        with database.transaction() as session:
            evaluations.share_evaluation(
                session,
                acting=acting_as(LIAISON),
                alliance_id=alliance_id,
                term=0,
                year=2,
                at=AT,
                outbox=outbox,
            )


def shared_events() -> list[dict[str, Any]]:
    with database.transaction() as session:
        return [
            row.message
            for row in session.scalars(
                select(OutboxEvent).where(OutboxEvent.type == "evaluation.shared")
            )
        ]


def consume(message: dict[str, Any]) -> None:
    services.notify.tasks.celery.tasks["notify.evaluation_shared"](event=message)


def stored() -> list[Message]:
    with notify_database.transaction() as session:
        found = sorted(session.scalars(select(Message)), key=lambda m: m.to_address)
        session.expunge_all()
        return found


def test_sharing_stores_the_event_once_with_the_ratings(signed):
    alliance_id = signed.payload["alliance_id"]
    record_and_share(alliance_id, times=2)  # sharing again sends nothing more

    [message] = shared_events()
    payload = parse_event(message, expected_type="evaluation.shared").payload
    assert payload["alliance_id"] == alliance_id
    assert (payload["term"], payload["year"]) == (0, 2)
    assert (payload["period_start"], payload["period_end"]) == (
        date(2025, 1, 15),
        date(2026, 1, 14),
    )
    assert payload["contact"]["email"] == CONTACT
    assert payload["liaison"]["email"] == LIAISON.email
    assert payload["shared_at"] == AT
    assert payload["ratings"][0] == {
        "requirement": "The implementation team meets regularly",
        "rating": "Meets in part",
        "justification": JUSTIFICATION,
    }
    assert payload["ratings"][1]["rating"] == "Not applicable"
    assert len(payload["ratings"]) == len(evaluations.REQUIREMENTS)


def test_sharing_through_the_page_stores_the_event(signed):
    alliance_id = signed.payload["alliance_id"]
    with database.transaction() as session:
        evaluations.record_evaluation(
            session,
            acting=COORDINATOR,
            alliance_id=alliance_id,
            term=0,
            year=1,
            ratings=ratings(),
            at=AT,
        )
    client = signed_in(create_app({"TESTING": True, "WTF_CSRF_ENABLED": False}), COORDINATOR)
    url = f"/staff/alliances/{alliance_id}/evaluations/0/1/share"
    assert client.post(url).status_code == 303
    assert client.post(url).status_code == 303
    assert len(shared_events()) == 1


def test_a_refused_share_stores_nothing(signed):
    alliance_id = signed.payload["alliance_id"]
    with database.transaction() as session:
        evaluations.record_evaluation(
            session,
            acting=COORDINATOR,
            alliance_id=alliance_id,
            term=0,
            year=1,
            ratings=ratings(),
            at=AT,
        )
    with pytest.raises(Forbidden), database.transaction() as session:
        evaluations.share_evaluation(
            session,
            acting=REVIEWER,
            alliance_id=alliance_id,
            term=0,
            year=1,
            at=AT,
            outbox=outbox,
        )
    assert shared_events() == []


def html_of(received: Any) -> str:
    part = received.get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")


def test_notify_mails_the_contact_and_the_liaison_once(
    signed, redis_client, smtp_server, monkeypatch
):
    record_and_share(signed.payload["alliance_id"])
    [message] = shared_events()
    redis_client.delete("notify")  # what the outbox's nudge may have published

    consume(message)
    consume(message)  # a redelivery

    rows = stored()
    assert [m.to_address for m in rows] == [CONTACT, LIAISON.email]
    assert deliver_queued_mail(redis_client, smtp_server, monkeypatch) == ["sent", "sent"]
    received = smtp_server.inbox.wait_for(lambda m: True, count=2)
    by_address = {m["To"]: m for m in received}
    assert sorted(by_address) == [CONTACT, LIAISON.email]
    reference = signed.payload["reference"]
    for mail in by_address.values():
        assert str(mail["Subject"]).strip() == (
            f"Your alliance's annual evaluation for {reference} (year 2)"
        )
        text, html = text_of(mail).replace("\r\n", "\n"), html_of(mail)
        assert "- The implementation team meets regularly: Meets in part\n" in text
        assert "  Met <script>alert(1)</script> & more.\n  Second line\n" in text
        assert "- The work plan is kept current: Not applicable\n" in text
        assert "January 15, 2025 through January 14, 2026" in text
        assert "<script>" not in html
        assert "Met &lt;script&gt;alert(1)&lt;/script&gt; &amp; more.<br>\nSecond line" in html
        assert "Meets in part" in html
        assert "Seen in the reports (reports_on_time)." in html
        assert "Roofers &lt;b&gt;&amp; Sons&lt;/b&gt;" in html
    assert (
        text_of(by_address[LIAISON.email])
        .replace("\r\n", "\n")
        .startswith(
            f"Dear {LIAISON.name},\n\nThis is your copy of the annual evaluation sent to Dana Smith"
        )
    )
    assert text_of(by_address[CONTACT]).startswith("Dear Dana Smith,")
    assert [m.status for m in stored()] == ["sent", "sent"]


def test_the_alliances_reports_page_links_to_each_years_evaluation(signed):
    alliance_id = signed.payload["alliance_id"]
    app = create_app({"TESTING": True})
    page = signed_in(app, REVIEWER).get(f"/staff/alliances/{alliance_id}/reports")
    assert page.status_code == 200
    for year in (1, 2, 3):
        link = f'href="/staff/alliances/{alliance_id}/evaluations/0/{year}"'
        assert link in page.text
        assert signed_in(app, REVIEWER).get(link[6:-1]).status_code == 200
    assert f"/staff/alliances/{alliance_id}/evaluations/0/4" not in page.text
