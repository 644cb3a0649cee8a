"""The office rule in review, rule by rule (shared/offices.py; services/review/people.py
``scope``, ``check_office``): staff see and act for their office and the offices under it, the
top office everything; a liaison keeps their own alliances wherever they are; moving an
alliance is audited and announced."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import select

from services.review.alliances import domain as agreements
from services.review.alliances.models import Alliance
from services.review.base import AuditEntry, OutboxEvent
from services.review.decisions import domain as decisions
from services.review.directory import domain as directory
from services.review.queue import domain as queue
from services.review.staff import domain as accounts
from services.review.worker import outbox as review_outbox
from shared.config import load_settings
from shared.domain import Forbidden, Invalid
from tests.intake.factories import proposal
from tests.review.factories import (
    LIAISON,
    liaison_lookup,
    prepared_decision,
    queued_proposal,
    release_decisions,
    staff_member,
)
from tests.shared.factories import acting

pytestmark = pytest.mark.integration

NATIONAL = acting("nia@agency.example", "coordinator", name="Nia National")
REGION_V = acting("rex@agency.example", "coordinator", name="Rex Region", office="region_5")
LANSING_REVIEWER = acting(
    "lou@agency.example", "reviewer", name="Lou Lansing", office="area_lansing"
)
REGION_VI = acting("dee@agency.example", "coordinator", name="Dee Dallas", office="region_6")


@pytest.fixture(autouse=True)
def federal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENCY_PROFILE", "federal")


def at_office(session: Any, name: str, office: str, level: str = "area_office") -> uuid.UUID:
    data = proposal(name, requested_division=level)
    data["requested_office"] = office
    return queued_proposal(data, session=session).proposal_id


def approve(session: Any, proposal_id: uuid.UUID, *, by=NATIONAL) -> Any:
    details = {"division": "area_office", "liaison_id": str(LIAISON.id)}
    decision = prepared_decision(proposal_id, "approved", details, by=by, session=session)
    release_decisions(decision.id, by=by, session=session)
    return session.scalars(select(Alliance).where(Alliance.proposal_id == proposal_id)).one()


def names(proposals: list[Any]) -> list[str]:
    return sorted(p.organization_name for p in proposals)


def test_the_queue_shows_each_person_the_proposals_of_their_offices(rolled_back) -> None:
    session = rolled_back("review")
    at_office(session, "Lansing Roofers", "area_lansing")
    at_office(session, "Chicago Framers", "region_5", "regional_office")
    at_office(session, "Dallas Welders", "area_dallas")
    at_office(session, "National Masons", "national_office", "national_office")

    assert names(queue.list_queue(session, acting=NATIONAL)) == [
        "Chicago Framers",
        "Dallas Welders",
        "Lansing Roofers",
        "National Masons",
    ]
    assert names(queue.list_queue(session, acting=REGION_V)) == [
        "Chicago Framers",
        "Lansing Roofers",
    ]
    assert names(queue.list_queue(session, acting=LANSING_REVIEWER)) == ["Lansing Roofers"]
    # The figures above the queue count the same proposals.
    assert queue.progress(session, acting=REGION_V).waiting == 2
    # The national coordinator narrows the queue to an office and those under it.
    only_v = queue.QueueFilters(office="region_5")
    assert names(queue.list_queue(session, acting=NATIONAL, filters=only_v)) == [
        "Chicago Framers",
        "Lansing Roofers",
    ]


def test_a_proposal_of_another_office_is_refused_by_name(rolled_back) -> None:
    session = rolled_back("review")
    dallas = at_office(session, "Dallas Welders", "area_dallas")

    with pytest.raises(Forbidden, match="belongs to Dallas Area Office, outside Region V"):
        queue.proposal_file(session, acting=REGION_V, proposal_id=dallas)
    with pytest.raises(Forbidden):
        prepared_decision(dallas, by=REGION_V, session=session)
    assert queue.proposal_file(session, acting=REGION_VI, proposal_id=dallas).queued.office == (
        "area_dallas"
    )


def test_decisions_waiting_and_their_release_keep_to_the_office(rolled_back) -> None:
    session = rolled_back("review")
    dallas = prepared_decision(at_office(session, "Dallas Welders", "area_dallas"), session=session)
    lansing = prepared_decision(
        at_office(session, "Lansing Roofers", "area_lansing"), session=session
    )

    waiting = decisions.pending(session, acting=REGION_V)
    assert [item.proposal.organization_name for item in waiting] == ["Lansing Roofers"]
    with pytest.raises(Forbidden):
        release_decisions(dallas.id, by=REGION_V, session=session)
    assert [d.id for d in release_decisions(lansing.id, by=REGION_V, session=session)] == [
        lansing.id
    ]


def test_an_alliance_belongs_to_its_proposal_s_office_and_is_read_there(rolled_back) -> None:
    session = rolled_back("review")
    lansing = approve(session, at_office(session, "Lansing Roofers", "area_lansing"))
    dallas = approve(session, at_office(session, "Dallas Welders", "area_dallas"))
    assert (lansing.office, dallas.office) == ("area_lansing", "area_dallas")

    assert [a.partner_name for a in agreements.list_alliances(session, acting=REGION_V)] == [
        "Lansing Roofers"
    ]
    with pytest.raises(Forbidden, match="This alliance belongs to Dallas Area Office"):
        agreements.read_alliance(session, alliance_id=dallas.id, acting=REGION_V)
    # The liaison keeps their own alliances whatever office they belong to.
    liaison = acting(LIAISON.email, "liaison", staff_id=LIAISON.id, office="area_lansing")
    assert agreements.read_alliance(session, alliance_id=dallas.id, acting=liaison) is dallas
    listed = agreements.list_alliances(session, acting=liaison)
    assert {a.partner_name for a in listed} == {"Lansing Roofers", "Dallas Welders"}
    # The approval's event names the office, for reporting and notify.
    approved = [
        row.message["payload"]
        for row in session.scalars(
            select(OutboxEvent).where(OutboxEvent.type == "proposal.approved")
        )
    ]
    assert sorted(p["office"] for p in approved) == ["area_dallas", "area_lansing"]


def test_moving_an_alliance_is_audited_and_announced(rolled_back) -> None:
    session = rolled_back("review")
    alliance = approve(session, at_office(session, "Lansing Roofers", "area_lansing"))

    agreements.move_to_office(
        session,
        acting=REGION_V,
        alliance_id=alliance.id,
        office="area_toledo",
        reason="The partner's members are in northwest Ohio.",
        outbox=review_outbox,
    )

    assert alliance.office == "area_toledo"
    [entry] = session.scalars(
        select(AuditEntry).where(
            AuditEntry.entity_id == str(alliance.id),
            AuditEntry.action == "moved to another office",
        )
    ).all()
    assert entry.changes == {"office": ["Lansing Area Office", "Toledo Area Office"]}
    assert entry.note == "The partner's members are in northwest Ohio."
    [moved] = session.scalars(select(OutboxEvent).where(OutboxEvent.type == "alliance.moved")).all()
    assert {k: moved.message["payload"][k] for k in ("from_office", "office", "moved_by")} == {
        "from_office": "area_lansing",
        "office": "area_toledo",
        "moved_by": "Rex Region",
    }


@pytest.mark.parametrize(
    ("office", "reason", "field", "message"),
    [
        ("area_dallas", "Closer to the members.", "office", "outside Region V"),
        ("area_atlantis", "Closer to the members.", "office", "Choose one of the agency's"),
        ("area_lansing", "Closer to the members.", "office", "at Lansing Area Office already"),
        ("area_toledo", "  ", "reason", "Say why"),
    ],
)
def test_a_move_that_is_not_theirs_to_make_is_refused_and_changes_nothing(
    rolled_back, office: str, reason: str, field: str, message: str
) -> None:
    session = rolled_back("review")
    alliance = approve(session, at_office(session, "Lansing Roofers", "area_lansing"))

    with pytest.raises(Invalid, match=message) as refused:
        agreements.move_to_office(
            session,
            acting=REGION_V,
            alliance_id=alliance.id,
            office=office,
            reason=reason,
            outbox=review_outbox,
        )
    assert list(refused.value.errors) == [field]
    assert alliance.office == "area_lansing"
    assert (
        session.scalars(select(OutboxEvent).where(OutboxEvent.type == "alliance.moved")).all() == []
    )


def test_a_coordinator_of_another_office_may_not_move_it_at_all(rolled_back) -> None:
    session = rolled_back("review")
    alliance = approve(session, at_office(session, "Lansing Roofers", "area_lansing"))
    with pytest.raises(Forbidden):
        agreements.move_to_office(
            session,
            acting=REGION_VI,
            alliance_id=alliance.id,
            office="area_dallas",
            reason="Ours now.",
            outbox=review_outbox,
        )


def test_a_coordinator_manages_the_people_of_their_offices_only(rolled_back) -> None:
    session = rolled_back("review")
    rex = staff_member("rex@agency.example", "coordinator", session=session)
    rex.office = "region_5"
    settings = load_settings()
    as_rex = acting(rex.email, "coordinator", staff_id=rex.id, office="region_5")

    lou = accounts.create_staff(
        session,
        acting=as_rex,
        email="lou@agency.example",
        name="Lou Lansing",
        roles=["reviewer"],
        password="correct horse battery staple",
        office="area_lansing",
        settings=settings,
    )
    # None named: the Coordinator's own office.
    mae = accounts.create_staff(
        session,
        acting=as_rex,
        email="mae@agency.example",
        name="Mae Midwest",
        roles=["liaison"],
        password="correct horse battery staple",
        settings=settings,
    )
    assert (lou.office, mae.office) == ("area_lansing", "region_5")
    with pytest.raises(Invalid, match="outside your office") as refused:
        accounts.create_staff(
            session,
            acting=as_rex,
            email="dee@agency.example",
            name="Dee Dallas",
            roles=["reviewer"],
            password="correct horse battery staple",
            office="region_6",
            settings=settings,
        )
    assert list(refused.value.errors) == ["office"]
    national_staff = staff_member("nat@agency.example", session=session)
    assert {p.email for p in accounts.list_people(session, acting=as_rex)} == {
        "rex@agency.example",
        "lou@agency.example",
        "mae@agency.example",
    }
    with pytest.raises(Forbidden):
        accounts.change_roles(session, acting=as_rex, user_id=national_staff.id, roles=["liaison"])


def test_a_coordinator_s_office_travels_with_the_announcement(rolled_back) -> None:
    session = rolled_back("review")
    rex = staff_member("rex@agency.example", "coordinator", session=session)
    rex.office = "region_5"
    nia = staff_member("nia@agency.example", "coordinator", session=session)
    listed = accounts.coordinators_changed_event_payload(session)["coordinators"]
    assert sorted((c["email"], c["office"]) for c in listed) == [  # type: ignore[attr-defined]
        ("nia@agency.example", "national_office"),
        ("rex@agency.example", "region_5"),
    ]
    accounts.change_office(
        session,
        acting=acting(nia.email, "coordinator", staff_id=nia.id),
        user_id=rex.id,
        office="area_lansing",
    )
    assert rex.office == "area_lansing"
    assert liaison_lookup(session)(LIAISON.id) == LIAISON


def test_the_public_directory_names_each_alliance_s_office_and_lists_one_office_s(
    rolled_back,
) -> None:
    session = rolled_back("review")
    for name, office in (("Lansing Roofers", "area_lansing"), ("Dallas Welders", "area_dallas")):
        alliance = approve(session, at_office(session, name, office))
        alliance.created_at = datetime(2026, 1, 10, 12, tzinfo=UTC)  # approved before signing
        agreements.record_signing(
            session,
            acting=NATIONAL,
            alliance_id=alliance.id,
            signing_date=date(2026, 1, 15),
            term_years=None,
            outbox=review_outbox,
            today=date(2026, 1, 15),
        )
    today = date(2026, 6, 1)

    listing = directory.public_directory(session, today=today)
    assert [(a.partner_name, a.office_name) for a in listing.alliances] == [
        ("Dallas Welders", "Dallas Area Office"),
        ("Lansing Roofers", "Lansing Area Office"),
    ]
    # Offered: the offices with an alliance listed, and those above them.
    assert list(listing.offices) == ["region_5", "region_6", "area_lansing", "area_dallas"]
    region_v = directory.public_directory(session, today=today, office="region_5")
    assert [a.partner_name for a in region_v.alliances] == ["Lansing Roofers"]
    with pytest.raises(Invalid) as refused:
        directory.public_directory(session, today=today, office="region_99")
    assert list(refused.value.errors) == ["office"]
