"""The roundtables' meetings and products over the staff JSON API, committed on real
PostgreSQL (``clean_databases``): any staff member reads them, the Coordinator records, changes
and removes them, bad input answers 422 by field, and the OpenAPI document describes them."""

import uuid
from datetime import timedelta

import pytest

from services.review.worker import database
from tests.helpers import stored_rows
from tests.review.factories import agency_today, roundtable, staff_member
from tests.shared.factories import signed_in

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clean_databases")]

TODAY = agency_today()


@pytest.fixture
def people():
    with database.transaction() as session:
        return {
            "coordinator": staff_member(
                "cora@agency.example", "coordinator", name="Cora Coordinator", session=session
            ),
            "reviewer": staff_member("rev@agency.example", "reviewer", session=session),
            "lee": staff_member("lee@agency.example", "liaison", session=session),
        }


@pytest.fixture
def heat():
    with database.transaction() as session:
        return roundtable(session, "Heat Roundtable", TODAY - timedelta(days=100))


def test_the_coordinator_records_meetings_and_products_and_anyone_reads_them(
    review_app, people, heat
):
    cora = signed_in(review_app, people["coordinator"])
    base = f"/api/v1/roundtables/{heat}"
    held = (TODAY - timedelta(days=7)).isoformat()
    met = cora.post(
        f"{base}/meetings",
        json={"held_on": held, "topic": "Shade at work sites", "attendees": "Roofers Guild"},
    )
    assert met.status_code == 201, met.get_json()
    meeting = met.get_json()
    assert (meeting["held_on"], meeting["topic"], meeting["summary"], meeting["recorded_by"]) == (
        held,
        "Shade at work sites",
        "",
        "cora@agency.example",
    )
    made = cora.post(
        f"{base}/products",
        json={
            "kind": "toolbox_talk",
            "title": "Heat Stress: Know the Signs",
            "url": "https://agency.example/heat.pdf",
            "published_on": TODAY.isoformat(),
        },
    )
    assert made.status_code == 201, made.get_json()
    product = made.get_json()
    assert (product["kind"], product["kind_label"], product["public"]) == (
        "toolbox_talk",
        "Toolbox talk",
        True,
    )

    reviewer = signed_in(review_app, people["reviewer"])
    assert [m["topic"] for m in reviewer.get(f"{base}/meetings").get_json()["meetings"]] == [
        "Shade at work sites"
    ]
    assert [p["title"] for p in reviewer.get(f"{base}/products").get_json()["products"]] == [
        "Heat Stress: Know the Signs"
    ]
    listed = reviewer.get("/api/v1/directory").get_json()["products"]
    assert [(p["title"], p["kind_label"], p["roundtable_name"]) for p in listed] == [
        ("Heat Stress: Know the Signs", "Toolbox talk", "Heat Roundtable")
    ]

    hidden = cora.patch(f"{base}/products/{product['id']}", json={"public": False})
    assert (hidden.status_code, hidden.get_json()["public"]) == (200, False)
    assert reviewer.get("/api/v1/directory").get_json()["products"] == []
    assert cora.delete(f"{base}/products/{product['id']}").status_code == 204
    assert cora.delete(f"{base}/meetings/{meeting['id']}").status_code == 204
    assert cora.delete(f"{base}/products/{product['id']}").status_code == 404
    assert reviewer.get(f"{base}/products").get_json() == {"products": []}
    assert reviewer.get(f"/api/v1/roundtables/{uuid.uuid4()}/meetings").status_code == 404


def test_bad_input_answers_422_by_field_and_others_are_refused(review_app, people, heat):
    cora = signed_in(review_app, people["coordinator"])
    base = f"/api/v1/roundtables/{heat}"
    for body, errors in (
        ({}, {"held_on": ["Give the day it met."], "topic": ["Give the meeting's topic."]}),
        (
            {"held_on": "next week", "topic": "Heat"},
            {"held_on": ["Give a date (YYYY-MM-DD)."]},
        ),
        (
            {"held_on": (TODAY + timedelta(days=1)).isoformat(), "topic": "Heat"},
            {"held_on": ["Record a meeting once it has taken place."]},
        ),
    ):
        answer = cora.post(f"{base}/meetings", json=body)
        assert (answer.status_code, answer.get_json()) == (422, {"errors": errors}), body
    product = {"kind": "fact_sheet", "title": "Shade", "published_on": TODAY.isoformat()}
    for body, errors in (
        (
            {**product, "kind": "poster"},
            {"kind": ["Choose what it is: fact sheet, toolbox talk, webinar, translation, other."]},
        ),
        (
            {**product, "url": "javascript:alert(1)"},
            {"url": ["Give a web address starting with https:// (or http://)."]},
        ),
        (
            {**product, "public": "maybe"},
            {"public": ["Say whether the public directory lists it."]},
        ),
        ({**product, "title": " "}, {"title": ["Give the product's title."]}),
        ({**product, "title": "x" * 201}, {"title": ["Longer than maximum length 200."]}),
    ):
        answer = cora.post(f"{base}/products", json=body)
        assert (answer.status_code, answer.get_json()) == (422, {"errors": errors}), body

    before = stored_rows(database)
    good = {"held_on": TODAY.isoformat(), "topic": "Heat"}
    for person in ("reviewer", "lee"):
        client = signed_in(review_app, people[person])
        assert client.post(f"{base}/meetings", json=good).status_code == 403
        assert client.post(f"{base}/products", json=product).status_code == 403
    assert stored_rows(database) == before


def test_the_openapi_document_describes_the_meetings_and_products(review_app):
    spec = review_app.test_client().get("/api/v1/openapi.json").get_json()
    paths = spec["paths"]
    operations = {"get", "post", "patch", "delete"}
    assert {
        path: sorted(operations & set(paths[path]))
        for path in paths
        if path.startswith("/api/v1/roundtables/{roundtable_id}/")
        and not path.endswith("memberships")
        and "membership_id" not in path
    } == {
        "/api/v1/roundtables/{roundtable_id}/meetings": ["get", "post"],
        "/api/v1/roundtables/{roundtable_id}/meetings/{meeting_id}": ["delete"],
        "/api/v1/roundtables/{roundtable_id}/products": ["get", "post"],
        "/api/v1/roundtables/{roundtable_id}/products/{product_id}": ["delete", "patch"],
    }
    product = spec["components"]["schemas"]["RoundtableProductIn"]
    assert sorted(product["required"]) == ["kind", "published_on", "title"]
    assert "DirectoryProductOut" in spec["components"]["schemas"]
