import pytest

from services.intake import create_app
from services.intake.worker import database as intake_db
from shared.config import SERVICES
from shared.db import Database
from shared.health import report_once

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("migrated")]


@pytest.fixture
def report_all(redis_client):
    """Write a fresh health report for every service, as each worker's heartbeat does."""
    databases = [Database(service) for service in SERVICES]
    for database in databases:
        report_once(redis_client, database.service, database)
    yield
    for database in databases:
        database.dispose()


def test_healthz_is_503_and_names_the_services_that_are_down(redis_client):
    report_once(redis_client, "intake", intake_db)

    response = create_app().test_client().get("/healthz")

    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "unavailable"
    assert body["broker"] == "up"
    assert body["services"]["intake"] == {"state": "up", "worker": "up", "database": "ok"}
    for service in ("review", "reporting", "notify"):
        assert body["services"][service]["state"] == "down"


@pytest.mark.usefixtures("report_all")
def test_healthz_is_200_once_every_service_reports():
    response = create_app().test_client().get("/healthz")

    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert sorted(body["services"]) == sorted(SERVICES)


@pytest.mark.usefixtures("report_all")
def test_a_worker_whose_database_is_unreachable_counts_as_down(redis_client):
    from deploy.embedded import free_port

    unreachable = Database("notify", url=f"postgresql://postgres@127.0.0.1:{free_port()}/x")
    report_once(redis_client, "notify", unreachable)

    response = create_app().test_client().get("/healthz")

    assert response.status_code == 503
    assert response.get_json()["services"]["notify"]["database"].startswith("error:")
