"""The agreement's life on real PostgreSQL and Redis: the work plan, meetings and documents,
renewal, conclusion, termination with 30 days' notice, Ambassadors, their events and the
messages notify makes of them, and the staff API.

The work plan and who may do what are domain-level tests, each in a transaction rolled back
after it (``session``); what reaches Redis and notify, and the API, commit (``COMMITTED``).

The pure rules of an alliance's life, its roundtables and the public directory: no
database, no app.

Approval and signing are two steps: a released approval creates the alliance awaiting its
signing, and the Coordinator records the day the agreement was signed, on the alliance's page
or over the API; only then does ``alliance.signed`` go out.

The rules are domain-level tests, each in a transaction rolled back after it (``session``);
the pages and the API commit (``COMMITTED``).

A declared conflict of interest with a partner refuses changing its alliance, whoever asks
(the Coordinator and its own liaison included); reading it stays open
(services/review/alliances/domain.py ``check_no_conflict``)."""

import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from services.notify.models import Message
from services.notify.worker import database as notify_db
from services.review import audit
from services.review.alliances import domain as agreements
from services.review.alliances import domain as alliances
from services.review.alliances.models import (
    Alliance,
    AllianceDocument,
    AllianceStatusChange,
    AllianceTerm,
    Milestone,
    Roundtable,
    TeamMeeting,
)
from services.review.alliances.schemas import AlliancePageOut, AllianceTermOut
from services.review.base import AuditEntry, OutboxEvent
from services.review.directory import domain as directory
from services.review.roundtables import domain as roundtables
from services.review.worker import database, outbox
from shared.dates import term_end
from shared.domain import Acting, Conflict, Forbidden, Invalid
from shared.events import parse_event
from tests.helpers import queued_tasks
from tests.review.factories import (
    LIAISON,
    OTHER_LIAISON,
    acting_as,
    agency_today,
    approved_alliance,
    signed_alliance,
)
from tests.shared.factories import COORDINATOR, REVIEWER, ROOFERS, acting, using

COMMITTED = pytest.mark.usefixtures("clean_databases")

LEE = acting_as(LIAISON)
OLA = acting_as(OTHER_LIAISON)


def alliance(alliance_id, session=None):
    with using(database, session) as reading:
        return agreements.get_alliance(reading, alliance_id)


def history(alliance_id, action, session=None):
    with using(database, session) as reading:
        return [
            (e.actor, e.changes, e.note)
            for e in audit.history(reading, entity_type="alliance", entity_id=alliance_id)
            if e.action == action
        ]


def reread(session, model, row_id):
    """The row as stored: what the session holds is written and forgotten, then read again."""
    session.flush()
    session.expire_all()
    return session.get(model, row_id)


def events(redis_client, task):
    """The payloads of the events queued for one notify consumer, oldest first."""
    return [
        kwargs["event"]["payload"]
        for name, kwargs in queued_tasks(redis_client, "notify")
        if name == task
    ]


def deliver_to_notify(redis_client):
    """Run notify's consumers for what is queued, as its worker would."""
    import services.notify.tasks

    for name, kwargs in queued_tasks(redis_client, "notify"):
        if name.startswith("notify.alliance_") or name == "notify.ambassador_designated":
            services.notify.tasks.celery.tasks[name](**kwargs)


def renew(alliance_id, signing_date, term_years, today, session=None):
    with using(database, session) as writing:
        return agreements.renew(
            writing,
            acting=COORDINATOR,
            alliance_id=alliance_id,
            signing_date=signing_date,
            term_years=term_years,
            outbox=outbox,
            today=today,
        )


# -- the work plan ----------------------------------------------------------------------------


@pytest.mark.integration
def test_milestones_are_planned_done_and_reopened_with_every_change_in_the_history(session):
    alliance_id = signed_alliance(session=session).id
    milestone = agreements.add_milestone(
        session,
        alliance_id=alliance_id,
        title="Toolbox talks on ladders",
        target_date=date(2024, 9, 30),
        responsible="partner",
        description="Six talks, in English and Spanish",
        acting=LEE,
        today=date(2024, 4, 1),
    )
    agreements.update_milestone(
        session,
        alliance_id=alliance_id,
        milestone_id=milestone.id,
        changes={"status": "done"},
        acting=LEE,
        today=date(2024, 9, 12),
    )
    done = reread(session, Milestone, milestone.id)
    assert (done.status, done.done_on) == ("done", date(2024, 9, 12))
    agreements.update_milestone(
        session,
        alliance_id=alliance_id,
        milestone_id=milestone.id,
        changes={"status": "in_progress", "target_date": date(2024, 12, 15)},
        acting=COORDINATOR,
        today=date(2024, 9, 20),
    )
    reopened = reread(session, Milestone, milestone.id)
    assert (reopened.status, reopened.done_on) == ("in_progress", None)

    assert history(alliance_id, "milestone added", session) == [
        (
            LIAISON.email,
            {
                "milestone.title": [None, "Toolbox talks on ladders"],
                "milestone.description": [None, "Six talks, in English and Spanish"],
                "milestone.target_date": [None, "2024-09-30"],
                "milestone.responsible": [None, "partner"],
                "milestone.status": [None, "planned"],
            },
            f"milestone {milestone.id}",
        )
    ]
    assert [changes for _, changes, _ in history(alliance_id, "milestone changed", session)] == [
        {"milestone.status": ["planned", "done"], "milestone.done_on": [None, "2024-09-12"]},
        {
            "milestone.status": ["done", "in_progress"],
            "milestone.done_on": ["2024-09-12", None],
            "milestone.target_date": ["2024-09-30", "2024-12-15"],
        },
    ]


@pytest.mark.integration
@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"title": "  "}, "title", "Give the milestone a title."),
        ({"responsible": ""}, "responsible", "Say who is responsible"),
        ({"status": "finished"}, "status", "Choose one of: planned, in_progress, done, dropped."),
        (
            {"done_on": date(2024, 5, 1)},
            "done_on",
            "Only a milestone that is done has a done date.",
        ),
        ({"status": "done", "done_on": date(2024, 6, 2)}, "done_on", "on or before today"),
        ({"target_date": "next spring"}, "target_date", "Give a date"),
    ],
)
def test_a_bad_milestone_names_its_field_and_saves_nothing(session, values, field, message):
    alliance_id = signed_alliance(session=session).id
    arguments = {
        "title": "Train 50 roofers",
        "target_date": date(2024, 12, 1),
        "responsible": "Dana Smith",
        **values,
    }
    with pytest.raises(Invalid, match=message) as caught:
        agreements.add_milestone(
            session,
            alliance_id=alliance_id,
            acting=COORDINATOR,
            today=date(2024, 6, 1),
            **arguments,
        )
    assert caught.value.errors == {field: [caught.value.message]}
    assert session.scalar(select(func.count()).select_from(Milestone)) == 0
    assert history(alliance_id, "milestone added", session) == []


@pytest.mark.integration
def test_meetings_are_days_the_team_met_once_each(session):
    alliance_id = signed_alliance(signing_date=date(2024, 3, 1), session=session).id

    def meet(day, note="", today=date(2024, 6, 1)):
        return agreements.add_meeting(
            session,
            alliance_id=alliance_id,
            met_on=day,
            note=note,
            acting=LEE,
            today=today,
        )

    first = meet(date(2024, 3, 14), "Kick-off: work plan drafted")
    meet(date(2024, 5, 2))
    for day, message in [
        (date(2024, 3, 14), "already recorded"),
        (date(2024, 6, 2), "once it has taken place"),
        (date(2024, 2, 28), r"from the signing date \(2024-03-01\) on"),
    ]:
        with pytest.raises(Invalid, match=message) as caught:
            meet(day)
        assert list(caught.value.errors) == ["met_on"]
    agreements.remove_meeting(
        session, alliance_id=alliance_id, meeting_id=first.id, acting=COORDINATOR
    )
    session.flush()
    session.expire_all()
    assert [m.met_on for m in agreements.meetings(session, alliance_id)] == [date(2024, 5, 2)]
    assert [c for _, c, _ in history(alliance_id, "meeting removed", session)] == [
        {
            "meeting.met_on": ["2024-03-14", None],
            "meeting.note": ["Kick-off: work plan drafted", None],
        }
    ]


@pytest.mark.integration
def test_documents_are_links_or_descriptions(session):
    alliance_id = signed_alliance(session=session).id

    def add(**values):
        return agreements.add_document(
            session, alliance_id=alliance_id, acting=COORDINATOR, **values
        )

    add(
        title="Signed agreement",
        kind="agreement",
        url="https://agency.example/alliances/roofers.pdf",
    )
    add(
        title="Work plan 2024",
        kind="work_plan",
        description="Paper copy in the CET division's alliance binder",
    )
    for values, field in [
        ({"title": "Empty", "kind": "other"}, "url"),
        ({"title": "Share", "kind": "other", "url": "file:///c:/plans.docx"}, "url"),
        ({"title": "Share", "kind": "memo", "url": "https://example.org"}, "kind"),
        ({"title": "", "kind": "other", "url": "https://example.org"}, "title"),
    ]:
        with pytest.raises(Invalid) as caught:
            add(**values)
        assert list(caught.value.errors) == [field]
    session.flush()
    session.expire_all()
    assert [(d.title, d.kind) for d in agreements.documents(session, alliance_id)] == [
        ("Signed agreement", "agreement"),
        ("Work plan 2024", "work_plan"),
    ]
    assert [c["document.title"] for _, c, _ in history(alliance_id, "document added", session)] == [
        [None, "Signed agreement"],
        [None, "Work plan 2024"],
    ]


# -- who may do what (the domain decides) -----------------------------------------------------

WHO = {
    "coordinator": COORDINATOR,
    "its liaison": LEE,
    "another liaison": OLA,
    "a reviewer": REVIEWER,
}


def stored_counts(session, alliance_id):
    """What a refused write must leave as it was: the alliance's records, history, events."""

    def count(model, *where):
        return session.scalar(select(func.count()).select_from(model).where(*where))

    session.flush()
    session.expire_all()
    changed = session.get(Alliance, alliance_id)
    return {
        "milestones": count(Milestone),
        "meetings": count(TeamMeeting),
        "documents": count(AllianceDocument),
        "terms": count(AllianceTerm),
        "status changes": count(AllianceStatusChange),
        "history": count(AuditEntry, AuditEntry.entity_type == "alliance"),
        "events": count(OutboxEvent),
        "alliance": (changed.status, changed.renewals, changed.ends_on, changed.ended_on),
    }


def refused_and_nothing_stored(session, alliance_id, error, step):
    """``step(session)`` raises ``error``, and the session goes on as if it committed
    anyway: anything the refused step wrote before refusing would be counted. Nothing is."""
    before = stored_counts(session, alliance_id)
    with pytest.raises(error) as caught:
        step(session)
    assert stored_counts(session, alliance_id) == before
    return caught.value


def work_plan_steps(alliance_id, milestone_id, meeting_id, document_id):
    """Every change to the work plan, meetings and documents, as one acting person does it."""
    on = {"alliance_id": alliance_id, "today": date(2024, 6, 1)}
    return {
        "add a milestone": lambda s, who: agreements.add_milestone(
            s,
            acting=who,
            title="Toolbox talks",
            target_date=date(2024, 9, 1),
            responsible="x",
            **on,
        ),
        "change a milestone": lambda s, who: agreements.update_milestone(
            s, acting=who, milestone_id=milestone_id, changes={"status": "done"}, **on
        ),
        "record a meeting": lambda s, who: agreements.add_meeting(
            s, acting=who, met_on=date(2024, 5, 2), **on
        ),
        "remove a meeting": lambda s, who: agreements.remove_meeting(
            s, acting=who, alliance_id=alliance_id, meeting_id=meeting_id
        ),
        "add a document": lambda s, who: agreements.add_document(
            s, acting=who, alliance_id=alliance_id, title="Plan", kind="other", description="x"
        ),
        "remove a document": lambda s, who: agreements.remove_document(
            s, acting=who, alliance_id=alliance_id, document_id=document_id
        ),
    }


def work_plan_to_change(session, alliance_id):
    """A milestone, a meeting and a document the Coordinator recorded."""
    milestone = agreements.add_milestone(
        session,
        acting=COORDINATOR,
        alliance_id=alliance_id,
        title="Kick-off",
        target_date=date(2024, 4, 1),
        responsible="agency",
        today=date(2024, 3, 10),
    )
    meeting = agreements.add_meeting(
        session,
        acting=COORDINATOR,
        alliance_id=alliance_id,
        met_on=date(2024, 3, 14),
        today=date(2024, 3, 14),
    )
    document = agreements.add_document(
        session,
        acting=COORDINATOR,
        alliance_id=alliance_id,
        title="Signed agreement",
        kind="agreement",
        url="https://agency.example/a.pdf",
    )
    return milestone.id, meeting.id, document.id


@pytest.mark.integration
@pytest.mark.parametrize(
    ("who", "allowed"),
    [
        ("coordinator", True),
        ("its liaison", True),
        ("another liaison", False),
        ("a reviewer", False),
    ],
)
def test_the_coordinator_and_the_alliances_own_liaison_keep_its_work_plan(session, who, allowed):
    alliance_id = signed_alliance(
        liaison=LIAISON, signing_date=date(2024, 3, 1), session=session
    ).id
    steps = work_plan_steps(alliance_id, *work_plan_to_change(session, alliance_id))
    acting = WHO[who]

    for name, step in steps.items():
        if allowed:
            step(session, acting)
        else:
            refusal = refused_and_nothing_stored(
                session, alliance_id, Forbidden, lambda session, step=step: step(session, acting)
            )
            assert refusal.errors == {
                "_request": [
                    "Only the Coordinator or this alliance's liaison changes its work plan."
                ]
            }, name

    session.flush()
    session.expire_all()
    kept = (
        [m.status for m in agreements.milestones(session, alliance_id)],
        [m.met_on for m in agreements.meetings(session, alliance_id)],
        [d.title for d in agreements.documents(session, alliance_id)],
    )
    if allowed:
        assert kept == (["done", "planned"], [date(2024, 5, 2)], ["Plan"])
        assert [actor for actor, _, _ in history(alliance_id, "document added", session)] == [
            COORDINATOR.email,
            acting.email,
        ]
    else:
        assert kept == (["planned"], [date(2024, 3, 14)], ["Signed agreement"])


@pytest.mark.integration
def test_an_ended_alliances_work_plan_is_kept_as_it_was_even_by_the_coordinator(session):
    alliance_id = signed_alliance(signing_date=date(2024, 3, 1), session=session).id
    steps = work_plan_steps(alliance_id, *work_plan_to_change(session, alliance_id))
    agreements.conclude(
        session,
        acting=COORDINATOR,
        alliance_id=alliance_id,
        outbox=outbox,
        concluded_on=date(2024, 6, 1),
        today=date(2024, 6, 1),
    )
    for who in (COORDINATOR, LEE):
        for step in steps.values():
            refusal = refused_and_nothing_stored(
                session,
                alliance_id,
                Conflict,
                lambda session, step=step, who=who: step(session, who),
            )
            assert refusal.message == "This alliance is concluded: its work plan is kept as it was."
    # Someone who may not keep it hears that first, whatever the alliance's state.
    refused_and_nothing_stored(
        session, alliance_id, Forbidden, lambda session: steps["add a milestone"](session, OLA)
    )


@pytest.mark.integration
@pytest.mark.parametrize("who", ["coordinator", "its liaison", "another liaison", "a reviewer"])
def test_the_coordinator_alone_decides_on_the_agreement(session, who):
    alliance_id = signed_alliance(
        liaison=LIAISON, signing_date=date(2022, 1, 10), term_years=2, session=session
    ).id
    renew(alliance_id, date(2023, 12, 1), 2, today=date(2023, 12, 1), session=session)
    acting = WHO[who]
    on = {"acting": acting, "alliance_id": alliance_id, "outbox": outbox, "today": date(2024, 6, 1)}
    steps = {
        "renew": lambda s: agreements.renew(s, signing_date=date(2024, 5, 1), term_years=2, **on),
        "name an Ambassador": lambda s: agreements.designate_ambassador(s, **on),
        "terminate": lambda s: agreements.terminate(s, notice_date=date(2024, 6, 1), **on),
        "conclude": lambda s: agreements.conclude(s, **on),
    }

    if who == "coordinator":
        for name in ("renew", "name an Ambassador", "terminate"):
            steps[name](session)
        decided = reread(session, Alliance, alliance_id)
        assert (decided.status, decided.renewals) == ("terminated", 2)
        # Ended already:
        refused_and_nothing_stored(session, alliance_id, Conflict, steps["conclude"])
        return
    for name, step in steps.items():
        refusal = refused_and_nothing_stored(session, alliance_id, Forbidden, step)
        assert refusal.message == (
            "Only the Coordinator records the signing, renews, concludes or terminates an "
            "alliance and names Ambassadors."
        ), name
    kept = reread(session, Alliance, alliance_id)
    assert (kept.status, kept.renewals) == ("active", 1)


@pytest.mark.integration
@pytest.mark.parametrize(
    ("who", "keeps_work_plan", "decides"),
    [
        ("coordinator", True, True),
        ("its liaison", True, False),
        ("another liaison", False, False),
        ("a reviewer", False, False),
    ],
)
def test_any_staff_member_reads_an_alliance_and_learns_what_they_may_do(
    session, who, keeps_work_plan, decides
):
    alliance_id = signed_alliance(liaison=LIAISON, session=session).id
    acting = WHO[who]
    page = agreements.alliance_page(
        session, alliance_id=alliance_id, acting=acting, today=agency_today()
    )
    listed = agreements.list_alliances(session, acting=acting)
    mine = agreements.list_alliances(session, acting=acting, mine=True)
    eligibility = agreements.ambassador_eligibility_of(
        session, alliance_id=alliance_id, acting=acting, on=date(2024, 6, 1)
    )
    assert (page.partner_name, page.may_keep_work_plan, page.may_decide) == (
        "Michigan Roofing Contractors Association",
        keeps_work_plan,
        decides,
    )
    assert [a.id for a in listed] == [alliance_id]
    assert [a.id for a in mine] == ([alliance_id] if who == "its liaison" else [])
    assert eligibility.eligible is False


@pytest.mark.integration
def test_no_one_without_a_staff_role_reads_an_alliance(session):
    alliance_id = signed_alliance(session=session).id
    nobody = acting("x@agency.example")
    for read in (
        lambda: agreements.alliance_page(
            session, alliance_id=alliance_id, acting=nobody, today=agency_today()
        ),
        lambda: agreements.list_alliances(session, acting=nobody),
        lambda: agreements.work_plan(session, alliance_id=alliance_id, acting=nobody),
    ):
        with pytest.raises(Forbidden, match="This is for the agency's staff only"):
            read()


@pytest.mark.integration
def test_the_alliance_page_dumps_as_the_api_answers_it(session):
    alliance_id = signed_alliance(signing_date=date(2024, 3, 1), session=session).id
    agreements.add_document(
        session,
        acting=LEE,
        alliance_id=alliance_id,
        title="Signed agreement",
        kind="agreement",
        url="https://agency.example/a.pdf",
    )
    page = AlliancePageOut().dump(
        agreements.alliance_page(
            session, alliance_id=alliance_id, acting=REVIEWER, today=date(2024, 6, 1)
        )
    )
    [document] = page["documents"]
    assert document == {
        "id": document["id"],
        "title": "Signed agreement",
        "kind": "agreement",
        "kind_label": "Agreement",
        "url": "https://agency.example/a.pdf",
        "description": "",
        "added_by": "lee@agency.example",
        "added_at": document["added_at"],
    }
    assert {k: page[k] for k in ("status", "status_label", "division_label", "liaison")} == {
        "status": "active",
        "status_label": "Active",
        "division_label": "Construction Safety & Health",
        "liaison": {"id": str(LIAISON.id), "name": "Lee Liaison"},
    }
    assert (page["terms"], page["status_change"], page["ended_on"]) == (
        [
            {
                "number": 0,
                "kind": "initial",
                "signing_date": "2024-03-01",
                "term_years": 2,
                "ends_on": "2026-02-28",
            }
        ],
        None,
        None,
    )
    assert [e["action"] for e in page["history"]] == ["approved", "signed", "document added"]


# -- renewal ----------------------------------------------------------------------------------


@pytest.mark.integration
@COMMITTED
def test_a_renewal_is_a_new_term_from_a_new_signing_date_and_announced(redis_client):
    alliance_id = signed_alliance(signing_date=date(2024, 3, 1), term_years=2).id
    redis_client.flushdb()

    renew(alliance_id, date(2026, 2, 20), 3, today=date(2026, 2, 25))

    renewed = alliance(alliance_id)
    assert (renewed.renewals, renewed.signing_date, renewed.term_years, renewed.ends_on) == (
        1,
        date(2026, 2, 20),
        3,
        date(2029, 2, 19),
    )
    with database.transaction() as session:
        assert AllianceTermOut(many=True).dump(agreements.terms(session, renewed)) == [
            {
                "number": 0,
                "kind": "initial",
                "signing_date": "2024-03-01",
                "term_years": 2,
                "ends_on": "2026-02-28",
            },
            {
                "number": 1,
                "kind": "renewal",
                "signing_date": "2026-02-20",
                "term_years": 3,
                "ends_on": "2029-02-19",
            },
        ]
    assert history(alliance_id, "renewed") == [
        (
            COORDINATOR.email,
            {
                "renewals": [0, 1],
                "signing_date": ["2024-03-01", "2026-02-20"],
                "term_years": [2, 3],
                "ends_on": ["2026-02-28", "2029-02-19"],
            },
            "",
        )
    ]
    [payload] = events(redis_client, "notify.alliance_renewed")
    assert {
        k: payload[k]
        for k in (
            "alliance_id",
            "partner_name",
            "renewal",
            "signing_date",
            "term_years",
            "ends_on",
            "previous_ends_on",
        )
    } == {
        "alliance_id": str(alliance_id),
        "partner_name": "Michigan Roofing Contractors Association",
        "renewal": 1,
        "signing_date": "2026-02-20",
        "term_years": 3,
        "ends_on": "2029-02-19",
        "previous_ends_on": "2026-02-28",
    }
    assert (payload["contact"]["email"], payload["liaison"]["email"]) == (
        "dana@example.org",
        "lee@agency.example",
    )
    assert [name for name, _ in queued_tasks(redis_client, "reporting")] == [
        "reporting.alliance_renewed"
    ]

    renew(alliance_id, date(2029, 1, 15), 5, today=date(2029, 1, 15))
    assert (alliance(alliance_id).renewals, alliance(alliance_id).ends_on) == (2, date(2034, 1, 14))
    assert [p["renewal"] for p in events(redis_client, "notify.alliance_renewed")] == [1, 2]


@pytest.mark.integration
@COMMITTED
@pytest.mark.parametrize(
    ("signing_date", "term_years", "field", "message"),
    [
        (date(2026, 2, 20), 1, "term_years", "A renewal is for 2 to 5 years."),
        (date(2026, 2, 20), 6, "term_years", "A renewal is for 2 to 5 years."),
        (
            date(2024, 3, 1),
            2,
            "signing_date",
            r"after the current term's signing date \(2024-03-01\)",
        ),
        (date(2026, 3, 2), 2, "signing_date", "once it is signed"),
    ],
)
def test_a_bad_renewal_names_its_field_and_changes_nothing(
    redis_client, signing_date, term_years, field, message
):
    alliance_id = signed_alliance(signing_date=date(2024, 3, 1)).id
    redis_client.flushdb()
    with pytest.raises(Invalid, match=message) as caught:
        renew(alliance_id, signing_date, term_years, today=date(2026, 3, 1))
    assert list(caught.value.errors) == [field]
    assert (alliance(alliance_id).renewals, alliance(alliance_id).ends_on) == (0, date(2026, 2, 28))
    assert history(alliance_id, "renewed") == []
    assert queued_tasks(redis_client, "notify") == []


# -- conclusion and termination ---------------------------------------------------------------


@pytest.mark.integration
@COMMITTED
def test_the_agency_concludes_an_alliance_and_its_work_plan_is_kept_as_it_was(redis_client):
    alliance_id = signed_alliance(signing_date=date(2024, 3, 1)).id
    redis_client.flushdb()
    with database.transaction() as session:
        agreements.conclude(
            session,
            alliance_id=alliance_id,
            concluded_on=date(2025, 6, 30),
            reason="Goals met early",
            acting=COORDINATOR,
            outbox=outbox,
            today=date(2025, 7, 1),
        )

    concluded = alliance(alliance_id)
    assert (concluded.status, concluded.ended_on) == ("concluded", date(2025, 6, 30))
    assert history(alliance_id, "concluded") == [
        (
            COORDINATOR.email,
            {"status": ["active", "concluded"], "ended_on": [None, "2025-06-30"]},
            "Goals met early",
        )
    ]
    [payload] = events(redis_client, "notify.alliance_concluded")
    assert payload["concluded_on"] == "2025-06-30"
    with (
        pytest.raises(Conflict, match="concluded: its work plan is kept"),
        database.transaction() as session,
    ):
        agreements.add_milestone(
            session,
            alliance_id=alliance_id,
            title="Late",
            responsible="x",
            target_date=date(2025, 8, 1),
            acting=COORDINATOR,
            today=agency_today(),
        )
    for step in (agreements.conclude, agreements.terminate):
        with (
            pytest.raises(Conflict, match="nothing more can be decided"),
            database.transaction() as session,
        ):
            step(
                session,
                alliance_id=alliance_id,
                acting=COORDINATOR,
                outbox=outbox,
                today=agency_today(),
                **({"notice_date": date(2025, 7, 1)} if step is agreements.terminate else {}),
            )
    with pytest.raises(Conflict, match="nothing more can be decided"):
        renew(alliance_id, date(2025, 7, 1), 2, today=date(2025, 7, 1))


@pytest.mark.integration
@COMMITTED
def test_a_terminated_alliance_ends_on_the_effective_date_and_says_so(redis_client):
    alliance_id = signed_alliance(signing_date=date(2025, 3, 1), term_years=3).id
    redis_client.flushdb()
    with (
        pytest.raises(Invalid, match="cannot be in the future") as caught,
        database.transaction() as session,
    ):
        agreements.terminate(
            session,
            alliance_id=alliance_id,
            notice_date=date(2026, 1, 16),
            acting=COORDINATOR,
            outbox=outbox,
            today=date(2026, 1, 15),
        )
    assert list(caught.value.errors) == ["notice_date"]
    with (
        pytest.raises(Invalid, match="before the signing date"),
        database.transaction() as session,
    ):
        agreements.terminate(
            session,
            alliance_id=alliance_id,
            notice_date=date(2025, 2, 1),
            acting=COORDINATOR,
            outbox=outbox,
            today=date(2026, 1, 15),
        )
    assert alliance(alliance_id).status == "active"

    with database.transaction() as session:
        agreements.terminate(
            session,
            alliance_id=alliance_id,
            notice_date=date(2026, 1, 15),
            reason="No activity for a year",
            acting=COORDINATOR,
            outbox=outbox,
            today=date(2026, 1, 15),
        )

    terminated = alliance(alliance_id)
    assert (terminated.status, terminated.ended_on) == ("terminated", date(2026, 2, 14))
    with database.transaction() as session:
        change = session.scalars(select(AllianceStatusChange)).one()
        assert (change.status, change.decided_on, change.effective_on, change.reason) == (
            "terminated",
            date(2026, 1, 15),
            date(2026, 2, 14),
            "No activity for a year",
        )
    assert [c for _, c, _ in history(alliance_id, "terminated")] == [
        {"status": ["active", "terminated"], "ended_on": [None, "2026-02-14"]}
    ]
    [payload] = events(redis_client, "notify.alliance_terminated")
    assert (payload["notice_date"], payload["effective_on"], payload["reference"]) == (
        "2026-01-15",
        "2026-02-14",
        terminated.reference,
    )


# -- Ambassadors ------------------------------------------------------------------------------


def designate(alliance_id, today, designated_on=None):
    with database.transaction() as session:
        return agreements.designate_ambassador(
            session,
            alliance_id=alliance_id,
            designated_on=designated_on,
            acting=COORDINATOR,
            outbox=outbox,
            today=today,
        )


@pytest.mark.integration
@COMMITTED
def test_an_ambassador_completed_an_initial_term_and_one_renewal(redis_client):
    # Through 2024-01-09:
    alliance_id = signed_alliance(signing_date=date(2022, 1, 10), term_years=2).id
    redis_client.flushdb()

    with pytest.raises(Conflict, match="has not been renewed yet"):
        designate(alliance_id, today=date(2024, 6, 1))
    renew(alliance_id, date(2023, 12, 1), 2, today=date(2023, 12, 1))
    with pytest.raises(Conflict, match="initial term runs through 2024-01-09"):
        designate(alliance_id, today=date(2024, 1, 9))
    with pytest.raises(Conflict, match="not been renewed yet"):
        designate(alliance_id, today=date(2024, 6, 1), designated_on=date(2023, 11, 30))
    with pytest.raises(Invalid, match="cannot be in the future"):
        designate(alliance_id, today=date(2024, 6, 1), designated_on=date(2024, 6, 2))
    assert alliance(alliance_id).status == "active"
    assert events(redis_client, "notify.ambassador_designated") == []

    designate(alliance_id, today=date(2024, 1, 10))

    named = alliance(alliance_id)
    assert (named.status, named.ended_on) == ("ambassador", None)
    assert [c for _, c, _ in history(alliance_id, "ambassador designated")] == [
        {"status": ["active", "ambassador"], "ambassador_since": [None, "2024-01-10"]}
    ]
    [payload] = events(redis_client, "notify.ambassador_designated")
    assert payload["designated_on"] == "2024-01-10"
    with pytest.raises(Conflict, match="Ambassadors are not"):
        renew(alliance_id, date(2024, 2, 1), 3, today=date(2024, 2, 1))
    with pytest.raises(Conflict, match="an Ambassador already"):
        designate(alliance_id, today=date(2024, 2, 1))
    with database.transaction() as session:  # an Ambassador keeps its work plan going
        agreements.add_meeting(
            session,
            alliance_id=alliance_id,
            met_on=date(2024, 2, 1),
            acting=LEE,
            today=date(2024, 2, 1),
        )
        found = agreements.eligibility(session, named, on=date(2024, 2, 1))
    assert found == agreements.Eligibility(False, "This partner is an Ambassador already.")


# -- notify -----------------------------------------------------------------------------------


@pytest.mark.integration
@COMMITTED
def test_the_partner_contact_and_the_liaison_hear_of_each_change_once(redis_client):
    alliance_id = signed_alliance(signing_date=date(2022, 1, 10), term_years=2).id
    redis_client.flushdb()
    renew(alliance_id, date(2023, 12, 1), 2, today=date(2023, 12, 1))
    designate(alliance_id, today=date(2024, 1, 10))
    with database.transaction() as session:
        agreements.terminate(
            session,
            alliance_id=alliance_id,
            notice_date=date(2025, 3, 3),
            acting=COORDINATOR,
            outbox=outbox,
            today=date(2025, 3, 3),
        )

    deliver_to_notify(redis_client)
    deliver_to_notify(redis_client)  # a redelivery changes nothing

    with notify_db.transaction() as session:
        sent = sorted(
            (m.template, m.to_address, m.status, m.subject)
            for m in session.scalars(select(Message))
        )
        bodies = {(m.template, m.to_address): m.text_body for m in session.scalars(select(Message))}
    name = "Michigan Roofing Contractors Association"
    reference = alliance(alliance_id).reference
    ambassador = f"{name} is now an Alliance Program Ambassador of MIOSHA ({reference})"
    renewed = f"The alliance between {name} and MIOSHA is renewed until November 30, 2025"
    notice = f"Notice: the alliance between {name} and MIOSHA ends on April 2, 2025"
    assert sent == [
        ("alliance_ambassador", "dana@example.org", "pending", ambassador),
        ("alliance_ambassador", "lee@agency.example", "pending", ambassador),
        ("alliance_renewed", "dana@example.org", "pending", f"{renewed} ({reference})"),
        ("alliance_renewed", "lee@agency.example", "pending", f"{renewed} ({reference})"),
        ("alliance_terminated", "dana@example.org", "pending", f"{notice} ({reference})"),
        ("alliance_terminated", "lee@agency.example", "pending", f"{notice} ({reference})"),
    ]
    partner_notice = bodies[("alliance_terminated", "dana@example.org")]
    assert partner_notice.startswith("Dear Dana Smith,")
    assert "gave written notice on March 3, 2025" in partner_notice
    assert "Questions: your liaison, Lee Liaison (lee@agency.example)." in partner_notice
    assert bodies[("alliance_terminated", "lee@agency.example")].startswith("Dear Lee Liaison,")
    assert (
        "Partner contact: Dana Smith (dana@example.org)"
        in bodies[("alliance_renewed", "lee@agency.example")]
    )


Term = agreements.Term


@pytest.mark.unit
@pytest.mark.parametrize(
    ("signed", "years", "ends_on"),
    [
        (date(2024, 3, 1), 2, date(2026, 2, 28)),
        (date(2028, 2, 29), 4, date(2032, 2, 28)),  # 29 February to a leap year
        (date(2028, 2, 29), 3, date(2031, 2, 27)),  # to a common year: the 28th is the day
        (date(2027, 3, 1), 5, date(2032, 2, 29)),  # the day before runs into a 29 February
    ],
)
def test_a_renewed_term_ends_the_day_before_its_anniversary(signed, years, ends_on):
    assert agreements.renewed_term(1, signed, years) == Term(1, signed, years, ends_on)


@pytest.mark.unit
@pytest.mark.parametrize(
    ("notice", "effective"),
    [
        (date(2026, 1, 15), date(2026, 2, 14)),
        (date(2028, 2, 10), date(2028, 3, 11)),  # through a 29 February
        (date(2026, 12, 15), date(2027, 1, 14)),  # into the next year
    ],
)
def test_termination_takes_effect_30_days_after_the_written_notice(notice, effective):
    assert agreements.termination_effective_on(notice) == effective


INITIAL = Term(0, date(2022, 1, 10), 2, date(2024, 1, 9))
RENEWED = Term(1, date(2023, 12, 1), 2, date(2025, 11, 30))
NOT_RENEWED = (
    "An Ambassador has completed an initial term and one renewal: "
    "this alliance has not been renewed yet."
)


@pytest.mark.unit
@pytest.mark.parametrize(
    ("status", "terms", "on", "expected"),
    [
        ("active", [INITIAL], date(2024, 6, 1), (False, NOT_RENEWED)),
        ("active", [INITIAL, RENEWED], date(2023, 11, 30), (False, NOT_RENEWED)),
        (
            "active",
            [INITIAL, RENEWED],
            date(2024, 1, 9),
            (
                False,
                "An Ambassador has completed an initial term and one renewal: the initial "
                "term runs through 2024-01-09.",
            ),
        ),
        (
            "active",
            [INITIAL, RENEWED],
            date(2024, 1, 10),
            (True, "The initial term ended on 2024-01-09 and the alliance was renewed."),
        ),
        (
            "ambassador",
            [INITIAL, RENEWED],
            date(2024, 6, 1),
            (False, "This partner is an Ambassador already."),
        ),
        (
            "terminated",
            [INITIAL, RENEWED],
            date(2024, 6, 1),
            (False, "This alliance is terminated: only an active alliance qualifies."),
        ),
    ],
)
def test_an_ambassador_completed_an_initial_term_and_one_renewal_alliance_rules(
    status, terms, on, expected
):
    assert agreements.ambassador_eligibility(status, terms, on=on) == agreements.Eligibility(
        *expected
    )


LEE_ID = uuid.uuid4()


def acting_alliance_rules(*roles, staff_id=None, conflicts=()):
    return Acting(
        staff_id=staff_id or uuid.uuid4(),
        email="x@agency.example",
        roles=frozenset(roles),
        conflicts=frozenset(conflicts),
    )


@pytest.mark.unit
@pytest.mark.parametrize(
    ("who", "keeps"),
    [
        (acting_alliance_rules("coordinator"), True),
        (acting_alliance_rules("liaison", staff_id=LEE_ID), True),
        (acting_alliance_rules("liaison"), False),
        (
            acting_alliance_rules("reviewer", staff_id=LEE_ID),
            False,
        ),  # the liaison's id, not the role
        (acting_alliance_rules("reviewer", "liaison", staff_id=LEE_ID), True),
        (acting_alliance_rules("coordinator", conflicts=["roofers"]), False),
        (acting_alliance_rules("liaison", staff_id=LEE_ID, conflicts=["roofers"]), False),
    ],
    ids=[
        "coordinator",
        "its liaison",
        "another liaison",
        "reviewer",
        "reviewer and its liaison",
        "coordinator in conflict",
        "its liaison in conflict",
    ],
)
def test_the_coordinator_and_the_alliances_own_liaison_keep_its_work_plan_alliance_rules(
    who, keeps
):
    alliance = Alliance(liaison_id=LEE_ID, partner_name="Roofers")
    assert agreements.may_keep_work_plan(alliance, who) is keeps


@pytest.mark.unit
def test_a_milestone_done_without_a_day_is_done_today():
    values = {"title": " Talks ", "target_date": date(2024, 9, 1), "responsible": "partner"}
    today = date(2024, 6, 1)
    assert agreements.checked_milestone({**values, "status": "done"}, today=today) == {
        "title": "Talks",
        "description": "",
        "target_date": date(2024, 9, 1),
        "responsible": "partner",
        "status": "done",
        "done_on": today,
    }
    with pytest.raises(Invalid) as caught:
        agreements.checked_milestone(
            {**values, "status": "done", "done_on": date(2024, 6, 2)}, today=today
        )
    assert caught.value.errors == {"done_on": ["A milestone is done on or before today."]}
    with pytest.raises(Invalid) as caught:
        agreements.checked_milestone({**values, "done_on": date(2024, 5, 2)}, today=today)
    assert caught.value.errors == {"done_on": ["Only a milestone that is done has a done date."]}


@pytest.mark.unit
@pytest.mark.parametrize(
    "url", ["file:///c:/plan.docx", "agency.example/plan.pdf", "https://", "https://a b.example"]
)
def test_a_document_link_is_a_web_address(url):
    with pytest.raises(Invalid) as caught:
        agreements.checked_url(url)
    assert caught.value.errors == {
        "url": ["Give a web address starting with https:// (or http://)."]
    }


@pytest.mark.unit
def test_a_document_link_may_be_left_out():
    assert (
        agreements.checked_url(" https://agency.example/a.pdf "),
        agreements.checked_url(""),
    ) == (
        "https://agency.example/a.pdf",
        "",
    )


# -- roundtables ------------------------------------------------------------------------------


@pytest.mark.unit
@pytest.mark.parametrize(
    ("ends_on", "day", "runs"),
    [
        (None, date(2024, 1, 1), True),  # its first day
        (None, date(2023, 12, 31), False),
        (date(2024, 6, 30), date(2024, 6, 30), True),  # its last day
        (date(2024, 6, 30), date(2024, 7, 1), False),
    ],
)
def test_a_roundtable_runs_from_its_first_through_its_last_day(ends_on, day, runs):
    assert roundtables.runs_on(date(2024, 1, 1), ends_on, day) is runs


@pytest.mark.unit
def test_a_workgroup_is_current_only_while_its_roundtable_is():
    construction = Roundtable(starts_on=date(2024, 1, 1), ends_on=date(2024, 6, 30))
    falls = Roundtable(starts_on=date(2024, 2, 1), ends_on=None)
    assert roundtables.is_current(falls, date(2024, 6, 30), construction) is True
    assert roundtables.is_current(falls, date(2024, 7, 1)) is True  # on its own
    assert roundtables.is_current(falls, date(2024, 7, 1), construction) is False
    assert roundtables.is_current(falls, date(2024, 1, 15), construction) is False


# -- the public directory ---------------------------------------------------------------------


@pytest.mark.unit
@pytest.mark.parametrize(
    ("website", "published"),
    [
        ("https://roofers.example", "https://roofers.example"),
        (" http://roofers.example/about ", "http://roofers.example/about"),
        ("roofers.example", ""),
        ("javascript:alert(1)", ""),
        (None, ""),
    ],
)
def test_the_directory_publishes_only_a_plain_web_address(website, published):
    assert directory.website({"website": website, "email": "private@roofers.example"}) == (
        published
    )


@pytest.mark.unit
def test_the_directory_publishes_each_goal_field_by_field():
    [goal] = directory.goals(
        [
            {
                "category": "training_education",
                "term": "long",
                "description": "Train 500 roofers",
                "measure": "workers trained (internal)",
                "activities": ["develop_training"],
            }
        ]
    )
    assert goal == directory.Goal(
        category="training_education",
        category_label="Training and education",
        description="Train 500 roofers",
        term="long",
        term_label="Long-term",
    )


TODAY = agency_today()
APPROVED = TODAY - timedelta(days=30)


def outbox_types(session):
    session.flush()
    return [
        parse_event(row.message).type
        for row in session.scalars(select(OutboxEvent).order_by(OutboxEvent.id))
    ]


def sign(session, alliance_id, signing_date, *, by=COORDINATOR, **extra):
    return agreements.record_signing(
        session,
        acting=by,
        alliance_id=alliance_id,
        signing_date=signing_date,
        outbox=outbox,
        today=TODAY,
        **extra,
    )


def refused(session, error, step):
    """``step`` is refused with ``error``, and the alliance still awaits its signing."""
    with pytest.raises(error) as refusal, session.begin_nested():
        step()
    return refusal.value


# -- the rules --------------------------------------------------------------------------------


@pytest.mark.integration
def test_a_released_approval_creates_the_alliance_awaiting_its_signing(session):
    alliance = approved_alliance(term_years=3, session=session)

    assert (alliance.status, alliance.signing_date, alliance.ends_on) == (
        "awaiting_signature",
        None,
        None,
    )
    assert alliance.term_years == 3
    # Only the decision goes out: nobody hears of a signing yet.
    assert outbox_types(session) == ["proposal.approved"]
    approved = parse_event(session.scalars(select(OutboxEvent)).one().message)
    assert approved.payload["signing_date"] is None
    assert approved.payload["term_years"] == 3
    assert agreements.terms(session, alliance) == []
    [entry] = audit.history(session, entity_type="alliance", entity_id=alliance.id)
    assert (entry.action, entry.actor) == ("approved", COORDINATOR.email)


@pytest.mark.integration
def test_the_coordinator_records_the_signing_and_alliance_signed_goes_out(session):
    alliance_id = approved_alliance(term_years=3, approved_on=APPROVED, session=session).id
    signed_on = APPROVED + timedelta(days=10)

    signed = sign(session, alliance_id, signed_on, term_years=2)

    assert (signed.status, signed.signing_date, signed.term_years, signed.ends_on) == (
        "active",
        signed_on,
        2,
        term_end(signed_on, 2),
    )
    [term] = session.scalars(select(AllianceTerm).where(AllianceTerm.alliance_id == alliance_id))
    assert (term.number, term.signing_date, term.term_years, term.decided_by) == (
        0,
        signed_on,
        2,
        COORDINATOR.email,
    )
    assert outbox_types(session) == ["proposal.approved", "alliance.signed"]
    announced = parse_event(session.scalars(select(OutboxEvent)).all()[-1].message)
    assert (announced.payload["signing_date"], announced.payload["ends_on"]) == (
        signed_on,
        term_end(signed_on, 2),
    )
    assert announced.payload["liaison"]["email"] == LIAISON.email
    entry = audit.history(session, entity_type="alliance", entity_id=alliance_id)[-1]
    assert (entry.action, entry.actor) == ("signed", COORDINATOR.email)
    assert entry.changes == {
        "ends_on": [None, term_end(signed_on, 2).isoformat()],
        "signing_date": [None, signed_on.isoformat()],
        "status": ["awaiting_signature", "active"],
        "term_years": [3, 2],
    }


@pytest.mark.integration
def test_the_term_is_the_approvals_unless_given(session):
    alliance_id = approved_alliance(term_years=4, approved_on=APPROVED, session=session).id
    signed = sign(session, alliance_id, TODAY)
    assert (signed.term_years, signed.ends_on) == (4, term_end(TODAY, 4))


@pytest.mark.integration
@pytest.mark.parametrize(
    "who",
    [
        REVIEWER,
        acting_as(LIAISON),
        acting(
            "cora2@agency.example",
            "coordinator",
            conflicts=["Michigan Roofing Contractors Association"],
        ),
    ],
    ids=["a reviewer", "its liaison", "a Coordinator in conflict with the partner"],
)
def test_only_the_coordinator_records_the_signing(session, who):
    alliance_id = approved_alliance(approved_on=APPROVED, session=session).id
    refusal = refused(session, Forbidden, lambda: sign(session, alliance_id, TODAY, by=who))
    assert "another staff member" in refusal.message or "Only the Coordinator" in refusal.message
    assert session.get(Alliance, alliance_id).status == "awaiting_signature"
    assert outbox_types(session) == ["proposal.approved"]


@pytest.mark.integration
def test_the_signing_date_is_not_in_the_future_nor_before_the_approval(session):
    alliance_id = approved_alliance(approved_on=APPROVED, session=session).id
    cases = [
        (TODAY + timedelta(days=1), {}, "signing_date", "cannot be in the future"),
        (APPROVED - timedelta(days=1), {}, "signing_date", APPROVED.isoformat()),
        (None, {}, "signing_date", "Give the date the agreement was signed."),
        (TODAY, {"term_years": 6}, "term_years", "The initial term is 1 to 5 years."),
        (TODAY, {"term_years": 0}, "term_years", "The initial term is 1 to 5 years."),
        (TODAY, {"term_years": "3"}, "term_years", "Give the term in whole years."),
    ]
    for day, extra, field, words in cases:
        refusal = refused(
            session, Invalid, lambda d=day, e=extra: sign(session, alliance_id, d, **e)
        )
        assert list(refusal.errors) == [field], (day, extra)
        assert words in refusal.errors[field][0], refusal.errors
    assert session.get(Alliance, alliance_id).status == "awaiting_signature"
    # The approval's own day, and today, are fine.
    assert sign(session, alliance_id, APPROVED).signing_date == APPROVED


@pytest.mark.integration
def test_a_signing_is_recorded_once(session):
    alliance_id = approved_alliance(approved_on=APPROVED, session=session).id
    sign(session, alliance_id, TODAY)
    refusal = refused(session, Conflict, lambda: sign(session, alliance_id, TODAY))
    assert refusal.message == (
        f"The signing of this alliance is already recorded (signed on {TODAY.isoformat()}); "
        "it is active."
    )
    assert outbox_types(session) == ["proposal.approved", "alliance.signed"]


@pytest.mark.integration
def test_an_alliance_awaiting_its_signing_is_not_yet_decided_on(session):
    alliance_id = approved_alliance(approved_on=APPROVED, session=session).id
    on = {"acting": COORDINATOR, "alliance_id": alliance_id, "outbox": outbox, "today": TODAY}
    steps = {
        "renewed": lambda: agreements.renew(session, signing_date=TODAY, term_years=2, **on),
        "concluded": lambda: agreements.conclude(session, **on),
        "terminated": lambda: agreements.terminate(session, notice_date=TODAY, **on),
        "named an Ambassador": lambda: agreements.designate_ambassador(session, **on),
    }
    for what, step in steps.items():
        refusal = refused(session, Conflict, step)
        assert refusal.message == (
            f"This alliance is awaiting signature: record the signing before it can be {what}."
        )
        assert refusal.status == 409
    assert session.get(Alliance, alliance_id).status == "awaiting_signature"
    assert outbox_types(session) == ["proposal.approved"]
    eligibility = agreements.eligibility(session, session.get(Alliance, alliance_id), on=TODAY)
    assert eligibility.reason == (
        "This alliance is awaiting signature: only an active alliance qualifies."
    )


@pytest.mark.integration
def test_the_team_may_plan_before_the_signing(session):
    alliance_id = approved_alliance(approved_on=APPROVED, session=session).id
    lee = acting_as(LIAISON)
    agreements.add_milestone(
        session,
        acting=lee,
        alliance_id=alliance_id,
        title="Sign the agreement",
        target_date=TODAY,
        responsible="agency",
        today=agency_today(),
    )
    agreements.add_meeting(
        session, acting=lee, alliance_id=alliance_id, met_on=APPROVED, today=agency_today()
    )
    refusal = refused(
        session,
        Invalid,
        lambda: agreements.add_meeting(
            session,
            acting=lee,
            alliance_id=alliance_id,
            met_on=APPROVED - timedelta(days=1),
            today=agency_today(),
        ),
    )
    assert refusal.errors == {
        "met_on": [f"The implementation team meets from the approval ({APPROVED.isoformat()}) on."]
    }
    assert [m.title for m in agreements.milestones(session, alliance_id)] == ["Sign the agreement"]


@pytest.mark.integration
def test_awaiting_alliances_are_listed_for_staff_but_not_in_the_public_directory(session):
    waiting = approved_alliance("Bakers Guild", session=session)
    signed = signed_alliance("Roofers Guild", signing_date=date(2024, 3, 1), session=session)

    assert [
        a.partner_name for a in directory.public_directory(session, today=agency_today()).alliances
    ] == ["Roofers Guild"]
    listed = agreements.list_alliances(session, acting=REVIEWER, status="awaiting_signature")
    assert [a.id for a in listed] == [waiting.id]
    assert {a.id for a in agreements.list_alliances(session, acting=REVIEWER)} == {
        waiting.id,
        signed.id,
    }


TODAY_ALLIANCE_CONFLICTS = date(2024, 6, 3)


def counts(session):
    return tuple(
        session.scalar(select(func.count()).select_from(model))
        for model in (Milestone, TeamMeeting, OutboxEvent)
    )


@pytest.mark.integration
@pytest.mark.parametrize(
    "who",
    [
        acting("cora@agency.example", "coordinator", conflicts=[ROOFERS]),
        acting_as(LIAISON, conflicts=["michigan roofing contractors ASSOCIATION"]),
    ],
    ids=["coordinator", "its-own-liaison"],
)
def test_a_conflicted_keeper_cannot_change_the_alliance_and_nothing_is_stored(rolled_back, who):
    session = rolled_back("review")
    alliance = signed_alliance(session=session)
    before = counts(session), alliance.status, alliance.ends_on

    with pytest.raises(Forbidden, match="conflict of interest with Michigan Roofing"):
        alliances.add_milestone(
            session,
            acting=who,
            alliance_id=alliance.id,
            title="Toolbox talks",
            target_date=date(2024, 9, 1),
            responsible="Dana",
            today=TODAY_ALLIANCE_CONFLICTS,
        )
    with pytest.raises(Forbidden, match="conflict of interest"):
        alliances.add_meeting(
            session,
            acting=who,
            alliance_id=alliance.id,
            met_on=TODAY_ALLIANCE_CONFLICTS,
            today=TODAY_ALLIANCE_CONFLICTS,
        )
    if who.is_coordinator:
        with pytest.raises(Forbidden, match="conflict of interest"):
            alliances.terminate(
                session,
                acting=who,
                alliance_id=alliance.id,
                notice_date=TODAY_ALLIANCE_CONFLICTS,
                outbox=outbox,
                today=TODAY_ALLIANCE_CONFLICTS,
            )
        with pytest.raises(Forbidden, match="conflict of interest"):
            alliances.renew(
                session,
                acting=who,
                alliance_id=alliance.id,
                signing_date=TODAY_ALLIANCE_CONFLICTS,
                term_years=3,
                outbox=outbox,
                today=TODAY_ALLIANCE_CONFLICTS,
            )

    session.expire_all()
    stored = session.get(Alliance, alliance.id)
    assert (counts(session), stored.status, stored.ends_on) == before

    # Reading stays open, and the page offers them nothing to change.
    page = alliances.alliance_page(
        session, alliance_id=alliance.id, acting=who, today=TODAY_ALLIANCE_CONFLICTS
    )
    assert page.may_keep_work_plan is False
    assert page.may_decide is False


@pytest.mark.integration
def test_without_the_conflict_the_same_people_change_it(rolled_back):
    session = rolled_back("review")
    alliance = signed_alliance(session=session)

    keepers = (acting("cora@agency.example", "coordinator"), acting_as(LIAISON))
    for day, who in enumerate(keepers, start=1):
        met_on = date(2024, 6, day)
        alliances.add_meeting(
            session,
            acting=who,
            alliance_id=alliance.id,
            met_on=met_on,
            today=TODAY_ALLIANCE_CONFLICTS,
        )

    assert session.scalar(select(func.count()).select_from(TeamMeeting)) == 2
