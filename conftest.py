"""Test set-up for the whole repository (unit tests beside the code, tests/ for the rest).

The test servers are chosen and started before any test module is imported, because the
services read their broker and database URLs from the environment at import time. Under
pytest-xdist the controller starts them once and each worker takes its own databases on them
(tests/servers.py ``worker_servers``).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest

from tests.scheduling import NOTES_DIR, make_scheduler, note_for_controller, run_order
from tests.servers import (
    TestServers,
    for_workers,
    start_test_servers,
    test_database_name,
    test_environment,
    worker_servers,
)

_servers: TestServers | None = None


def pytest_configure(config: pytest.Config) -> None:
    global _servers
    share_compiled_templates()
    if _servers is not None or config.option.collectonly:
        return  # collecting runs no test: no servers (make's bytecode step collects first)
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        # An xdist worker: the settings below and the servers came with the controller's
        # environment; this worker points itself at its own databases on those servers.
        _servers = worker_servers(workerinput["workerid"])
        os.environ.update(test_environment(_servers))
        return
    os.environ.setdefault("SECRET_KEY", "test-secret-key")
    os.environ.setdefault("COORDINATOR_EMAIL", "coordinator@agency.example")
    os.environ["APP_ENV"] = "test"
    # Tests submit many proposals from one address; the limit itself has its own test.
    os.environ.setdefault("INTAKE_RATE_LIMIT", "10000 per minute")
    # Staff passwords hashed at the least Argon2id cost (not 0.15 s a sign-in); the strong
    # default has its own test (tests/shared/test_staff_auth.py).
    os.environ.setdefault("STAFF_PASSWORD_HASH", "fast")
    _servers = start_test_servers()
    os.environ.update(test_environment(_servers))
    os.environ.update(for_workers(_servers))
    os.environ[NOTES_DIR] = tempfile.mkdtemp(prefix="apm-test-schedule-")


def pytest_unconfigure(config: pytest.Config) -> None:
    global _servers
    import sys

    # Close the services' pooled connections before their servers go away.
    for service in ("intake", "review", "reporting", "notify"):
        worker = sys.modules.get(f"services.{service}.worker")
        if worker is not None:
            worker.database.dispose()
    if _servers is not None:
        _servers.stop()
        _servers = None
    if not hasattr(config, "workerinput") and os.environ.get(NOTES_DIR):
        shutil.rmtree(os.environ.pop(NOTES_DIR), ignore_errors=True)


def share_compiled_templates() -> None:
    """One Jinja bytecode cache for every Flask app of this process. A service builds its app
    once a process; the tests build a few hundred (an app a test, a gateway a browser test),
    and each compiled the same templates again. The cache keys a template by its file and
    checks its source, so an edited template is compiled again."""
    from flask import Flask
    from jinja2 import BytecodeCache

    class InMemory(BytecodeCache):
        def __init__(self) -> None:
            self.buckets: dict[str, bytes] = {}

        def load_bytecode(self, bucket: Any) -> None:
            code = self.buckets.get(bucket.key)
            if code is not None:
                bucket.bytecode_from_string(code)

        def dump_bytecode(self, bucket: Any) -> None:
            self.buckets[bucket.key] = bucket.bytecode_to_string()

    Flask.jinja_options = {**Flask.jinja_options, "bytecode_cache": InMemory()}


# -- the order the tests run in, and how xdist hands them out (tests/scheduling.py) ----------


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    workerinput = getattr(config, "workerinput", None)
    run_order(items, parallel=workerinput is not None)
    if workerinput is not None:
        note_for_controller(workerinput["workerid"], items)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    if config.getoption("dist") != "loadscope":
        return None  # xdist's own
    return make_scheduler(config, log)


def pytest_report_header(config: pytest.Config) -> list[str]:
    if _servers is None:
        return []
    return [
        f"test servers: {_servers.source} "
        f"(PostgreSQL {_servers.postgres_url}, Redis {_servers.redis_url})"
    ]


# MonkeyPatch is marked final to keep plugins from changing it; this only adds the reset.
class SettingsMonkeyPatch(pytest.MonkeyPatch):  # type: ignore[misc]
    """pytest's MonkeyPatch, except that setting or deleting an environment variable (and
    undoing it) makes the next ``load_settings()`` read the environment again: a process
    reads its settings once (shared/config/), a test changes them on the fly."""

    def setenv(self, name: str, value: str, prepend: str | None = None) -> None:
        super().setenv(name, value, prepend)
        _forget_settings()

    def delenv(self, name: str, raising: bool = True) -> None:
        super().delenv(name, raising)
        _forget_settings()

    def undo(self) -> None:
        super().undo()
        _forget_settings()


def _forget_settings() -> None:
    from shared.config import reset_settings

    reset_settings()


@pytest.fixture
def monkeypatch() -> Iterator[pytest.MonkeyPatch]:
    with SettingsMonkeyPatch.context() as patch:
        yield patch


@pytest.fixture(autouse=True)
def fresh_settings() -> Iterator[None]:
    """Each test starts from the settings of the test environment, whatever the one before
    changed (an ``alliance`` command run in-process with its own environment, say)."""
    _forget_settings()
    yield
    _forget_settings()


@pytest.fixture(scope="session")
def servers() -> TestServers:
    assert _servers is not None
    return _servers


@pytest.fixture(scope="session")
def migrated(servers: TestServers) -> dict[str, str]:
    """Fresh test databases for every service, built by their Alembic migrations."""
    from sqlalchemy import create_engine, text

    from shared.config import SERVICES
    from shared.db import sqlalchemy_url
    from shared.migrations import upgrade

    admin = create_engine(sqlalchemy_url(servers.postgres_url), isolation_level="AUTOCOMMIT")
    urls = {}
    with admin.connect() as conn:
        for service in SERVICES:
            name = test_database_name(service)
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
    for service in SERVICES:
        urls[service] = servers.database_url(service)
        upgrade(service, urls[service])
    return urls


@pytest.fixture
def redis_client(servers: TestServers) -> Iterator[Any]:
    import redis

    from shared.outbox import wait_until_all_published

    class Settled(redis.Redis):
        """Answers once this process's outboxes have published what was committed: they
        publish in the background after the commit (shared/outbox.py), and a test reads the
        queues as the next moment would see them (and no test's events reach the next one)."""

        def execute_command(self, *args: Any, **options: Any) -> Any:
            wait_until_all_published()
            return super().execute_command(*args, **options)

    client = Settled.from_url(servers.redis_url)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture(scope="session")
def _cleaners(migrated: dict[str, str]) -> Iterator[list[Any]]:
    """One engine per service database for the whole run, and each one's list of tables."""
    from sqlalchemy import create_engine, text

    from shared.db import sqlalchemy_url

    cleaners = []
    for url in migrated.values():
        engine = create_engine(sqlalchemy_url(url), pool_size=1, pool_pre_ping=True)
        with engine.connect() as conn:
            tables = conn.execute(
                text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                    "AND tablename <> 'alembic_version' ORDER BY tablename"
                )
            ).scalars()
            sequences = conn.execute(
                text("SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'")
            ).scalars()
            cleaners.append((engine, list(tables), list(sequences)))
    yield cleaners
    for engine, _tables, _sequences in cleaners:
        engine.dispose()


@pytest.fixture
def clean_databases(migrated: dict[str, str], _cleaners: list[Any]) -> dict[str, str]:
    """Empty every service table before the test (schemas stay as migrated).

    DELETE with foreign-key triggers off, and sequences restarted: on the few rows a test
    leaves this takes milliseconds, where TRUNCATE of 80 tables took about 0.14 s a test.
    """
    from tests.helpers import empty_every_table

    empty_every_table(_cleaners)
    return migrated


@pytest.fixture(scope="module")
def clean_databases_for_module(
    migrated: dict[str, str], _cleaners: list[Any], servers: TestServers
) -> dict[str, str]:
    """Every service table emptied and Redis flushed once, before the module's first test: for
    the tests of a module that share one running system (which a flush in between would
    break)."""
    import redis

    from tests.helpers import empty_every_table

    empty_every_table(_cleaners)
    client = redis.Redis.from_url(servers.redis_url)
    client.flushdb()
    client.close()
    return migrated


@pytest.fixture
def rolled_back(migrated: dict[str, str], _cleaners: list[Any]) -> Iterator[Any]:
    """``rolled_back("review")``: a session on that service's test database, inside a
    transaction rolled back after the test, so a domain-level test needs no truncation.

    The session starts from empty tables and restarted sequences, as ``clean_databases``
    leaves them, whatever an earlier test committed: the emptying is inside the transaction
    and rolled back with the rest (PostgreSQL rolls back ALTER SEQUENCE ... RESTART too).

    Commits inside it only release savepoints. For tests that call domain functions directly
    (the functions never commit; the web and task layers do); a test that runs a worker or a
    web request needs ``clean_databases`` instead.
    """
    from sqlalchemy import text
    from sqlalchemy.orm import Session

    cleaners = dict(zip(migrated, _cleaners, strict=True))
    opened: list[tuple[Any, Any, Session]] = []

    def session_for(service: str) -> Session:
        engine, tables, _sequences = cleaners[service]
        connection = engine.connect()
        outer = connection.begin()
        # Names read from pg_tables (_cleaners), not from any input. Only the sequences an
        # earlier test moved on are restarted: each restart writes a new file (0.4 ms).
        deletes = " ".join(f'DELETE FROM "{table}";' for table in tables)  # noqa: S608
        restarts = (
            "FOR moved IN SELECT sequencename FROM pg_sequences WHERE schemaname = 'public' "
            "AND last_value IS NOT NULL LOOP "
            "EXECUTE format('ALTER SEQUENCE %I RESTART', moved); END LOOP;"
        )
        connection.execute(text("SET LOCAL session_replication_role = replica"))
        connection.execute(
            text(f"DO $clean$ DECLARE moved text; BEGIN {deletes} {restarts} END $clean$")
        )
        connection.execute(text("SET LOCAL session_replication_role = origin"))
        session = Session(bind=connection, join_transaction_mode="create_savepoint")
        opened.append((connection, outer, session))
        return session

    yield session_for
    for connection, outer, session in opened:
        session.close()
        outer.rollback()
        connection.close()
