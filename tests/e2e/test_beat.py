"""The real ``alliance beat`` process applies every entry of its schedule, and two stay harmless."""

import json
import os
import signal
import subprocess

import pytest

from shared.beat import HEARTBEAT_KEY, LEADER_KEY
from shared.celery_app import beat_schedule
from tests.helpers import queued_tasks, start_beat, wait_until

pytestmark = pytest.mark.e2e


def launch(tmp_path, name: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "OUTBOX_RELAY_SECONDS": "1",
        "DELIVERY_SWEEP_SECONDS": "1",
        "BEAT_LEADER_SECONDS": "3",
    }
    return start_beat(
        env=env, schedule=tmp_path / f"{name}-schedule", log_path=tmp_path / f"{name}.log"
    )


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    if process.poll() is None:
        process.send_signal(sig)
        process.wait(15)


def arrived(redis_client) -> dict[str, int]:
    """How many of each task wait in the queues (no worker consumes them here)."""
    counts: dict[str, int] = {}
    for queue in ("intake", "review", "reporting", "notify"):
        for name, _kwargs in queued_tasks(redis_client, queue):
            counts[name] = counts.get(name, 0) + 1
    return counts


def heartbeat(redis_client) -> dict:
    raw = redis_client.get(HEARTBEAT_KEY)
    return json.loads(raw) if raw else {}


def leader_pid(redis_client) -> int | None:
    """The process id of the beat whose heartbeat is current (``host:pid:suffix``)."""
    report = heartbeat(redis_client)
    return int(report["beat"].split(":")[-2]) if report else None


def applied_relays(redis_client) -> int:
    """How often the leading beat has applied intake's relay entry, by its heartbeat."""
    return heartbeat(redis_client).get("applied", {}).get("intake-relay-outbox", 0)


def sent_by(tmp_path, name: str) -> int:
    """How many entries the beat named ``name`` has sent, by its log."""
    return (tmp_path / f"{name}.log").read_text(errors="replace").count("Sending due task")


def test_beat_applies_every_entry_and_reports_it(tmp_path, redis_client):
    expected = {entry["task"] for entry in beat_schedule(1, 1).values()}
    beat = launch(tmp_path, "beat")
    try:
        wait_until(
            lambda: expected <= set(arrived(redis_client)),
            timeout=20,
            what=f"every entry's task in its queue ({sorted(expected)})",
        )
        report = json.loads(
            wait_until(lambda: redis_client.get(HEARTBEAT_KEY), timeout=10, what="heartbeat")
        )
        assert report["failures"] == 0
        assert sorted(report["entries"]) == sorted(beat_schedule(1, 1))
        assert "Couldn't apply" not in (tmp_path / "beat.log").read_text()
    finally:
        stop(beat)
    # A beat that stops hands over at once: its lock and heartbeat are gone.
    assert redis_client.get(LEADER_KEY) is None
    assert redis_client.get(HEARTBEAT_KEY) is None


def test_two_beats_apply_the_schedule_once_and_the_standby_takes_over(tmp_path, redis_client):
    first = launch(tmp_path, "first")
    second = None
    try:
        wait_until(lambda: redis_client.get(LEADER_KEY), timeout=20, what="a leading beat")
        second = launch(tmp_path, "second")
        wait_until(
            lambda: "stands by" in (tmp_path / "second.log").read_text(errors="replace"),
            timeout=20,
            what="the second beat standing by",
        )
        # One beat applies the schedule: the first leads for several relays while the second
        # stands by, and the second sends nothing.
        relays = applied_relays(redis_client)
        wait_until(
            lambda: applied_relays(redis_client) >= relays + 3,
            timeout=20,
            what="three more relays from the leader",
        )
        assert leader_pid(redis_client) == first.pid
        assert sent_by(tmp_path, "first") > 0
        assert sent_by(tmp_path, "second") == 0

        stop(first, signal.SIGKILL)  # no clean hand-over: the lock has to expire
        wait_until(
            lambda: (
                "leads: applying the schedule"
                in (tmp_path / "second.log").read_text(errors="replace")
            ),
            timeout=15,
            what="the standby taking over",
        )
        wait_until(
            lambda: leader_pid(redis_client) == second.pid,
            timeout=10,
            what="the new leader's heartbeat",
        )
        redis_client.delete("intake")
        wait_until(
            lambda: arrived(redis_client).get("intake.relay_outbox", 0) >= 2,
            timeout=10,
            what="relays from the new leader",
        )
        assert sent_by(tmp_path, "second") > 0
    finally:
        stop(first, signal.SIGKILL)
        if second is not None:
            stop(second)
