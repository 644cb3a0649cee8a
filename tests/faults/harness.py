"""Fault injection around the real system: servers the test owns, and a checker.

The fault tests (tests/faults/) and the soak run (bench/soak.py) start the whole system with
``alliance run`` (tests/e2e/system.py) against servers they control:

- ``FaultSmtpServer``: an SMTP server on a fixed port that can go away and come back, drop
  the connection right after it received a message (before its 250), or answer slowly;
- ``TcpProxy``: a proxy in front of PostgreSQL for one service, so its database can be cut
  off and given back without touching the shared server;
- ``OwnedValkey``: the broker, append-only, restarted on the same port and data;
- process helpers that find a worker's main process and Celery pool children and kill -9;
- ``Checker``: joins what the client was acknowledged with every database and the mail that
  arrived, and counts what is missing, duplicated, failed or stuck.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

from deploy.embedded import EmbeddedValkey, free_port, port_in_use
from shared.config import SERVICES, database_url_variable
from shared.db import sqlalchemy_url
from shared.testing import example_proposal
from tests.e2e.system import RunningSystem
from tests.helpers import start_beat, wait_until

COORDINATOR_EMAIL = "coordinator@agency.example"

# Small knobs, so that recoveries happen within a test's time.
FAULT_KNOBS: dict[str, str] = {
    "OUTBOX_RELAY_SECONDS": "1",
    # Each event goes out again after 20 s: what a task lost between Redis and a worker
    # killed at that moment (popped, not yet recorded) needs to arrive after all.
    "OUTBOX_REPUBLISH_SECONDS": "20",
    "DELIVERY_SWEEP_SECONDS": "2",
    "CELERY_VISIBILITY_TIMEOUT": "15",
    "WORKER_STALL_SECONDS": "45",
    "NOTIFY_RETRY_SCHEDULE": "1s,2s,4s,8s,15s,30s,60s",
    # Short SMTP time-outs (longer than the slow server's 4 s pauses), so that the shortest
    # lease notify accepts (5 x 6 s + 30 s) brings back a message whose worker died mid-send
    # within a test's time.
    "SMTP_TIMEOUT": "6",
    "NOTIFY_SENDING_LEASE_SECONDS": "60",
    "NOTIFY_REQUEUE_SECONDS": "20",
    "RETRY_AFTER_SECONDS": "1",
    "COORDINATOR_EMAIL": COORDINATOR_EMAIL,
    "LOG_LEVEL": "INFO",
}


# -- SMTP -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    message: EmailMessage
    dropped: bool  # the connection was closed after DATA instead of answering 250

    @property
    def key(self) -> tuple[str, str]:
        """(reference, recipient): one expected message."""
        return (
            str(self.message.get("X-Alliance-Reference", "")),
            str(self.message.get("To", "")).lower(),
        )


class _FaultHandler:
    def __init__(self, server: FaultSmtpServer):
        self.server = server

    async def handle_DATA(self, smtp: Any, session: Any, envelope: Any) -> str:
        owner = self.server
        with owner.lock:
            delay = owner.delay
            owner.receiving += 1
        try:
            if delay:
                # A client that goes away meanwhile cancels this: nothing is accepted.
                await asyncio.sleep(delay)
            message = email.message_from_bytes(envelope.content, policy=email.policy.default)
            with owner.lock:
                drop = owner.drops_left > 0
                if drop:
                    owner.drops_left -= 1
                    owner.dropped += 1
                owner.received.append(Received(message, dropped=drop))
        finally:
            with owner.lock:
                owner.receiving -= 1
        if drop:
            # Stored, but the client never hears the 250: an ambiguous delivery.
            smtp.transport.close()
            await asyncio.sleep(3600)  # cancelled by connection_lost
        return "250 Message accepted"


class FaultSmtpServer:
    """aiosmtpd on one fixed port: stop()/start() is an outage, modes are faults."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.lock = threading.Lock()
        self.received: list[Received] = []
        self.delay = 0.0
        self.drops_left = 0
        self.dropped = 0
        self.receiving = 0
        self._controller: Controller | None = None

    @property
    def running(self) -> bool:
        return self._controller is not None

    def start(self) -> None:
        if self._controller is None:
            controller = Controller(_FaultHandler(self), hostname="127.0.0.1", port=self.port)
            controller.start()
            self._controller = controller

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def drop_after_data(self, count: int) -> None:
        """Close the connection right after the next ``count`` messages' DATA (no 250)."""
        with self.lock:
            self.drops_left = count

    def slow(self, seconds: float) -> None:
        """Wait ``seconds`` after DATA before accepting (0: answer at once)."""
        with self.lock:
            self.delay = seconds

    def wait_receiving(self, timeout: float = 30) -> None:
        """Until a message's DATA is being received and not yet answered."""
        wait_until(lambda: self.receiving > 0, timeout=timeout, interval=0.05, what="SMTP DATA")

    def messages(self) -> list[Received]:
        with self.lock:
            return list(self.received)


# -- a TCP proxy in front of PostgreSQL -------------------------------------------------------


class _Pair:
    def __init__(self, client: socket.socket, upstream: socket.socket):
        self.client = client
        self.upstream = upstream
        self._closed = False
        self._lock = threading.Lock()
        self._ends = 0

    def pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                target.sendall(data)
        except OSError:
            pass
        finally:
            self.shutdown()
            with self._lock:
                self._ends += 1
                last = self._ends == 2
            if last:
                self.client.close()
                self.upstream.close()

    def shutdown(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        for sock in (self.client, self.upstream):
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class TcpProxy:
    """Forwards 127.0.0.1:``port`` to ``upstream``; cut() closes everything and refuses."""

    def __init__(self, upstream_host: str, upstream_port: int, port: int | None = None):
        self.upstream = (upstream_host, upstream_port)
        self.port = port or free_port()
        self.connections = 0
        self._pairs: set[_Pair] = set()
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        listener.settimeout(0.2)
        self._listener = listener
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._accept, args=(listener, self._stop), name="db-proxy", daemon=True
        )
        self._thread.start()

    def _accept(self, listener: socket.socket, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                break
            client.settimeout(None)
            try:
                upstream = socket.create_connection(self.upstream, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            pair = _Pair(client, upstream)
            with self._lock:
                if stop.is_set():
                    pair.shutdown()
                    client.close()
                    upstream.close()
                    break
                self._pairs.add(pair)
                self.connections += 1
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(
                    target=self._pump, args=(pair, source, target), daemon=True
                ).start()
        listener.close()

    def _pump(self, pair: _Pair, source: socket.socket, target: socket.socket) -> None:
        pair.pump(source, target)
        with self._lock:
            self._pairs.discard(pair)

    @property
    def is_cut(self) -> bool:
        return self._listener is None

    def cut(self) -> None:
        """Close every open connection and refuse new ones (the database is away)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        self._thread = None
        self._listener = None
        with self._lock:
            pairs = list(self._pairs)
        for pair in pairs:
            pair.shutdown()

    def restore(self) -> None:
        if self._listener is None:
            self.start()

    def stop(self) -> None:
        self.cut()

    def open_connections(self) -> int:
        with self._lock:
            return len(self._pairs)


# -- the broker -------------------------------------------------------------------------------


class OwnedValkey:
    """Valkey (append-only) on a fixed port with its data in a folder the test owns."""

    def __init__(self, data_dir: Path, port: int | None = None):
        self.server = EmbeddedValkey(data_dir, port=port or free_port())
        self.restarts = 0

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def port(self) -> int:
        return self.server.port

    def start(self) -> None:
        self.server.start()

    def stop(self) -> None:
        """Graceful: SIGTERM, Valkey writes its append-only file and exits."""
        self.server.stop()
        wait_until(lambda: not port_in_use(self.port), timeout=10, what="Valkey stopped")

    def restart(self, down_seconds: float = 0.0) -> None:
        self.stop()
        time.sleep(down_seconds)
        self.start()
        self.restarts += 1

    def client(self) -> Any:
        import redis

        return redis.Redis.from_url(self.url, socket_timeout=5, socket_connect_timeout=5)

    def backlog(self) -> dict[str, int]:
        """Tasks waiting in each service queue, and tasks held (unacknowledged)."""
        client = self.client()
        try:
            counts = {service: int(client.llen(service)) for service in SERVICES}
            counts["unacked"] = int(client.hlen("unacked"))
            return counts
        finally:
            client.close()


# -- processes --------------------------------------------------------------------------------


def child_pids(pid: int) -> list[int]:
    """Direct children of ``pid`` (all its threads), from /proc; [] once it is gone."""
    found: list[int] = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return []
    try:
        for task in tasks:
            found += [int(part) for part in (task / "children").read_text().split()]
    except FileNotFoundError:
        if not (tasks[0] / "children").exists() and Path(f"/proc/{pid}").exists():
            # A kernel without /proc/<pid>/task/<tid>/children.
            pgrep = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
            return [int(line) for line in pgrep.stdout.split()]
    return found


def command_line(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def worker_pid(system: RunningSystem, service: str) -> int | None:
    """The main process of ``service``'s Celery worker, a child of the supervisor."""
    module = f"services.{service}.worker"
    for pid in child_pids(system.process.pid):
        if module in command_line(pid) and alive(pid):
            return pid
    return None


def pool_pids(system: RunningSystem, service: str) -> list[int]:
    main = worker_pid(system, service)
    if main is None:
        return []
    return [pid for pid in child_pids(main) if alive(pid)]


def kill9(pid: int) -> None:
    with suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def kill_pool_child(system: RunningSystem, service: str) -> int:
    """kill -9 one of ``service``'s Celery pool children; returns its pid."""
    pids = wait_until(lambda: pool_pids(system, service), timeout=30, what=f"{service} pool")
    kill9(pids[0])
    return int(pids[0])


def kill_worker(system: RunningSystem, service: str) -> int:
    """kill -9 ``service``'s whole worker (main process and pool); returns the main pid."""
    main = wait_until(lambda: worker_pid(system, service), timeout=30, what=f"{service} worker")
    pool = child_pids(main)
    kill9(main)
    for pid in pool:
        kill9(pid)
    return int(main)


def wait_worker_replaced(
    system: RunningSystem, service: str, old_pid: int, timeout: float = 60
) -> int:
    """The new main pid once the supervisor restarted ``service``'s worker and it has a pool."""

    def replaced() -> int | None:
        pid = worker_pid(system, service)
        if pid is None or pid == old_pid or not pool_pids(system, service):
            return None
        return pid

    return int(wait_until(replaced, timeout=timeout, what=f"{service} worker restarted"))


def wait_pool_replaced(
    system: RunningSystem, service: str, old_pid: int, timeout: float = 60
) -> int:
    def replaced() -> int | None:
        pids = [pid for pid in pool_pids(system, service) if pid != old_pid]
        return pids[0] if pids else None

    return int(wait_until(replaced, timeout=timeout, what=f"{service} pool child replaced"))


class ExtraBeat:
    """A second ``alliance beat`` beside the supervisor's (operators do start two)."""

    def __init__(self, *, env: dict[str, str], var_dir: Path):
        self.log_path = var_dir / "log" / "beat-2.log"
        self.process = start_beat(
            env=env, schedule=var_dir / "celerybeat-schedule-2", log_path=self.log_path
        )

    def stop(self) -> int | None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        return self.process.returncode


# -- the databases ----------------------------------------------------------------------------


def _engine(url: str) -> Engine:
    return create_engine(sqlalchemy_url(url), pool_pre_ping=True, pool_size=2)


def proxied_url(url: str, port: int) -> str:
    """``url`` with its host and port replaced by the proxy's."""
    target = make_url(sqlalchemy_url(url)).set(host="127.0.0.1", port=port)
    return target.render_as_string(hide_password=False)


@contextmanager
def table_locked(url: str, table: str) -> Iterator[None]:
    """Hold ``LOCK TABLE <table> IN ACCESS EXCLUSIVE MODE`` until the block ends."""
    engine = create_engine(sqlalchemy_url(url))
    try:
        with engine.connect() as conn:
            trans = conn.begin()
            conn.execute(text(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"))
            try:
                yield
            finally:
                trans.rollback()
    finally:
        engine.dispose()


def lock_waiters(url: str) -> int:
    """Sessions in ``url``'s database waiting for a lock."""
    engine = create_engine(sqlalchemy_url(url))
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                    )
                ).scalar_one()
            )
    finally:
        engine.dispose()


def republish_outbox(*, database_urls: dict[str, str], broker_url: str, times: int = 2) -> int:
    """Send every outbox row's event to its subscribers again, ``times`` over; the count."""
    from shared.celery_app import create_celery
    from shared.events import queue_of, subscribers

    app = create_celery("faults")
    app.conf.broker_url = broker_url
    sent = 0
    try:
        with app.producer_or_acquire() as producer:
            for url in database_urls.values():
                engine = _engine(url)
                try:
                    with engine.connect() as conn:
                        rows = conn.execute(
                            text("SELECT message FROM outbox_events ORDER BY id")
                        ).scalars()
                        messages = list(rows)
                finally:
                    engine.dispose()
                for _ in range(times):
                    for message in messages:
                        for task in subscribers(message["type"]):
                            app.send_task(
                                task,
                                kwargs={"event": message},
                                queue=queue_of(task),
                                producer=producer,
                            )
                            sent += 1
    finally:
        app.close()
    return sent


# -- the client -------------------------------------------------------------------------------


@dataclass
class Submission:
    email: str
    key: str
    status: int = 0  # the last HTTP status; 0: no answer (connection refused, time-out)
    body: Any = None
    retry_after: str | None = None
    attempts: int = 0
    answers: list[int] = field(default_factory=list)

    @property
    def acknowledged(self) -> bool:
        return self.status == 201


def proposal_for(contact_email: str) -> dict[str, Any]:
    proposal = example_proposal()
    proposal["contact"] = {**proposal["contact"], "email": contact_email}
    return proposal


def post_proposal(base: str, submission: Submission, *, timeout: float = 15) -> Submission:
    """One POST /api/v1/proposals with the submission's Idempotency-Key."""
    request = urllib.request.Request(  # noqa: S310 (loopback only)
        f"{base}/api/v1/proposals",
        data=json.dumps(proposal_for(submission.email)).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Idempotency-Key": submission.key},
    )
    submission.attempts += 1
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            submission.status = response.status
            submission.body = json.load(response)
            submission.retry_after = response.headers.get("Retry-After")
    except urllib.error.HTTPError as err:
        with err:
            submission.status = err.code
            submission.retry_after = err.headers.get("Retry-After")
            raw = err.read()
        try:
            submission.body = json.loads(raw or b"null")
        except ValueError:
            submission.body = raw.decode(errors="replace")
    except (OSError, ValueError) as err:
        submission.status = 0
        submission.body = f"{type(err).__name__}: {err}"
        submission.retry_after = None
    submission.answers.append(submission.status)
    return submission


def submit(
    base: str, contact_email: str, *, retry_for: float = 0.0, key: str | None = None
) -> Submission:
    """Submit one proposal; with ``retry_for``, try again (same key) on 503 or no answer."""
    submission = Submission(email=contact_email, key=key or str(uuid.uuid4()))
    deadline = time.monotonic() + retry_for
    while True:
        post_proposal(base, submission)
        if submission.status not in (0, 502, 503, 504) or time.monotonic() >= deadline:
            return submission
        pause = 0.5
        if submission.retry_after and submission.retry_after.isdigit():
            pause = min(float(submission.retry_after), 2.0)
        time.sleep(pause)


def contact_email(tag: str, index: int) -> str:
    return f"{tag}-{index:05d}@partners.example"


# -- the checker ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Acknowledged:
    proposal_id: str
    reference: str
    contact_email: str

    @classmethod
    def of(cls, submission: Submission) -> Acknowledged:
        assert submission.acknowledged, submission
        return cls(
            proposal_id=str(submission.body["id"]),
            reference=str(submission.body["reference"]),
            contact_email=submission.email.lower(),
        )


@dataclass(frozen=True)
class Tally:
    acknowledged: int
    stored: int
    in_review: int
    expected: int
    delivered: int
    duplicate: int
    failed: int
    stuck: int
    ambiguous: int
    stored_unacknowledged: int = 0  # rows for contacts the client was never given a 201 for
    review_copies: int = 0  # queued_proposals rows beyond one per proposal
    unexpected: int = 0  # mail about these proposals to anyone not expected
    in_flight: int = 0  # message rows still pending or sending
    statuses: tuple[tuple[str, int], ...] = ()
    missing: tuple[str, ...] = ()  # a few examples of what is not where it should be

    ROWS = (
        ("acknowledged", "acknowledged (201)"),
        ("stored", "stored in intake"),
        ("in_review", "in review"),
        ("expected", "messages expected"),
        ("delivered", "messages delivered"),
        ("duplicate", "messages duplicate"),
        ("failed", "messages failed"),
        ("stuck", "messages stuck"),
        ("ambiguous", "ambiguous deliveries"),
    )

    @property
    def settled(self) -> bool:
        """Nothing left to happen: everything stored, in review, delivered or failed."""
        return (
            self.stored == self.acknowledged
            and self.in_review == self.acknowledged
            and self.stuck == 0
            and self.in_flight == 0
        )

    @property
    def exactly_once(self) -> bool:
        """Every acknowledged proposal stored and in review once; every message delivered
        once, duplicates only where a delivery was ambiguous (counted), none failed."""
        return (
            self.settled
            and self.stored_unacknowledged == 0
            and self.review_copies == 0
            and self.unexpected == 0
            and self.failed == 0
            and self.delivered == self.expected
            and self.duplicate <= self.ambiguous
        )

    def table(self, *, before: Sequence[tuple[str, int]] = ()) -> str:
        """The counts, one per line; ``before``: more (label, count) rows to put first."""
        rows = [*before, *((label, getattr(self, name)) for name, label in self.ROWS)]
        width = max(len(label) for label, _ in rows)
        lines = [f"{label:<{width}}  {value:>7}" for label, value in rows]
        extras = {
            "stored without a 201": self.stored_unacknowledged,
            "extra review rows": self.review_copies,
            "unexpected mail": self.unexpected,
            "still in flight": self.in_flight,
        }
        lines += [f"{label:<{width}}  {value:>7}" for label, value in extras.items() if value]
        if self.statuses:
            lines.append("message rows: " + ", ".join(f"{s} {n}" for s, n in self.statuses))
        if self.missing:
            lines.append("for example: " + "; ".join(self.missing))
        return "\n".join(lines)


class Checker:
    """Joins the acknowledged proposals with the databases (directly, not through a proxy)
    and the SMTP server's inbox."""

    def __init__(
        self,
        *,
        database_urls: dict[str, str],
        smtp: FaultSmtpServer,
        coordinator_email: str = COORDINATOR_EMAIL,
    ):
        self.database_urls = database_urls
        self.smtp = smtp
        self.coordinator_email = coordinator_email.lower()
        self._engines: dict[str, Engine] = {}

    def _engine(self, service: str) -> Engine:
        if service not in self._engines:
            self._engines[service] = _engine(self.database_urls[service])
        return self._engines[service]

    def close(self) -> None:
        for engine in self._engines.values():
            engine.dispose()
        self._engines.clear()

    def _rows(self, service: str, sql: str, **params: Any) -> list[Any]:
        with self._engine(service).connect() as conn:
            return list(conn.execute(text(sql), params))

    def _has_column(self, service: str, table: str, column: str) -> bool:
        return bool(
            self._rows(
                service,
                "SELECT 1 FROM information_schema.columns "
                "WHERE table_name = :table AND column_name = :column",
                table=table,
                column=column,
            )
        )

    def tally(
        self, acknowledged: Sequence[Acknowledged], *, other_contacts: Sequence[str] = ()
    ) -> Tally:
        """``other_contacts``: contacts that were never acknowledged (503, no answer)."""
        ids = [uuid.UUID(a.proposal_id) for a in acknowledged]
        by_id = {a.proposal_id: a for a in acknowledged}
        emails = [a.contact_email for a in acknowledged] + [e.lower() for e in other_contacts]

        stored_rows = self._rows(
            "intake",
            "SELECT id, lower(contact_email) FROM proposals "
            "WHERE lower(contact_email) = ANY(:emails) AND status <> 'draft'",
            emails=emails,
        )
        stored_ids = {str(row[0]) for row in stored_rows}
        stored = sum(1 for pid in by_id if pid in stored_ids)
        stored_unacknowledged = sum(1 for row in stored_rows if str(row[0]) not in by_id)

        review_rows = self._rows(
            "review",
            "SELECT proposal_id, count(*) FROM queued_proposals "
            "WHERE proposal_id = ANY(:ids) GROUP BY proposal_id",
            ids=ids,
        )
        in_review = len(review_rows)
        review_copies = sum(int(row[1]) - 1 for row in review_rows)

        ambiguous_column = self._has_column("notify", "messages", "ambiguous_deliveries")
        message_rows = self._rows(
            "notify",
            (
                "SELECT reference, lower(to_address), status, ambiguous_deliveries "
                if ambiguous_column
                else "SELECT reference, lower(to_address), status, 0 "
            )
            + "FROM messages WHERE proposal_id = ANY(:ids)",
            ids=ids,
        )
        status_of = {(row[0], row[1]): row[2] for row in message_rows}
        ambiguous = sum(int(row[3] or 0) for row in message_rows)
        statuses = Counter(str(row[2]) for row in message_rows)
        in_flight = sum(n for status, n in statuses.items() if status in ("pending", "sending"))

        expected_keys = set()
        for ack in acknowledged:
            expected_keys.add((ack.reference, ack.contact_email))
            expected_keys.add((ack.reference, self.coordinator_email))
        references = {a.reference for a in acknowledged}
        copies = Counter(r.key for r in self.smtp.messages() if r.key[0] in references)
        delivered_keys = {key for key in expected_keys if copies[key] > 0}
        delivered = len(delivered_keys)
        duplicate = sum(copies[key] - 1 for key in delivered_keys)
        unexpected = sum(n for key, n in copies.items() if key not in expected_keys)
        undelivered = expected_keys - delivered_keys
        failed = sum(1 for key in undelivered if status_of.get(key) == "failed")
        failed += sum(1 for key in delivered_keys if status_of.get(key) == "failed")
        stuck = sum(1 for key in undelivered if status_of.get(key) != "failed")

        missing: list[str] = []
        for pid, ack in by_id.items():
            if len(missing) >= 4:
                break
            if pid not in stored_ids:
                missing.append(f"{ack.reference} not stored")
        review_ids = {str(row[0]) for row in review_rows}
        for pid, ack in by_id.items():
            if len(missing) >= 6:
                break
            if pid not in review_ids:
                missing.append(f"{ack.reference} not in review")
        for key in sorted(undelivered)[:4]:
            missing.append(f"{key[0]} to {key[1]}: {status_of.get(key, 'no row')}")

        return Tally(
            acknowledged=len(acknowledged),
            stored=stored,
            in_review=in_review,
            expected=len(expected_keys),
            delivered=delivered,
            duplicate=duplicate,
            failed=failed,
            stuck=stuck,
            ambiguous=ambiguous,
            stored_unacknowledged=stored_unacknowledged,
            review_copies=review_copies,
            unexpected=unexpected,
            in_flight=in_flight,
            statuses=tuple(sorted(statuses.items())),
            missing=tuple(missing),
        )

    def wait_settled(
        self,
        acknowledged: Sequence[Acknowledged],
        *,
        timeout: float,
        quiet: float = 3.0,
        other_contacts: Sequence[str] = (),
        progress: Callable[[Tally], None] | None = None,
    ) -> Tally:
        """Poll until the tally is settled and unchanged for ``quiet`` seconds (late
        duplicates show up meanwhile), or ``timeout``; returns the last tally. ``progress``
        hears the tally every 15 s meanwhile."""
        deadline = time.monotonic() + timeout
        stable_since: float | None = None
        last: Tally | None = None
        told = time.monotonic()
        while True:
            current = self.tally(acknowledged, other_contacts=other_contacts)
            now = time.monotonic()
            if progress is not None and now - told >= 15:
                progress(current)
                told = now
            if current.settled and current == last:
                assert stable_since is not None
                if now - stable_since >= quiet:
                    return current
            elif current.settled:
                stable_since = now
            else:
                stable_since = None
            last = current
            if now >= deadline:
                return current
            time.sleep(0.5)


# -- everything together ----------------------------------------------------------------------


@dataclass
class FaultLab:
    """The servers a fault run owns, and the system started against them."""

    root: Path
    database_urls: dict[str, str]  # direct, for the checker and the test's own queries
    smtp: FaultSmtpServer
    valkey: OwnedValkey
    proxies: dict[str, TcpProxy]
    knobs: dict[str, str] = field(default_factory=lambda: dict(FAULT_KNOBS))
    system: RunningSystem | None = None
    extra_beats: list[ExtraBeat] = field(default_factory=list)

    @classmethod
    def open(cls, root: Path, database_urls: dict[str, str], **knobs: str) -> FaultLab:
        """Start the SMTP server, Valkey and one database proxy per service."""
        root.mkdir(parents=True, exist_ok=True)
        smtp = FaultSmtpServer()
        smtp.start()
        valkey = OwnedValkey(root / "valkey")
        valkey.start()
        proxies = {}
        for service, url in database_urls.items():
            parsed = make_url(sqlalchemy_url(url))
            proxy = TcpProxy(parsed.host or "127.0.0.1", parsed.port or 5432)
            proxy.start()
            proxies[service] = proxy
        lab = cls(root, dict(database_urls), smtp, valkey, proxies)
        lab.knobs.update(knobs)
        return lab

    def env(self) -> dict[str, str]:
        env = {**os.environ, **self.knobs}
        env["REDIS_URL"] = self.valkey.url
        env["SMTP_HOST"] = "127.0.0.1"
        env["SMTP_PORT"] = str(self.smtp.port)
        for service in SERVICES:
            env[database_url_variable(service)] = proxied_url(
                self.database_urls[service], self.proxies[service].port
            )
        return env

    def start_system(self, *, timeout: float = 120) -> RunningSystem:
        # prefork, as production runs: the faults kill pool processes.
        self.system = RunningSystem(
            var_dir=self.root / "var", port=free_port(), env=self.env(), pool="prefork"
        )
        self.system.wait_healthy(timeout)
        return self.system

    @property
    def base(self) -> str:
        assert self.system is not None
        return self.system.base

    def checker(self) -> Checker:
        return Checker(database_urls=self.database_urls, smtp=self.smtp)

    def start_extra_beat(self) -> ExtraBeat:
        assert self.system is not None
        beat = ExtraBeat(env=self.env(), var_dir=self.system.var_dir)
        self.extra_beats.append(beat)
        return beat

    def republish_outbox(self, times: int = 2) -> int:
        return republish_outbox(
            database_urls=self.database_urls, broker_url=self.valkey.url, times=times
        )

    def stop_system(self) -> int | None:
        for beat in self.extra_beats:
            beat.stop()
        self.extra_beats.clear()
        if self.system is None:
            return None
        for proxy in self.proxies.values():
            proxy.restore()
        if not self.smtp.running:
            self.smtp.start()
        code = self.system.stop()
        return code

    def log(self) -> str:
        return self.system.log() if self.system is not None else ""

    def close(self) -> None:
        try:
            self.stop_system()
        finally:
            for proxy in self.proxies.values():
                proxy.stop()
            self.valkey.server.stop()
            self.smtp.stop()


__all__ = [
    "COORDINATOR_EMAIL",
    "FAULT_KNOBS",
    "Acknowledged",
    "Checker",
    "ExtraBeat",
    "FaultLab",
    "FaultSmtpServer",
    "OwnedValkey",
    "Submission",
    "Tally",
    "TcpProxy",
    "contact_email",
    "kill9",
    "kill_pool_child",
    "kill_worker",
    "lock_waiters",
    "pool_pids",
    "submit",
    "table_locked",
    "wait_pool_replaced",
    "wait_until",
    "wait_worker_replaced",
    "worker_pid",
]
