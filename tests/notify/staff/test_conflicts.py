"""Notify's staff rules (services/notify/log/domain.py), including a mistake once made: a
reviewer who declared a conflict of interest could still list, read and edit the held messages
about that organization's proposal in notify. Conflicts reach notify as review's
``staff.conflict_declared`` event, consumed by ``notify.conflict_declared``."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from services.notify.models import ProcessedEvent, StaffConflict
from services.notify.tasks import conflict_declared
from services.notify.worker import database
from tests.review.factories import conflict_declared_event
from tests.shared.factories import ROOFERS

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clean_databases", "redis_client")]


def test_the_same_conflict_event_twice_stores_one_conflict():
    staff_id = uuid.uuid4()
    event = conflict_declared_event(staff_id).to_message()

    conflict_declared(event=event)
    conflict_declared(event=event)
    conflict_declared(
        event=conflict_declared_event(
            staff_id, "Michigan roofing contractors association"
        ).to_message()
    )

    with database.transaction() as session:
        rows = session.scalars(select(StaffConflict)).all()
        assert [(r.staff_id, r.organization_name, r.organization_key) for r in rows] == [
            (staff_id, ROOFERS, "michigan roofing contractors association")
        ]
        assert len(session.scalars(select(ProcessedEvent)).all()) == 2
