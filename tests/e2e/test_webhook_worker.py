"""The real notify worker and the real beat deliver a webhook: the consumer's nudge reaches
the worker, the receiver's 500 leaves the retry's due time in the database, and beat's sweep
(``notify.deliver_webhooks``) has the worker try again, which succeeds. No countdown carries
the retry."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select
from standardwebhooks import Webhook

from services.notify.webhooks import domain, tasks
from services.notify.webhooks.models import WebhookAttempt, WebhookDelivery
from services.notify.worker import database
from shared.config import load_settings
from shared.db import utcnow
from tests.helpers import start_beat, wait_until
from tests.intake.factories import submitted_event
from tests.shared.factories import COORDINATOR
from tests.webhook_receiver import Reply, WebhookReceiver

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("clean_databases")]


def start_worker(env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "deploy.cli", "worker", "notify", "-l", "INFO", "-c", "1"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def test_the_notify_worker_and_beat_deliver_a_webhook_and_its_retry(
    tmp_path, monkeypatch, redis_client
):
    receiver = WebhookReceiver().start()
    settings = {
        "WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
        "WEBHOOK_RETRY_SCHEDULE": "1s,1s",
        "DELIVERY_SWEEP_SECONDS": "1",
        "OUTBOX_RELAY_SECONDS": "1",
        "BEAT_LEADER_SECONDS": "3",
    }
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    env = {**os.environ, **settings}
    with database.transaction() as session:
        secret = domain.create_endpoint(
            session,
            COORDINATOR,
            url=receiver.url,
            event_types=["proposal.submitted"],
            settings=load_settings().webhooks,
            now=utcnow(),
        ).secret
    receiver.answer(Reply(500), Reply(200))
    worker = start_worker(env, tmp_path / "worker.log")
    beat = start_beat(env=env, schedule=tmp_path / "schedule", log_path=tmp_path / "beat.log")
    try:
        event = submitted_event().to_message()
        tasks.CONSUMERS["proposal.submitted"](event=event)  # nudges the worker after commit

        def delivered() -> bool:
            with database.transaction() as session:
                return session.scalars(select(WebhookDelivery.status)).one() == "delivered"

        wait_until(
            delivered,
            timeout=60,
            what="the delivery, retried by the sweep: "
            + (tmp_path / "worker.log").read_text(errors="replace")[-3000:],
        )
    finally:
        stop(worker)
        stop(beat)
        receiver.stop()

    first, second = receiver.received
    for request in (first, second):
        assert Webhook(secret).verify(request.body, request.headers)["id"] == event["event_id"]
    with database.transaction() as session:
        codes = session.scalars(select(WebhookAttempt.status_code).order_by(WebhookAttempt.number))
        assert list(codes) == [500, 200]
    assert "notify.deliver_webhooks" in (tmp_path / "beat.log").read_text()
