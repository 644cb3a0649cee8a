"""Which PostgreSQL and Redis the tests use.

1. The servers the environment names: ``POSTGRES_URL`` (a server URL; the tests create their
   own databases on it) and ``REDIS_URL`` (the tests use database ``TEST_REDIS_DB``, 15 by
   default, and empty it). ``.ci/run`` exports both for this machine's servers.
2. Otherwise containers, where a Docker engine answers (testcontainers).
3. Otherwise the embedded servers the project itself runs (PostgreSQL 18 and Valkey 8).

Under pytest-xdist (``make test`` runs ``-n 4``) the controller chooses and starts the servers
once and names them to its workers in ``TEST_SERVERS`` (:func:`for_workers`); each worker
``gwN`` takes its own set (:func:`worker_servers`): the databases ``<TEST_DB_PREFIX>_gwN_<service>``
and the Redis database ``TEST_REDIS_DB - N`` (15, 14, 13 and 12 for four workers by default),
so that no two workers share a table, a queue or a staff session.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import tempfile
import warnings
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from shared.config import SERVICES
from shared.db import sqlalchemy_url


@dataclass
class TestServers:
    source: str
    postgres_url: str  # a server URL, database "postgres"
    redis_url: str
    _stoppers: list[Any] = field(default_factory=list)

    def database_url(self, service: str) -> str:
        url = make_url(sqlalchemy_url(self.postgres_url)).set(database=test_database_name(service))
        return url.render_as_string(hide_password=False)

    def stop(self) -> None:
        for stop in reversed(self._stoppers):
            stop()
        self._stoppers.clear()


def test_database_name(service: str) -> str:
    """``apm_test_<service>``; TEST_DB_PREFIX lets two test runs share one server (an xdist
    worker adds its id to it: ``apm_test_gw1_<service>``)."""
    return f"{os.environ.get('TEST_DB_PREFIX', 'apm_test')}_{service}"


def _redis_test_url(url: str, db: int | None = None) -> str:
    parsed = make_url(url.replace("redis://", "postgresql://", 1))  # reuse the URL parser
    if db is None:
        db = int(os.environ.get("TEST_REDIS_DB", "15"))
    rendered = parsed.set(database=str(db)).render_as_string(hide_password=False)
    return rendered.replace("postgresql://", "redis://", 1)


def _docker_available() -> bool:
    """Does a Docker engine answer its ping? (Checked by hand: the docker library leaks a
    socket when no engine is there, which our warnings-as-errors would turn into a failure.)"""
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    try:
        if host.startswith("unix://"):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            address: Any = host[len("unix://") :]
        elif host.startswith("tcp://"):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            name, _, port = host[len("tcp://") :].rpartition(":")
            address = (name, int(port))
        else:
            return False
        with sock:
            sock.settimeout(2)
            sock.connect(address)
            sock.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            return b" 200 " in sock.recv(1024)
    except (OSError, ValueError):
        return False


def _containers() -> TestServers:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            from testcontainers.community.postgres import PostgresContainer
            from testcontainers.community.redis import RedisContainer
        except ImportError:
            from testcontainers.postgres import PostgresContainer
            from testcontainers.redis import RedisContainer
    # A password production would take (tests/production.py runs the apps in production).
    password = secrets.token_hex(12)
    postgres = PostgresContainer("postgres:16-alpine", username="postgres", password=password)
    redis = RedisContainer("redis:7-alpine")
    postgres.start()
    redis.start()
    host = postgres.get_container_host_ip()
    pg_port = postgres.get_exposed_port(5432)
    redis_host = redis.get_container_host_ip()
    redis_port = redis.get_exposed_port(6379)
    servers = TestServers(
        source="testcontainers",
        postgres_url=f"postgresql://postgres:{password}@{host}:{pg_port}/postgres",
        redis_url=f"redis://{redis_host}:{redis_port}/0",
    )
    servers._stoppers += [postgres.stop, redis.stop]
    return servers


def _embedded() -> TestServers:
    from deploy.embedded import EmbeddedPostgres, EmbeddedValkey

    root = Path(tempfile.mkdtemp(prefix="apm-test-servers-"))
    postgres = EmbeddedPostgres(root / "postgres")
    valkey = EmbeddedValkey(root / "valkey")
    postgres.start()
    valkey.start()
    servers = TestServers(
        source="embedded",
        postgres_url=f"postgresql://postgres@127.0.0.1:{postgres.port}/postgres",
        redis_url=valkey.url,
    )
    remove_root = partial(shutil.rmtree, root, ignore_errors=True)
    servers._stoppers += [remove_root, postgres.stop, valkey.stop]  # stopped in reverse
    return servers


def start_test_servers() -> TestServers:
    postgres_url = os.environ.get("POSTGRES_URL", "").strip()
    redis_url = os.environ.get("REDIS_URL", "").strip()
    if postgres_url and redis_url:
        return TestServers("environment", postgres_url, _redis_test_url(redis_url))
    if _docker_available():
        return _containers()
    return _embedded()


def test_environment(servers: TestServers) -> dict[str, str]:
    """The variables that point every service at the test servers."""
    env = {"REDIS_URL": servers.redis_url}
    for service in SERVICES:
        env[f"{service.upper()}_DATABASE_URL"] = servers.database_url(service)
    return env


# What the xdist controller tells its workers (they inherit its environment).
SERVERS_VARIABLE = "TEST_SERVERS"
REDIS_DATABASES = 16  # Redis and Valkey have databases 0-15


def for_workers(servers: TestServers) -> dict[str, str]:
    """The variable that names the controller's servers to its xdist workers."""
    chosen = {
        "source": servers.source,
        "postgres_url": servers.postgres_url,
        "redis_url": servers.redis_url,
    }
    return {SERVERS_VARIABLE: json.dumps(chosen)}


def worker_servers(worker_id: str) -> TestServers:
    """The servers the controller chose, with worker ``gwN``'s own databases: TEST_DB_PREFIX
    gets ``_gwN`` and TEST_REDIS_DB (15 unless set) goes down by N, in this process's
    environment, which the processes it starts inherit. The controller stops the servers."""
    chosen = json.loads(os.environ[SERVERS_VARIABLE])
    index = int(worker_id.removeprefix("gw"))
    base = int(os.environ.get("TEST_REDIS_DB", "15"))
    db = base - index
    if not 0 <= db < REDIS_DATABASES:
        raise RuntimeError(
            f"xdist worker {worker_id} would use Redis database {db}: with N workers, "
            f"TEST_REDIS_DB (now {base}) must be between N-1 and {REDIS_DATABASES - 1}"
        )
    os.environ["TEST_DB_PREFIX"] = f"{os.environ.get('TEST_DB_PREFIX', 'apm_test')}_{worker_id}"
    os.environ["TEST_REDIS_DB"] = str(db)
    return TestServers(
        source=f"{chosen['source']}, xdist worker {worker_id}",
        postgres_url=chosen["postgres_url"],
        redis_url=_redis_test_url(chosen["redis_url"], db),
    )
