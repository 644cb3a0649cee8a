"""A term's report calendar (``alliance.reports_scheduled``): reporting stores the event once,
in the transaction that adds the term's reports, with the partner's link to the first report
due; notify turns it into the signed-alliance welcome to the partner's contact and the liaison
(term 0) or the renewed term's calendar (term n), once per recipient and term, against real
PostgreSQL, Redis and a real (in-process) SMTP server."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

import services.notify.tasks
from services.notify.models import Message
from services.notify.worker import database as notify_database
from services.reporting import create_app
from services.reporting.models import OutboxEvent
from services.reporting.reports import domain as reports
from services.reporting.worker import database
from shared.config import load_agency_profile, load_settings
from shared.events import parse_event
from tests.factories import (
    LIAISON,
    alliance_change_event,
    alliance_signed_event,
    deliver_queued_mail,
)
from tests.helpers import queued_tasks
from tests.smtp import text_of

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clean_databases")]

PARTNER = "Roofers <b>& Sons</b>"
CONTACT = "dana@example.org"
SIGNED = date(2026, 1, 15)
ENDS = date(2028, 1, 14)
RENEWED = date(2028, 1, 10)
RENEWAL_ENDS = date(2031, 1, 9)


def run_reporting(name: str, event: Any) -> None:
    import services.reporting.tasks

    services.reporting.tasks.celery.tasks[name](event=event.to_message())


def scheduled_events() -> list[dict[str, Any]]:
    """The ``alliance.reports_scheduled`` events in reporting's outbox, in order."""
    with database.transaction() as session:
        return [
            row.message
            for row in session.scalars(
                select(OutboxEvent)
                .where(OutboxEvent.type == "alliance.reports_scheduled")
                .order_by(OutboxEvent.id)
            )
        ]


@pytest.fixture
def signed(redis_client: Any) -> Any:
    event = alliance_signed_event(PARTNER, signing_date=SIGNED, ends_on=ENDS)
    run_reporting("reporting.alliance_signed", event)
    return event


def renewal(signed: Any) -> Any:
    return alliance_change_event(
        signed,
        "alliance.renewed",
        renewal=1,
        signing_date=RENEWED,
        term_years=3,
        ends_on=RENEWAL_ENDS,
        previous_ends_on=ENDS,
    )


def form_path(report_url: str) -> str:
    """The reporting app's own path of the partner's link (behind the gateway's /reporting)."""
    base = load_settings().public_base_url.rstrip("/")
    match = re.fullmatch(re.escape(base) + r"/reporting(/reports/[^/]+)", report_url)
    assert match, report_url
    return match.group(1)


# -- reporting: the event --------------------------------------------------------------------


def test_scheduling_a_term_stores_one_event_with_the_calendar_and_the_first_reports_link(
    signed,
):
    alliance_id = signed.payload["alliance_id"]
    run_reporting("reporting.alliance_signed", signed)  # redelivered: nothing more

    [message] = scheduled_events()
    assert message["producer"] == "reporting"
    payload = parse_event(message, expected_type="alliance.reports_scheduled").payload
    assert payload["alliance_id"] == alliance_id
    assert payload["proposal_id"] == signed.payload["proposal_id"]
    assert payload["reference"] == signed.payload["reference"]
    assert payload["partner_name"] == PARTNER
    assert payload["contact"]["email"] == CONTACT
    assert payload["liaison"]["email"] == LIAISON.email
    assert payload["division"] == "construction_safety_health"
    assert (payload["term"], payload["term_years"]) == (0, 2)
    assert (payload["signing_date"], payload["ends_on"]) == (SIGNED, ENDS)
    with database.transaction() as session:
        stored = reports.reports_of(session, alliance_id=alliance_id)
        expected = [
            (r.id, r.kind, r.period_start, r.period_end, r.due_date) for r in stored if r.term == 0
        ]
    listed = [
        (r["report_id"], r["kind"], r["period_start"], r["period_end"], r["due_date"])
        for r in payload["reports"]
    ]
    assert listed == expected
    assert len(listed) > 1
    due_dates = [r["due_date"] for r in payload["reports"]]
    assert due_dates == sorted(due_dates)

    client = create_app({"TESTING": True, "WTF_CSRF_ENABLED": False}).test_client()
    page = client.get(form_path(payload["report_url"]))
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "Implementation team meetings" in body
    first = payload["reports"][0]
    assert first["period_start"].strftime("%B %-d, %Y") in body


def test_a_renewal_stores_the_new_terms_calendar_once(signed):
    renewed = renewal(signed)
    run_reporting("reporting.alliance_renewed", renewed)
    run_reporting("reporting.alliance_renewed", renewed)  # redelivered: nothing more

    initial, renewed_term = (
        parse_event(m, expected_type="alliance.reports_scheduled").payload
        for m in scheduled_events()
    )
    assert initial["term"] == 0
    assert (renewed_term["term"], renewed_term["term_years"]) == (1, 3)
    assert (renewed_term["signing_date"], renewed_term["ends_on"]) == (RENEWED, RENEWAL_ENDS)
    assert renewed_term["proposal_id"] == signed.payload["proposal_id"]
    assert renewed_term["reports"][0]["period_start"] == RENEWED
    assert all(r["period_start"] >= RENEWED for r in renewed_term["reports"])
    with database.transaction() as session:
        renewal_ids = {
            r.id
            for r in reports.reports_of(session, alliance_id=signed.payload["alliance_id"])
            if r.term == 1
        }
    assert {r["report_id"] for r in renewed_term["reports"]} == renewal_ids
    assert form_path(renewed_term["report_url"]) != form_path(initial["report_url"])


# -- notify: the messages --------------------------------------------------------------------


def consume(message: dict[str, Any]) -> None:
    services.notify.tasks.celery.tasks["notify.reports_scheduled"](event=message)


def stored() -> list[Message]:
    with notify_database.transaction() as session:
        found = sorted(session.scalars(select(Message)), key=lambda m: (m.cause, m.to_address))
        session.expunge_all()
        return found


def plain(received: Any) -> str:
    return text_of(received).replace("\r\n", "\n")


def html_of(received: Any) -> str:
    part = received.get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")


def day(value: date) -> str:
    return value.strftime("%B %-d, %Y")


def calendar_lines(payload: dict[str, Any]) -> list[str]:
    return [
        f"- {r['kind'].capitalize()} report for {day(r['period_start'])} through "
        f"{day(r['period_end'])}: due {day(r['due_date'])}\n"
        for r in payload["reports"]
    ]


def test_the_welcome_carries_the_calendar_and_the_first_reports_link(
    signed, redis_client, smtp_server, monkeypatch
):
    [message] = scheduled_events()
    payload = parse_event(message).payload
    redis_client.delete("notify")  # what the outbox's nudge may have published
    consume(message)
    consume(message)  # a redelivery records nothing more

    rows = stored()
    alliance_id = signed.payload["alliance_id"]
    assert [(m.cause, m.template, m.to_address) for m in rows] == [
        (f"alliance.signed:{alliance_id}:contact", "alliance_signed_partner", CONTACT),
        (f"alliance.signed:{alliance_id}:liaison", "alliance_signed_liaison", LIAISON.email),
    ]
    assert {m.proposal_id for m in rows} == {signed.payload["proposal_id"]}
    assert {m.organization_key for m in rows} == {"roofers b sons b"}
    assert deliver_queued_mail(redis_client, smtp_server, monkeypatch) == ["sent", "sent"]

    received = smtp_server.inbox.wait_for(lambda m: True, count=2)
    by_address = {m["To"]: m for m in received}
    url = payload["report_url"]
    first_due = day(payload["reports"][0]["due_date"])

    partner = by_address[CONTACT]
    assert str(partner["Subject"]).strip() == (
        f"Your alliance with {load_agency_profile().name} is signed ({signed.payload['reference']})"
    )
    text, html = plain(partner), html_of(partner)
    assert text.startswith(f"Dear Dana Smith,\n\nThe alliance between {PARTNER} and ")
    assert f"- Signed: {day(SIGNED)}\n" in text
    assert f"- Term: 2 years, until {day(ENDS)}\n" in text
    assert f"- Your liaison: {LIAISON.name} ({LIAISON.email})\n" in text
    for line in calendar_lines(payload):
        assert line in text
    assert f"Fill in your first report (due {first_due}) here:\n{url}\n" in text
    assert "Each reminder of a report will carry the link to its form too." in text
    assert f'<a href="{url}">' in html
    assert "Each reminder of a report will carry the link to its form too." in html
    for r in payload["reports"]:
        assert f"{day(r['period_start'])} through {day(r['period_end'])}" in html
        assert day(r["due_date"]) in html
    assert "<b>" not in html
    assert "Roofers &lt;b&gt;&amp; Sons&lt;/b&gt;" in html

    liaison = by_address[LIAISON.email]
    assert str(liaison["Subject"]).strip() == (
        f"Action required: you are the liaison for {PARTNER} ({signed.payload['reference']})"
    )
    text, html = plain(liaison), html_of(liaison)
    assert text.startswith(f"Dear {LIAISON.name},\n\nYou are the liaison for the alliance with")
    assert "Next step: meet the partner to set up the work plan" in text
    for line in calendar_lines(payload):
        assert line in text
    assert "Each report's reminders go to Dana Smith, with a copy to you." in text
    assert url not in text + html  # the partner's own link stays the partner's
    assert "<b>" not in html


def test_a_welcome_recorded_from_alliance_signed_is_not_sent_again(signed, redis_client):
    """A system upgraded mid-way: notify already welcomed the partner on ``alliance.signed``
    under the same causes, so the calendar's event records nothing more."""
    alliance_id = signed.payload["alliance_id"]
    with notify_database.transaction() as session:
        for role, template, address in (
            ("contact", "alliance_signed_partner", CONTACT),
            ("liaison", "alliance_signed_liaison", LIAISON.email),
        ):
            session.add(
                Message(
                    cause=f"alliance.signed:{alliance_id}:{role}",
                    template=template,
                    proposal_id=signed.payload["proposal_id"],
                    reference=signed.payload["reference"],
                    to_address=address,
                    subject="Welcome (sent before the upgrade)",
                    text_body="",
                    html_body="",
                )
            )
    redis_client.delete("notify")
    [message] = scheduled_events()
    consume(message)

    assert [m.subject for m in stored()] == ["Welcome (sent before the upgrade)"] * 2
    assert queued_tasks(redis_client, "notify") == []


def test_a_renewed_terms_calendar_goes_to_the_contact_and_the_liaison_once(
    signed, redis_client, smtp_server, monkeypatch
):
    run_reporting("reporting.alliance_renewed", renewal(signed))
    initial, renewed = scheduled_events()
    payload = parse_event(renewed).payload
    consume(initial)
    redis_client.delete("notify")
    consume(renewed)
    consume(renewed)  # a redelivery records nothing more

    alliance_id = signed.payload["alliance_id"]
    key = f"alliance.reports_scheduled:{alliance_id}:term1"
    renewal_rows = [m for m in stored() if m.cause.startswith(key)]
    assert [(m.cause, m.template, m.to_address) for m in renewal_rows] == [
        (f"{key}:contact", "alliance_term_calendar", CONTACT),
        (f"{key}:liaison", "alliance_term_calendar", LIAISON.email),
    ]
    assert len(stored()) == 4  # the welcome's two, the renewal's two
    assert deliver_queued_mail(redis_client, smtp_server, monkeypatch) == ["sent", "sent"]

    received = smtp_server.inbox.wait_for(lambda m: True, count=2)
    by_address = {m["To"]: m for m in received}
    for mail in received:
        assert (
            str(mail["Subject"])
            .strip()
            .startswith(f"The report calendar of the renewed alliance between {PARTNER}")
        )
        text = plain(mail)
        assert f"renewed from {day(RENEWED)} for 3 years (until {day(RENEWAL_ENDS)})" in text
        assert "The report calendar of the new term" in text
        for line in calendar_lines(payload):
            assert line in text
        assert "<b>" not in html_of(mail)
    partner_text = plain(by_address[CONTACT])
    assert partner_text.startswith("Dear Dana Smith,\n\n")
    assert f"here:\n{payload['report_url']}\n" in partner_text
    assert f'<a href="{payload["report_url"]}">' in html_of(by_address[CONTACT])
    liaison_text = plain(by_address[LIAISON.email])
    assert liaison_text.startswith(f"Dear {LIAISON.name},\n\n")
    assert payload["report_url"] not in liaison_text
