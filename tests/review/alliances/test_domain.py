"""The agreement's life on real PostgreSQL and Redis: the work plan, meetings and documents,
renewal, conclusion, termination with 30 days' notice, Ambassadors, their events and the
messages notify makes of them, and the staff API.

The work plan and who may do what are domain-level tests, each in a transaction rolled back
after it (``session``); what reaches Redis and notify, and the API, commit (``COMMITTED``)."""

import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from services.notify.models import Message
from services.notify.worker import database as notify_db
from services.review import audit, create_app
from services.review.alliances import domain as agreements
from services.review.alliances.models import (
    Alliance,
    AllianceDocument,
    AllianceStatusChange,
    AllianceTerm,
    Milestone,
    TeamMeeting,
)
from services.review.alliances.schemas import AlliancePageOut, AllianceTermOut
from services.review.base import AuditEntry, OutboxEvent
from services.review.worker import database, outbox
from shared.dates import term_end
from shared.domain import Conflict, Forbidden, Invalid
from tests.factories import (
    COORDINATOR,
    LIAISON,
    OTHER_LIAISON,
    REVIEWER,
    acting,
    acting_as,
    agency_today,
    approved_alliance,
    signed_alliance,
    signed_in,
    using,
)
from tests.helpers import queued_tasks, stored_rows

pytestmark = pytest.mark.integration
COMMITTED = pytest.mark.usefixtures("clean_databases")

LEE = acting_as(LIAISON)
OLA = acting_as(OTHER_LIAISON)


@pytest.fixture
def session(rolled_back):
    return rolled_back("review")


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


# -- the staff API ----------------------------------------------------------------------------


@pytest.fixture
def app(redis_client):
    return create_app({"TESTING": True, "WTF_CSRF_ENABLED": False})


@COMMITTED
def test_the_agreement_api_checks_who_is_asking(app):
    alliance_id = signed_alliance(liaison=LIAISON).id
    url = f"/api/v1/alliances/{alliance_id}"
    milestone = {"title": "Toolbox talks", "target_date": "2030-01-31", "responsible": "partner"}

    assert app.test_client().get(url).status_code == 401
    reviewer = signed_in(app, acting("rae@agency.example", "reviewer"))
    assert reviewer.get(url).status_code == 200
    refused = reviewer.post(f"{url}/renewal", json={"signing_date": "2026-01-01", "term_years": 2})
    assert (refused.status_code, refused.get_json()) == (
        403,
        {"errors": {"_request": ["This is for the Coordinator only."]}},
    )
    other = signed_in(app, OLA)
    refused = other.post(f"{url}/milestones", json=milestone)
    assert (refused.status_code, refused.get_json()) == (
        403,
        {
            "errors": {
                "_request": [
                    "Only the Coordinator or this alliance's liaison changes its work plan."
                ]
            }
        },
    )
    own = signed_in(app, LEE)
    added = own.post(f"{url}/milestones", json=milestone)
    assert added.status_code == 201
    done = own.patch(f"{url}/milestones/{added.get_json()['id']}", json={"status": "done"})
    assert (done.status_code, done.get_json()["done_on"]) == (200, agency_today().isoformat())
    assert own.post(f"{url}/meetings", json={"met_on": "2024-04-02"}).status_code == 201
    assert (
        own.post(
            f"{url}/documents",
            json={"title": "Agreement", "kind": "agreement", "url": "https://agency.example/a.pdf"},
        ).status_code
        == 201
    )
    assert own.post(f"{url}/conclusion", json={}).status_code == 403

    page = own.get(url).get_json()
    assert page["team"] == {
        "liaison": {"id": str(LIAISON.id), "name": "Lee Liaison", "email": "lee@agency.example"},
        "partner_contact": {
            "name": "Dana Smith",
            "title": "Safety Director",
            "email": "dana@example.org",
            "phone": "517-555-0100",
        },
    }
    assert [g["category"] for g in page["goals"]] == [
        "outreach_communication",
        "training_education",
    ]
    assert [m["status"] for m in page["milestones"]] == ["done"]
    assert [m["met_on"] for m in page["meetings"]] == ["2024-04-02"]
    assert [d["kind"] for d in page["documents"]] == ["agreement"]
    assert [e["action"] for e in page["history"]] == [
        "approved",
        "signed",
        "milestone added",
        "milestone changed",
        "meeting recorded",
        "document added",
    ]
    mine = own.get("/api/v1/alliances?mine=true").get_json()
    assert [a["id"] for a in mine["alliances"]] == [str(alliance_id)]
    assert other.get("/api/v1/alliances?mine=true").get_json()["alliances"] == []


@COMMITTED
def test_bad_input_answers_422_with_the_fields_and_saves_nothing(app):
    alliance_id = signed_alliance(signing_date=date(2024, 3, 1)).id
    url = f"/api/v1/alliances/{alliance_id}"
    coordinator = signed_in(app, COORDINATOR)

    response = coordinator.post(f"{url}/milestones", json={"status": "finished"})
    assert response.status_code == 422
    assert response.get_json() == {
        "errors": {
            "title": ["Give the milestone a title."],
            "target_date": ["Give the target date."],
            "responsible": ["Say who is responsible: a person, the partner or the agency."],
            "status": ["Must be one of: planned, in_progress, done, dropped."],
        }
    }
    response = coordinator.post(
        f"{url}/renewal", json={"signing_date": "2026-02-20", "term_years": 7}
    )
    assert (response.status_code, response.get_json()) == (
        422,
        {"errors": {"term_years": ["A renewal is for 2 to 5 years."]}},
    )
    response = coordinator.post(
        f"{url}/renewal", json={"signing_date": "2024-01-01", "term_years": 3}
    )
    assert (response.status_code, response.get_json()) == (
        422,
        {
            "errors": {
                "signing_date": [
                    "The renewal is signed after the current term's signing date (2024-03-01)."
                ]
            }
        },
    )
    response = coordinator.post(f"{url}/documents", json={"title": "Plan", "kind": "other"})
    assert (response.status_code, response.get_json()) == (
        422,
        {"errors": {"url": ["Give a link to the document or describe where it is kept."]}},
    )
    response = coordinator.post(f"{url}/termination", json={"notice_date": "someday"})
    assert (response.status_code, response.get_json()) == (
        422,
        {"errors": {"notice_date": ["Not a valid date."]}},
    )
    missing = coordinator.get(f"/api/v1/alliances/{uuid.uuid4()}")
    assert (missing.status_code, missing.get_json()) == (
        404,
        {"errors": {"_request": ["No such alliance."]}},
    )

    page = coordinator.get(url).get_json()
    assert (page["status"], page["renewals"], page["milestones"], page["documents"]) == (
        "active",
        0,
        [],
        [],
    )
    assert [e["action"] for e in page["history"]] == ["approved", "signed"]


@COMMITTED
def test_the_coordinator_renews_and_names_an_ambassador_over_the_api(app, redis_client):
    today = agency_today()
    signed = today - timedelta(days=3 * 365)
    alliance_id = signed_alliance(signing_date=signed, term_years=2).id
    url = f"/api/v1/alliances/{alliance_id}"
    coordinator = signed_in(app, COORDINATOR)

    assert coordinator.get(f"{url}/ambassador").get_json() == {
        "eligible": False,
        "reason": (
            "An Ambassador has completed an initial term and one renewal: "
            "this alliance has not been renewed yet."
        ),
    }
    refused = coordinator.post(f"{url}/ambassador", json={})
    assert (refused.status_code, refused.get_json()["errors"]["_request"]) == (
        409,
        [
            "An Ambassador has completed an initial term and one renewal: "
            "this alliance has not been renewed yet."
        ],
    )

    renewal_signed = term_end(signed, 2) - timedelta(days=10)
    renewed = coordinator.post(
        f"{url}/renewal", json={"signing_date": renewal_signed.isoformat(), "term_years": 4}
    )
    assert renewed.status_code == 200
    page = renewed.get_json()
    assert (page["renewals"], page["term_years"], page["ends_on"]) == (
        1,
        4,
        term_end(renewal_signed, 4).isoformat(),
    )
    assert page["ambassador_eligibility"]["eligible"] is True

    named = coordinator.post(f"{url}/ambassador", json={"reason": "Model partner"})
    assert named.status_code == 200
    assert (named.get_json()["status"], named.get_json()["status_change"]["decided_on"]) == (
        "ambassador",
        today.isoformat(),
    )
    assert [
        name
        for name, _ in queued_tasks(redis_client, "notify")
        if name.startswith(("notify.alliance_r", "notify.ambassador"))
    ] == ["notify.alliance_renewed", "notify.ambassador_designated"]

    terminated = coordinator.post(
        f"{url}/termination", json={"notice_date": today.isoformat(), "reason": "Partner dissolved"}
    )
    assert terminated.status_code == 200
    change = terminated.get_json()["status_change"]
    assert (change["status"], change["decided_on"], change["effective_on"]) == (
        "terminated",
        today.isoformat(),
        (today + timedelta(days=30)).isoformat(),
    )
    before, sent = stored_rows(database), queued_tasks(redis_client, "notify")
    again = coordinator.post(f"{url}/conclusion", json={})
    assert again.status_code == 409
    # Still terminated: no status change, no audit entry, no event.
    assert stored_rows(database) == before
    assert queued_tasks(redis_client, "notify") == sent


@COMMITTED
def test_roundtables_and_memberships_over_the_api(app):
    today = agency_today()
    alliance_id = signed_alliance(signing_date=today - timedelta(days=400)).id
    coordinator = signed_in(app, COORDINATOR)
    liaison = signed_in(app, LEE)
    start = (today - timedelta(days=300)).isoformat()

    assert (
        liaison.post(
            "/api/v1/roundtables", json={"name": "Construction Roundtable", "starts_on": start}
        ).status_code
        == 403
    )
    construction = coordinator.post(
        "/api/v1/roundtables", json={"name": "Construction Roundtable", "starts_on": start}
    ).get_json()
    falls = coordinator.post(
        "/api/v1/roundtables",
        json={
            "name": "Fall Protection Workgroup",
            "starts_on": start,
            "parent_id": construction["id"],
        },
    )
    assert falls.status_code == 201
    duplicate = coordinator.post(
        "/api/v1/roundtables", json={"name": "Construction Roundtable", "starts_on": start}
    )
    assert (duplicate.status_code, duplicate.get_json()) == (
        422,
        {"errors": {"name": ["There is a roundtable with this name already."]}},
    )
    nested = coordinator.post(
        "/api/v1/roundtables",
        json={"name": "Ladders", "starts_on": start, "parent_id": falls.get_json()["id"]},
    )
    assert nested.get_json() == {
        "errors": {"parent_id": ["A workgroup belongs to a roundtable, not to another workgroup."]}
    }

    members = f"/api/v1/roundtables/{construction['id']}/memberships"
    joined = coordinator.post(
        members,
        json={
            "alliance_id": str(alliance_id),
            "joined_on": (today - timedelta(days=30)).isoformat(),
        },
    )
    assert joined.status_code == 201
    again = coordinator.post(
        members, json={"alliance_id": str(alliance_id), "joined_on": today.isoformat()}
    )
    assert again.status_code == 409
    left = coordinator.patch(
        f"{members}/{joined.get_json()['id']}", json={"left_on": today.isoformat()}
    )
    assert (left.status_code, left.get_json()["left_on"]) == (200, today.isoformat())

    listed = liaison.get("/api/v1/roundtables").get_json()["roundtables"]
    assert [(r["name"], [m["partner_name"] for m in r["memberships"]]) for r in listed] == [
        ("Construction Roundtable", ["Michigan Roofing Contractors Association"]),
        ("Fall Protection Workgroup", []),
    ]
    page = liaison.get(f"/api/v1/alliances/{alliance_id}").get_json()
    assert [(r["name"], r["left_on"]) for r in page["roundtables"]] == [
        ("Construction Roundtable", today.isoformat())
    ]


def test_an_alliance_awaiting_its_signing_joins_no_roundtable_and_says_so_in_words(app):
    awaiting = approved_alliance().id
    coordinator = signed_in(app, COORDINATOR)
    start = (agency_today() - timedelta(days=10)).isoformat()
    roundtable = coordinator.post(
        "/api/v1/roundtables", json={"name": "Heat Illness Roundtable", "starts_on": start}
    ).get_json()
    refused = coordinator.post(
        f"/api/v1/roundtables/{roundtable['id']}/memberships",
        json={"alliance_id": str(awaiting), "joined_on": agency_today().isoformat()},
    )
    assert refused.status_code == 409
    assert "This alliance is awaiting signature: only an active alliance" in str(refused.get_json())


def test_the_agreement_endpoints_are_described_in_openapi(app):
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    paths = sorted(p for p in spec["paths"] if "/alliances" in p or "/roundtables" in p)
    assert paths == [
        "/api/v1/alliances",
        "/api/v1/alliances/{alliance_id}",
        "/api/v1/alliances/{alliance_id}/ambassador",
        "/api/v1/alliances/{alliance_id}/conclusion",
        "/api/v1/alliances/{alliance_id}/documents",
        "/api/v1/alliances/{alliance_id}/documents/{document_id}",
        "/api/v1/alliances/{alliance_id}/meetings",
        "/api/v1/alliances/{alliance_id}/meetings/{meeting_id}",
        "/api/v1/alliances/{alliance_id}/milestones",
        "/api/v1/alliances/{alliance_id}/milestones/{milestone_id}",
        "/api/v1/alliances/{alliance_id}/renewal",
        "/api/v1/alliances/{alliance_id}/signing",
        "/api/v1/alliances/{alliance_id}/termination",
        "/api/v1/roundtables",
        "/api/v1/roundtables/{roundtable_id}",
        "/api/v1/roundtables/{roundtable_id}/memberships",
        "/api/v1/roundtables/{roundtable_id}/memberships/{membership_id}",
    ]
