"""Staff accounts: who signs in, with which roles."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    String,
    Text,
    Uuid,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from services.review.base import Base
from shared.db import UTCDateTime, utcnow


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
