"""Notify's data: every message, why it exists and what became of it."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, Index, Integer, String, Text, Uuid, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.conflicts import StaffConflictMixin
from shared.db import UTCDateTime, utcnow
from shared.inbox import ProcessedEventMixin, RejectedEventMixin
from shared.outbox import OutboxEventMixin


class Base(DeclarativeBase):
    pass


class Deliverable:
    """What every delivery keeps of its attempts, whatever its channel (an e-mail, a webhook
    delivery): the state services/notify/delivery/domain.py moves it through.

    pending -> sending -> sent (an e-mail) or delivered (a webhook) | failed; a failed attempt
    goes back to pending until the retry schedule is spent."""

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # When a pending delivery is due for its next attempt.
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # When the current attempt started, while ``sending``: past the lease, its worker died.
    sending_since: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Until when the sweep leaves it alone: a task it queued may still be waiting.
    queued_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Message(Deliverable, Base):
    """One e-mail to one recipient. ``cause`` is unique: the same cause never sends twice.

    Its status starts ``held`` (decisions, until staff release it) or ``pending``."""

    __tablename__ = "messages"
    # The pending ones by due time: what the sweep and a worker sending what is due look up,
    # without walking past every message ever sent.
    __table_args__ = (
        Index(
            "ix_messages_due",
            "next_attempt_at",
            "created_at",
            postgresql_where=text("status = 'pending'"),
        ),
    )

    cause: Mapped[str] = mapped_column(String(200), unique=True)
    template: Mapped[str] = mapped_column(String(100))
    proposal_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True, index=True)
    # The alliance the message is about, when it is about one (its liaison may read it).
    alliance_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True, index=True)
    reference: Mapped[str] = mapped_column(String(40), default="")
    # Who the recipient is: "partner" (the proposal's or alliance's contact, the applicant),
    # "staff" (the Coordinator, a liaison), "" when not known (rows older than the column).
    recipient: Mapped[str] = mapped_column(String(20), default="", server_default="")
    # The proposal's organization (``shared.domain.organization_key``), "" when none is known:
    # staff who declared a conflict with it neither see nor touch the message.
    organization_key: Mapped[str] = mapped_column(String(200), default="", index=True)
    to_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str] = mapped_column(Text)
    # The iCalendar text attached (services/notify/messages/calendars.py), "" for none: stored
    # with the rendered text, so a retry or a resend attaches the very same calendar.
    calendar: Mapped[str] = mapped_column(Text, default="", server_default="")
    # Who edited or released it: the e-mail address is the identity audits go by, the name
    # (as it was then) is what pages show; null for rows recorded before names were.
    edited_by: Mapped[str | None] = mapped_column(String(254), nullable=True)
    edited_by_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    released_by: Mapped[str | None] = mapped_column(String(254), nullable=True)
    released_by_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Attempts whose outcome nobody saw (content sent, no answer): possibly delivered twice.
    ambiguous_deliveries: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    @property
    def edited_by_shown(self) -> str | None:
        """Who edited it, by name; by address when no name was recorded."""
        return self.edited_by_name or self.edited_by

    @property
    def released_by_shown(self) -> str | None:
        """Who released or resent it, by name; by address when no name was recorded."""
        return self.released_by_name or self.released_by

    @property
    def next_attempt_due(self) -> datetime | None:
        """When the next attempt is due, while one waits (``pending``)."""
        return self.next_attempt_at if self.status == "pending" else None


class MailChannel(Base):
    """The mail server as notify last found it: one row (``name`` "mail") while it is down,
    none or ``down_since`` null while it answers. A server that cannot be reached is a state
    of the channel, shared by every worker process, not a failed attempt at each message:
    while it is down no message is attempted, and one probe at a time (``probe_at``) finds
    out whether it is back (services/notify/delivery/domain.py)."""

    __tablename__ = "mail_channel"

    name: Mapped[str] = mapped_column(String(20), primary_key=True)
    down_since: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # When the next probe is due (while down); claimed by moving it on.
    probe_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AllianceLiaison(Base):
    """Who is whose: the liaison of an alliance and the proposal it came from, as the last
    event naming them said (``proposal.approved``, ``alliance.reports_scheduled``, the
    ``alliance.*`` changes, the ``report.*`` and ``evaluation.shared`` events). A liaison reads
    the messages of these alliances and proposals (services/notify/log/domain.py).

    ``liaison_id`` is the liaison's staff id; None when the events only gave an address
    (older events), then ``liaison_email`` names them."""

    __tablename__ = "alliance_liaisons"

    alliance_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    proposal_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True, index=True)
    liaison_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True, index=True)
    liaison_email: Mapped[str] = mapped_column(String(254), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FiledOffice(Base):
    """The office a proposal or an alliance (``subject_id``: its id) belongs to, as the newest
    event naming it said; staff of an office read the messages of their offices
    (services/notify/log/domain.py). None filed: the top office's."""

    __tablename__ = "filed_offices"

    subject_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    office: Mapped[str] = mapped_column(String(64), index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReportCalendarEntry(Base):
    """A report's entry in its recipients' calendars: the due date it last carried and its
    SEQUENCE, raised each time the due date changes (services/notify/messages/calendars.py)."""

    __tablename__ = "report_calendar_entries"

    report_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    due_date: Mapped[date] = mapped_column(Date)
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class KnownCoordinators(Base):
    """The active Coordinators as review last announced them (``staff.coordinators_changed``):
    one row (``id`` 1), the whole list, by name. ``as_of`` is when that event happened: an
    older announcement delivered late changes nothing. Who gets the Coordinator's mail is
    decided in services/notify/staff/coordinators.py."""

    __tablename__ = "known_coordinators"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    # [{"id": staff id, "name": ..., "email": ...}, ...]
    coordinators: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    as_of: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StaffConflict(StaffConflictMixin, Base):
    """A staff member's declared conflict with an organization, as review announced it
    (``staff.conflict_declared``; shared/conflicts.py)."""


class OutboxEvent(OutboxEventMixin, Base):
    pass


class ProcessedEvent(ProcessedEventMixin, Base):
    pass


class RejectedEvent(RejectedEventMixin, Base):
    pass
