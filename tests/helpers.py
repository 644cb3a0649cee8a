"""Helpers for tests: what went over the broker, what a database holds, waiting for a condition,
a pinned clock, a beat process.

Test data is built by tests/factories.py."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import inspect, literal_column, select, table


def wait_until(
    condition: Callable[[], Any], *, timeout: float, interval: float = 0.2, what: str = ""
) -> Any:
    """The first truthy value of ``condition()``; AssertionError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"not within {timeout:.0f} s: {what or condition}")
        time.sleep(interval)


def stored_rows(database: Any) -> dict[str, list[str]]:
    """Every row of every table of a service's database (its outbox and audit log among them),
    by table: equal before and after a refused request, nothing was stored, changed or queued.
    Read once this process's outboxes have published what was committed (they mark their rows
    published in the background, shared/outbox.py)."""
    from shared.outbox import wait_until_all_published

    wait_until_all_published()
    with database.engine.connect() as connection:
        names = [t for t in inspect(connection).get_table_names() if t != "alembic_version"]
        return {
            name: sorted(
                repr(tuple(row))
                for row in connection.execute(select(literal_column("*")).select_from(table(name)))
            )
            for name in names
        }


def pin_clock(monkeypatch: Any, module: Any, at: datetime) -> None:
    """``datetime.now()`` in ``module`` answers ``at`` (in the zone asked for), for code that
    reads the clock inline rather than through a ``now()`` of its own."""

    class Pinned(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
            return at if tz is None else at.astimezone(tz)

    monkeypatch.setattr(module, "datetime", Pinned)


def queued_tasks(redis_client: Any, queue: str) -> list[tuple[str, dict[str, Any]]]:
    """(task name, kwargs) of every message waiting in a Celery queue on Redis."""
    tasks = []
    for raw in redis_client.lrange(queue, 0, -1):
        message = json.loads(raw)
        body = message["body"]
        if message["properties"].get("body_encoding") == "base64":
            body = base64.b64decode(body)
        _args, kwargs, _embed = json.loads(body)
        tasks.append((message["headers"]["task"], kwargs))
    return list(reversed(tasks))  # kombu pushes on the left: oldest last


def start_beat(*, env: dict[str, str], schedule: Path, log_path: Path) -> subprocess.Popen[bytes]:
    """A real ``alliance beat`` process, its output in ``log_path``."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:  # the child keeps its own copy
        return subprocess.Popen(
            [sys.executable, "-m", "deploy.cli", "beat", "-l", "INFO", "-s", str(schedule)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )


def empty_every_table(cleaners: list[Any]) -> None:
    """Empty every service table (schemas stay as migrated) and restart the sequences.

    ``cleaners``: the ``_cleaners`` fixture, each database's engine, tables and sequences.
    DELETE with foreign-key triggers off: on the few rows a test leaves this takes
    milliseconds, where TRUNCATE of 80 tables took about 0.14 s a test.
    """
    from sqlalchemy import text

    for engine, tables, sequences in cleaners:
        # Names read from pg_tables/pg_sequences, not from any input.
        statements = [f'DELETE FROM "{table}";' for table in tables]  # noqa: S608
        statements += [f'ALTER SEQUENCE "{sequence}" RESTART;' for sequence in sequences]
        with engine.begin() as conn:  # one round trip per database
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            conn.execute(text("DO $clean$ BEGIN " + " ".join(statements) + " END $clean$"))
