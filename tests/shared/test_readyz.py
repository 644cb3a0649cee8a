"""``GET /readyz`` (shared/web.py, shared/health.py): 200 while this service's own database and
the broker answer, 503 naming what does not, fast and without a traceback. Kubernetes sends a
web process traffic while it says ready; ``/healthz`` stays the whole system's health."""

from __future__ import annotations

import time

import pytest

import services.notify
import services.reporting
from deploy.embedded import free_port
from services.intake import create_app

pytestmark = pytest.mark.integration


def closed_port_url(scheme: str) -> str:
    return f"{scheme}://127.0.0.1:{free_port()}/apm_gone"


@pytest.mark.parametrize("create", [create_app, services.notify.create_app])
def test_a_service_is_ready_while_its_database_and_the_broker_answer(
    create, migrated, redis_client
):
    answer = create({"TESTING": True}).test_client().get("/readyz")

    assert answer.status_code == 200
    assert answer.json["status"] == "ready"
    assert (answer.json["database"], answer.json["broker"]) == ("up", "up")
    assert answer.headers["Cache-Control"] == "no-store"


def test_a_service_whose_database_is_down_is_not_ready_and_says_so(migrated, monkeypatch):
    monkeypatch.setenv("REPORTING_DATABASE_URL", closed_port_url("postgresql"))
    client = services.reporting.create_app({"TESTING": True}).test_client()

    started = time.monotonic()
    answer = client.get("/readyz")

    assert time.monotonic() - started < 3
    assert answer.status_code == 503
    assert answer.json == {
        "status": "unavailable",
        "service": "reporting",
        "database": "down: OperationalError",
        "broker": "up",
    }
    assert "Traceback" not in answer.get_data(as_text=True)


def test_a_service_without_its_broker_is_not_ready(migrated, monkeypatch):
    monkeypatch.setenv("REDIS_URL", closed_port_url("redis").rsplit("/", 1)[0] + "/0")
    client = create_app({"TESTING": True}).test_client()

    answer = client.get("/readyz")

    assert answer.status_code == 503
    assert answer.json["database"] == "up"
    assert answer.json["broker"] == "down: ConnectionError"
