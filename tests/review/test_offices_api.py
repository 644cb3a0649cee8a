"""The office rule over review's staff JSON API, signed in as real accounts: a Region V
Coordinator's queue, proposals and alliances are Region V's (its area offices included);
another region's are refused by name (403, nothing changed); the national Coordinator reads
every region; an office filter outside one's own offices is a 422 naming the field."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from services.review.alliances.models import Alliance
from services.review.worker import database
from tests.intake.factories import proposal
from tests.review.factories import (
    LIAISON,
    prepared_decision,
    queued_proposal,
    release_decisions,
    staff_member,
)
from tests.shared.factories import acting, signed_in

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clean_databases")]


@pytest.fixture(autouse=True)
def federal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENCY_PROFILE", "federal")


def at_office(name: str, office: str, level: str = "area_office") -> Any:
    data = proposal(name, requested_division=level)
    data["requested_office"] = office
    return queued_proposal(data).proposal_id


def coordinator(email: str, office: str | None) -> Any:
    with database.transaction() as session:
        person = staff_member(email, "coordinator", session=session)
        person.office = office
        session.flush()
        session.expunge(person)
        return person


def test_a_region_s_coordinator_reads_its_region_over_the_api_and_no_other(review_app):
    national = coordinator("nia@agency.example", None)
    region_v = coordinator("rex@agency.example", "region_5")
    deciding = acting(national.email, "coordinator", staff_id=national.id, name=national.name)
    toledo = at_office("Toledo Roofers", "area_toledo")
    dallas = at_office("Dallas Welders", "area_dallas")
    with database.transaction() as session:
        for proposal_id in (toledo, dallas):
            details = {"division": "area_office", "liaison_id": str(LIAISON.id)}
            decision = prepared_decision(
                proposal_id, "approved", details, by=deciding, session=session
            )
            release_decisions(decision.id, by=deciding, session=session)
        alliance_of = {a.proposal_id: a.id for a in session.scalars(select(Alliance)).all()}
    chicago = at_office("Chicago Framers", "region_5", "regional_office")
    houston = at_office("Houston Masons", "area_houston_north")

    rex = signed_in(review_app, region_v)
    queue = rex.get("/api/v1/queue").get_json()
    assert [p["organization"]["name"] for p in queue["proposals"]] == ["Chicago Framers"]
    assert rex.get(f"/api/v1/proposals/{chicago}").status_code == 200
    refused = rex.get(f"/api/v1/proposals/{houston}")
    assert refused.status_code == 403
    assert "Houston North Area Office" in str(refused.get_json()["errors"])

    listed = rex.get("/api/v1/alliances").get_json()
    assert [a["partner_name"] for a in listed["alliances"]] == ["Toledo Roofers"]
    assert rex.get(f"/api/v1/alliances/{alliance_of[toledo]}").status_code == 200
    refused = rex.get(f"/api/v1/alliances/{alliance_of[dallas]}")
    assert refused.status_code == 403
    assert "Dallas Area Office, outside Region V" in str(refused.get_json()["errors"])
    # Moving another region's alliance is refused and changes nothing.
    moved = rex.post(
        f"/api/v1/alliances/{alliance_of[dallas]}/office",
        json={"office": "region_5", "reason": "Closer to us"},
    )
    assert moved.status_code == 403
    with database.transaction() as session:
        assert session.get(Alliance, alliance_of[dallas]).office == "area_dallas"

    wrong_filter = rex.get("/api/v1/alliances?office=region_6")
    assert wrong_filter.status_code == 422
    assert "office" in wrong_filter.get_json()["errors"]

    nia = signed_in(review_app, national)
    every = nia.get("/api/v1/alliances").get_json()
    assert sorted(a["partner_name"] for a in every["alliances"]) == [
        "Dallas Welders",
        "Toledo Roofers",
    ]
    narrowed = nia.get("/api/v1/alliances?office=region_5").get_json()
    assert [a["partner_name"] for a in narrowed["alliances"]] == ["Toledo Roofers"]
    assert sorted(
        p["organization"]["name"] for p in nia.get("/api/v1/queue").get_json()["proposals"]
    ) == ["Chicago Framers", "Houston Masons"]
