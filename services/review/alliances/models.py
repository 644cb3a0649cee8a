"""Approved alliances: the signing, terms, status changes, the work plan, meetings and
documents; and the roundtables and workgroups alliances take part in, whose memberships end
with the alliance (the roundtables' own rules are in roundtables/domain.py)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.review.base import Base
from shared.db import UTCDateTime, utcnow

STATUSES = ("awaiting_signature", "active", "concluded", "terminated", "ambassador")


class Alliance(Base):
    """An approved agreement and its life: its signing, renewals, conclusion, termination,
    Ambassador.

    Approval and signing are two steps: released, an approval creates the alliance awaiting
    its signing, without a signing date or end of term; recording the signing makes it active.
    """

    __tablename__ = "alliances"
    __table_args__ = (
        CheckConstraint(
            "status IN (" + ", ".join(f"'{status}'" for status in STATUSES) + ")",
            name="alliances_status",
        ),
        # Only an alliance awaiting its signing lacks the dates of its term.
        CheckConstraint(
            "(status = 'awaiting_signature') = (signing_date IS NULL)"
            " AND (signing_date IS NULL) = (ends_on IS NULL)",
            name="alliances_signed",
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    proposal_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    reference: Mapped[str] = mapped_column(String(40))
    partner: Mapped[dict[str, Any]] = mapped_column(JSONB)
    partner_name: Mapped[str] = mapped_column(String(200), index=True)
    contact: Mapped[dict[str, Any]] = mapped_column(JSONB)
    goals: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    hazards: Mapped[list[str]] = mapped_column(JSONB, default=list)
    division: Mapped[str] = mapped_column(String(64))
    # The office the alliance belongs to (shared/offices.py); None: the top office.
    office: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    liaison_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    liaison_name: Mapped[str] = mapped_column(String(200))
    liaison_email: Mapped[str] = mapped_column(String(254))
    signing_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    term_years: Mapped[int] = mapped_column(Integer)
    ends_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    renewals: Mapped[int] = mapped_column(Integer, default=0)
    # awaiting_signature | active | concluded | terminated | ambassador
    status: Mapped[str] = mapped_column(String(20), default="active", index=True)
    ended_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def people(self) -> dict[str, dict[str, Any]]:
        """The partner's contact and the liaison, as every ``alliance.*`` event carries them."""
        return {
            "contact": {
                "name": self.contact.get("name", ""),
                "title": self.contact.get("title", ""),
                "email": self.contact["email"],
                "phone": self.contact.get("phone", ""),
                "language": self.contact.get("language", "en"),
            },
            "liaison": {
                "id": self.liaison_id,
                "name": self.liaison_name,
                "email": self.liaison_email,
            },
        }


class AllianceTerm(Base):
    """One term of an agreement: number 0 is the initial term, 1, 2... its renewals.

    The initial term's row is written when the first renewal is (until then the alliance's
    own signing_date, term_years and ends_on are the initial term).
    """

    __tablename__ = "alliance_terms"
    __table_args__ = (UniqueConstraint("alliance_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alliance_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("alliances.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    signing_date: Mapped[date] = mapped_column(Date)
    term_years: Mapped[int] = mapped_column(Integer)
    ends_on: Mapped[date] = mapped_column(Date)
    decided_by: Mapped[str] = mapped_column(String(254))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AllianceStatusChange(Base):
    """The agency concluded or terminated an alliance, or named it an Ambassador.

    ``decided_on`` is the day given (conclusion date, written notice date, designation date);
    ``effective_on`` is when it takes effect (for a termination, 30 days after the notice).
    """

    __tablename__ = "alliance_status_changes"
    __table_args__ = (
        CheckConstraint(
            "status IN ('concluded', 'terminated', 'ambassador')",
            name="alliance_status_changes_status",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alliance_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("alliances.id"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    decided_on: Mapped[date] = mapped_column(Date)
    effective_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text, default="")
    decided_by: Mapped[str] = mapped_column(String(254))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Milestone(Base):
    """A step of the implementation team's work plan."""

    __tablename__ = "alliance_milestones"
    __table_args__ = (
        CheckConstraint(
            "status IN ('planned', 'in_progress', 'done', 'dropped')",
            name="alliance_milestones_status",
        ),
        CheckConstraint(
            "(status = 'done') = (done_on IS NOT NULL)", name="alliance_milestones_done_on"
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    alliance_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("alliances.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    target_date: Mapped[date] = mapped_column(Date)
    # Free text: a person, or "partner" / "agency".
    responsible: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="planned")
    done_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class TeamMeeting(Base):
    """A day the implementation team (liaison and partner) met."""

    __tablename__ = "alliance_meetings"
    __table_args__ = (UniqueConstraint("alliance_id", "met_on"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    alliance_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("alliances.id"), index=True)
    met_on: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AllianceDocument(Base):
    """A document of the alliance: a link, or a description of where the paper is."""

    __tablename__ = "alliance_documents"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('agreement', 'work_plan', 'other')", name="alliance_documents_kind"
        ),
        CheckConstraint("url <> '' OR description <> ''", name="alliance_documents_url_or_text"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    alliance_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("alliances.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    url: Mapped[str] = mapped_column(String(2000), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    added_by: Mapped[str] = mapped_column(String(254))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Roundtable(Base):
    """An Alliance Program roundtable, or (with a parent) one of its workgroups."""

    __tablename__ = "roundtables"
    __table_args__ = (
        UniqueConstraint("parent_id", "name", postgresql_nulls_not_distinct=True),
        CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", name="roundtables_dates"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    parent_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("roundtables.id"), nullable=True, index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date, nullable=True)  # the last day
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RoundtableMembership(Base):
    """An alliance in a roundtable or workgroup from ``joined_on`` through ``left_on``."""

    __tablename__ = "roundtable_memberships"
    __table_args__ = (
        CheckConstraint(
            "left_on IS NULL OR left_on >= joined_on", name="roundtable_memberships_dates"
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    roundtable_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("roundtables.id"), index=True)
    alliance_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("alliances.id"), index=True)
    joined_on: Mapped[date] = mapped_column(Date)
    left_on: Mapped[date | None] = mapped_column(Date, nullable=True)  # the last day
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
