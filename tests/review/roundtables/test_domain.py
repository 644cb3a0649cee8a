"""The public directory and roundtable membership over time, on real PostgreSQL: each test
in a transaction rolled back after it (``session``), but the one over HTTP."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from services.review import audit
from services.review.alliances import domain as agreements
from services.review.alliances.models import Roundtable, RoundtableMembership
from services.review.base import AuditEntry
from services.review.directory import domain as directory
from services.review.directory.schemas import DirectoryOut
from services.review.roundtables import domain as roundtables
from shared.domain import Conflict, Forbidden, Invalid
from tests.review.factories import (
    LIAISON,
    OTHER_LIAISON,
    acting_as,
    agency_today,
    join,
    roundtable,
)
from tests.shared.factories import COORDINATOR, REVIEWER

pytestmark = pytest.mark.integration


def leave(session, roundtable_id, membership_id, left_on, today=None):
    roundtables.leave(
        session,
        roundtable_id=roundtable_id,
        membership_id=membership_id,
        left_on=left_on,
        acting=COORDINATOR,
        today=today if today is not None else agency_today(),
    )


def members_on(session, day):
    return sorted(
        (r.name, a.partner_name) for _, r, a in roundtables.current_memberships(session, day=day)
    )


def test_membership_is_kept_over_time(session, program):
    today = program["today"]
    hazcom, roofers = program["hazcom"], program["roofers"]
    day = today - timedelta(days=150)
    first = join(session, hazcom, roofers, day)
    leave(session, hazcom, first, day + timedelta(days=20))

    assert ("Hazard Communication Roundtable", "Roofers Association") in members_on(
        session, day + timedelta(days=20)
    )
    assert ("Hazard Communication Roundtable", "Roofers Association") not in members_on(
        session, day + timedelta(days=21)
    )
    with pytest.raises(Invalid, match="join again from the next day"):
        join(session, hazcom, roofers, day + timedelta(days=20))
    second = join(session, hazcom, roofers, day + timedelta(days=30))
    with pytest.raises(Conflict, match="is a member of Hazard Communication"):
        join(session, hazcom, roofers, today)
    with pytest.raises(Invalid, match="it leaves on or after that day"):
        leave(session, hazcom, second, day)
    leave(session, hazcom, second, today)
    with pytest.raises(Conflict, match="This membership ended on"):
        leave(session, hazcom, second, today)

    session.flush()
    session.expire_all()
    kept = [
        (m.joined_on, m.left_on)
        for m, a in roundtables.memberships(session, roundtable_id=hazcom, alliance_id=roofers)
    ]
    assert kept == [(day, day + timedelta(days=20)), (day + timedelta(days=30), today)]
    entries = [
        (e.action, e.changes)
        for e in audit.history(session, entity_type="alliance", entity_id=roofers)
        if e.note.startswith((f"membership {first}", f"membership {second}"))
    ]
    assert entries == [
        ("joined roundtable", {"joined_on": [None, str(day)]}),
        ("left roundtable", {"left_on": [None, str(day + timedelta(days=20))]}),
        ("joined roundtable", {"joined_on": [None, str(day + timedelta(days=30))]}),
        ("left roundtable", {"left_on": [None, str(today)]}),
    ]
    assert members_on(session, today + timedelta(days=1)) == [
        ("Construction Roundtable", "Roofers Association"),
        ("Fall Protection Workgroup", "Roofers Association"),
        ("Hazard Communication Roundtable", "Ironworkers Guild"),
        ("Hazard Communication Roundtable", "Painters Union"),  # until its notice runs out
    ]


def test_an_ending_alliance_leaves_its_roundtables_on_its_end_date(session, program):
    today = program["today"]
    everyone = roundtables.memberships(session, roundtable_id=program["construction"])
    painters = roundtables.memberships(session, roundtable_id=program["hazcom"])
    assert [(a.partner_name, m.left_on) for m, a in everyone] == [
        ("Masons Council", today),
        ("Roofers Association", None),
    ]
    assert [(a.partner_name, m.left_on) for m, a in painters] == [
        ("Ironworkers Guild", None),
        ("Painters Union", today + timedelta(days=30)),
    ]


def test_roundtable_dates_and_joining_rules(session, program):
    today = program["today"]
    construction, roofers = program["construction"], program["roofers"]
    with pytest.raises(Invalid, match="cannot start before its roundtable") as e:
        roundtable(
            session, "Trenching Workgroup", today - timedelta(days=400), parent_id=construction
        )
    assert list(e.value.errors) == ["starts_on"]
    with pytest.raises(Invalid, match="cannot end before it starts"):
        roundtable(session, "Heat Roundtable", today, ends_on=today - timedelta(days=1))
    with pytest.raises(Invalid, match="The workgroup Fall Protection Workgroup"):
        roundtables.update_roundtable(
            session, roundtable_id=construction, changes={"starts_on": today}, acting=COORDINATOR
        )
    later_start = today - timedelta(days=10)
    later = roundtable(session, "Heat Roundtable", later_start)
    with pytest.raises(Invalid, match="Heat Roundtable runs from") as e:
        join(session, later, roofers, today - timedelta(days=20))
    assert list(e.value.errors) == ["joined_on"]
    with pytest.raises(Invalid, match="once it has begun"):
        join(session, later, roofers, today + timedelta(days=1))
    [masons] = [
        a.id for a in agreements.list_alliances(session, acting=COORDINATOR, status="concluded")
    ]
    with pytest.raises(Conflict, match="is concluded: only an active"):
        join(session, later, masons, today)

    # The Coordinator closes the roundtable.
    roundtables.update_roundtable(
        session,
        roundtable_id=later,
        changes={"ends_on": today - timedelta(days=1)},
        acting=COORDINATOR,
    )
    session.flush()
    session.expire_all()
    listing = DirectoryOut().dump(directory.public_directory(session, today=agency_today()))
    changes = [
        (e.action, e.changes)
        for e in audit.history(session, entity_type="roundtable", entity_id=later)
    ]
    assert [r["name"] for r in listing["roundtables"]] == [
        "Construction Roundtable",
        "Hazard Communication Roundtable",
    ]
    assert changes == [
        (
            "roundtable created",
            {"name": [None, "Heat Roundtable"], "starts_on": [None, str(later_start)]},
        ),
        ("roundtable changed", {"ends_on": [None, str(today - timedelta(days=1))]}),
    ]


# -- who may do what (the domain decides) -----------------------------------------------------


def roundtable_counts(session):
    session.flush()
    session.expire_all()
    return {
        "roundtables": session.scalar(select(func.count()).select_from(Roundtable)),
        "memberships": [
            (m.roundtable_id, m.alliance_id, m.joined_on, m.left_on)
            for m in session.scalars(select(RoundtableMembership))
        ],
        "names": sorted(session.scalars(select(Roundtable.name))),
        "history": session.scalar(select(func.count()).select_from(AuditEntry)),
    }


@pytest.mark.parametrize(
    "who",
    [acting_as(LIAISON), acting_as(OTHER_LIAISON), REVIEWER],
    ids=["the alliance's liaison", "another liaison", "a reviewer"],
)
def test_only_the_coordinator_keeps_the_roundtables_and_their_memberships(session, program, who):
    today = program["today"]
    roofers, ironworkers, hazcom = program["roofers"], program["ironworkers"], program["hazcom"]
    [member] = roundtables.memberships(session, roundtable_id=hazcom, alliance_id=ironworkers)
    steps = {
        "create": lambda s: roundtables.create_roundtable(
            s, acting=who, name="Heat Roundtable", starts_on=today
        ),
        "create a workgroup": lambda s: roundtables.create_roundtable(
            s, acting=who, name="Shade", starts_on=today, parent_id=hazcom
        ),
        "change": lambda s: roundtables.update_roundtable(
            s, acting=who, roundtable_id=hazcom, changes={"name": "HazCom"}
        ),
        "join": lambda s: roundtables.join(
            s,
            acting=who,
            roundtable_id=hazcom,
            alliance_id=roofers,
            joined_on=today,
            today=agency_today(),
        ),
        "leave": lambda s: roundtables.leave(
            s,
            acting=who,
            roundtable_id=hazcom,
            membership_id=member.membership.id,
            left_on=today,
            today=agency_today(),
        ),
    }
    before = roundtable_counts(session)
    for name, step in steps.items():
        # The session goes on after the refused step: it must have written nothing.
        with pytest.raises(Forbidden) as caught:
            step(session)
        assert caught.value.message == (
            "Only the Coordinator keeps the roundtables and their memberships."
        ), name
    assert roundtable_counts(session) == before

    # Any staff member reads them.
    listed = roundtables.list_roundtables(session, acting=who)
    roster = roundtables.roster(session, acting=who, roundtable_id=hazcom)
    assert [r.name for r in listed] == [
        "Construction Roundtable",
        "Design for Safety Workgroup",
        "Fall Protection Workgroup",
        "Hazard Communication Roundtable",
        "Silica Roundtable",
    ]
    assert [m.alliance.partner_name for m in roster.memberships] == [
        "Ironworkers Guild",
        "Painters Union",
    ]
