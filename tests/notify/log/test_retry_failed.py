"""The messages that failed for good, and sending them once more (services/notify/log/domain.py
``failed_messages``, ``retry_failed``): the Coordinator's, never shown or retried for an
organization they declared a conflict with, on a rolled-back session."""

from __future__ import annotations

import pytest

from services.notify.log import domain as log
from shared.domain import Forbidden, organization_key
from tests.notify.factories import held_decision_message
from tests.notify.log.helpers import BAKERS, CORA, REFUSED_550, REVIEWER_NOTIFY_CONFLICTS
from tests.shared.factories import acting

pytestmark = pytest.mark.integration


def failed(session, organization: str = ""):
    message = held_decision_message(held=False, session=session)
    message.status, message.attempts, message.last_error = "failed", 5, REFUSED_550
    message.organization_key = organization_key(organization)
    session.flush()
    return message


def test_only_the_coordinator_lists_or_retries_and_nothing_changes_otherwise(rolled_back):
    session = rolled_back("notify")
    message = failed(session)
    for person in (REVIEWER_NOTIFY_CONFLICTS, acting("lee@agency.example", "liaison")):
        with pytest.raises(Forbidden):
            log.failed_messages(session, person)
        with pytest.raises(Forbidden):
            log.retry_failed(session, person, message_ids=[message.id])
    assert (message.status, message.attempts) == ("failed", 5)


def test_a_retry_gives_the_whole_schedule_again_and_keeps_the_last_error(rolled_back):
    session = rolled_back("notify")
    message = failed(session)
    sent = held_decision_message(held=False, session=session)
    assert log.failed_messages(session, CORA) == [message]
    assert log.retry_failed(session, CORA, message_ids=[message.id, sent.id]) == [message.id]
    assert (message.status, message.attempts, message.last_error) == ("pending", 0, REFUSED_550)
    assert sent.status == "pending"  # not failed: passed over
    assert log.failed_messages(session, CORA) == []


def test_a_conflict_hides_the_message_and_refuses_its_retry(rolled_back):
    session = rolled_back("notify")
    theirs, other = failed(session, BAKERS), failed(session)
    conflicted = acting("cora@agency.example", "coordinator", conflicts=[BAKERS])
    assert log.failed_messages(session, conflicted) == [other]
    with pytest.raises(Forbidden):
        log.retry_failed(session, conflicted, message_ids=[theirs.id])
    assert log.retry_failed(session, conflicted) == [other.id]
    assert theirs.status == "failed"
