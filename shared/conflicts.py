"""A service's copy of the conflicts of interest staff declared in review.

Review records a declaration and announces it (``staff.conflict_declared``); every other
service that shows staff something about an organization (notify, reporting) keeps its own
copy in a ``staff_conflicts`` table (``StaffConflictMixin``) through its consumer, so that the
``Acting`` its rules receive carries the person's conflicts (``StaffConflicts.acting``).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, UniqueConstraint, Uuid, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Mapped, Session, declared_attr, mapped_column

from shared.db import UTCDateTime
from shared.domain import Acting
from shared.events import Event


class StaffConflictMixin:
    """A staff member's declared conflict with an organization, as review announced it."""

    __tablename__ = "staff_conflicts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    staff_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    organization_name: Mapped[str] = mapped_column(String(200))
    organization_key: Mapped[str] = mapped_column(String(200))
    declared_at: Mapped[datetime] = mapped_column(UTCDateTime)

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...]:
        return (UniqueConstraint("staff_id", "organization_key"),)


class StaffConflicts:
    """The conflicts a service keeps in ``model`` (a ``StaffConflictMixin`` table)."""

    def __init__(self, model: type[StaffConflictMixin]) -> None:
        self.model = model

    def record(self, session: Session, *, event: Event) -> None:
        """Keep a ``staff.conflict_declared``: one row per staff member and organization,
        however often it is announced."""
        payload = event.payload
        session.execute(
            insert(self.model)
            .values(
                staff_id=payload["staff_id"],
                organization_name=payload["organization_name"],
                organization_key=payload["organization_key"],
                declared_at=payload["declared_at"],
            )
            .on_conflict_do_nothing(index_elements=["staff_id", "organization_key"])
        )

    def keys_of(self, session: Session, staff_id: uuid.UUID) -> frozenset[str]:
        """The organization keys ``staff_id`` declared a conflict with."""
        return frozenset(
            session.scalars(
                select(self.model.organization_key).where(self.model.staff_id == staff_id)
            )
        )

    def acting(self, session: Session, staff: Any) -> Acting:
        """The signed-in staff member (``g.staff``) with the conflicts this service knows."""
        return Acting.of(staff, conflicts=self.keys_of(session, uuid.UUID(str(staff.user_id))))
