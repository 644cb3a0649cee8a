"""Approval and signing are two steps: a released approval creates the alliance awaiting its
signing, and the Coordinator records the day the agreement was signed, on the alliance's page
or over the API; only then does ``alliance.signed`` go out.

The rules are domain-level tests, each in a transaction rolled back after it (``session``);
the pages and the API commit (``COMMITTED``)."""

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from services.review import audit, create_app
from services.review.alliances import domain as agreements
from services.review.alliances.models import Alliance, AllianceTerm
from services.review.base import OutboxEvent
from services.review.directory import domain as directory
from services.review.worker import database, outbox
from shared.dates import term_end
from shared.domain import Conflict, Forbidden, Invalid
from shared.events import parse_event
from tests.factories import (
    COORDINATOR,
    LIAISON,
    REVIEWER,
    acting,
    acting_as,
    agency_today,
    approved_alliance,
    signed_alliance,
    signed_in,
    staff_member,
)

pytestmark = pytest.mark.integration
COMMITTED = pytest.mark.usefixtures("clean_databases")

TODAY = agency_today()
APPROVED = TODAY - timedelta(days=30)


@pytest.fixture
def session(rolled_back):
    return rolled_back("review")


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


def test_the_term_is_the_approvals_unless_given(session):
    alliance_id = approved_alliance(term_years=4, approved_on=APPROVED, session=session).id
    signed = sign(session, alliance_id, TODAY)
    assert (signed.term_years, signed.ends_on) == (4, term_end(TODAY, 4))


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


def test_a_signing_is_recorded_once(session):
    alliance_id = approved_alliance(approved_on=APPROVED, session=session).id
    sign(session, alliance_id, TODAY)
    refusal = refused(session, Conflict, lambda: sign(session, alliance_id, TODAY))
    assert refusal.message == (
        f"The signing of this alliance is already recorded (signed on {TODAY.isoformat()}); "
        "it is active."
    )
    assert outbox_types(session) == ["proposal.approved", "alliance.signed"]


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


# -- the page and the API ---------------------------------------------------------------------


@pytest.fixture
def app(redis_client):
    return create_app({"TESTING": True, "WTF_CSRF_ENABLED": False})


@pytest.fixture
def people():
    with database.transaction() as session:
        return {
            "coordinator": staff_member(
                "cora@agency.example", "coordinator", name="Cora Coordinator", session=session
            ),
            "reviewer": staff_member("rev@agency.example", "reviewer", session=session),
            "lee": staff_member(
                "lee@agency.example", "liaison", name="Lee Liaison", session=session
            ),
        }


@COMMITTED
def test_the_alliance_page_shows_what_waits_and_records_the_signing(app, people):
    alliance_id = approved_alliance("Roofers Guild", liaison=people["lee"], term_years=3).id
    page = f"/staff/alliances/{alliance_id}"
    cora = signed_in(app, people["coordinator"])

    html = cora.get(page).get_data(as_text=True)
    assert 'id="awaiting-signature"' in html
    assert "Awaiting signature" in html
    assert "Not signed yet: 3 years from the day the agreement is signed" in html
    assert ">Date the agreement was signed" in html
    assert ">Record the signing</button>" in html
    assert "Renew the alliance" not in html  # nothing else is decided before the signing

    # Someone who may not record it reads what waits, without the form.
    reviewer_html = signed_in(app, people["reviewer"]).get(page).get_data(as_text=True)
    assert "The Coordinator records the signing on this page." in reviewer_html
    assert ">Record the signing</button>" not in reviewer_html
    assert (
        signed_in(app, people["reviewer"])
        .post(f"{page}/signing", data={"signing_date": TODAY.isoformat()})
        .status_code
        == 403
    )

    future = (TODAY + timedelta(days=1)).isoformat()
    bad = cora.post(f"{page}/signing", data={"signing_date": future, "term_years": "3"})
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    assert 'href="#signing-signing-date"' in html  # the error summary links to the field
    assert "Date the agreement was signed" in html
    assert "the date cannot be in the future" in html
    assert f'value="{future}"' in html

    done = cora.post(f"{page}/signing", data={"signing_date": TODAY.isoformat(), "term_years": "2"})
    assert done.status_code == 303
    html = cora.get(done.headers["Location"]).get_data(as_text=True)
    long_today = TODAY.strftime("%B %-d, %Y")
    assert f"Signing recorded: signed on {long_today} for 2 years" in html
    assert 'id="awaiting-signature"' not in html
    assert f"Signed {long_today}, 2 years" in html
    # The history names the person who recorded it, never their e-mail address.
    history = html.partition('id="history"')[2]
    assert "Cora Coordinator" in history
    assert "cora@agency.example" not in history
    assert "Awaiting signature → Active" in history

    again = cora.post(f"{page}/signing", data={"signing_date": TODAY.isoformat()})
    assert again.status_code == 409
    assert "already recorded" in again.get_data(as_text=True)


@COMMITTED
def test_the_list_labels_and_filters_the_alliances_awaiting_signature(app, people):
    approved_alliance("Bakers Guild", liaison=people["lee"])
    signed_alliance("Roofers Guild", liaison=people["lee"], signing_date=date(2024, 3, 1))
    reviewer = signed_in(app, people["reviewer"])

    html = reviewer.get("/staff/alliances").get_data(as_text=True)
    assert '<option value="awaiting_signature"' in html
    row = html.partition("Bakers Guild")[2].partition("</tr>")[0]
    assert "Awaiting signature" in row
    assert "Not yet" in row
    waiting = reviewer.get("/staff/alliances?status=awaiting_signature").get_data(as_text=True)
    assert "Bakers Guild" in waiting
    assert "Roofers Guild" not in waiting


@COMMITTED
def test_the_signing_api_answers_field_errors_409_and_the_page(app, people):
    alliance_id = approved_alliance("Roofers Guild", liaison=people["lee"], term_years=3).id
    url = f"/api/v1/alliances/{alliance_id}/signing"
    cora = signed_in(app, people["coordinator"])

    listed = cora.get("/api/v1/alliances?status=awaiting_signature").get_json()
    assert [(a["status"], a["status_label"], a["signing_date"]) for a in listed["alliances"]] == [
        ("awaiting_signature", "Awaiting signature", None)
    ]
    for body, field in (
        ({}, "signing_date"),
        ({"signing_date": "yesterday"}, "signing_date"),
        ({"signing_date": (TODAY + timedelta(days=1)).isoformat()}, "signing_date"),
        ({"signing_date": TODAY.isoformat(), "term_years": 9}, "term_years"),
        ({"signing_date": TODAY.isoformat(), "term_years": "two"}, "term_years"),
    ):
        answer = cora.post(url, json=body)
        assert answer.status_code == 422, body
        assert list(answer.get_json()["errors"]) == [field], answer.get_json()
    assert (
        signed_in(app, people["reviewer"])
        .post(url, json={"signing_date": TODAY.isoformat()})
        .status_code
        == 403
    )

    page = cora.post(url, json={"signing_date": TODAY.isoformat()})
    assert page.status_code == 200, page.get_json()
    body = page.get_json()
    assert (body["status"], body["signing_date"], body["term_years"]) == (
        "active",
        TODAY.isoformat(),
        3,
    )
    assert body["names"]["cora@agency.example"] == "Cora Coordinator"
    again = cora.post(url, json={"signing_date": TODAY.isoformat()})
    assert again.status_code == 409
    assert "already recorded" in again.get_json()["errors"]["_request"][0]

    waiting = approved_alliance("Bakers Guild", liaison=people["lee"]).id
    refused_renewal = cora.post(
        f"/api/v1/alliances/{waiting}/renewal",
        json={"signing_date": TODAY.isoformat(), "term_years": 2},
    )
    assert refused_renewal.status_code == 409
    assert refused_renewal.get_json()["errors"]["_request"] == [
        "This alliance is awaiting signature: record the signing before it can be renewed."
    ]
