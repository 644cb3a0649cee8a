"""What a roundtable (or workgroup) keeps of its own work: the days it met and the products
its members made together. The roundtables and their memberships themselves are the
alliances' tables (alliances/models.py: an alliance's memberships end with it)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from services.review.base import Base
from shared.db import UTCDateTime, utcnow

# The kinds of product, as stored (their labels: roundtables/domain.py ``PRODUCT_KINDS``).
PRODUCT_KINDS = ("fact_sheet", "toolbox_talk", "webinar", "translation", "other")


class RoundtableMeeting(Base):
    """A day a roundtable or workgroup met: its topic, a summary and who attended."""

    __tablename__ = "roundtable_meetings"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    roundtable_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("roundtables.id"), index=True)
    held_on: Mapped[date] = mapped_column(Date)
    topic: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    attendees: Mapped[str] = mapped_column(Text, default="")  # as written: names, organizations
    recorded_by: Mapped[str] = mapped_column(String(254))  # a staff member's e-mail address
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RoundtableProduct(Base):
    """Something a roundtable or workgroup made together (a fact sheet, a toolbox talk, a
    webinar, a translation...), listed on the public directory while ``public``."""

    __tablename__ = "roundtable_products"
    __table_args__ = (
        CheckConstraint(
            "kind IN (" + ", ".join(f"'{kind}'" for kind in PRODUCT_KINDS) + ")",
            name="roundtable_products_kind",
        ),
        CheckConstraint(
            "url = '' OR url ~* '^https?://'",
            name="roundtable_products_url",
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    roundtable_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("roundtables.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str] = mapped_column(String(2000), default="")  # http(s), or none
    published_on: Mapped[date] = mapped_column(Date)
    public: Mapped[bool] = mapped_column(Boolean, default=True)  # listed on the directory
    recorded_by: Mapped[str] = mapped_column(String(254))  # a staff member's e-mail address
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
