"""Service health: each worker reports on itself in Redis; anyone can read the reports.

A worker writes ``alliance:health:<service>`` every few seconds with a short expiry, after
checking its own database. A service is "up" while that report is fresh and says its database
answers. ``GET /healthz`` reads the four reports and the broker.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

import redis
from sqlalchemy import text

from shared.config import SERVICES
from shared.db import Database

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 3
HEARTBEAT_TTL = 10


def _key(service: str) -> str:
    return f"alliance:health:{service}"


def _client(redis_url: str) -> redis.Redis:
    return redis.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)


def report_once(client: redis.Redis, service: str, database: Database) -> dict[str, Any]:
    try:
        with database.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        db_state = "ok"
    except Exception as err:
        db_state = f"error: {type(err).__name__}"
    report = {"service": service, "worker": "up", "database": db_state, "at": time.time()}
    client.set(_key(service), json.dumps(report), ex=HEARTBEAT_TTL)
    return report


def start_heartbeat(redis_url: str, service: str, database: Database) -> threading.Event:
    """Report this worker's health until the returned event is set."""
    stop = threading.Event()
    client = _client(redis_url)

    def loop() -> None:
        while not stop.is_set():
            try:
                report_once(client, service, database)
            except Exception as err:
                log.warning("health report failed: %s", err)
            stop.wait(HEARTBEAT_SECONDS)
        try:
            client.delete(_key(service))
        except Exception:
            log.debug("could not clear the health report", exc_info=True)

    threading.Thread(target=loop, name=f"{service}-heartbeat", daemon=True).start()
    return stop


def system_health(redis_url: str) -> tuple[bool, dict[str, Any]]:
    """(all up?, a JSON-ready description naming each service and its state)."""
    services: dict[str, Any] = {}
    try:
        client = _client(redis_url)
        client.ping()
        broker = "up"
        raw = client.mget([_key(s) for s in SERVICES])
    except Exception as err:
        broker = f"down: {type(err).__name__}"
        raw = [None] * len(SERVICES)
    for service, value in zip(SERVICES, raw, strict=True):
        if value is None:
            services[service] = {"state": "down", "detail": "no recent report from its worker"}
            continue
        report = json.loads(value)
        up = report.get("database") == "ok"
        services[service] = {
            "state": "up" if up else "down",
            "worker": report.get("worker"),
            "database": report.get("database"),
        }
    healthy = broker == "up" and all(s["state"] == "up" for s in services.values())
    return healthy, {
        "status": "ok" if healthy else "unavailable",
        "broker": broker,
        "services": services,
    }
