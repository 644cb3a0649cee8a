"""Approval and signing are two steps: a released approval creates the alliance awaiting its
signing, and the Coordinator records the day the agreement was signed, on the alliance's page
or over the API; only then does ``alliance.signed`` go out.

The rules are domain-level tests, each in a transaction rolled back after it (``session``);
the pages and the API commit (``COMMITTED``).

The agreement's life on real PostgreSQL and Redis: the work plan, meetings and documents,
renewal, conclusion, termination with 30 days' notice, Ambassadors, their events and the
messages notify makes of them, and the staff API.

The work plan and who may do what are domain-level tests, each in a transaction rolled back
after it (``session``); what reaches Redis and notify, and the API, commit (``COMMITTED``)."""

import uuid
from datetime import date, timedelta

import pytest

from services.review import audit
from services.review.alliances import domain as agreements
from services.review.worker import database
from shared.dates import term_end
from tests.helpers import queued_tasks, stored_rows
from tests.review.factories import (
    LIAISON,
    OTHER_LIAISON,
    acting_as,
    agency_today,
    approved_alliance,
    signed_alliance,
    staff_member,
)
from tests.shared.factories import COORDINATOR, acting, signed_in, using

pytestmark = pytest.mark.integration
COMMITTED = pytest.mark.usefixtures("clean_databases")

TODAY = agency_today()


# -- the page and the API ---------------------------------------------------------------------


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
def test_the_signing_api_answers_field_errors_409_and_the_page(review_app, people):
    alliance_id = approved_alliance("Roofers Guild", liaison=people["lee"], term_years=3).id
    url = f"/api/v1/alliances/{alliance_id}/signing"
    cora = signed_in(review_app, people["coordinator"])

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
        signed_in(review_app, people["reviewer"])
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


# -- the staff API ----------------------------------------------------------------------------


@COMMITTED
def test_the_agreement_api_checks_who_is_asking(review_app):
    alliance_id = signed_alliance(liaison=LIAISON).id
    url = f"/api/v1/alliances/{alliance_id}"
    milestone = {"title": "Toolbox talks", "target_date": "2030-01-31", "responsible": "partner"}

    assert review_app.test_client().get(url).status_code == 401
    reviewer = signed_in(review_app, acting("rae@agency.example", "reviewer"))
    assert reviewer.get(url).status_code == 200
    refused = reviewer.post(f"{url}/renewal", json={"signing_date": "2026-01-01", "term_years": 2})
    assert (refused.status_code, refused.get_json()) == (
        403,
        {"errors": {"_request": ["This is for the Coordinator only."]}},
    )
    other = signed_in(review_app, OLA)
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
    own = signed_in(review_app, LEE)
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
            "language": "en",
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
def test_bad_input_answers_422_with_the_fields_and_saves_nothing(review_app):
    alliance_id = signed_alliance(signing_date=date(2024, 3, 1)).id
    url = f"/api/v1/alliances/{alliance_id}"
    coordinator = signed_in(review_app, COORDINATOR)

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
def test_the_coordinator_renews_and_names_an_ambassador_over_the_api(review_app, redis_client):
    today = agency_today()
    signed = today - timedelta(days=3 * 365)
    alliance_id = signed_alliance(signing_date=signed, term_years=2).id
    url = f"/api/v1/alliances/{alliance_id}"
    coordinator = signed_in(review_app, COORDINATOR)

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
def test_roundtables_and_memberships_over_the_api(review_app):
    today = agency_today()
    alliance_id = signed_alliance(signing_date=today - timedelta(days=400)).id
    coordinator = signed_in(review_app, COORDINATOR)
    liaison = signed_in(review_app, LEE)
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


def test_an_alliance_awaiting_its_signing_joins_no_roundtable_and_says_so_in_words(review_app):
    awaiting = approved_alliance().id
    coordinator = signed_in(review_app, COORDINATOR)
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


def test_the_agreement_endpoints_are_described_in_openapi(review_app):
    spec = review_app.test_client().get("/api/v1/openapi.json").get_json()
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
        "/api/v1/alliances/{alliance_id}/office",
        "/api/v1/alliances/{alliance_id}/renewal",
        "/api/v1/alliances/{alliance_id}/signing",
        "/api/v1/alliances/{alliance_id}/termination",
        "/api/v1/roundtables",
        "/api/v1/roundtables/{roundtable_id}",
        "/api/v1/roundtables/{roundtable_id}/meetings",
        "/api/v1/roundtables/{roundtable_id}/meetings/{meeting_id}",
        "/api/v1/roundtables/{roundtable_id}/memberships",
        "/api/v1/roundtables/{roundtable_id}/memberships/{membership_id}",
        "/api/v1/roundtables/{roundtable_id}/products",
        "/api/v1/roundtables/{roundtable_id}/products/{product_id}",
    ]
