"""What every part of reporting stores alike: the declarative base, the event tables, and
the conflicts of interest staff declared in review (which every part's rules read through
``shared.web.current_acting()``)."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase

from shared.conflicts import StaffConflictMixin
from shared.inbox import ProcessedEventMixin, RejectedEventMixin
from shared.outbox import OutboxEventMixin


class Base(DeclarativeBase):
    pass


class OutboxEvent(OutboxEventMixin, Base):
    pass


class ProcessedEvent(ProcessedEventMixin, Base):
    pass


class RejectedEvent(RejectedEventMixin, Base):
    pass


class StaffConflict(StaffConflictMixin, Base):
    """A staff member's declared conflict with an organization, as review announced it
    (shared/conflicts.py)."""
