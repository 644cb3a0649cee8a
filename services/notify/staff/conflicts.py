"""Notify's copy of the conflicts of interest staff declared in review, and who is acting.

Review records a declaration and announces it (``staff.conflict_declared``); the consumer
``notify.conflict_declared`` keeps it here, so that ``acting`` carries a staff member's
conflicts into every rule of ``services/notify/log/domain.py``.
"""

from __future__ import annotations

from flask import g
from sqlalchemy.orm import Session

from services.notify.models import StaffConflict
from services.notify.worker import database
from shared.conflicts import StaffConflicts
from shared.domain import Acting
from shared.web import request_session

COPY = StaffConflicts(StaffConflict)
record = COPY.record
keys_of = COPY.keys_of
acting = COPY.acting


def in_request() -> tuple[Session, Acting]:
    """The request's session (``shared.web.request_session``) and the signed-in staff member
    acting in it: what every page and API call of notify starts with."""
    session = request_session(database)
    return session, acting(session, g.staff)
