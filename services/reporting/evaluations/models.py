"""An annual evaluation: each fundamental requirement rated, with a justification."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, UniqueConstraint, Uuid
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.reporting.base import Base
from shared.db import UTCDateTime, utcnow


class Evaluation(Base):
    """The evaluation of agreement year ``year`` (1, 2, ...) of term ``term`` (0: the initial
    term, n: the n-th renewal). ``ratings``: ``{requirement: {"rating", "justification"}}``;
    ``recorded_by``: the staff member (id, name, e-mail); ``shared_at``: when it was marked
    shared with the partner."""

    __tablename__ = "evaluations"
    __table_args__ = (UniqueConstraint("alliance_id", "term", "year"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    alliance_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("alliances.id"), index=True)
    term: Mapped[int] = mapped_column(Integer)
    year: Mapped[int] = mapped_column(Integer)
    ratings: Mapped[dict[str, Any]] = mapped_column(JSONB)
    recorded_by: Mapped[dict[str, Any]] = mapped_column(JSONB)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    shared_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
