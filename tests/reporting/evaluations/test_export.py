"""The evaluations' export (services/reporting/evaluations/domain.py ``export_rows``): one row
per rated requirement; the Coordinator's every alliance, a liaison's own, nobody else's; a
partner hidden by a conflict is left out with a note; on a rolled-back session."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from services.reporting.alliances.domain import record_signed
from services.reporting.evaluations import domain as evaluations
from shared.domain import Forbidden
from tests.reporting.evaluations.helpers import AT, ENDS, SIGNED
from tests.review.factories import LIAISON, OTHER_LIAISON, acting_as, alliance_signed_event
from tests.shared.factories import COORDINATOR, REVIEWER, acting

pytestmark = pytest.mark.integration

DETROIT = ZoneInfo("America/Detroit")


def evaluated(session, name: str, liaison=LIAISON) -> str:
    event = alliance_signed_event(name, signing_date=SIGNED, ends_on=ENDS)
    event.payload["liaison"] = {"id": liaison.id, "name": liaison.name, "email": liaison.email}
    record_signed(session, event=event)
    evaluations.record_evaluation(
        session,
        acting=COORDINATOR,
        alliance_id=event.payload["alliance_id"],
        term=0,
        year=1,
        ratings={
            key: {"rating": "not_applicable", "justification": ""}
            for key in evaluations.REQUIREMENTS
        }
        | {"team_meets": {"rating": "meets_in_part", "justification": "=Twice, not four times"}},
        at=AT,
    )
    return event.payload["reference"]


def test_one_row_per_requirement_for_the_coordinator_in_the_agencys_words(rolled_back):
    session = rolled_back("reporting")
    reference = evaluated(session, "Roofers")
    header, first, *rest = evaluations.export_rows(session, acting=COORDINATOR, timezone=DETROIT)
    assert header == list(evaluations.CSV_HEADER)
    assert first == [
        reference,
        "Roofers",
        "Construction Safety & Health",
        "Initial term",
        "1",
        "The implementation team meets regularly",
        "Meets in part",
        "'=Twice, not four times",
        "Cora",
        "2026-06-01 11:00 EDT",
        "",
    ]
    assert len(rest) == len(evaluations.REQUIREMENTS) - 1
    plain = evaluations.export_rows(
        session, acting=COORDINATOR, timezone=DETROIT, for_spreadsheet=False
    )
    assert plain[1][7] == "=Twice, not four times"


def test_a_liaison_gets_their_own_a_conflict_leaves_one_out_and_a_reviewer_nothing(rolled_back):
    session = rolled_back("reporting")
    evaluated(session, "Roofers")
    evaluated(session, "Bakers", liaison=OTHER_LIAISON)
    mine = evaluations.export_rows(session, acting=acting_as(LIAISON), timezone=DETROIT)
    assert {row[1] for row in mine[1:]} == {"Roofers"}
    conflicted = acting("cora@agency.example", "coordinator", conflicts=["Bakers"])
    rows = evaluations.export_rows(session, acting=conflicted, timezone=DETROIT)
    assert {row[1] for row in rows[1:-1]} == {"Roofers"}
    assert rows[-1][0] == "Note: 1 alliance left out because you declared a conflict of interest."
    with pytest.raises(Forbidden):
        evaluations.export_rows(session, acting=REVIEWER, timezone=DETROIT)
