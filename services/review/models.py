"""Review's data: its own copy of each submitted proposal, as the queue sees it."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import UTCDateTime, utcnow
from shared.inbox import ProcessedEventMixin, RejectedEventMixin
from shared.outbox import OutboxEventMixin


class Base(DeclarativeBase):
    pass


class QueuedProposal(Base):
    __tablename__ = "queued_proposals"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    proposal_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    reference: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(30), default="waiting")
    organization_name: Mapped[str] = mapped_column(String(200))
    organization_type: Mapped[str] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(2))
    requested_division: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The status link intake gave the applicant, for messages review causes.
    status_url: Mapped[str] = mapped_column(Text, default="")
    previous_data: Mapped[dict[str, Any] | None] = mapped_column(JSONB, nullable=True)
    # The priority score, its explanation and the configuration version that produced it.
    score: Mapped[int] = mapped_column(Integer, default=0)
    score_lines: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    score_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # A reviewer's move up or down the queue, with its reason (history in queue_adjustments).
    adjustment: Mapped[int] = mapped_column(Integer, default=0)
    adjustment_reason: Mapped[str] = mapped_column(Text, default="")
    assigned_to: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True, index=True)
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    @property
    def priority(self) -> int:
        return self.score + self.adjustment


class ScoringConfig(Base):
    """One version of the scoring configuration; the newest is in force."""

    __tablename__ = "scoring_configs"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    weights: Mapped[dict[str, Any]] = mapped_column(JSONB)
    priority_areas: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(254), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class QueueAdjustment(Base):
    __tablename__ = "queue_adjustments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    proposal_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    points: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    by: Mapped[str] = mapped_column(String(254))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReviewComment(Base):
    """Internal: never shown to the applicant."""

    __tablename__ = "review_comments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    proposal_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    author_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    author_name: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StaffConflict(Base):
    """A reviewer's declared tie to an organization: its proposals are hidden from them."""

    __tablename__ = "staff_conflicts"
    __table_args__ = (UniqueConstraint("staff_id", "organization_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    staff_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    organization_name: Mapped[str] = mapped_column(String(200))
    # Lower-cased, punctuation and spacing folded: "Michigan Roofing Assn." matches.
    organization_key: Mapped[str] = mapped_column(String(200), index=True)
    declared_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditEntry(Base):
    """Who changed what and when, with the fields before and after."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(60))
    actor: Mapped[str] = mapped_column(String(254))
    changes: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    note: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PreparedDecision(Base):
    """A decision written but not yet released; released ones stay as the record."""

    __tablename__ = "decisions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    proposal_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    version: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(30))  # changes_requested | declined | approved
    details: Mapped[dict[str, Any]] = mapped_column(JSONB)
    prepared_by: Mapped[str] = mapped_column(String(254))
    prepared_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    released_by: Mapped[str | None] = mapped_column(String(254), nullable=True)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Alliance(Base):
    """A signed agreement and its life: renewals, conclusion, termination, Ambassador."""

    __tablename__ = "alliances"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    proposal_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    reference: Mapped[str] = mapped_column(String(40))
    partner: Mapped[dict[str, Any]] = mapped_column(JSONB)
    partner_name: Mapped[str] = mapped_column(String(200), index=True)
    contact: Mapped[dict[str, Any]] = mapped_column(JSONB)
    goals: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    hazards: Mapped[list[str]] = mapped_column(JSONB, default=list)
    division: Mapped[str] = mapped_column(String(64))
    liaison_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    liaison_name: Mapped[str] = mapped_column(String(200))
    liaison_email: Mapped[str] = mapped_column(String(254))
    signing_date: Mapped[date] = mapped_column(Date)
    term_years: Mapped[int] = mapped_column(Integer)
    ends_on: Mapped[date] = mapped_column(Date)
    renewals: Mapped[int] = mapped_column(Integer, default=0)
    # active | concluded | terminated | ambassador
    status: Mapped[str] = mapped_column(String(20), default="active", index=True)
    ended_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutboxEvent(OutboxEventMixin, Base):
    pass


class ProcessedEvent(ProcessedEventMixin, Base):
    pass


class RejectedEvent(RejectedEventMixin, Base):
    pass


# -- Staff accounts (issue 4; services/review/accounts.py, shared/staff_auth.py) --------------


class StaffUser(Base):
    """A member of staff who signs in: Coordinator, reviewer and/or liaison."""

    __tablename__ = "staff_users"
    __table_args__ = (
        CheckConstraint("email = lower(email)", name="staff_users_email_lower"),
        CheckConstraint("cardinality(roles) > 0", name="staff_users_has_role"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    email: Mapped[str] = mapped_column(String(254), unique=True)  # stored lower-cased
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(Text)
    roles: Mapped[list[str]] = mapped_column(ARRAY(String(20)))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


# -- The agreement's life (issue 4; services/review/agreements.py, roundtables.py,
#    directory.py, agreement_api.py) --------------------------------------------------------


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
