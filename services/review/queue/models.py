"""The queue's data: review's copy of each submitted proposal, scoring, comments, conflicts."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Integer,
    String,
    Text,
    Uuid,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.review.base import Base
from shared.db import UTCDateTime, utcnow


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
    # The office the proposal asks to lead it (shared/offices.py); None: the top office.
    office: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
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

    @property
    def organization(self) -> dict[str, str]:
        """The applicant organization as the queue shows it."""
        return {
            "name": self.organization_name,
            "type": self.organization_type,
            "state": self.state,
        }


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
