"""Notify's copy of the conflicts of interest staff declared in review, and who is acting.

Review records a declaration and announces it (``staff.conflict_declared``); the consumer
``notify.conflict_declared`` keeps it here, so that ``acting`` carries a staff member's
conflicts into every rule of ``services/notify/domain.py``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from flask import g
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from services.notify.models import StaffConflict
from services.notify.worker import database
from shared.domain import Acting
from shared.web import request_session


def record(
    session: Session,
    *,
    staff_id: uuid.UUID,
    organization_name: str,
    organization_key: str,
    declared_at: datetime,
) -> None:
    """Keep a declared conflict; one row per staff member and organization however often
    it is announced."""
    session.execute(
        insert(StaffConflict)
        .values(
            staff_id=staff_id,
            organization_name=organization_name,
            organization_key=organization_key,
            declared_at=declared_at,
        )
        .on_conflict_do_nothing(index_elements=["staff_id", "organization_key"])
    )


def keys_of(session: Session, staff_id: uuid.UUID) -> frozenset[str]:
    """The organization keys ``staff_id`` declared a conflict with."""
    return frozenset(
        session.scalars(
            select(StaffConflict.organization_key).where(StaffConflict.staff_id == staff_id)
        )
    )


def acting(session: Session, staff: Any) -> Acting:
    """The signed-in staff member (``g.staff``) with the conflicts notify knows of."""
    return Acting.of(staff, conflicts=keys_of(session, uuid.UUID(str(staff.user_id))))


def in_request() -> tuple[Session, Acting]:
    """The request's session (``shared.web.request_session``) and the signed-in staff member
    acting in it: what every page and API call of notify starts with."""
    session = request_session(database)
    return session, acting(session, g.staff)
