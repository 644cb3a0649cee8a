"""Text no one can type, and JSON nested absurdly deep, are refused at every service's edge
with a message naming the field, and nothing is stored: never a 500."""

import pytest
from sqlalchemy import func, select

from services.intake import create_app as create_intake
from services.intake.models import Proposal
from services.intake.worker import database as intake_database
from services.notify import create_app as create_notify
from services.reporting import create_app as create_reporting
from services.review import create_app as create_review
from shared.testing import example_proposal

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clean_databases")]

NUL_MESSAGE = "Remove the control character U+0000: it cannot be typed, and nothing was stored."


def proposals_stored() -> int | None:
    with intake_database.transaction() as session:
        return session.scalar(select(func.count()).select_from(Proposal))


@pytest.mark.usefixtures("redis_client")
def test_a_nul_in_a_proposal_is_a_422_naming_the_field_and_nothing_is_stored():
    client = create_intake({"TESTING": True}).test_client()
    proposal = example_proposal()
    proposal["contact"]["name"] = "Dana\x00Smith"
    proposal["goals"][1]["description"] = "Train\x1b roofers"

    response = client.post("/api/v1/proposals", json=proposal)

    assert response.status_code == 422
    assert response.json == {
        "errors": {
            "contact.name": [NUL_MESSAGE],
            "goals.1.description": [
                "Remove the control character U+001B: it cannot be typed, and nothing was stored."
            ],
        }
    }
    assert proposals_stored() == 0


@pytest.mark.usefixtures("redis_client")
def test_json_nested_100000_deep_is_a_400_not_a_500():
    client = create_intake({"TESTING": True}).test_client()

    response = client.post(
        "/api/v1/proposals",
        data=b"[" * 100_000 + b"]" * 100_000,
        content_type="application/json",
    )

    assert response.status_code == 400
    assert response.json == {
        "errors": {"_request": ["The JSON body is nested too deeply: at most 32 levels."]}
    }
    assert proposals_stored() == 0


@pytest.mark.usefixtures("redis_client")
def test_a_nul_in_an_idempotency_key_or_a_query_parameter_is_refused():
    client = create_intake({"TESTING": True}).test_client()

    keyed = client.post(
        "/api/v1/proposals", json=example_proposal(), headers={"Idempotency-Key": "k\x00"}
    )
    queried = client.get("/api/v1/proposals/00000000-0000-0000-0000-000000000000?token=a%00b")

    assert (keyed.status_code, keyed.json) == (422, {"errors": {"Idempotency-Key": [NUL_MESSAGE]}})
    assert (queried.status_code, queried.json) == (422, {"errors": {"query.token": [NUL_MESSAGE]}})
    assert proposals_stored() == 0


@pytest.mark.usefixtures("redis_client")
@pytest.mark.parametrize(
    ("factory", "path"),
    [
        (create_review, "/staff/sign-in"),
        (create_intake, "/apply"),
        (create_notify, "/staff/messages"),
        (create_reporting, "/staff/reports"),
    ],
)
def test_a_nul_in_a_form_field_is_a_422_page_on_every_service(factory, path):
    client = factory({"TESTING": True, "WTF_CSRF_ENABLED": False}).test_client()

    response = client.post(
        path, data={"email": "someone\x00@agency.example"}, headers={"Accept": "text/html"}
    )

    assert response.status_code == 422
    assert response.mimetype == "text/plain"
    assert f"email: {NUL_MESSAGE}" in response.get_data(as_text=True)
