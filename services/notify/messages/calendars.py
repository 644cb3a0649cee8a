"""Report calendars (``.ics``) attached to the signed-alliance messages and report reminders.

Each report is one all-day event on its due date (``DTSTART;VALUE=DATE``, ``DTEND`` the next
day) with a 7-day alarm, in a ``METHOD:PUBLISH`` calendar: information to add, not an
invitation to answer (``REQUEST`` would need an ORGANIZER and ATTENDEEs and show
accept/decline buttons for a deadline nobody can decline).

A report keeps one ``UID`` (``report-<report_id>@<host of PUBLIC_BASE_URL>``) for its whole
life, so the calendar a later message carries updates the entry a client already holds. Mail
clients (Outlook in particular, which follows RFC 5546's ordering) replace an entry only with
a revision that has the same UID and a higher ``SEQUENCE`` (and a newer ``DTSTAMP`` among
equal sequences): notify keeps, per report, the due date its entry last carried and raises
the sequence whenever a message carries another one (a revision request's new due date).
The same due date keeps the same sequence with a newer DTSTAMP, which changes nothing.

The calendar is rendered when the message is recorded and stored with it (``Message.calendar``):
a retry or a resend attaches exactly the same bytes.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from urllib.parse import urlsplit

import icalendar
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from services.notify.models import ReportCalendarEntry
from shared.db import utcnow

ALARM_BEFORE = timedelta(days=7)
FILENAME = "reports.ics"


@dataclass(frozen=True)
class ReportEvent:
    """One report's entry: its due date, what it says and, for the partner, its form's link;
    ``alarm`` is what the reminder a week before says, in the reader's language."""

    report_id: uuid.UUID
    due_date: date
    summary: str
    description: str
    url: str = ""
    alarm: str = ""


def uid(report_id: uuid.UUID, public_base_url: str) -> str:
    host = urlsplit(public_base_url).hostname or "alliance.local"
    return f"report-{report_id}@{host}"


def sequence(session: Session, *, report_id: uuid.UUID, due_date: date) -> int:
    """The SEQUENCE of the report's entry carrying ``due_date``: 0 the first time, the same
    while the due date stays, one more each time it changes."""
    now = utcnow()
    session.execute(
        insert(ReportCalendarEntry)
        .values(report_id=report_id, due_date=due_date, sequence=0, updated_at=now)
        .on_conflict_do_nothing(index_elements=["report_id"])
    )
    entry = session.scalars(
        select(ReportCalendarEntry)
        .where(ReportCalendarEntry.report_id == report_id)
        .with_for_update()
    ).one()
    if entry.due_date != due_date:
        entry.due_date = due_date
        entry.sequence += 1
        entry.updated_at = now
    return entry.sequence


def render(
    session: Session,
    events: list[ReportEvent],
    *,
    public_base_url: str,
    agency: str,
    now: datetime | None = None,
) -> str:
    """The ``.ics`` text of ``events`` ("" for none), each with its current SEQUENCE."""
    if not events:
        return ""
    stamp = (now or utcnow()).replace(microsecond=0)
    calendar = icalendar.Calendar()
    calendar.add("prodid", f"-//{agency} Alliance Program//Report calendar//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    for event in events:
        entry = icalendar.Event()
        entry.add("uid", uid(event.report_id, public_base_url))
        entry.add("dtstamp", stamp)
        entry.add("last-modified", stamp)
        entry.add("sequence", sequence(session, report_id=event.report_id, due_date=event.due_date))
        entry.add("dtstart", event.due_date)  # a date: VALUE=DATE, an all-day event
        entry.add("dtend", event.due_date + timedelta(days=1))
        entry.add("summary", event.summary)
        entry.add("description", event.description)
        if event.url:
            entry.add("url", event.url)
        entry.add("transp", "TRANSPARENT")  # a deadline, not a meeting: the day stays free
        entry.add("status", "CONFIRMED")
        alarm = icalendar.Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("trigger", -ALARM_BEFORE)
        alarm.add("description", event.alarm or f"In a week: {event.summary}")
        entry.add_component(alarm)
        calendar.add_component(entry)
    text: bytes = calendar.to_ical()
    return text.decode("utf-8")
