"""Roundtables on real PostgreSQL: membership over time, the meetings and products a
roundtable records and the public directory's share of them, and who may do what; each test
in a transaction rolled back after it (``session``)."""

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
from services.review.roundtables.models import PRODUCT_KINDS as STORED_KINDS
from services.review.roundtables.models import RoundtableMeeting, RoundtableProduct
from services.review.roundtables.schemas import RoundtableProductIn
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
            "Only the Coordinator keeps the roundtables: their members, meetings and products."
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


# -- what a roundtable made: meetings and products ---------------------------------------------


def record_meeting(session, roundtable_id, held_on, topic="Heat plans", who=COORDINATOR, **more):
    return roundtables.record_meeting(
        session,
        roundtable_id=roundtable_id,
        held_on=held_on,
        topic=topic,
        acting=who,
        today=agency_today(),
        **more,
    )


def record_product(session, roundtable_id, who=COORDINATOR, **fields):
    values = {
        "kind": "fact_sheet",
        "title": "Trench Safety at a Glance",
        "published_on": agency_today(),
        "url": "https://agency.example/trench.pdf",
        **fields,
    }
    return roundtables.record_product(
        session, roundtable_id=roundtable_id, acting=who, today=agency_today(), **values
    )


def work_counts(session):
    session.flush()
    session.expire_all()
    return {
        "meetings": [
            (m.roundtable_id, m.held_on, m.topic)
            for m in session.scalars(select(RoundtableMeeting))
        ],
        "products": [
            (p.roundtable_id, p.title, p.public) for p in session.scalars(select(RoundtableProduct))
        ],
        "history": session.scalar(select(func.count()).select_from(AuditEntry)),
    }


def test_the_kinds_of_product_are_the_kinds_stored():
    assert list(roundtables.PRODUCT_KINDS) == list(STORED_KINDS)
    assert list(RoundtableProductIn().fields["kind"].validate.choices) == list(STORED_KINDS)


def test_the_coordinator_records_meetings_and_products_and_the_history_keeps_them(session, program):
    today, hazcom = program["today"], program["hazcom"]
    held = today - timedelta(days=30)
    meeting = record_meeting(
        session,
        hazcom,
        held,
        topic="  Labels   and safety data sheets ",
        summary="Compared label formats.",
        attendees="Ironworkers Guild; Painters Union",
    )
    product = record_product(
        session,
        hazcom,
        kind="translation",
        title="Hojas de datos de seguridad",
        description="The safety data sheet guide in Spanish.",
        published_on=today - timedelta(days=3),
    )
    hidden = record_product(
        session, hazcom, kind="webinar", title="Draft webinar", url="", public=False
    )

    assert (meeting.topic, meeting.held_on, meeting.recorded_by) == (
        "Labels and safety data sheets",
        held,
        COORDINATOR.email,
    )
    assert [
        (p.title, p.kind, p.public)
        for p in roundtables.roundtable_products(session, roundtable_id=hazcom, acting=REVIEWER)
    ] == [
        ("Hojas de datos de seguridad", "translation", True),
        ("Draft webinar", "webinar", False),
    ]
    [listed] = roundtables.public_products(session)
    assert (listed[0].id, listed[1].name) == (product.id, "Hazard Communication Roundtable")

    changed = roundtables.update_product(
        session,
        roundtable_id=hazcom,
        product_id=hidden.id,
        changes={"public": True, "title": "Labels webinar"},
        acting=COORDINATOR,
        today=agency_today(),
    )
    assert (changed.title, changed.public) == ("Labels webinar", True)
    roundtables.remove_product(
        session, roundtable_id=hazcom, product_id=product.id, acting=COORDINATOR
    )
    roundtables.remove_meeting(
        session, roundtable_id=hazcom, meeting_id=meeting.id, acting=COORDINATOR
    )
    session.flush()
    assert [p.title for p, _ in roundtables.public_products(session)] == ["Labels webinar"]
    assert roundtables.roundtable_meetings(session, roundtable_id=hazcom, acting=REVIEWER) == []

    history = [
        (e.action, e.note, e.changes)
        for e in audit.history(session, entity_type="roundtable", entity_id=hazcom)
        if e.action.startswith(("meeting", "product"))
    ]
    assert history == [
        (
            "meeting recorded",
            f"meeting {meeting.id}",
            {
                "meeting.held_on": [None, str(held)],
                "meeting.topic": [None, "Labels and safety data sheets"],
                "meeting.summary": [None, "Compared label formats."],
                "meeting.attendees": [None, "Ironworkers Guild; Painters Union"],
            },
        ),
        (
            "product recorded",
            f"product {product.id}",
            {
                "product.kind": [None, "translation"],
                "product.title": [None, "Hojas de datos de seguridad"],
                "product.description": [None, "The safety data sheet guide in Spanish."],
                "product.url": [None, "https://agency.example/trench.pdf"],
                "product.published_on": [None, str(today - timedelta(days=3))],
                "product.public": [None, True],
            },
        ),
        (
            "product recorded",
            f"product {hidden.id}",
            {
                "product.kind": [None, "webinar"],
                "product.title": [None, "Draft webinar"],
                "product.description": [None, ""],
                "product.url": [None, ""],
                "product.published_on": [None, str(today)],
                "product.public": [None, False],
            },
        ),
        (
            "product changed",
            f"product {hidden.id}",
            {"product.public": [False, True], "product.title": ["Draft webinar", "Labels webinar"]},
        ),
        (
            "product removed",
            f"product {product.id}",
            {
                "product.kind": ["translation", None],
                "product.title": ["Hojas de datos de seguridad", None],
                "product.description": ["The safety data sheet guide in Spanish.", None],
                "product.url": ["https://agency.example/trench.pdf", None],
                "product.published_on": [str(today - timedelta(days=3)), None],
                "product.public": [True, None],
            },
        ),
        (
            "meeting removed",
            f"meeting {meeting.id}",
            {
                "meeting.held_on": [str(held), None],
                "meeting.topic": ["Labels and safety data sheets", None],
                "meeting.summary": ["Compared label formats.", None],
                "meeting.attendees": ["Ironworkers Guild; Painters Union", None],
            },
        ),
    ]


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "ftp://agency.example/trench.pdf",
        "data:text/html,hello",
        "agency.example/trench.pdf",
        "https://",
        "https://agency.example/a b.pdf",
    ],
)
def test_a_product_link_is_a_web_address_or_nothing(session, program, url):
    before = work_counts(session)
    with pytest.raises(Invalid) as refused:
        record_product(session, program["hazcom"], url=url)
    assert refused.value.errors == {
        "url": ["Give a web address starting with https:// (or http://)."]
    }
    assert work_counts(session) == before
    kept = record_product(session, program["hazcom"], url="HTTP://agency.example/trench.pdf")
    session.flush()  # the table's own check takes it too
    assert kept.url == "HTTP://agency.example/trench.pdf"


def test_bad_meetings_and_products_are_refused_field_by_field(session, program):
    today, hazcom = program["today"], program["hazcom"]
    started = today - timedelta(days=365)
    silica = session.scalars(select(Roundtable).where(Roundtable.name == "Silica Roundtable")).one()

    def refused(step):
        with pytest.raises(Invalid) as caught:
            step()
        return caught.value.errors

    before = work_counts(session)
    assert refused(lambda: record_meeting(session, hazcom, today + timedelta(days=1))) == {
        "held_on": ["Record a meeting once it has taken place."]
    }
    assert refused(lambda: record_meeting(session, hazcom, started - timedelta(days=1))) == {
        "held_on": [
            f"Hazard Communication Roundtable runs from {started.isoformat()} to now: "
            "it met within those dates."
        ]
    }
    assert refused(lambda: record_meeting(session, silica.id, today)) == {
        "held_on": [
            f"Silica Roundtable runs from {started.isoformat()} to "
            f"{(today - timedelta(days=10)).isoformat()}: it met within those dates."
        ]
    }
    assert refused(lambda: record_meeting(session, hazcom, today, topic="   ")) == {
        "topic": ["Give the meeting's topic."]
    }
    assert refused(lambda: record_meeting(session, hazcom, None)) == {
        "held_on": ["Give the day it met."]
    }
    assert refused(lambda: record_product(session, hazcom, kind="poster")) == {
        "kind": ["Choose what it is: fact sheet, toolbox talk, webinar, translation, other."]
    }
    assert refused(lambda: record_product(session, hazcom, title="")) == {
        "title": ["Give the product's title."]
    }
    assert refused(
        lambda: record_product(session, hazcom, published_on=today + timedelta(days=1))
    ) == {"published_on": ["Record a product once it is published."]}
    assert refused(
        lambda: record_product(session, hazcom, published_on=started - timedelta(days=1))
    ) == {
        "published_on": [
            f"Hazard Communication Roundtable started on {started.isoformat()}: "
            "its products are published from that day on."
        ]
    }
    assert refused(lambda: record_product(session, hazcom, public="yes")) == {
        "public": ["Say whether the public directory lists it."]
    }
    assert work_counts(session) == before

    # Twice the same: a double-sent form records it once.
    record_meeting(session, hazcom, today)
    record_product(session, hazcom)
    assert refused(lambda: record_meeting(session, hazcom, today)) == {
        "topic": ["A meeting on that day on this topic is recorded already."]
    }
    assert refused(lambda: record_product(session, hazcom, kind="other")) == {
        "title": ["Hazard Communication Roundtable has a product with this title already."]
    }
    # The roundtable's dates cannot move past what it did.
    with pytest.raises(Invalid, match="It met on") as moved:
        roundtables.update_roundtable(
            session,
            roundtable_id=hazcom,
            changes={"ends_on": today - timedelta(days=1)},
            acting=COORDINATOR,
        )
    assert list(moved.value.errors) == ["ends_on"]


@pytest.mark.parametrize(
    "who",
    [acting_as(LIAISON), acting_as(OTHER_LIAISON), REVIEWER],
    ids=["a liaison", "another liaison", "a reviewer"],
)
def test_only_the_coordinator_records_changes_and_removes_meetings_and_products(
    session, program, who
):
    today, hazcom = program["today"], program["hazcom"]
    meeting = record_meeting(session, hazcom, today)
    product = record_product(session, hazcom)
    steps = {
        "record a meeting": lambda: record_meeting(session, hazcom, today, "Other", who=who),
        "remove a meeting": lambda: roundtables.remove_meeting(
            session, roundtable_id=hazcom, meeting_id=meeting.id, acting=who
        ),
        "record a product": lambda: record_product(session, hazcom, who=who, title="Other"),
        "change a product": lambda: roundtables.update_product(
            session,
            roundtable_id=hazcom,
            product_id=product.id,
            changes={"public": False},
            acting=who,
            today=agency_today(),
        ),
        "remove a product": lambda: roundtables.remove_product(
            session, roundtable_id=hazcom, product_id=product.id, acting=who
        ),
        "keep a roundtable's page": lambda: roundtables.roundtable_to_keep(
            session, roundtable_id=hazcom, acting=who
        ),
    }
    before = work_counts(session)
    for name, step in steps.items():
        with pytest.raises(Forbidden) as caught:
            step()
        assert caught.value.message == (
            "Only the Coordinator keeps the roundtables: their members, meetings and products."
        ), name
    assert work_counts(session) == before

    # Any staff member reads them, and sees no form to keep them.
    page = roundtables.roundtable_page(session, roundtable_id=hazcom, acting=who, today=today)
    assert ([m.topic for m in page.meetings], [p.title for p in page.products]) == (
        ["Heat plans"],
        ["Trench Safety at a Glance"],
    )
    assert (page.may_keep, page.joinable) == (False, [])


def test_the_roundtable_page_lists_who_may_join_and_the_overview_counts_members(session, program):
    today = program["today"]
    page = roundtables.roundtable_page(
        session, roundtable_id=program["hazcom"], acting=COORDINATOR, today=today
    )
    # Ironworkers and Painters are in it (Painters until its notice runs out); Masons is
    # concluded, Painters terminated: only Roofers may join.
    assert [a.partner_name for a in page.joinable] == ["Roofers Association"]
    assert (page.may_keep, page.is_current, page.parent) == (True, True, None)
    falls = roundtables.roundtable_page(
        session, roundtable_id=program["falls"], acting=COORDINATOR, today=today
    )
    assert (falls.parent.name, [a.partner_name for a in falls.joinable]) == (
        "Construction Roundtable",
        ["Ironworkers Guild"],
    )
    lines = roundtables.overview(session, acting=REVIEWER, today=today)
    assert [(line.roster.name, line.members_now, line.is_current) for line in lines] == [
        ("Construction Roundtable", 2, True),  # Masons, concluded today: its last day
        ("Design for Safety Workgroup", 0, True),
        ("Fall Protection Workgroup", 1, True),
        ("Hazard Communication Roundtable", 2, True),
        ("Silica Roundtable", 1, False),
    ]


def test_the_directory_lists_the_public_products_of_every_roundtable_and_no_other(session, program):
    today = program["today"]
    silica = session.scalars(select(Roundtable).where(Roundtable.name == "Silica Roundtable")).one()
    talk = record_product(
        session,
        program["falls"],
        kind="toolbox_talk",
        title="Ladder Safety",
        url="",
        description="Five minutes before work.",
        published_on=today - timedelta(days=20),
    )
    older = record_product(
        session, silica.id, kind="fact_sheet", published_on=today - timedelta(days=300)
    )
    record_product(session, program["hazcom"], title="Internal draft", public=False)
    listing = DirectoryOut().dump(directory.public_directory(session, today=agency_today()))
    assert listing["products"] == [
        {
            "id": str(talk.id),
            "kind": "toolbox_talk",
            "kind_label": "Toolbox talk",
            "title": "Ladder Safety",
            "description": "Five minutes before work.",
            "url": "",
            "published_on": (today - timedelta(days=20)).isoformat(),
            "roundtable_id": str(program["falls"]),
            "roundtable_name": "Construction Roundtable: Fall Protection Workgroup",
        },
        # A roundtable that has ended keeps what it published.
        {
            "id": str(older.id),
            "kind": "fact_sheet",
            "kind_label": "Fact sheet",
            "title": "Trench Safety at a Glance",
            "description": "",
            "url": "https://agency.example/trench.pdf",
            "published_on": (today - timedelta(days=300)).isoformat(),
            "roundtable_id": str(silica.id),
            "roundtable_name": "Silica Roundtable",
        },
    ]
    assert "cora@agency.example" not in str(listing)  # who recorded it is not published
