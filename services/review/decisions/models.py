"""Prepared decisions: written, held, then released."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Integer,
    String,
    Uuid,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.review.base import Base
from shared.db import UTCDateTime, utcnow

KINDS = ("changes_requested", "declined", "approved")


class PreparedDecision(Base):
    """A decision written but not yet released; released ones stay as the record."""

    __tablename__ = "decisions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    proposal_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    version: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(30))  # one of KINDS
    details: Mapped[dict[str, Any]] = mapped_column(JSONB)
    prepared_by: Mapped[str] = mapped_column(String(254))
    prepared_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    released_by: Mapped[str | None] = mapped_column(String(254), nullable=True)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
