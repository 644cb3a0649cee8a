"""What the dashboard tests (domain and pages) share: the divisions, partners seeded with a
submitted report, the people they reached, and the pinned clock of the reporting pages."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from services.reporting.alliances.models import Alliance
from services.reporting.figures import domain as figures
from services.reporting.proposals.models import ReportingProposal
from services.reporting.reports.content import FIELDS
from services.reporting.worker import database
from tests.intake.factories import proposal, submitted_event
from tests.reporting.conflicts.test_domain import Partner
from tests.reporting.evaluations.test_views import content, submit
from tests.reporting.factories import run_reporting_task, signed_with_an_annual_report

CONSTRUCTION = "construction_safety_health"
GENERAL = "general_industry_safety_health"
DIVISIONS = [CONSTRUCTION, GENERAL]
DETROIT = ZoneInfo("America/Detroit")


def seed(name: str, liaison: Any, *, division: str, area: str, reached: int, state: str) -> Partner:
    """An alliance signed January 15, 2024 with its first annual report submitted, and a
    proposal of the same organization in review."""
    signed, report_id = signed_with_an_annual_report(name, liaison, division=division)
    alliance_id = signed.payload["alliance_id"]
    body = content(reached=reached, area=area)
    # Whatever a meeting row asks for besides its date.
    body["meetings"] = [
        {field: "2024-03-01" if field == "date" else "Kick-off" for field in FIELDS["meetings"]}
    ]
    submit(report_id, body)
    run_reporting_task(
        "reporting.proposal_submitted",
        submitted_event(proposal(name, state=state), reference=signed.payload["reference"]),
    )
    return Partner(alliance_id, report_id, ())


def people(found: figures.Dashboard) -> list[tuple[int, str, int, int]]:
    return [(p.year, p.emphasis_area, p.reached, p.trained) for p in found.people]


def approve_into(partner: Partner, organization: str, *, recorded: datetime) -> None:
    """Reporting's copy of the proposal that became ``partner``'s alliance, approved (its
    latest status recorded at ``recorded``); the in-review proposal moved to 2023."""
    with database.transaction() as session:
        alliance = session.get(Alliance, partner.alliance_id)
        assert alliance is not None
        session.add(
            ReportingProposal(
                proposal_id=uuid.UUID(str(alliance.signed["proposal_id"])),
                reference=alliance.reference,
                organization_name=organization,
                state="MI",
                status="approved",
                version=1,
                updated_at=recorded,
            )
        )


def local(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=DETROIT).astimezone(UTC)


NOW_REPORTING_PAGES = local(date(2026, 12, 1))  # 2026's reports are due or overdue, 2027's not yet
