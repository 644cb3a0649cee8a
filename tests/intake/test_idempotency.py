"""Drafts, status links, idempotency, changes requested and resubmission, over the API."""

import threading

import pytest
from sqlalchemy import func, select

from services.intake import create_app
from services.intake.models import Proposal
from services.intake.worker import database
from shared.testing import example_proposal

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clean_databases")]


@pytest.fixture
def client(redis_client):
    return create_app({"TESTING": True}).test_client()


def count(model) -> int | None:
    with database.transaction() as session:
        return session.scalar(select(func.count()).select_from(model))


def submit(client, **headers):
    response = client.post("/api/v1/proposals", json=example_proposal(), headers=headers)
    assert response.status_code == 201, response.json
    return response.json


def test_same_idempotency_key_gives_one_proposal_and_the_same_answer(client):
    first = client.post(
        "/api/v1/proposals", json=example_proposal(), headers={"Idempotency-Key": "abc-123"}
    )
    again = client.post(
        "/api/v1/proposals", json=example_proposal(), headers={"Idempotency-Key": "abc-123"}
    )

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json == first.json
    assert count(Proposal) == 1


def test_idempotency_key_reused_for_another_body_is_refused(client):
    submit(client, **{"Idempotency-Key": "k1"})
    other = example_proposal()
    other["organization"]["name"] = "Somebody Else"

    response = client.post("/api/v1/proposals", json=other, headers={"Idempotency-Key": "k1"})

    assert response.status_code == 422
    assert "different request" in response.json["errors"]["Idempotency-Key"][0]
    assert count(Proposal) == 1


def test_racing_requests_with_one_key_create_one_proposal(redis_client):
    app = create_app({"TESTING": True})
    answers = []

    def post():
        answers.append(
            app.test_client().post(
                "/api/v1/proposals", json=example_proposal(), headers={"Idempotency-Key": "race"}
            )
        )

    threads = [threading.Thread(target=post) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert [a.status_code for a in answers] == [201] * 4
    assert len({a.get_json()["id"] for a in answers}) == 1
    assert count(Proposal) == 1
