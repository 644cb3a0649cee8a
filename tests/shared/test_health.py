import json
import os
import time

import pytest

from services.intake import create_app
from services.intake.worker import database as intake_db
from shared.beat import HEARTBEAT_KEY
from shared.config import SERVICES
from shared.db import Database
from shared.health import WorkerMonitor, health_key, record_canary

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("migrated")]


def monitor(redis_client, database: Database, *, consumes: bool = True, stall: float = 60):
    """A worker's health monitor whose canary runs at once (consumes) or never."""

    def send_canary() -> None:
        if consumes:
            record_canary(redis_client, database.service)

    return WorkerMonitor(
        service=database.service,
        database=database,
        send_canary=send_canary,
        redis_url=os.environ["REDIS_URL"],  # the test Redis (conftest.py)
        stall_seconds=stall,
    )


def report(redis_client, database: Database, **options) -> dict:
    watcher = monitor(redis_client, database, **options)
    try:
        return watcher.report_once()
    finally:
        watcher.engine.dispose()


def beat_report(redis_client, **changes) -> None:
    body = {
        "beat": "test",
        "entries": ["intake-relay-outbox"],
        "applied": {"intake-relay-outbox": 3},
        "failures": 0,
        "last_error": "",
        "last_error_at": 0,
        "last_applied_at": time.time(),
        "at": time.time(),
        **changes,
    }
    redis_client.set(HEARTBEAT_KEY, json.dumps(body), ex=15)


@pytest.fixture
def report_all(redis_client):
    """A fresh health report for every service and the beat, as their heartbeats write."""
    databases = [Database(service) for service in SERVICES]
    for database in databases:
        report(redis_client, database)
    beat_report(redis_client)
    yield
    for database in databases:
        database.dispose()


def test_healthz_is_503_and_names_the_services_that_are_down(redis_client):
    report(redis_client, intake_db)

    response = create_app().test_client().get("/healthz")

    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "unavailable"
    assert body["broker"] == "up"
    assert body["services"]["intake"] == {"state": "up", "worker": "up", "database": "ok"}
    for service in ("review", "reporting", "notify"):
        assert body["services"][service]["state"] == "down"
    assert body["beat"] == {"state": "down", "detail": "no recent report from the beat"}


@pytest.mark.usefixtures("report_all")
def test_healthz_is_200_once_every_service_and_the_beat_report():
    response = create_app().test_client().get("/healthz")

    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert sorted(body["services"]) == sorted(SERVICES)
    assert body["beat"] == {"state": "up", "applied": 3, "entries": 1}


@pytest.mark.usefixtures("report_all")
def test_a_beat_whose_last_entry_failed_makes_the_system_unhealthy(redis_client):
    beat_report(
        redis_client,
        last_error="intake-relay-outbox: 'celery'",
        last_error_at=time.time() + 1,
    )

    response = create_app().test_client().get("/healthz")

    assert response.status_code == 503
    assert response.get_json()["beat"]["state"] == "failing"
    assert response.get_json()["beat"]["detail"] == "intake-relay-outbox: 'celery'"


@pytest.mark.usefixtures("report_all")
def test_a_worker_whose_database_is_unreachable_counts_as_down(redis_client):
    from deploy.embedded import free_port

    unreachable = Database("notify", url=f"postgresql://postgres@127.0.0.1:{free_port()}/x")
    report(redis_client, unreachable)

    response = create_app().test_client().get("/healthz")

    assert response.status_code == 503
    assert response.get_json()["services"]["notify"]["database"].startswith("error:")


@pytest.mark.usefixtures("report_all")
def test_a_worker_that_no_longer_consumes_is_reported_stalled(redis_client):
    review = Database("review")
    watcher = monitor(redis_client, review, consumes=False, stall=0.2)
    try:
        assert watcher.report_once()["worker"] == "up"  # the canary was just sent
        time.sleep(0.3)  # time passes on purpose: longer than the stall limit, no answer
        assert watcher.report_once()["worker"] == "stalled"
    finally:
        watcher.engine.dispose()
        review.dispose()

    response = create_app().test_client().get("/healthz")

    assert response.status_code == 503
    assert response.get_json()["services"]["review"] == {
        "state": "down",
        "worker": "stalled",
        "database": "ok",
    }
    assert json.loads(redis_client.get(health_key("review")))["worker"] == "stalled"


@pytest.mark.usefixtures("report_all")
def test_the_container_health_check_follows_the_reports(redis_client):
    from click.testing import CliRunner

    from deploy.cli import main

    runner = CliRunner()
    healthy = runner.invoke(main, ["healthcheck", "notify"])
    assert (healthy.exit_code, healthy.output) == (0, "notify: healthy\n")
    assert runner.invoke(main, ["healthcheck", "beat"]).exit_code == 0

    redis_client.delete(health_key("notify"))
    silent = runner.invoke(main, ["healthcheck", "notify", "--restart-unhealthy"])
    assert silent.exit_code == 1
    # Outside a container there is nothing to restart: it says so and kills nothing.
    assert "notify: no recent health report; not restarting: no container init" in silent.output
