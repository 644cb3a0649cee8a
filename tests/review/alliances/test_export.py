"""The alliances' export (services/review/alliances/domain.py ``export_rows``): what
``list_alliances`` shows the person, one row each in the agency's words, formula-safe for a
spreadsheet; on a rolled-back session."""

from __future__ import annotations

from datetime import date

import pytest

from services.review.alliances import domain as agreements
from shared.domain import Forbidden
from tests.review.factories import LIAISON, approved_alliance, signed_alliance
from tests.shared.factories import COORDINATOR, acting

pytestmark = pytest.mark.integration


def test_each_alliance_in_the_agencys_words_and_formula_safe(rolled_back):
    session = rolled_back("review")
    signed = signed_alliance("+Roofers", signing_date=date(2025, 3, 1), session=session)
    waiting = approved_alliance("Bakers", session=session)
    header, *rows = agreements.export_rows(session, acting=COORDINATOR)
    shown = {row[1]: dict(zip(header, row, strict=True)) for row in rows}
    assert set(shown) == {"'+Roofers", "Bakers"}
    assert shown["'+Roofers"] | {"agreement number": ""} == {
        "agreement number": "",
        "partner": "'+Roofers",
        "organization type": "Trade association",
        "city": "Lansing",
        "state": "MI",
        "website": "https://example.org",
        "division": "Construction Safety & Health",
        "office": "Construction Safety & Health",
        "status": "Active",
        "signing date": "2025-03-01",
        "term years": "2",
        "ends on": "2027-02-28",
        "renewals": "0",
        "ended on": "",
        "liaison": LIAISON.name,
        "liaison e-mail": LIAISON.email,
        "contact": "Dana Smith",
        "contact e-mail": "dana@example.org",
        "hazards": "Falls, Heat illness",
    }
    assert shown["'+Roofers"]["agreement number"] == signed.reference
    assert (shown["Bakers"]["status"], shown["Bakers"]["signing date"]) == (
        "Awaiting signature",
        "",
    )
    assert waiting.reference in {row[0] for row in rows}
    plain = agreements.export_rows(session, acting=COORDINATOR, for_spreadsheet=False)
    assert "+Roofers" in {row[1] for row in plain}


def test_only_staff_export(rolled_back):
    session = rolled_back("review")
    with pytest.raises(Forbidden):
        agreements.export_rows(session, acting=acting("someone@example.org"))
