"""Service health: each worker and the beat report on themselves in Redis; anyone reads them.

A worker writes ``alliance:health:<service>`` every few seconds with a short expiry, after
checking its own database and whether it still consumes: it sends itself a canary task on its
own canary queue and watches for it to run (``alliance:canary:<service>``). A worker whose
canary waited longer than ``WORKER_STALL_SECONDS`` is alive but stuck; it restarts itself (its
supervisor or container starts it again). The leading beat writes ``alliance:health:beat``
(shared/beat.py). ``GET /healthz`` reads all of them and the broker.

``GET /readyz`` is narrower: whether this web process can serve, that is whether its own
service's database and the broker answer now (``readiness``). A load balancer or Kubernetes
sends it traffic while it says so.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from pathlib import Path
from typing import TYPE_CHECKING, Any

import redis

from shared.config import SERVICES

if TYPE_CHECKING:  # SQLAlchemy is imported where used: the supervisor reads Redis alone here
    from shared.db import Database

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 3
HEARTBEAT_TTL = 10
CANARY_SECONDS = 5
BEAT_KEY = "alliance:health:beat"


def health_key(service: str) -> str:
    return f"alliance:health:{service}"


def canary_key(service: str) -> str:
    return f"alliance:canary:{service}"


def redis_client(redis_url: str) -> redis.Redis[bytes]:
    return redis.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)


def record_canary(client: redis.Redis[Any], service: str) -> None:
    """Run by the canary task inside a pool process: this worker consumes."""
    client.set(canary_key(service), repr(time.time()), ex=3600)


def pool_children(pid: int) -> list[int]:
    """The pool processes of a Celery worker (Linux /proc)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(p) for p in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue
    return found


class WorkerMonitor:
    """A worker's own health: database, consumption (the canary), and a stall restart."""

    def __init__(
        self,
        *,
        service: str,
        database: Database,
        send_canary: Callable[[], None],
        redis_url: str,
        stall_seconds: float,
    ):
        self.service = service
        self.send_canary = send_canary
        self.client = redis_client(redis_url)
        self.stall_seconds = stall_seconds
        from sqlalchemy import create_engine
        from sqlalchemy.pool import NullPool

        from shared.db import sqlalchemy_url

        # The heartbeat checks the database on an engine of its own: never one whose pooled
        # connections the pool processes inherit when they fork.
        self.engine = create_engine(
            sqlalchemy_url(database.url), poolclass=NullPool, connect_args={"connect_timeout": 3}
        )
        self.started = time.time()
        self.waiting_since: float | None = None  # a canary was sent and has not run yet
        self.last_sent = 0.0
        self.stop = threading.Event()

    def database_state(self) -> str:
        from sqlalchemy import text

        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return "ok"
        except Exception as err:
            return f"error: {type(err).__name__}"

    def consumed_at(self) -> float:
        raw = self.client.get(canary_key(self.service))
        return float(raw) if raw else 0.0

    def check_consumption(self, now: float) -> float:
        """Seconds the pending canary has waited (0 when none waits); sends a new one."""
        if self.waiting_since is not None and self.consumed_at() >= self.waiting_since:
            self.waiting_since = None
        if self.waiting_since is None and now - self.last_sent >= CANARY_SECONDS:
            sent_at = time.time()
            self.send_canary()  # raises while the broker is away: then nothing is waiting
            self.waiting_since = sent_at
            self.last_sent = sent_at
        return 0.0 if self.waiting_since is None else now - self.waiting_since

    def report_once(self) -> dict[str, Any]:
        now = time.time()
        waited = self.check_consumption(now)
        report = {
            "service": self.service,
            "worker": "up" if waited <= self.stall_seconds else "stalled",
            "database": self.database_state(),
            "canary_wait": round(waited, 1),
            "pid": os.getpid(),
            "at": now,
        }
        self.client.set(health_key(self.service), json.dumps(report), ex=HEARTBEAT_TTL)
        return report

    def restart_stalled_worker(self) -> None:
        """Kill the stuck pool processes (their tasks go back to the queue), then end."""
        log.error(
            "%s worker consumed nothing for %.0f s although the broker answers: restarting it",
            self.service,
            self.stall_seconds,
        )
        for child in pool_children(os.getpid()):
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)
        os.kill(os.getpid(), signal.SIGTERM)
        # A warm shutdown that hangs too is ended the hard way; unacknowledged tasks return.
        if not self.stop.wait(20):
            os.kill(os.getpid(), signal.SIGKILL)

    def loop(self) -> None:
        while not self.stop.is_set():
            try:
                report = self.report_once()
                if report["worker"] == "stalled":
                    self.restart_stalled_worker()
                    return
            except Exception as err:
                # The broker is away: a canary may be lost with it, so judge afresh later.
                self.waiting_since = None
                log.warning("health report failed: %s", err)
            self.stop.wait(HEARTBEAT_SECONDS)
        try:
            self.client.delete(health_key(self.service))
        except Exception:
            log.debug("could not clear the health report", exc_info=True)
        self.engine.dispose()

    def start(self) -> threading.Event:
        threading.Thread(target=self.loop, name=f"{self.service}-health", daemon=True).start()
        return self.stop


def _beat_state(raw: bytes | None) -> dict[str, Any]:
    if raw is None:
        return {"state": "down", "detail": "no recent report from the beat"}
    report = json.loads(raw)
    failing = report.get("last_error_at", 0) > report.get("last_applied_at", 0)
    state: dict[str, Any] = {
        "state": "failing" if failing else "up",
        "applied": sum(report.get("applied", {}).values()),
        "entries": len(report.get("entries", [])),
    }
    if failing:
        state["detail"] = report.get("last_error", "")
    return state


def system_health(redis_url: str) -> tuple[bool, dict[str, Any]]:
    """(all up?, a JSON-ready description naming each service, the beat and their state)."""
    services: dict[str, Any] = {}
    try:
        client = redis_client(redis_url)
        client.ping()
        broker = "up"
        raw = client.mget([health_key(s) for s in SERVICES] + [BEAT_KEY])
    except Exception as err:
        broker = f"down: {type(err).__name__}"
        raw = [None] * (len(SERVICES) + 1)
    for service, value in zip(SERVICES, raw[: len(SERVICES)], strict=True):
        if value is None:
            services[service] = {"state": "down", "detail": "no recent report from its worker"}
            continue
        report = json.loads(value)
        up = report.get("database") == "ok" and report.get("worker") == "up"
        services[service] = {
            "state": "up" if up else "down",
            "worker": report.get("worker"),
            "database": report.get("database"),
        }
    beat = _beat_state(raw[-1])
    healthy = (
        broker == "up"
        and all(s["state"] == "up" for s in services.values())
        and beat["state"] == "up"
    )
    return healthy, {
        "status": "ok" if healthy else "unavailable",
        "broker": broker,
        "services": services,
        "beat": beat,
    }


# How long /readyz waits for each server before calling it down.
READY_TIMEOUT_SECONDS = 2.0


def _database_answers(url: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    from shared.db import sqlalchemy_url

    engine = create_engine(
        sqlalchemy_url(url),
        poolclass=NullPool,
        connect_args={"connect_timeout": max(2, int(READY_TIMEOUT_SECONDS))},
    )
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    finally:
        engine.dispose()


def _broker_answers(url: str) -> None:
    client = redis.Redis.from_url(
        url, socket_timeout=READY_TIMEOUT_SECONDS, socket_connect_timeout=READY_TIMEOUT_SECONDS
    )
    try:
        client.ping()
    finally:
        client.close()


def readiness(
    service: str, *, database_url: str, redis_url: str, timeout: float = READY_TIMEOUT_SECONDS
) -> tuple[bool, dict[str, str]]:
    """(ready?, a JSON-ready description): does ``service``'s database answer ``SELECT 1``, and
    the broker a ping, both within ``timeout`` seconds (asked at once)? What is down is named
    with the kind of error, never a traceback or a URL."""
    checks = {"database": (_database_answers, database_url), "broker": (_broker_answers, redis_url)}
    executor = ThreadPoolExecutor(len(checks), thread_name_prefix=f"{service}-readyz")
    try:
        futures = {name: executor.submit(check, url) for name, (check, url) in checks.items()}
        wait_for(futures.values(), timeout=timeout)
    finally:
        executor.shutdown(wait=False)  # a check still waiting ends at its own time-out
    states: dict[str, str] = {}
    for name, future in futures.items():
        if not future.done():
            states[name] = f"down: no answer within {timeout:g} s"
        elif future.exception() is not None:
            states[name] = f"down: {type(future.exception()).__name__}"
        else:
            states[name] = "up"
    ready = all(state == "up" for state in states.values())
    return ready, {"status": "ready" if ready else "unavailable", "service": service, **states}
