"""Metrics (shared/metrics.py): each web app counts its requests by route at /metrics, each
task run, failure and retry is counted, and each service's gauges are read from its own
database when the page is asked for, one query each, left out (never a 500) when it does not
answer."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update

from deploy.embedded import free_port
from deploy.gateway import SystemMetrics
from services.intake import create_app
from services.intake.metrics import gauges as intake_gauges
from services.intake.models import OutboxEvent
from services.intake.worker import database as intake_database
from services.notify.metrics import gauges as notify_gauges
from services.notify.models import Message
from services.notify.worker import database as notify_database
from services.reporting.metrics import gauges as reporting_gauges
from services.review.metrics import gauges as review_gauges
from shared.celery_app import create_celery
from shared.db import utcnow
from shared.metrics import Merged, instrument_tasks
from tests.notify.factories import held_decision_message

pytestmark = pytest.mark.integration

EVERY_SERVICE = (intake_gauges, review_gauges, reporting_gauges, notify_gauges)


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a metrics page, by name and labels."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(page: dict, name: str, **labels: str) -> float:
    return page.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture
def intake_client(clean_databases, redis_client):
    return create_app({"TESTING": True}).test_client()


def test_a_web_app_counts_each_request_by_its_route_and_status(intake_client):
    def page() -> dict:
        answer = intake_client.get("/metrics")
        assert answer.status_code == 200
        assert answer.content_type == "text/plain; version=0.0.4; charset=utf-8"
        return samples(answer.get_data(as_text=True))

    refused = {"service": "intake", "method": "POST", "route": "/api/v1/proposals"}
    before = page()
    assert intake_client.post("/api/v1/proposals", json={}).status_code == 422
    assert intake_client.get(f"/status/{uuid.uuid4()}").status_code == 404
    assert intake_client.get("/no/such/page").status_code == 404
    after = page()

    requests = "alliance_http_requests_total"
    assert value(after, requests, **refused, status="422") == (
        value(before, requests, **refused, status="422") + 1
    )
    # The URL rule, never the path: one series for every status link, one for every stray path.
    status_page = {"service": "intake", "method": "GET", "route": "/status/<token>"}
    assert value(after, requests, **status_page, status="404") == (
        value(before, requests, **status_page, status="404") + 1
    )
    stray = {"service": "intake", "method": "GET", "route": "(unmatched)", "status": "404"}
    assert value(after, requests, **stray) == value(before, requests, **stray) + 1
    timed = {"service": "intake", "route": "/api/v1/proposals"}
    count = "alliance_http_request_duration_seconds_count"
    assert value(after, count, **timed) == value(before, count, **timed) + 1
    # The page carries intake's own gauges, read from its database.
    assert value(after, "alliance_database_up", service="intake") == 1
    assert (("alliance_outbox_pending", frozenset({("service", "intake")}))) in after


def test_a_database_that_does_not_answer_leaves_its_gauges_out_and_the_page_answers(
    intake_client, monkeypatch
):
    monkeypatch.setenv("INTAKE_DATABASE_URL", f"postgresql://postgres@127.0.0.1:{free_port()}/x")

    answer = intake_client.get("/metrics")

    assert answer.status_code == 200
    page = samples(answer.get_data(as_text=True))
    assert value(page, "alliance_database_up", service="intake") == 0
    gauges = {"alliance_outbox_pending", "alliance_outbox_oldest_pending_age_seconds"}
    assert not [name for name, _ in page if name in gauges]


def test_the_outbox_gauges_count_what_waits_and_how_long_the_oldest_has(clean_databases):
    with intake_database.transaction() as session:
        for minutes in (12, 3):
            session.add(
                OutboxEvent(
                    event_id=uuid.uuid4(),
                    type="proposal.submitted",
                    version=1,
                    message={},
                    created_at=utcnow() - timedelta(minutes=minutes),
                )
            )
        session.add(
            OutboxEvent(
                event_id=uuid.uuid4(),
                type="proposal.submitted",
                version=1,
                message={},
                created_at=utcnow() - timedelta(hours=2),
                published_at=utcnow(),
            )
        )

    page = {(name, a): v for name, a, _b, v in intake_gauges.read()}

    assert page[("alliance_outbox_pending", "")] == 2
    assert 12 * 60 <= page[("alliance_outbox_oldest_pending_age_seconds", "")] < 13 * 60
    assert page[("alliance_inbox_rejected_events", "malformed")] == 0


def test_notify_counts_deliveries_by_channel_and_status(clean_databases):
    failed = held_decision_message(held=False)
    retrying = held_decision_message(held=False)
    held_decision_message(held=True)
    with notify_database.transaction() as session:
        session.execute(update(Message).where(Message.id == failed.id).values(status="failed"))
        session.execute(update(Message).where(Message.id == retrying.id).values(attempts=1))

    page = samples(_page_of([notify_gauges]))

    mail = {"service": "notify", "channel": "mail"}
    assert value(page, "alliance_deliveries", **mail, status="failed") == 1
    assert value(page, "alliance_deliveries", **mail, status="pending") == 1
    assert value(page, "alliance_deliveries", **mail, status="held") == 1
    assert value(page, "alliance_deliveries", **mail, status="sent") == 0
    assert value(page, "alliance_deliveries_retrying", **mail) == 1
    endpoints = "alliance_webhook_endpoints"
    assert value(page, endpoints, service="notify", state="disabled") == 0


def _page_of(gauges) -> str:
    from shared.metrics import page

    return page(gauges).decode()


def test_every_services_gauges_answer_on_its_migrated_database_as_one_family_each(
    clean_databases,
):
    families = {
        family.name: family
        for family in text_string_to_metric_families(_page_of(EVERY_SERVICE))
        if family.name.startswith("alliance_") and family.type == "gauge"
    }

    up = {s.labels["service"]: s.value for s in families["alliance_database_up"].samples}
    assert up == {"intake": 1, "review": 1, "reporting": 1, "notify": 1}
    pending = families["alliance_outbox_pending"].samples
    assert sorted(s.labels["service"] for s in pending) == [
        "intake",
        "notify",
        "reporting",
        "review",
    ]
    assert [s.value for s in families["alliance_reports_overdue"].samples] == [0]
    assert [s.value for s in families["alliance_reports_escalated"].samples] == [0]


def test_a_metrics_connection_only_reads_and_never_for_long(clean_databases):
    from sqlalchemy import text

    from shared.config import load_settings

    engine = intake_gauges._engine(load_settings().database_url("intake"))
    with engine.connect() as connection:
        assert connection.execute(text("SHOW statement_timeout")).scalar() == "2s"
        assert connection.execute(text("SHOW transaction_read_only")).scalar() == "on"


def test_the_gateway_serves_the_whole_systems_page_at_its_root(clean_databases):
    passed: list[str] = []

    def intake_app(environ, start_response):
        passed.append(environ["PATH_INFO"])
        start_response("200 OK", [])
        return [b""]

    gateway = SystemMetrics(intake_app, [Merged(EVERY_SERVICE)])
    answered: list[str] = []
    body = b"".join(
        gateway(
            {"PATH_INFO": "/metrics", "REQUEST_METHOD": "GET"},
            lambda status, headers: answered.append(status),
        )
    )
    gateway({"PATH_INFO": "/apply", "REQUEST_METHOD": "GET"}, lambda *a: None)

    assert answered == ["200 OK"]
    assert passed == ["/apply"]
    assert body.decode().count('alliance_database_up{service="') == 4


def test_each_task_run_failure_and_retry_is_counted():
    from prometheus_client import REGISTRY

    instrument_tasks()
    app = create_celery("intake")

    @app.task(name="intake.test_counted", bind=True, shared=False)
    def counted(self, *, outcome: str) -> None:
        if outcome == "fail":
            raise ValueError("boom")
        if outcome == "retry" and not self.request.retries:
            raise self.retry(countdown=60, max_retries=3)

    def count(metric: str) -> float:
        labels = {"service": "intake", "task": "intake.test_counted"}
        return REGISTRY.get_sample_value(metric, labels) or 0.0

    names = (
        "alliance_task_runs_total",
        "alliance_task_failures_total",
        "alliance_task_retries_total",
    )
    before = {name: count(name) for name in names}
    counted.apply(kwargs={"outcome": "ok"})
    counted.apply(kwargs={"outcome": "fail"})
    counted.apply(kwargs={"outcome": "retry"})  # eagerly: its retry runs at once, and succeeds

    assert {name: count(name) - before[name] for name in names} == dict(
        zip(names, (4, 1, 1), strict=True)
    )


def test_a_worker_or_the_beat_serves_its_metrics_on_its_port(caplog):
    import socket
    import urllib.request

    from shared.metrics import serve_metrics

    port = free_port()
    serve_metrics(port, what="the intake worker")
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        page = answer.read().decode()
    assert "# TYPE alliance_task_runs_total counter" in page

    # A port already taken is said, and the process goes on.
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        serve_metrics(taken.getsockname()[1], what="the beat")
    assert "the beat cannot serve its metrics on port" in caplog.text
