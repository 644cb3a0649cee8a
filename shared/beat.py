"""The one Celery beat of the system (``celery -A shared.beat beat``).

Beat only sends task names on a schedule (``beat_schedule`` in shared/celery_app.py); each
name routes to its service's queue, so beat imports no service.

Two beats at once stay harmless: only the holder of a lock in Redis applies the schedule (the
other waits as a standby and takes over when the lock expires), and every entry is idempotent
anyway. The leader writes a heartbeat (``alliance:health:beat``) saying what it applied and the
last error, which ``/healthz`` and ``alliance run`` report.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
import uuid
from datetime import timedelta
from typing import Any

import redis
from celery import signals
from celery.beat import PersistentScheduler, ScheduleEntry
from redis.exceptions import LockError
from redis.lock import Lock

from shared.celery_app import create_celery
from shared.config import load_settings
from shared.logs import configure_logging
from shared.metrics import BEAT_FAILURES, BEAT_SENT, serve_metrics

log = logging.getLogger(__name__)

LEADER_KEY = "alliance:beat:leader"
HEARTBEAT_KEY = "alliance:health:beat"
HEARTBEAT_TTL = 15

celery = create_celery("beat")


class LeaderScheduler(PersistentScheduler):  # type: ignore[misc]  # Celery has no type hints
    """A persistent schedule applied only while this beat holds the leader lock."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.identity = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        settings = load_settings()
        self._redis = redis.Redis.from_url(
            settings.redis_url, socket_timeout=2, socket_connect_timeout=2
        )
        # The lock outlives a few ticks, so one slow tick does not hand the schedule over.
        self._lock = Lock(
            self._redis,
            LEADER_KEY,
            timeout=settings.reliability.beat_leader_seconds,
            thread_local=False,
        )
        self.leading = False
        self.applied: dict[str, int] = {}
        self.failures = 0
        self.last_error = ""
        self.last_error_at = 0.0
        self.last_applied_at = 0.0
        self._last_heartbeat = 0.0
        self._announced_standby = False
        super().__init__(*args, **kwargs)

    def tick(self, *args: Any, **kwargs: Any) -> float:
        was_leading = self.leading
        self.leading = self._hold_lock()
        if self.leading and not was_leading:
            log.info("beat %s leads: applying the schedule", self.identity)
            self._everything_due()
        elif was_leading and not self.leading:
            log.warning("beat %s lost the lead; standing by", self.identity)
        elif not self.leading and not self._announced_standby:
            log.info("beat %s stands by: another beat leads", self.identity)
        self._announced_standby = not self.leading
        if not self.leading:
            self._heartbeat(force=False)
            return min(float(self.max_interval), 2.0)
        interval = float(super().tick(*args, **kwargs))
        self._heartbeat(force=False)
        return interval

    def _everything_due(self) -> None:
        """A new leader runs every entry at once (each is idempotent), so none waits a whole
        period (an hour for draft expiry) after a restart or a take-over."""
        long_ago = self.app.now() - timedelta(days=366)
        for entry in self.schedule.values():
            entry.last_run_at = long_ago
        self._heap = None  # rebuilt from the entries on the next tick

    def _hold_lock(self) -> bool:
        try:
            if self._lock.owned():
                self._lock.reacquire()
                return True
            return bool(self._lock.acquire(blocking=False))
        except LockError:
            return False  # another beat took over between the two calls
        except redis.RedisError as err:
            # Without Redis nothing can be sent anyway; keep trying to lead.
            log.warning("beat cannot reach Redis for its lock: %s", err)
            return self.leading

    def apply_async(
        self, entry: ScheduleEntry, producer: Any = None, advance: bool = True, **kwargs: Any
    ) -> Any:
        try:
            result = super().apply_async(entry, producer=producer, advance=advance, **kwargs)
        except Exception as err:
            BEAT_FAILURES.labels(entry.name).inc()
            self.failures += 1
            self.last_error = f"{entry.name}: {err}"[:500]
            self.last_error_at = time.time()
            self._heartbeat(force=True)
            raise
        BEAT_SENT.labels(entry.name).inc()
        self.applied[entry.name] = self.applied.get(entry.name, 0) + 1
        self.last_applied_at = time.time()
        return result

    def _heartbeat(self, *, force: bool) -> None:
        now = time.time()
        if not force and now - self._last_heartbeat < 2:
            return
        self._last_heartbeat = now
        if not self.leading:
            return
        report = {
            "beat": self.identity,
            "entries": sorted(self.schedule),
            "applied": self.applied,
            "failures": self.failures,
            "last_error": self.last_error,
            "last_error_at": self.last_error_at,
            "last_applied_at": self.last_applied_at,
            "at": now,
        }
        try:
            self._redis.set(HEARTBEAT_KEY, json.dumps(report), ex=HEARTBEAT_TTL)
        except redis.RedisError as err:
            log.warning("beat heartbeat failed: %s", err)

    def close(self) -> None:
        try:
            if self._lock.owned():
                self._lock.release()
                self._redis.delete(HEARTBEAT_KEY)
        except redis.RedisError:
            log.debug("could not release the beat lock", exc_info=True)
        super().close()


def _setup_logging(**kwargs: object) -> None:
    settings = load_settings()
    configure_logging(settings.log_level, log_format=settings.log_format, service="beat")


def _serve_metrics(**kwargs: object) -> None:
    port = load_settings().metrics_port
    if port:
        serve_metrics(port, what="the beat")


signals.setup_logging.connect(_setup_logging, weak=False)
signals.beat_init.connect(_serve_metrics, weak=False)
