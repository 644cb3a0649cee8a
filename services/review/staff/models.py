"""Staff accounts: who signs in, with which roles, and the e-mailed links that set a
password (an invitation, a forgotten password)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
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
    # None until the person sets a password from their invitation: no password signs in.
    password_hash: Mapped[str | None] = mapped_column(Text, nullable=True)
    roles: Mapped[list[str]] = mapped_column(ARRAY(String(20)))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The office the person belongs to (shared/offices.py); None: the top office.
    office: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    @property
    def invited(self) -> bool:
        """Invited and not signed in yet: no password set so far."""
        return self.password_hash is None


PASSWORD_LINK_KINDS = ("invitation", "reset")


class StaffPasswordLink(Base):
    """An e-mailed "Set your password" link: the Coordinator's invitation or the answer to
    "Forgot your password?". Only a SHA-256 of the link's secret is kept, so this table
    opens nothing. A link works once, until ``expires_at``, while no newer link of the
    person replaced it (``ended_at``) and their account is active."""

    __tablename__ = "staff_password_links"
    __table_args__ = (
        CheckConstraint("kind IN ('invitation', 'reset')", name="staff_password_links_kind"),
        Index("staff_password_links_user", "user_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("staff_users.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
