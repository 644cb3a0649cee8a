"""Reporting's copy of each signed alliance (report schedules and reminders build on it)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import CheckConstraint, Date, Integer, String, Uuid
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.reporting.base import Base
from shared.db import UTCDateTime, utcnow

# Set by the events of the alliance's life (services/reporting/tasks.py): signed and renewed
# make it active; concluded, terminated and Ambassador designated say so.
STATUSES = ("active", "concluded", "terminated", "ambassador")


class Alliance(Base):
    """What reporting knows of a signed alliance, from ``alliance.signed`` and the events of
    its life (renewed, concluded, terminated, Ambassador)."""

    __tablename__ = "alliances"
    __table_args__ = (CheckConstraint(f"status IN {STATUSES}", name="alliance_status"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    reference: Mapped[str] = mapped_column(String(40))
    partner_name: Mapped[str] = mapped_column(String(200))
    contact_email: Mapped[str] = mapped_column(String(254))
    liaison_email: Mapped[str] = mapped_column(String(254))
    # The people reminders go to, as the latest event named them (shared.events.PersonSchema).
    contact: Mapped[dict[str, Any]] = mapped_column(JSONB)
    liaison: Mapped[dict[str, Any]] = mapped_column(JSONB)
    division: Mapped[str] = mapped_column(String(64))
    # The office it belongs to (shared/offices.py); None: the top office.
    office: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    signing_date: Mapped[date] = mapped_column(Date)
    term_years: Mapped[int] = mapped_column(Integer)
    ends_on: Mapped[date] = mapped_column(Date)
    signed: Mapped[dict[str, Any]] = mapped_column(JSONB)  # the whole event payload
    status: Mapped[str] = mapped_column(String(20), default="active", server_default="active")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def proposal_id(self) -> uuid.UUID:
        """The proposal the alliance came from (``alliance.signed`` names it)."""
        return uuid.UUID(str(self.signed["proposal_id"]))
