"""``alliance outbox show|replay SERVICE`` and ``alliance inbox rejected list|requeue SERVICE``
against seeded rows on the real PostgreSQL and Redis: the counts and the oldest pending
event's age, a replayed event published again to every subscriber, a refused event sent to
its consumer again and then processed."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from deploy.cli import main as alliance
from deploy.embedded import free_port
from services.intake.models import OutboxEvent
from services.intake.worker import database as intake_database
from services.notify.models import Message
from services.notify.models import RejectedEvent as NotifyRejected
from services.notify.worker import database as notify_database
from shared.db import utcnow
from shared.events import subscribers
from tests.helpers import queued_tasks
from tests.intake.factories import submitted_event

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clean_databases")]


def run(*args: str, **env: str) -> tuple[int, str]:
    result = CliRunner().invoke(alliance, list(args), env=env or None)
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.output


def seed_outbox() -> dict[str, dict]:
    """intake's outbox: an event published an hour ago, one whose publication failed twice
    (15 minutes old), and one just stored."""
    now = utcnow()
    events = {name: submitted_event().to_message() for name in ("sent", "failing", "new")}
    with intake_database.transaction() as session:
        for message, created, published, attempts, error in (
            (events["sent"], now - timedelta(hours=1), now, 1, None),
            (events["failing"], now - timedelta(minutes=15), None, 2, "boom"),
            (events["new"], now, None, 0, None),
        ):
            session.add(
                OutboxEvent(
                    event_id=uuid.UUID(message["event_id"]),
                    type=message["type"],
                    version=1,
                    message=message,
                    created_at=created,
                    published_at=published - timedelta(minutes=59) if published else None,
                    attempts=attempts,
                    publications=1 if published else 0,
                    last_error=f"ConnectionError: {error}" if error else None,
                )
            )
    return events


def published_ids(redis_client) -> list[tuple[str, str]]:
    """(task, event id) of every task waiting on a service's queue."""
    return sorted(
        (name, kwargs["event"]["event_id"])
        for queue in ("intake", "review", "reporting", "notify")
        for name, kwargs in queued_tasks(redis_client, queue)
    )


def test_outbox_show_counts_pending_and_failed_and_ages_the_oldest(redis_client):
    events = seed_outbox()
    code, output = run("outbox", "show", "intake")
    assert code == 0, output
    lines = output.splitlines()
    assert lines[0].startswith(
        "intake outbox: 2 pending (1 failed to publish), oldest pending 15 min (since "
    )
    assert lines[0].endswith("; 1 published; the relay runs every 5 s")
    assert events["failing"]["event_id"] in lines[1]
    assert "attempts 2" in lines[1]
    assert lines[2] == "      last error: ConnectionError: boom"
    assert events["new"]["event_id"] in lines[3]
    assert events["sent"]["event_id"] not in output


def test_outbox_replay_of_a_published_event_sends_it_to_every_subscriber_again(redis_client):
    events = seed_outbox()
    sent = events["sent"]["event_id"]
    code, output = run("outbox", "replay", "intake", "--event-id", sent)
    assert code == 0, output
    assert "1 published event(s) made pending again. Sending an event again is safe" in output
    assert "published 1 now" in output
    expected = sorted((task, sent) for task in subscribers("proposal.submitted"))
    assert published_ids(redis_client) == expected
    with intake_database.transaction() as session:
        row = session.scalars(select(OutboxEvent).where(OutboxEvent.event_id == sent)).one()
        assert (row.published_at is not None, row.publications, row.last_error) == (True, 2, None)


def test_outbox_replay_of_the_failed_events_publishes_them_now(redis_client):
    events = seed_outbox()
    code, output = run("outbox", "replay", "intake", "--all-failed")
    assert code == 0, output
    assert "intake outbox: 1 pending event(s) whose publication failed. Sending" in output
    assert {event for _task, event in published_ids(redis_client)} == {
        events["failing"]["event_id"]
    }
    code, output = run("outbox", "show", "intake")
    assert output.startswith("intake outbox: 1 pending (0 failed to publish)")


def test_outbox_replay_since_an_instant_and_its_refusals(redis_client):
    events = seed_outbox()
    code, output = run("outbox", "replay", "intake")
    assert code == 2
    assert "give one of --event-id, --all-failed or --since" in output
    code, output = run("outbox", "replay", "intake", "--event-id", str(uuid.uuid4()))
    assert code == 1
    assert "intake's outbox has no event" in output
    code, output = run("outbox", "replay", "intake", "--since", "2026-01-01T00:00:00")
    assert code == 2
    assert "has no time zone offset" in output
    since = (utcnow() - timedelta(hours=2)).isoformat()
    code, output = run("outbox", "replay", "intake", "--since", since)
    assert code == 0, output
    assert {event for _task, event in published_ids(redis_client)} == {events["sent"]["event_id"]}


def test_a_refused_event_is_listed_then_requeued_and_processed(redis_client, monkeypatch):
    from services.notify.messages import domain as notify_messages
    from services.notify.tasks import proposal_submitted

    message = submitted_event().to_message()
    with monkeypatch.context() as broken:
        broken.setattr(
            notify_messages, "proposal_received", lambda *a, **k: {}["template variable"]
        )
        proposal_submitted(event=message)

    code, output = run("inbox", "rejected", "list", "notify")
    assert code == 0, output
    assert output.startswith("notify inbox: 1 rejected event(s)\n")
    assert f"notify.proposal_submitted  event {message['event_id']}  failed" in output
    assert "KeyError: 'template variable'" in output

    code, output = run("inbox", "rejected", "requeue", "notify", "--event-id", "nope")
    assert code == 1
    assert "notify's inbox has no rejected event nope" in output
    code, output = run("inbox", "rejected", "requeue", "notify", "--event-id", message["event_id"])
    assert code == 0, output
    assert "1 event(s) sent to their consumers again" in output
    assert queued_tasks(redis_client, "notify") == [
        ("notify.proposal_submitted", {"event": message})
    ]
    with notify_database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(NotifyRejected)) == 0

    proposal_submitted(event=message)  # as the worker runs the requeued task, the cause fixed
    with notify_database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Message)) > 0
    code, output = run("inbox", "rejected", "requeue", "notify", "--all")
    assert (code, output) == (0, "[alliance] notify inbox: no rejected event; nothing to requeue\n")


def test_help_of_each_command():
    for command in (
        ["outbox", "show"],
        ["outbox", "replay"],
        ["inbox", "rejected", "list"],
        ["inbox", "rejected", "requeue"],
    ):
        code, output = run(*command, "--help")
        assert code == 0
        assert " ".join(command) + " [OPTIONS] SERVICE\n" in output


def test_a_database_that_does_not_answer_is_said_in_one_line():
    nowhere = f"postgresql://postgres@127.0.0.1:{free_port()}/apm_gone"
    code, output = run("outbox", "show", "intake", INTAKE_DATABASE_URL=nowhere)
    assert code == 1
    assert output.startswith("Error: could not reach the intake database (connection failed")
    assert "is INTAKE_DATABASE_URL right" in output
