"""Review's staff pages for signed alliances over HTTP: the list, an alliance's page, the work
plan, meetings and documents, renewal, conclusion, termination and the Ambassador designation;
bad input shown inline (422, nothing typed lost) and who may do what.

Approval and signing are two steps: a released approval creates the alliance awaiting its
signing, and the Coordinator records the day the agreement was signed, on the alliance's page
or over the API; only then does ``alliance.signed`` go out.

The rules are domain-level tests, each in a transaction rolled back after it (``session``);
the pages and the API commit (``COMMITTED``)."""

import uuid
from datetime import date, timedelta

import pytest

from services.review.alliances import domain as agreements
from services.review.alliances.models import Alliance
from services.review.alliances.schemas import AlliancePageOut
from services.review.worker import database, outbox
from tests.helpers import queued_tasks
from tests.review.factories import (
    acting_as,
    agency_today,
    approved_alliance,
    signed_alliance,
    staff_member,
)
from tests.shared.factories import COORDINATOR, signed_in

pytestmark = pytest.mark.integration

TODAY = agency_today()
# An initial term of two years that ended last year, so a renewal can be recorded today and
# then the partner qualifies as an Ambassador.
LONG_AGO = date(TODAY.year - 3, 1, 15)


def stored(alliance_id):
    with database.transaction() as session:
        page = agreements.alliance_page(
            session, alliance_id=alliance_id, acting=COORDINATOR, today=agency_today()
        )
        return AlliancePageOut().dump(page)


def long(day):
    return day.strftime("%B %-d, %Y")


@pytest.fixture
def people():
    """Staff accounts: the Coordinator, a reviewer, and Lee and Ola, liaisons."""
    with database.transaction() as session:
        return {
            "coordinator": staff_member("cora@agency.example", "coordinator", session=session),
            "reviewer": staff_member("rev@agency.example", "reviewer", session=session),
            "lee": staff_member("lee@agency.example", "liaison", session=session),
            "ola": staff_member("ola@agency.example", "liaison", session=session),
        }


@pytest.mark.usefixtures("clean_databases")
def test_the_list_filters_by_status_and_shows_a_liaison_their_own(review_app, people):
    roofers = signed_alliance("Roofers Guild", liaison=people["lee"], signing_date=LONG_AGO).id
    signed_alliance("Electricians Union", liaison=people["ola"], signing_date=LONG_AGO)
    with database.transaction() as session:
        agreements.conclude(
            session, acting=COORDINATOR, alliance_id=roofers, outbox=outbox, today=agency_today()
        )

    reviewer = signed_in(review_app, people["reviewer"])
    html = reviewer.get("/staff/alliances").get_data(as_text=True)
    assert html.index("Electricians Union") < html.index("Roofers Guild")
    assert f'href="/staff/alliances/{roofers}"' in html
    assert 'href="/staff/alliances"' in html  # the nav's link
    assert "Only the alliances I am the liaison of" not in html  # not a liaison

    active = reviewer.get("/staff/alliances?status=active").get_data(as_text=True)
    assert "Electricians Union" in active
    assert "Roofers Guild" not in active

    lee = signed_in(review_app, people["lee"])
    page = lee.get("/staff/alliances").get_data(as_text=True)
    assert "Only the alliances I am the liaison of" in page
    assert "Electricians Union" in page  # any staff member reads every alliance
    mine = lee.get("/staff/alliances?mine=1").get_data(as_text=True)
    assert "Roofers Guild" in mine
    assert "Electricians Union" not in mine

    bad = reviewer.get("/staff/alliances?status=dormant")
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    assert 'href="#filter-status"' in html
    assert 'id="filter-status-error"' in html


@pytest.mark.usefixtures("clean_databases")
def test_the_alliance_page_shows_goals_team_work_plan_and_history_to_any_staff(review_app, people):
    alliance_id = signed_alliance("Roofers Guild", liaison=people["lee"], signing_date=LONG_AGO).id
    with database.transaction() as session:
        agreements.add_milestone(
            session,
            alliance_id=alliance_id,
            title="Toolbox talks on ladders",
            target_date=TODAY + timedelta(days=60),
            responsible="the partner",
            acting=acting_as(people["lee"]),
            today=agency_today(),
        )

    reviewer = signed_in(review_app, people["reviewer"])
    response = reviewer.get(f"/staff/alliances/{alliance_id}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<h1>Roofers Guild</h1>" in html
    assert "Publish fall-protection toolbox talks to members" in html  # a goal
    assert "Train 500 roofers in fall protection" in html
    assert "Lee, <a" in html
    assert "lee@agency.example" in html
    assert "Dana Smith, Safety Director" in html
    assert "dana@example.org" in html
    assert 'Reads our messages in <strong id="contact-language">English</strong>' in html
    assert "Toolbox talks on ladders" in html
    assert long(TODAY + timedelta(days=60)) in html
    assert "the partner" in html
    assert "Planned" in html
    assert "signed" in html
    assert "milestone added" in html
    assert "Does not qualify today" in html
    assert "this alliance has not been renewed yet" in html
    # A reviewer reads; the forms are for the Coordinator and the alliance's liaison.
    for form in ("Add a milestone", "Record a meeting", "Add a document", "Renew the alliance"):
        assert form not in html
    assert "The Coordinator or this alliance's liaison keeps its work plan" in html

    assert reviewer.get(f"/staff/alliances/{uuid.uuid4()}").status_code == 404

    # Staff see which language a partner reads (the one chosen on the proposal form).
    with database.transaction() as session:
        alliance = session.get(Alliance, alliance_id)
        alliance.contact = {**alliance.contact, "language": "es"}
    html = reviewer.get(f"/staff/alliances/{alliance_id}").get_data(as_text=True)
    assert 'Reads our messages in <strong id="contact-language">Spanish</strong>' in html
    api = reviewer.get(f"/api/v1/alliances/{alliance_id}").get_json()
    assert api["team"]["partner_contact"]["language"] == "es"


@pytest.mark.usefixtures("clean_databases")
def test_the_liaison_keeps_the_work_plan_meetings_and_documents(review_app, people):
    alliance_id = signed_alliance("Roofers Guild", liaison=people["lee"], signing_date=LONG_AGO).id
    lee = signed_in(review_app, people["lee"])
    page = f"/staff/alliances/{alliance_id}"
    html = lee.get(page).get_data(as_text=True)
    for form in ("Add a milestone", "Record a meeting", "Add a document"):
        assert form in html
    assert "Renew the alliance" not in html  # the Coordinator's

    # A milestone: missing title and target date, shown inline with what was typed.
    refused = lee.post(
        f"{page}/milestones",
        data={"title": "  ", "target_date": "", "responsible": "Lee", "description": "Six talks"},
    )
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert "There are 2 problems" in html
    assert 'href="#milestone-title"' in html
    assert 'href="#milestone-target-date"' in html
    assert 'id="milestone-title-error"' in html
    assert "Give the milestone a title." in html
    assert 'id="milestone-target-date-error"' in html
    assert "Give the target date." in html
    assert 'value="Lee"' in html
    assert ">Six talks</textarea>" in html
    assert stored(alliance_id)["milestones"] == []

    target = TODAY + timedelta(days=90)
    added = lee.post(
        f"{page}/milestones",
        data={
            "title": "Toolbox talks",
            "target_date": target.isoformat(),
            "responsible": "the partner",
            "description": "Six talks",
        },
    )
    assert added.status_code == 303
    assert added.headers["Location"] == f"{page}#work-plan"
    html = lee.get(page).get_data(as_text=True)
    assert "Milestone added: Toolbox talks." in html
    [milestone] = stored(alliance_id)["milestones"]
    assert (milestone["title"], milestone["target_date"]) == ("Toolbox talks", target.isoformat())

    # Its status: a bad one and a done date in the future are refused; then done today.
    change = f"{page}/milestones/{milestone['id']}"
    wrong = lee.post(change, data={"status": "finished"})
    assert wrong.status_code == 422
    assert f'id="milestone-{milestone["id"]}-status-error"' in wrong.get_data(as_text=True)
    future = lee.post(
        change, data={"status": "done", "done_on": (TODAY + timedelta(days=3)).isoformat()}
    )
    assert future.status_code == 422
    html = future.get_data(as_text=True)
    assert "A milestone is done on or before today." in html
    assert f'value="{(TODAY + timedelta(days=3)).isoformat()}"' in html
    done = lee.post(change, data={"status": "done", "done_on": ""})
    assert done.status_code == 303
    assert done.headers["Location"] == f"{page}#milestone-{milestone['id']}"
    [milestone] = stored(alliance_id)["milestones"]
    assert (milestone["status"], milestone["done_on"]) == ("done", TODAY.isoformat())
    assert f"Toolbox talks: done on {long(TODAY)}." in lee.get(page).get_data(as_text=True)
    assert lee.post(f"{page}/milestones/{uuid.uuid4()}", data={"status": "done"}).status_code == (
        404
    )

    # A meeting: not in the future, then recorded.
    later = lee.post(
        f"{page}/meetings",
        data={"met_on": (TODAY + timedelta(days=1)).isoformat(), "note": "Kick-off"},
    )
    assert later.status_code == 422
    html = later.get_data(as_text=True)
    assert "Record a meeting once it has taken place." in html
    assert 'href="#meeting-met-on"' in html
    assert ">Kick-off</textarea>" in html
    met = lee.post(f"{page}/meetings", data={"met_on": TODAY.isoformat(), "note": "Kick-off"})
    assert met.status_code == 303
    assert [m["met_on"] for m in stored(alliance_id)["meetings"]] == [TODAY.isoformat()]

    # A document: a link or a description is needed, and a kind.
    empty = lee.post(f"{page}/documents", data={"title": "Signed agreement", "kind": ""})
    assert empty.status_code == 422
    html = empty.get_data(as_text=True)
    assert "Choose agreement, work_plan or other." in html
    assert 'value="Signed agreement"' in html
    nowhere = lee.post(f"{page}/documents", data={"title": "Signed agreement", "kind": "agreement"})
    assert nowhere.status_code == 422
    assert "Give a link to the document or describe where it is kept." in nowhere.get_data(
        as_text=True
    )
    kept = lee.post(
        f"{page}/documents",
        data={
            "title": "Signed agreement",
            "kind": "agreement",
            "url": "https://agency.example/alliances/roofers.pdf",
        },
    )
    assert kept.status_code == 303
    html = lee.get(page).get_data(as_text=True)
    assert 'href="https://agency.example/alliances/roofers.pdf"' in html
    assert "document added" in html
    assert "meeting recorded" in html


@pytest.mark.usefixtures("clean_databases")
def test_a_liaison_cannot_change_another_liaisons_alliance_nor_a_reviewer_anything(
    review_app, people
):
    alliance_id = signed_alliance("Roofers Guild", liaison=people["lee"], signing_date=LONG_AGO).id
    page = f"/staff/alliances/{alliance_id}"
    ola = signed_in(review_app, people["ola"])
    html = ola.get(page).get_data(as_text=True)
    assert "Add a milestone" not in html
    milestone = {"title": "x", "target_date": TODAY.isoformat(), "responsible": "x"}
    assert ola.post(f"{page}/milestones", data=milestone).status_code == 403
    assert ola.post(f"{page}/milestones", data={}).status_code == 403  # before any checking
    assert ola.post(f"{page}/meetings", data={"met_on": TODAY.isoformat()}).status_code == 403
    assert (
        ola.post(f"{page}/documents", data={"title": "x", "kind": "other", "description": "x"})
    ).status_code == 403
    assert ola.post(f"{page}/renewal", data={}).status_code == 403

    reviewer = signed_in(review_app, people["reviewer"])
    renewal = {"signing_date": TODAY.isoformat(), "term_years": "3"}
    assert reviewer.post(f"{page}/renewal", data=renewal).status_code == 403
    assert reviewer.post(f"{page}/termination", data={}).status_code == 403
    assert reviewer.post(f"{page}/conclusion", data={}).status_code == 403
    assert reviewer.post(f"{page}/ambassador", data={}).status_code == 403
    assert reviewer.post(f"{page}/milestones", data=milestone).status_code == 403

    lee = signed_in(review_app, people["lee"])
    assert lee.post(f"{page}/renewal", data=renewal).status_code == 403
    assert lee.post(f"/staff/alliances/{uuid.uuid4()}/milestones", data={}).status_code == 404

    after = stored(alliance_id)
    assert (after["milestones"], after["meetings"], after["documents"]) == ([], [], [])
    assert after["renewals"] == 0


@pytest.mark.usefixtures("clean_databases")
def test_the_coordinator_renews_then_names_an_ambassador(review_app, people, redis_client):
    alliance_id = signed_alliance("Roofers Guild", liaison=people["lee"], signing_date=LONG_AGO).id
    page = f"/staff/alliances/{alliance_id}"
    cora = signed_in(review_app, people["coordinator"])
    html = cora.get(page).get_data(as_text=True)
    assert "Renew the alliance" in html
    assert "Terminate the alliance" in html
    assert "Add a milestone" in html  # the Coordinator keeps any work plan too
    assert "Name it an Ambassador" not in html  # it does not qualify yet

    missing = cora.post(f"{page}/renewal", data={"signing_date": "", "term_years": ""})
    assert missing.status_code == 422
    html = missing.get_data(as_text=True)
    assert "Give the new signing date." in html
    assert "Give the term in years." in html
    renewed_on = date(TODAY.year - 1, 1, 15)
    too_long = cora.post(
        f"{page}/renewal", data={"signing_date": renewed_on.isoformat(), "term_years": "7"}
    )
    assert too_long.status_code == 422
    html = too_long.get_data(as_text=True)
    assert "A renewal is for 2 to 5 years." in html
    assert 'href="#renewal-term-years"' in html
    assert f'value="{renewed_on.isoformat()}"' in html
    early = cora.post(
        f"{page}/renewal", data={"signing_date": LONG_AGO.isoformat(), "term_years": "3"}
    )
    assert early.status_code == 422
    assert "is signed after the current term" in early.get_data(as_text=True)
    assert '<option value="3" selected>' in early.get_data(as_text=True)
    assert stored(alliance_id)["renewals"] == 0

    renewed = cora.post(
        f"{page}/renewal", data={"signing_date": renewed_on.isoformat(), "term_years": "3"}
    )
    assert renewed.status_code == 303
    assert renewed.headers["Location"] == f"{page}#agreement"
    html = cora.get(page).get_data(as_text=True)
    assert f"Renewed for 3 years from {long(renewed_on)}" in html
    assert "Renewal 1" in html  # the terms
    assert "Qualifies today: The initial term ended on" in html
    assert "Name it an Ambassador" in html
    assert [n for n, _ in queued_tasks(redis_client, "notify")].count(
        "notify.alliance_renewed"
    ) == 1

    future = cora.post(
        f"{page}/ambassador",
        data={"designated_on": (TODAY + timedelta(days=2)).isoformat(), "reason": "Years of work"},
    )
    assert future.status_code == 422
    html = future.get_data(as_text=True)
    assert "The designation cannot be in the future." in html
    assert ">Years of work</textarea>" in html
    named = cora.post(f"{page}/ambassador", data={"reason": "Years of work"})
    assert named.status_code == 303
    html = cora.get(page).get_data(as_text=True)
    assert "Roofers Guild is now an Ambassador." in html
    assert "This partner is an Ambassador." in html
    assert "Renew the alliance" not in html  # Ambassadors are not renewed
    assert stored(alliance_id)["status"] == "ambassador"


@pytest.mark.usefixtures("clean_databases")
def test_a_designation_the_domain_refuses_is_explained_on_the_page(review_app, people):
    alliance_id = signed_alliance(
        "Roofers Guild", liaison=people["lee"], signing_date=TODAY - timedelta(days=30)
    ).id
    cora = signed_in(review_app, people["coordinator"])
    refused = cora.post(f"/staff/alliances/{alliance_id}/ambassador", data={})
    assert refused.status_code == 409
    html = refused.get_data(as_text=True)
    assert 'href="#ambassador-problem"' in html
    assert 'id="ambassador-problem"' in html
    assert "this alliance has not been renewed yet" in html
    assert stored(alliance_id)["status"] == "active"


@pytest.mark.usefixtures("clean_databases")
def test_termination_shows_the_effective_date_thirty_days_after_the_notice(review_app, people):
    alliance_id = signed_alliance("Roofers Guild", liaison=people["lee"], signing_date=LONG_AGO).id
    page = f"/staff/alliances/{alliance_id}"
    cora = signed_in(review_app, people["coordinator"])
    html = cora.get(page).get_data(as_text=True)
    assert (
        f"A notice dated today ({long(TODAY)}) takes effect on "
        f"{long(TODAY + timedelta(days=30))}." in html
    )

    tomorrow = TODAY + timedelta(days=1)
    ahead = cora.post(
        f"{page}/termination", data={"notice_date": tomorrow.isoformat(), "reason": "No work"}
    )
    assert ahead.status_code == 422
    html = ahead.get_data(as_text=True)
    assert "The written notice cannot be in the future." in html
    assert 'href="#termination-notice-date"' in html
    assert (
        f"The notice dated {long(tomorrow)} takes effect on "
        f"{long(tomorrow + timedelta(days=30))}." in html
    )
    assert ">No work</textarea>" in html
    missing = cora.post(f"{page}/termination", data={"notice_date": ""})
    assert missing.status_code == 422
    assert "Give the date of the written notice." in missing.get_data(as_text=True)

    notice = TODAY - timedelta(days=10)
    effective = notice + timedelta(days=30)
    done = cora.post(f"{page}/termination", data={"notice_date": notice.isoformat()})
    assert done.status_code == 303
    html = cora.get(page).get_data(as_text=True)
    assert f"the notice is dated {long(notice)}, so it takes effect on {long(effective)}." in html
    assert (
        f"written notice dated {long(notice)}, effective {long(effective)} "
        "(the notice date + 30 days)" in html
    )
    assert stored(alliance_id)["ended_on"] == effective.isoformat()
    # Ended: the work plan is kept as it was and nothing more is decided.
    assert "Add a milestone" not in html
    assert "Terminate the alliance" not in html
    assert "its work plan, meetings and documents are kept as they were" in html
    closed = cora.post(
        f"{page}/milestones",
        data={"title": "Late", "target_date": TODAY.isoformat(), "responsible": "x"},
    )
    assert closed.status_code == 409
    assert "its work plan is kept as it was" in closed.get_data(as_text=True)
    again = cora.post(f"{page}/conclusion", data={})
    assert again.status_code == 409
    assert "nothing more can be decided" in again.get_data(as_text=True)


@pytest.mark.usefixtures("clean_databases")
def test_the_coordinator_concludes_an_alliance(review_app, people):
    alliance_id = signed_alliance("Roofers Guild", liaison=people["lee"], signing_date=LONG_AGO).id
    page = f"/staff/alliances/{alliance_id}"
    cora = signed_in(review_app, people["coordinator"])
    before = cora.post(
        f"{page}/conclusion", data={"concluded_on": "2001-01-01", "reason": "Goals met"}
    )
    assert before.status_code == 422
    html = before.get_data(as_text=True)
    assert "The conclusion cannot come before the signing date" in html
    assert 'value="2001-01-01"' in html
    assert ">Goals met</textarea>" in html
    concluded = cora.post(f"{page}/conclusion", data={"reason": "Goals met"})
    assert concluded.status_code == 303
    html = cora.get(page).get_data(as_text=True)
    assert f"The alliance is concluded as of {long(TODAY)}." in html
    name = people["coordinator"].name  # a person's name, never their e-mail address
    assert f"Concluded: concluded on {long(TODAY)}, by {name}. Reason: Goals met" in html
    assert "cora@agency.example" not in html
    assert stored(alliance_id)["status"] == "concluded"


@pytest.mark.usefixtures("clean_databases")
def test_text_no_one_can_type_is_shown_beside_its_field_and_nothing_is_stored(review_app, people):
    alliance_id = signed_alliance("Roofers Guild", liaison=people["lee"], signing_date=LONG_AGO).id
    page = f"/staff/alliances/{alliance_id}"
    lee = signed_in(review_app, people["lee"])
    refused = lee.post(
        f"{page}/milestones",
        data={
            "title": "Toolbox\x00 talks",
            "target_date": TODAY.isoformat(),
            "responsible": "the partner",
        },
    )
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert 'href="#milestone-title"' in html
    assert 'id="milestone-title-error"' in html
    assert "Remove the control character U+0000: it cannot be typed" in html
    assert 'value="the partner"' in html  # what was typed is kept
    cora = signed_in(review_app, people["coordinator"])
    refused = cora.post(
        f"{page}/termination", data={"notice_date": TODAY.isoformat(), "reason": "No\x07 work"}
    )
    assert refused.status_code == 422
    assert 'id="termination-reason-error"' in refused.get_data(as_text=True)
    after = stored(alliance_id)
    assert (after["milestones"], after["status"], after["history"][-1]["action"]) == (
        [],
        "active",
        "signed",
    )


@pytest.mark.usefixtures("clean_databases")
def test_a_form_the_domain_refuses_as_a_whole_answers_the_refusal_page(review_app, people):
    alliance_id = signed_alliance("Roofers Guild", liaison=people["lee"], signing_date=LONG_AGO).id
    cora = signed_in(review_app, people["coordinator"])
    with database.transaction() as session:
        agreements.conclude(
            session,
            acting=COORDINATOR,
            alliance_id=alliance_id,
            outbox=outbox,
            today=agency_today(),
        )
    closed = cora.post(f"/staff/alliances/{alliance_id}/meetings", data={"met_on": ""})
    assert closed.status_code == 409  # before any field is read: nothing to correct there
    html = closed.get_data(as_text=True)
    assert "This alliance is concluded: its work plan is kept as it was." in html
    assert "Nothing was changed." in html
    assert stored(alliance_id)["meetings"] == []


COMMITTED = pytest.mark.usefixtures("clean_databases")


# -- the page and the API ---------------------------------------------------------------------


@pytest.fixture
def people_alliance_signing():
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
def test_the_alliance_page_shows_what_waits_and_records_the_signing(
    review_app, people_alliance_signing
):
    alliance_id = approved_alliance(
        "Roofers Guild", liaison=people_alliance_signing["lee"], term_years=3
    ).id
    page = f"/staff/alliances/{alliance_id}"
    cora = signed_in(review_app, people_alliance_signing["coordinator"])

    html = cora.get(page).get_data(as_text=True)
    assert 'id="awaiting-signature"' in html
    assert "Awaiting signature" in html
    assert "Not signed yet: 3 years from the day the agreement is signed" in html
    assert ">Date the agreement was signed" in html
    assert ">Record the signing</button>" in html
    assert "Renew the alliance" not in html  # nothing else is decided before the signing

    # Someone who may not record it reads what waits, without the form.
    reviewer_html = (
        signed_in(review_app, people_alliance_signing["reviewer"]).get(page).get_data(as_text=True)
    )
    assert "The Coordinator records the signing on this page." in reviewer_html
    assert ">Record the signing</button>" not in reviewer_html
    assert (
        signed_in(review_app, people_alliance_signing["reviewer"])
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
def test_the_list_labels_and_filters_the_alliances_awaiting_signature(
    review_app, people_alliance_signing
):
    approved_alliance("Bakers Guild", liaison=people_alliance_signing["lee"])
    signed_alliance(
        "Roofers Guild", liaison=people_alliance_signing["lee"], signing_date=date(2024, 3, 1)
    )
    reviewer = signed_in(review_app, people_alliance_signing["reviewer"])

    html = reviewer.get("/staff/alliances").get_data(as_text=True)
    assert '<option value="awaiting_signature"' in html
    row = html.partition("Bakers Guild")[2].partition("</tr>")[0]
    assert "Awaiting signature" in row
    assert "Not yet" in row
    waiting = reviewer.get("/staff/alliances?status=awaiting_signature").get_data(as_text=True)
    assert "Bakers Guild" in waiting
    assert "Roofers Guild" not in waiting
