"""The office rule in notify: a new proposal's alert and an overdue report's escalation go to
the Coordinators of its office, falling back up the tree (services/notify/staff/coordinators.py
``nearest_office_coordinators``); staff of an office read the messages of their offices only
(services/notify/log/domain.py ``of_their_offices``); a moved alliance's messages follow it."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import select

import services.notify.tasks
from services.notify.log import domain as log
from services.notify.models import Message
from services.notify.staff.coordinators import CoordinatorRecipient, nearest_office_coordinators
from services.notify.worker import database as notify_database
from shared.domain import Invalid
from shared.events import new_event
from shared.offices import FEDERAL_OFFICE_TREE
from tests.intake.factories import proposal, submitted_event
from tests.shared.factories import acting

pytestmark = pytest.mark.integration

NIA = CoordinatorRecipient("Nia National", "nia@agency.example", uuid.uuid4(), "national_office")
REX = CoordinatorRecipient("Rex Region", "rex@agency.example", uuid.uuid4(), "region_5")
OLD = CoordinatorRecipient("Olga Older", "olga@agency.example", uuid.uuid4(), "")


@pytest.mark.parametrize(
    ("office", "expected"),
    [
        ("area_lansing", [REX]),  # Lansing has none: its region has
        ("region_5", [REX]),
        ("area_dallas", [NIA, OLD]),  # neither Dallas nor Region VI: the top office's
        ("national_office", [NIA, OLD]),
        ("", [NIA, REX, OLD]),  # an event older than offices: everyone, as before
        ("atlantis", [NIA, REX, OLD]),  # an office the tree no longer has: nobody left out
    ],
)
def test_the_alert_goes_to_the_nearest_office_with_coordinators(office, expected) -> None:
    assert nearest_office_coordinators([NIA, REX, OLD], office, FEDERAL_OFFICE_TREE) == expected


@pytest.fixture
def federal(monkeypatch: pytest.MonkeyPatch, clean_databases: Any, redis_client: Any) -> None:
    monkeypatch.setenv("AGENCY_PROFILE", "federal")
    consume(
        new_event(
            "staff.coordinators_changed",
            producer="review",
            payload={
                "coordinators": [
                    {
                        "id": NIA.staff_id,
                        "name": NIA.name,
                        "email": NIA.email,
                        "office": NIA.office,
                    },
                    {
                        "id": REX.staff_id,
                        "name": REX.name,
                        "email": REX.email,
                        "office": REX.office,
                    },
                ],
                "changed_at": datetime.now(UTC),
            },
        ).to_message()
    )


CONSUMERS = {
    "staff.coordinators_changed": "notify.coordinators_changed",
    "proposal.submitted": "notify.proposal_submitted",
    "report.escalated": "notify.report_escalated",
    "alliance.moved": "notify.alliance_moved",
}


def consume(message: dict[str, Any]) -> None:
    services.notify.tasks.celery.tasks[CONSUMERS[message["type"]]](event=message)


def submitted_at(office: str, name: str) -> dict[str, Any]:
    data = proposal(name, requested_division="area_office")
    data["requested_office"] = office
    message = submitted_event(data).to_message()
    consume(message)
    return message


def escalated(office: str, *, alliance_id: uuid.UUID | None = None) -> dict[str, Any]:
    message = new_event(
        "report.escalated",
        producer="reporting",
        payload={
            "report_id": uuid.uuid4(),
            "alliance_id": alliance_id or uuid.uuid4(),
            "proposal_id": uuid.uuid4(),
            "reference": "AP-2026-00042",
            "partner_name": "Toledo Framers",
            "contact": {"name": "Dana Smith", "email": "dana@example.org"},
            "liaison": {"name": "Lee Liaison", "email": "lee@agency.example"},
            "kind": "annual",
            "term": 0,
            "period_start": date(2026, 1, 15),
            "period_end": date(2027, 1, 14),
            "office": office,
            "due_date": date(2027, 3, 15),
            "reminder": "escalated",
            "days": 30,
        },
    ).to_message()
    consume(message)
    return message


def staff_mail(template: str) -> list[str]:
    with notify_database.transaction() as session:
        return sorted(
            session.scalars(select(Message.to_address).where(Message.template == template))
        )


@pytest.mark.usefixtures("federal")
def test_a_new_proposal_alerts_its_office_s_coordinators_or_the_nearest_above() -> None:
    submitted_at("area_lansing", "Lansing Roofers")
    assert staff_mail("proposal_coordinator_alert") == ["rex@agency.example"]
    submitted_at("area_dallas", "Dallas Welders")
    assert staff_mail("proposal_coordinator_alert") == ["nia@agency.example", "rex@agency.example"]


@pytest.mark.usefixtures("federal")
def test_an_area_office_s_overdue_report_escalates_to_its_region_s_coordinator() -> None:
    escalated("area_toledo")
    assert staff_mail("report_escalated") == ["rex@agency.example"]
    escalated("area_dallas")
    assert staff_mail("report_escalated") == ["nia@agency.example", "rex@agency.example"]


@pytest.mark.usefixtures("federal")
def test_staff_of_an_office_read_the_messages_of_their_offices_only() -> None:
    lansing = submitted_at("area_lansing", "Lansing Roofers")
    dallas = submitted_at("area_dallas", "Dallas Welders")
    toledo_alliance = uuid.uuid4()
    escalated("area_toledo", alliance_id=toledo_alliance)

    def seen_by(person: Any) -> set[str]:
        with notify_database.transaction() as session:
            return {m.reference for m in log.message_log(session, person)}

    lansing_ref, dallas_ref = lansing["payload"]["reference"], dallas["payload"]["reference"]
    rex = acting(REX.email, "coordinator", staff_id=REX.staff_id, office="region_5")
    dee = acting("dee@agency.example", "coordinator", office="region_6")
    nia = acting(NIA.email, "coordinator", staff_id=NIA.staff_id)
    assert seen_by(rex) == {lansing_ref, "AP-2026-00042"}
    assert seen_by(dee) == {dallas_ref}
    assert seen_by(nia) == {lansing_ref, dallas_ref, "AP-2026-00042"}

    # Moved to Dallas, the alliance's messages are Region VI's.
    consume(
        new_event(
            "alliance.moved",
            producer="review",
            payload={
                "alliance_id": toledo_alliance,
                "proposal_id": uuid.uuid4(),
                "reference": "AP-2026-00042",
                "partner_name": "Toledo Framers",
                "from_office": "area_toledo",
                "office": "area_dallas",
                "moved_at": datetime.now(UTC),
            },
        ).to_message()
    )
    assert seen_by(rex) == {lansing_ref}
    assert seen_by(dee) == {dallas_ref, "AP-2026-00042"}


@pytest.mark.usefixtures("federal")
def test_the_national_coordinator_narrows_the_log_to_one_office() -> None:
    lansing = submitted_at("area_lansing", "Lansing Roofers")
    submitted_at("area_dallas", "Dallas Welders")
    nia = acting(NIA.email, "coordinator", staff_id=NIA.staff_id)
    rex = acting(REX.email, "coordinator", staff_id=REX.staff_id, office="region_5")
    with notify_database.transaction() as session:
        region_v = log.log_page(session, nia, office="region_5")
        assert {m.reference for m in region_v.messages} == {lansing["payload"]["reference"]}
        assert "region_6" not in log.office_choices(rex)
        with pytest.raises(Invalid):
            log.log_page(session, rex, office="region_6")
