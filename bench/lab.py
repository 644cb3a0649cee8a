"""What every benchmark shares: the servers it runs against, a scratch folder, fresh databases,
free ports, and a way to say what it is doing."""

from __future__ import annotations

import os
import signal
import socket
import statistics
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from shared.db import sqlalchemy_url


def say(message: str) -> None:
    print(f"[bench] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def percentile(values: list[float], fraction: float) -> float:
    """The ``fraction`` quantile (0.99 for p99) of ``values``, nearest-rank."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[index]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


@dataclass
class Lab:
    """The servers (``POSTGRES_URL``, ``REDIS_URL``; the local ones by default), a scratch
    folder kept until the run ends, and the prefix of every database a benchmark makes."""

    postgres_url: str = field(
        default_factory=lambda: os.environ.get(
            "POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        )
    )
    # Redis database 6 unless BENCH_REDIS_DB says otherwise: away from the tests' 8-15.
    redis_url: str = field(
        default_factory=lambda: (
            os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0").rsplit("/", 1)[0]
            + "/"
            + os.environ.get("BENCH_REDIS_DB", "6")
        )
    )
    prefix: str = field(default_factory=lambda: os.environ.get("BENCH_DB_PREFIX", "apm_bench"))
    scratch: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="apm-bench-")))

    def fresh_database(self, name: str, *, service: str | None = None) -> str:
        """Drop and create ``<prefix>_<name>`` (migrated for ``service`` when given); its URL."""
        full = f"{self.prefix}_{name}"
        base = make_url(sqlalchemy_url(self.postgres_url))
        admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{full}" WITH (FORCE)'))
                conn.execute(text(f'CREATE DATABASE "{full}"'))
        finally:
            admin.dispose()
        url = base.set(database=full).render_as_string(hide_password=False)
        if service is not None:
            from shared.migrations import upgrade

            upgrade(service, url)
        return url

    def service_databases(self, tag: str) -> dict[str, str]:
        """A fresh, migrated database per service, ``<prefix>_<tag>_<service>``."""
        from shared.config import SERVICES

        return {s: self.fresh_database(f"{tag}_{s}", service=s) for s in SERVICES}

    def flush_redis(self) -> None:
        import redis

        client = redis.Redis.from_url(self.redis_url)
        try:
            client.flushdb()
        finally:
            client.close()


class SmtpSink:
    """A local SMTP server (aiosmtpd) that notes when each message arrives and to whom."""

    def __init__(self) -> None:
        import threading

        self.port = free_port()
        self.lock = threading.Lock()
        self.arrivals: list[tuple[float, list[str], str]] = []  # (monotonic, to, subject)
        self._controller: object | None = None

    def start(self) -> None:
        import email
        import email.policy
        import time

        from aiosmtpd.controller import Controller

        sink = self

        class Handler:
            async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
                arrived = time.monotonic()
                message = email.message_from_bytes(
                    envelope.content,  # type: ignore[attr-defined]
                    policy=email.policy.default,
                )
                to = [str(r).lower() for r in envelope.rcpt_tos]  # type: ignore[attr-defined]
                with sink.lock:
                    sink.arrivals.append((arrived, to, str(message.get("Subject", ""))))
                return "250 Message accepted"

        controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        controller.start()
        self._controller = controller

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()  # type: ignore[attr-defined]
            self._controller = None

    def first_arrival(self) -> dict[str, float]:
        """The time the first message to each recipient arrived."""
        found: dict[str, float] = {}
        with self.lock:
            for arrived, to, _subject in self.arrivals:
                for recipient in to:
                    found.setdefault(recipient, arrived)
        return found

    def count(self) -> int:
        with self.lock:
            return len(self.arrivals)


def gunicorn_argv(app: str, port: int, *, threads: int | None = None) -> list[str]:
    """gunicorn with the web processes' settings (deploy/gunicorn_conf.py) and 2 workers, as
    the benchmarks' web servers and their raw baselines run (sync workers, or ``threads``
    each as docker-compose.yml runs them)."""
    import sys

    return [
        sys.executable,
        "-m",
        "gunicorn",
        "--config",
        "python:deploy.gunicorn_conf",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "2",
        *(["--threads", str(threads)] if threads else []),
        "--graceful-timeout",
        "10",
        "--access-logfile",
        "-",
        app,
    ]


def stop_group(process: subprocess.Popen[bytes], timeout: float = 20) -> None:
    """SIGTERM a process started in a session of its own, with its children; SIGKILL after
    ``timeout`` seconds."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
