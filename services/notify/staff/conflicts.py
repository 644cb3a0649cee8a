"""Notify's copy of the conflicts of interest staff declared in review.

Review records a declaration and announces it (``staff.conflict_declared``); the consumer
``notify.conflict_declared`` keeps it here (``record``), and notify's app factory names
``keys_of`` as its conflicts lookup, so that ``shared.web.current_acting()`` carries a staff
member's conflicts into every rule of ``services/notify/log/domain.py`` and the webhooks'.
"""

from __future__ import annotations

from services.notify.models import StaffConflict
from shared.conflicts import StaffConflicts

COPY = StaffConflicts(StaffConflict)
record = COPY.record
keys_of = COPY.keys_of
acting = COPY.acting
