"""Webhooks' data: the endpoints the Coordinator registered, one delivery row per (event,
endpoint), and every attempt at it. The database is the record: a delivery's due time lives
in its row (``next_attempt_at``) and beat's sweep picks it up (services/notify/webhooks/tasks.py).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from services.notify.models import Base, Deliverable
from shared.db import UTCDateTime, utcnow

# How the reason of an endpoint a staff member disabled begins ("Disabled by Dana Smith."): the
# other reasons are the system's (a 410 Gone, days of failures).
STAFF_DISABLED_PREFIX = "Disabled by "


class WebhookEndpoint(Base):
    """An HTTPS URL and the event types it receives. ``sealed_secret`` is the ``whsec_``
    secret encrypted (services/notify/webhooks/signing.py): never shown after it was made."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str] = mapped_column(String(500), default="")
    event_types: Mapped[list[str]] = mapped_column(ARRAY(String(100)))
    sealed_secret: Mapped[str] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # Why it was disabled: by staff, a 410 Gone, or days of failures.
    disabled_reason: Mapped[str] = mapped_column(String(500), default="")
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Since when every attempt failed (none succeeded since); None while it answers.
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    secret_rotated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Who registered it: the address is the identity, the name (null for endpoints
    # registered before names were recorded) is what pages show.
    created_by: Mapped[str] = mapped_column(String(254))
    created_by_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def created_by_shown(self) -> str:
        """Who registered it, by name; by address when no name was recorded."""
        return self.created_by_name or self.created_by


class WebhookDelivery(Deliverable, Base):
    """One event for one endpoint (its attempts' state: ``Deliverable``). Unique on (event,
    endpoint): a redelivered event adds nothing."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (UniqueConstraint("event_id", "endpoint_id"),)

    endpoint_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), index=True
    )
    event_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    event_type: Mapped[str] = mapped_column(String(100))
    # The proposal's reference (its alliance keeps it), "" when the event names none: the
    # message log of a reference lists its deliveries beside its e-mails.
    reference: Mapped[str] = mapped_column(String(40), default="", index=True)
    # The JSON body, fixed when the event arrived: every attempt sends the same bytes.
    body: Mapped[str] = mapped_column(Text)
    # Who asked for the next attempt again (a replay), until it is made.
    replay_requested_by: Mapped[str | None] = mapped_column(String(254), nullable=True)
    replay_requested_by_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    last_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str] = mapped_column(Text, default="")
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class WebhookAttempt(Base):
    """One POST: when, how long, the status (None when no answer came), the first KB of the
    answer, the error; ``replayed_by`` when staff asked for it."""

    __tablename__ = "webhook_attempts"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    delivery_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    response_excerpt: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str] = mapped_column(Text, default="")
    replayed_by: Mapped[str | None] = mapped_column(String(254), nullable=True)
    # Null for attempts recorded before names were (and for those nobody asked for).
    replayed_by_name: Mapped[str | None] = mapped_column(String(200), nullable=True)

    @property
    def replayed_by_shown(self) -> str | None:
        """Who asked for this attempt, by name; by address when no name was recorded."""
        return self.replayed_by_name or self.replayed_by

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300
