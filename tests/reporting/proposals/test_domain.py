"""Proposals by status and by state on the Coordinator's dashboard, on PostgreSQL: reporting's
consumers of intake's ``proposal.submitted`` / ``proposal.resubmitted`` and review's
decisions keep each proposal's latest status and its organization's state; a redelivered
event or an event of an older version changes nothing."""

from __future__ import annotations

import re
import uuid
from collections import Counter
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import select

from services.reporting import create_app
from services.reporting.figures import domain as figures
from services.reporting.proposals.models import ReportingProposal
from services.reporting.schedules.domain import rules_from_settings
from services.reporting.worker import database
from shared.events import Event, new_event
from tests.intake.factories import proposal, submitted_event
from tests.reporting.factories import run_reporting_task as run_task
from tests.review.factories import LIAISON, acting_as
from tests.shared.factories import COORDINATOR, signed_in

pytestmark = pytest.mark.integration

CONSUMERS = {
    "proposal.submitted": "reporting.proposal_submitted",
    "proposal.resubmitted": "reporting.proposal_resubmitted",
    "proposal.changes_requested": "reporting.changes_requested",
    "proposal.declined": "reporting.proposal_declined",
    "proposal.approved": "reporting.proposal_approved",
}
AT = datetime(2026, 6, 1, 15, tzinfo=UTC)


def deliver(event: Event) -> None:
    run_task(CONSUMERS[event.type], event)


def submitted(state: str, *, proposal_id: uuid.UUID | None = None, version: int = 1) -> Event:
    return submitted_event(
        proposal(state=state),
        proposal_id=proposal_id or uuid.uuid4(),
        version=version,
        reference=f"AP-2026-{version}{state}",
    )


def decided(submission: Event, event_type: str, *, version: int | None = None) -> Event:
    """Review's decision on ``submission``'s proposal (its version unless ``version``)."""
    payload: dict[str, Any] = {
        "proposal_id": submission.payload["proposal_id"],
        "reference": submission.payload["reference"],
        "version": version or submission.payload["version"],
        "contact_email": "pat@roofers.example",
    }
    if event_type == "proposal.changes_requested":
        payload |= {"message": "Tell us more.", "requested_at": AT}
    elif event_type == "proposal.declined":
        payload |= {"reason": "Out of scope.", "decided_at": AT}
    else:
        payload |= {
            "alliance_id": uuid.uuid4(),
            "division": "construction_safety_health",
            "signing_date": date(2026, 6, 1),
            "term_years": 3,
            "decided_at": AT,
        }
    return new_event(event_type, producer="review", payload=payload)


def stored() -> dict[uuid.UUID, tuple[str, str, int]]:
    with database.transaction() as session:
        return {
            p.proposal_id: (p.state, p.status, p.version)
            for p in session.scalars(select(ReportingProposal))
        }


def the_dashboard() -> figures.Dashboard:
    with database.transaction() as session:
        return figures.dashboard(
            session,
            acting=COORDINATOR,
            now=AT,
            rules=rules_from_settings(),
            divisions=["construction_safety_health"],
        )


@pytest.fixture
def delivered(clean_databases: Any, redis_client: Any) -> dict[str, Event]:
    """Five proposals: Michigan's first asked for changes, resubmitted and approved; its second
    waits in review; Ohio's first declined, its second asked for changes; Texas's approval
    arrives before its submission."""
    first = submitted("MI")
    changes = decided(first, "proposal.changes_requested")
    second_version = submitted("MI", proposal_id=first.payload["proposal_id"], version=2)
    approved = decided(second_version, "proposal.approved")
    waiting = submitted("MI")
    ohio = submitted("OH")
    ohio_changes = submitted("OH")
    texas = submitted("TX")
    for event in (
        first,
        changes,
        second_version,
        approved,
        waiting,
        ohio,
        decided(ohio, "proposal.declined"),
        ohio_changes,
        decided(ohio_changes, "proposal.changes_requested"),
        decided(texas, "proposal.approved"),
        texas,
    ):
        deliver(event)
    return {"first": first, "changes": changes, "approved": approved, "texas": texas}


def test_the_dashboard_counts_proposals_by_status_and_by_state(delivered):
    found = the_dashboard()
    assert found.proposals_by_status == [
        ("submitted", 1),
        ("changes_requested", 1),
        ("declined", 1),
        ("approved", 2),
    ]
    assert found.proposals_by_state == [
        ("MI", Counter(approved=1, submitted=1)),
        ("OH", Counter(declined=1, changes_requested=1)),
        ("TX", Counter(approved=1)),
    ]
    first = stored()[delivered["first"].payload["proposal_id"]]
    assert first == ("MI", "approved", 2)

    page = signed_in(create_app({"TESTING": True}), COORDINATOR).get("/staff/dashboard")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert '<title id="status-chart-title">Proposals by status</title>' in text
    assert '<title id="state-chart-title">Proposals by state</title>' in text
    assert '<tr><th scope="row">Submitted (in review)</th><td>1</td></tr>' in text
    assert '<tr><th scope="row">Changes requested</th><td>1</td></tr>' in text
    assert '<tr><th scope="row">Declined</th><td>1</td></tr>' in text
    assert '<tr><th scope="row">Approved</th><td>2</td></tr>' in text
    rows = {
        state: [int(n) for n in re.findall(r"<td>(\d+)</td>", cells)]
        for state, cells in re.findall(r'<tr><th scope="row">([A-Z]{2})</th>(.*?)</tr>', text)
    }
    # state: total, submitted, changes requested, declined, approved
    assert rows == {"MI": [2, 1, 0, 0, 1], "OH": [2, 0, 1, 1, 0], "TX": [1, 0, 0, 0, 1]}
    # Only the Coordinator sees the figures.
    refused = signed_in(create_app({"TESTING": True}), acting_as(LIAISON)).get("/staff/dashboard")
    assert refused.status_code == 403


def test_a_redelivered_or_older_event_changes_nothing(delivered):
    before = stored()
    figures_before = the_dashboard()
    first = delivered["first"]
    # The same events again (redelivered): already processed.
    deliver(delivered["changes"])
    deliver(first)
    deliver(delivered["texas"])
    # New events about an older version: the proposal is already past them.
    deliver(decided(first, "proposal.changes_requested"))
    deliver(decided(first, "proposal.declined"))
    deliver(submitted("MI", proposal_id=first.payload["proposal_id"], version=1))
    # The same version's submission after its decision.
    deliver(submitted("MI", proposal_id=first.payload["proposal_id"], version=2))
    assert stored() == before
    after = the_dashboard()
    assert after.proposals_by_status == figures_before.proposals_by_status
    assert after.proposals_by_state == figures_before.proposals_by_state


def test_no_proposal_yet_shows_zeros_and_an_empty_table(clean_databases, redis_client):
    found = the_dashboard()
    assert [count for _status, count in found.proposals_by_status] == [0, 0, 0, 0]
    assert found.proposals_by_state == []
    page = signed_in(create_app({"TESTING": True}), COORDINATOR).get("/staff/dashboard")
    assert "No proposal has been received yet." in page.get_data(as_text=True)
