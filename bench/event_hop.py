"""Row 2 of issue 20: events a second through one consumer, against Celery draining no-op
tasks with the same settings.

The consumer is reporting's ``reporting.proposal_submitted`` (services/reporting/tasks.py):
the most frequent event of the system, and a light effect (reporting's copy of the proposal's
status) beside its inbox row, so what it measures is mostly the consumer machinery of
shared/tasks.py and shared/inbox.py. ``EVENTS`` distinct ``proposal.submitted`` events are
queued while no worker runs; then ONE worker starts, the way deploy/supervisor.py starts it
(``celery -A services.reporting.worker worker -Q reporting``, prefork, concurrency 1), on a
fresh migrated database and the benchmark's Redis database, and drains them. The baseline is
a worker of the same command shape whose app has the same Celery settings
(shared/celery_app.py ``create_celery``: acks late, prefetch 1) and one no-op task, draining
the same number of messages of the same body.

The clock runs from the moment the worker takes the first message off the queue to the
moment the last one is acknowledged (the queue and Redis' unacknowledged set both empty):
the worker's start-up is left out. Rounds alternate consumer and baseline; medians.
"""

from __future__ import annotations

import copy
import functools
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from bench.lab import Lab, median, say
from bench.table import Row, render

TITLE = "Event hop: one consumer"
EVENTS = 1000
ROUNDS = 2
TARGET = 0.8
QUEUE = "reporting"
CONSUMER = "reporting.proposal_submitted"
NOOP = "reporting.bench_noop"
WORKER_APP = "services.reporting.worker"
NOOP_APP = "bench.event_hop:noop_celery"
DRAIN_TIMEOUT = 120.0
SETTLED = 0.2  # seconds the queue stays empty before the drain counts as done


# -- the baseline's app: ``celery -A bench.event_hop:noop_celery worker`` ----------------------


def __getattr__(name: str) -> Any:
    # Made on first use only: importing this module (``make bench``) builds no Celery app.
    if name == "noop_celery":
        return _noop_celery()
    raise AttributeError(name)


@functools.cache
def _noop_celery() -> Any:
    from shared.celery_app import create_celery

    app = create_celery(QUEUE)

    @app.task(name=NOOP, shared=False)
    def noop(**kwargs: Any) -> None:
        return None

    return app


# -- the events -----------------------------------------------------------------------------------


def event_messages(count: int) -> list[dict[str, Any]]:
    """``count`` distinct ``proposal.submitted`` messages as intake's outbox sends them."""
    from shared.events import new_event
    from shared.proposal import ProposalSchema
    from shared.testing import example_proposal

    first = new_event(
        "proposal.submitted",
        producer="intake",
        payload={
            "proposal_id": uuid.uuid4(),
            "reference": "AP-2030-00000",
            "version": 1,
            "submitted_at": time_now(),
            "status_url": "",
            "proposal": ProposalSchema().load(example_proposal()),
        },
    ).to_message()
    messages = []
    for index in range(count):
        message = copy.deepcopy(first)
        message["event_id"] = str(uuid.uuid4())
        message["payload"]["proposal_id"] = str(uuid.uuid4())
        message["payload"]["reference"] = f"AP-2030-{index:05d}"
        messages.append(message)
    return messages


def time_now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


def fill_queue(lab: Lab, task_name: str, messages: list[dict[str, Any]]) -> None:
    """Queue one task ``task_name`` per message, as the outbox publishes an event."""
    from celery import Celery

    sender = Celery("bench-sender", broker=lab.redis_url, set_as_current=False)
    sender.conf.task_serializer = "json"
    try:
        with sender.producer_or_acquire() as producer:
            for message in messages:
                sender.send_task(
                    task_name, kwargs={"event": message}, queue=QUEUE, producer=producer
                )
    finally:
        sender.close()


# -- a worker draining the queue ----------------------------------------------------------------


def worker_env(lab: Lab, database_url: str) -> dict[str, str]:
    env = {
        **os.environ,
        "REPORTING_DATABASE_URL": database_url,
        "REDIS_URL": lab.redis_url,
        "METRICS_PORT": "0",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return env


def start_worker(app: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """One worker as deploy/supervisor.py starts it: prefork, one pool process."""
    with open(log, "ab") as out:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                app,
                "worker",
                "-Q",
                QUEUE,
                "-n",
                f"hop-{os.getpid()}@%h",
                "--pool",
                "prefork",
                "--concurrency",
                "1",
                "--without-gossip",
                "--without-mingle",
                "--loglevel",
                "INFO",
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


def stop_worker(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)
    except ProcessLookupError:
        pass


def drain(lab: Lab, app: str, env: dict[str, str], log: Path, count: int) -> float:
    """Start a worker on the full queue; seconds from its first take to its last ack."""
    import redis

    client = redis.Redis.from_url(lab.redis_url)
    worker = start_worker(app, env, log)
    try:
        assert client.llen(QUEUE) == count, client.llen(QUEUE)
        deadline = time.monotonic() + DRAIN_TIMEOUT
        first = last = None
        while time.monotonic() < deadline:
            waiting = client.llen(QUEUE)
            now = time.perf_counter()
            if first is None and waiting < count:
                first = now
            # Kombu moves a message it takes to "unacked" a moment after popping it: both
            # empty must hold a while (the clock stops at the first sight of it).
            if waiting == 0 and client.hlen("unacked") == 0:
                last = last or now
                if now - last > SETTLED:
                    assert first is not None
                    return last - first
            else:
                last = None
            if worker.poll() is not None:
                raise RuntimeError(f"the worker ended early; see {log}")
            time.sleep(0.002)
        raise TimeoutError(f"{count} events not drained in {DRAIN_TIMEOUT:.0f} s; see {log}")
    finally:
        stop_worker(worker)
        client.close()


def processed(database_url: str) -> tuple[int, int]:
    """Inbox rows and rejected events in the consumer's database."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return (
                int(conn.scalar(text("SELECT count(*) FROM processed_events")) or 0),
                int(conn.scalar(text("SELECT count(*) FROM rejected_events")) or 0),
            )
    finally:
        engine.dispose()


def run(lab: Lab, *, events: int = EVENTS, rounds: int = ROUNDS) -> list[Row]:
    database_url = lab.fresh_database("hop_reporting", service="reporting")
    env = worker_env(lab, database_url)
    consumer: list[float] = []
    baseline: list[float] = []
    for index in range(rounds):
        for kind in ("consumer", "baseline"):
            lab.flush_redis()
            messages = event_messages(events)
            before, _rejected = processed(database_url)
            fill_queue(lab, CONSUMER if kind == "consumer" else NOOP, messages)
            log = lab.scratch / f"hop-{kind}-{index}.log"
            seconds = drain(lab, WORKER_APP if kind == "consumer" else NOOP_APP, env, log, events)
            if kind == "consumer":
                done, rejected = processed(database_url)
                assert (done - before, rejected) == (events, 0), (done - before, rejected, log)
                consumer.append(seconds)
            else:
                baseline.append(seconds)
            say(f"round {index + 1}: {kind} {events / seconds:.0f} events/s")
    lab.flush_redis()
    rate, raw_rate = events / median(consumer), events / median(baseline)
    ratio = rate / raw_rate
    met = ratio >= TARGET
    note = (
        f"{events:,} proposal.submitted events queued, then one worker (prefork, concurrency "
        f"1) drains them: {CONSUMER} (inbox row + reporting's copy of the proposal) against a "
        f"no-op task of the same Celery settings; first take to last ack, medians of {rounds}"
    )
    return [
        Row(
            TITLE,
            f"{rate:.0f} events/s ({median(consumer) / events * 1000:.1f} ms each)",
            f"{raw_rate:.0f} tasks/s (no-op, {median(baseline) / events * 1000:.1f} ms each)",
            ratio,
            f"≥ {TARGET}",
            met,
            note,
            figures={"rate": rate, "raw_rate": raw_rate},
        )
    ]


if __name__ == "__main__":
    print(render(run(Lab())))
