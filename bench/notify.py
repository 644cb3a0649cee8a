"""Row 4: notify's mail throughput against raw smtplib over one connection.

A real notify worker (``celery -A services.notify.worker worker -Q notify``, one pool process
as ``alliance run`` starts it) on a fresh migrated notify database and a local SMTP sink
(aiosmtpd). Each round a producer process records the messages of ``proposal.submitted``
events with notify's own consumer code (a receipt and a Coordinator's alert each), then, at
the start signal, makes them due and queues their deliveries as the consumer does after its
commit; the round ends when the sink has them all. The baseline sends the same rendered
messages with ``smtplib.SMTP.send_message`` over one connection to the same sink. Rounds are
interleaved; the medians are compared.

The sink, the worker and the producer are reused by the outage row (bench/outage.py).
"""

from __future__ import annotations

import email
import email.policy
import os
import re
import signal
import smtplib
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from bench.lab import Lab, free_port, median, say
from bench.table import Row

TITLE = "Notify: messages/s to a local SMTP server"

MESSAGES = 400  # per round: 200 submissions' receipt and Coordinator's alert
ROUNDS = 3
WARM_UP = 100
TARGET = 0.5
COORDINATOR_EMAIL = "coordinator@agency.example"
MAIL_FROM = "Alliance Program <alliances@agency.example>"
_MESSAGE_ID = re.compile(rb"^X-Alliance-Message:\s*(\S+)", re.MULTILINE | re.IGNORECASE)


# -- the SMTP sink ------------------------------------------------------------------------------


class _Counting:
    def __init__(self, sink: Sink):
        self.sink = sink

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        found = _MESSAGE_ID.search(envelope.original_content or envelope.content)
        self.sink.arrived(found.group(1).decode() if found else "")
        return "250 OK"


class Sink:
    """An aiosmtpd server that counts what arrives (by X-Alliance-Message) and when; stop()
    and start() on the same port are an outage."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.lock = threading.Lock()
        self.ids: list[str] = []
        self.last_at = 0.0
        self.changed = threading.Condition(self.lock)
        self._controller: Controller | None = None

    def start(self) -> None:
        if self._controller is None:
            controller = Controller(
                _Counting(self), hostname="127.0.0.1", port=self.port, decode_data=False
            )
            controller.start()
            self._controller = controller

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def arrived(self, message_id: str) -> None:
        with self.lock:
            self.ids.append(message_id)
            self.last_at = time.monotonic()
            self.changed.notify_all()

    def reset(self) -> None:
        with self.lock:
            self.ids.clear()

    def count(self) -> int:
        with self.lock:
            return len(self.ids)

    def wait_for(self, count: int, timeout: float) -> bool:
        """Until ``count`` messages arrived since the last reset; False after ``timeout``."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while len(self.ids) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.changed.wait(left)
            return True


# -- notify's processes -------------------------------------------------------------------------


def notify_env(lab: Lab, database_url: str, smtp_port: int, **knobs: str) -> dict[str, str]:
    env = {
        **os.environ,
        "NOTIFY_DATABASE_URL": database_url,
        "REDIS_URL": lab.redis_url,
        "MAIL_BACKEND": "smtp",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp_port),
        "COORDINATOR_EMAIL": COORDINATOR_EMAIL,
        "MAIL_FROM": MAIL_FROM,
        "METRICS_PORT": "0",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env.update(knobs)
    return env


def _planned(name: str, scratch: Path) -> list[str]:
    """The command line ``alliance run`` starts ``name`` with (its defaults: deploy/cli.py)."""
    from deploy.supervisor import Supervisor

    supervisor = Supervisor(var_dir=scratch, port=0, concurrency=1)
    supervisor.plan()
    [child] = [c for c in supervisor.children if c.name == name]
    return child.argv


def _start(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        return subprocess.Popen(
            argv,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group, stopped with its pool
        )


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """notify's worker, as ``alliance run`` starts it (deploy/supervisor.py)."""
    return _start(_planned("notify-worker", log.parent), env, log)


def start_beat(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """The system's beat (its sweeps), as ``alliance run`` starts it."""
    return _start(_planned("beat", log.parent), env, log)


def stop_process(process: subprocess.Popen[bytes] | None) -> None:
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)
    except ProcessLookupError:
        pass


class Producer:
    """A process that records ``count`` messages the way notify's consumer does, not yet due,
    then on ``go()`` makes them due and queues their deliveries as the consumer does after
    its commit (``python -c 'from bench.notify import produce; produce()'``)."""

    def __init__(self, env: dict[str, str], *, count: int, tag: str, eml_dir: Path | None = None):
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from bench.notify import produce; produce()"],
            env={
                **env,
                "BENCH_COUNT": str(count),
                "BENCH_TAG": tag,
                "BENCH_EML_DIR": str(eml_dir or ""),
                "LOG_LEVEL": "WARNING",
            },
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def _line(self) -> str:
        assert self.process.stdout is not None
        line = self.process.stdout.readline().strip()
        if not line:
            self.process.wait(10)
            raise RuntimeError(f"the producer stopped (exit {self.process.returncode})")
        return line

    def ready(self) -> int:
        """Wait until the messages are recorded; how many there are."""
        line = self._line()
        assert line.startswith("ready "), line
        return int(line.split()[1])

    def go(self) -> float:
        """Queue them now; returns how long queuing took (seconds)."""
        assert self.process.stdin is not None
        self.process.stdin.write("go\n")
        self.process.stdin.flush()
        line = self._line()
        assert line.startswith("queued "), line
        self.process.wait(30)
        return float(line.split()[1])


def produce() -> None:
    """The producer's side (a process of its own: notify's modules read their settings once)."""
    from datetime import timedelta

    from sqlalchemy import update

    from services.notify.delivery import queue
    from services.notify.delivery.mail import SMTP_POLICY, build_email
    from services.notify.messages import domain as messages
    from services.notify.models import Message
    from services.notify.worker import database
    from shared.config import load_agency_profile, load_settings
    from shared.db import utcnow
    from tests.intake.factories import submitted_event

    count = int(os.environ["BENCH_COUNT"])
    eml_dir = os.environ.get("BENCH_EML_DIR", "")
    settings, profile = load_settings(), load_agency_profile()
    later = utcnow() + timedelta(days=1)
    events: list[list[Any]] = []
    made = 0
    while made < count:
        with database.transaction() as session:
            created = messages.proposal_received(
                session, event=submitted_event(), settings=settings, profile=profile
            )
            created = created[: count - made]
            # Not due yet: the round starts when the producer is told to go.
            session.execute(
                update(Message).where(Message.id.in_(created)).values(next_attempt_at=later)
            )
            if eml_dir:
                for message_id in created:
                    message = session.get(Message, message_id)
                    assert message is not None
                    Path(eml_dir, f"{message_id}.eml").write_bytes(
                        build_email(message, mail_from=settings.mail_from).as_bytes(
                            policy=SMTP_POLICY
                        )
                    )
        events.append(created)
        made += len(created)
    print(f"ready {made}", flush=True)
    sys.stdin.readline()
    started = time.monotonic()
    with database.transaction() as session:
        session.execute(
            update(Message)
            .where(Message.id.in_([m for ids in events for m in ids]))
            .values(next_attempt_at=utcnow())
        )
    # What services/notify/delivery/queue.py ``deliver_after_commit`` does after each
    # consumer's commit, event by event.
    for ids in events:
        for message_id in ids:
            queue.queue_message(message_id)
    print(f"queued {time.monotonic() - started:.3f}", flush=True)
    database.dispose()


# -- the baseline ----------------------------------------------------------------------------


def raw_send(port: int, eml_dir: Path) -> float:
    """smtplib over one connection, the same messages; seconds taken."""
    parsed = [
        email.message_from_bytes(path.read_bytes(), policy=email.policy.SMTP)
        for path in sorted(eml_dir.glob("*.eml"))
    ]
    started = time.monotonic()
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        for message in parsed:
            smtp.send_message(message)
    return time.monotonic() - started


def wait_worker_ready(sink: Sink, env: dict[str, str], lab: Lab, tag: str, count: int = 2) -> None:
    """``count`` first messages through the worker, so a round times neither its start-up nor
    its first queries and connections."""
    sink.reset()
    producer = Producer(env, count=count, tag=tag)
    producer.ready()
    producer.go()
    if not sink.wait_for(count, 120):
        raise RuntimeError(f"notify's worker delivered {sink.count()} of {count} in 120 s")
    sink.reset()


def run(lab: Lab) -> list[Row]:
    database_url = lab.fresh_database("notify_rate", service="notify")
    lab.flush_redis()
    sink = Sink()
    sink.start()
    env = notify_env(lab, database_url, sink.port)
    rates: list[float] = []
    raw_rates: list[float] = []
    worker = None
    try:
        worker = start_worker(env, lab.scratch / "notify-worker.log")
        wait_worker_ready(sink, env, lab, "warm", count=WARM_UP)
        for index in range(ROUNDS):
            eml_dir = lab.scratch / f"notify-round-{index}"
            eml_dir.mkdir()
            producer = Producer(env, count=MESSAGES, tag=f"r{index}", eml_dir=eml_dir)
            count = producer.ready()
            sink.reset()
            started = time.monotonic()
            producer.go()
            if not sink.wait_for(count, 300):
                raise RuntimeError(f"only {sink.count()} of {count} messages arrived in 300 s")
            took = sink.last_at - started
            rates.append(count / took)
            sink.reset()
            raw = raw_send(sink.port, eml_dir)
            if not sink.wait_for(count, 30):
                raise RuntimeError("the raw sender's messages did not all arrive")
            raw_rates.append(count / raw)
            say(
                f"round {index + 1}: notify {count / took:.0f} /s ({took:.1f} s), "
                f"raw smtplib {count / raw:.0f} /s"
            )
    finally:
        stop_process(worker)
        sink.stop()
        lab.flush_redis()
    rate, raw_rate = median(rates), median(raw_rates)
    # Each round against its own baseline: the machine's load drifts between rounds.
    ratio = median([r / raw for r, raw in zip(rates, raw_rates, strict=True)])
    met = ratio >= TARGET
    note = (
        f"{MESSAGES} messages a round (receipts and Coordinator's alerts of proposal.submitted, "
        f"queued as notify's consumer queues them), notify's worker as `alliance run` starts it "
        f"(deploy/supervisor.py), to an aiosmtpd sink; medians of {ROUNDS} interleaved rounds "
        f"(the ratio: the median of each round's own)."
    )
    return [
        Row(
            TITLE,
            f"{rate:.0f} messages/s",
            f"{raw_rate:.0f} messages/s (smtplib, one connection)",
            ratio,
            f"≥ {TARGET}",
            met,
            note,
            figures={"rate": rate, "raw_rate": raw_rate},
        )
    ]
