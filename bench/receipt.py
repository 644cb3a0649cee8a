"""Row 3: from a proposal's 201 to the SMTP server receiving its receipt, at 10 and at 50
submissions a second, through the whole system as ``make run`` starts it (``alliance run``:
the web, a worker per service, beat) on PostgreSQL and Redis; against the raw parts: a Celery
task sent to a worker with the product's Celery settings that sends one e-mail with smtplib,
at the same rates. Rounds alternate: raw 10/s, system 10/s, raw 50/s, system 50/s."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.lab import Lab, SmtpSink, free_port, percentile, say
from bench.table import Row
from shared.config import database_url_variable
from tests.e2e.system import RunningSystem

TITLE = "Submit to receipt"
EXAMPLE = Path(__file__).resolve().parent.parent / "docs" / "example-proposal.json"
RATES = (10, 50)
SECONDS = 6  # of load per round
TARGET = 3.0  # the system's p99 at most this many times the raw parts'


def paced(rate: int, count: int, send: object) -> dict[str, float]:
    """Call ``send(n)`` ``count`` times, ``rate`` a second, on time whatever each takes; the
    moment each finished (its 201, or the task handed to the broker), by recipient."""
    done: dict[str, float] = {}
    lock = threading.Lock()
    start = time.monotonic() + 0.2

    def one(n: int) -> None:
        pause = start + n / rate - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        recipient = send(n)  # type: ignore[operator]
        with lock:
            done[recipient] = time.monotonic()

    with ThreadPoolExecutor(32) as pool:
        list(pool.map(one, range(count)))
    return done


def latencies(sent: dict[str, float], sink: SmtpSink, timeout: float = 90) -> list[float]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        arrived = sink.first_arrival()
        if all(r in arrived for r in sent):
            break
        time.sleep(0.2)
    arrived = sink.first_arrival()
    missing = [r for r in sent if r not in arrived]
    if missing:
        raise AssertionError(f"{len(missing)} of {len(sent)} receipts never arrived")
    return [arrived[r] - at for r, at in sent.items()]


def figures(values: list[float]) -> str:
    return (
        f"p50 {percentile(values, 0.5) * 1000:.0f} ms, p99 {percentile(values, 0.99) * 1000:.0f} ms"
    )


def run(lab: Lab) -> list[Row]:
    lab.flush_redis()
    urls = lab.service_databases("receipt")
    sink = SmtpSink()
    sink.start()
    env = {
        **os.environ,
        "REDIS_URL": lab.redis_url,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(sink.port),
        # One client sends every submission here: no per-client limit may slow it.
        "INTAKE_RATE_LIMIT": "100000 per minute",
        "COORDINATOR_EMAIL": "coordinator@agency.example",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    for service, url in urls.items():
        env[database_url_variable(service)] = url
    body = json.loads(EXAMPLE.read_text())
    tag = time.strftime("%H%M%S")
    system = RunningSystem(var_dir=lab.scratch / "receipt", port=free_port(), env=env)
    raw = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "bench.raw_celery",
            "worker",
            "-Q",
            "bench.raw",
            "--pool",
            "solo",  # as make run's workers
            "--without-gossip",
            "--without-mingle",
            "--loglevel",
            "WARNING",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    from bench.raw_celery import app as raw_app

    raw_app.conf.broker_url = lab.redis_url

    def submit(prefix: str) -> object:
        def send(n: int) -> str:
            email = f"{prefix}-{n}@example.org"
            proposal = {
                **body,
                "organization": {**body["organization"], "name": f"Bench {prefix} {n}"},
                "contact": {**body["contact"], "email": email},
            }
            request = urllib.request.Request(  # noqa: S310 (loopback only)
                f"{system.base}/api/v1/proposals",
                data=json.dumps(proposal).encode(),
                headers={"Content-Type": "application/json"},
                method="POST",
            )
            with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
                assert answer.status == 201, answer.status
            return email

        return send

    def send_raw(prefix: str) -> object:
        def send(n: int) -> str:
            email = f"{prefix}-{n}@example.org"
            raw_app.send_task("bench.raw.mail", args=[email, sink.port], queue="bench.raw")
            return email

        return send

    rows = []
    try:
        system.wait_healthy(timeout=180)
        latencies(paced(5, 10, submit(f"warm-{tag}")), sink)  # every process has started work
        latencies(paced(5, 10, send_raw(f"rawwarm-{tag}")), sink)
        for rate in RATES:
            count = rate * SECONDS
            say(f"  {rate}/s: {count} raw tasks, then {count} submissions")
            raw_times = latencies(paced(rate, count, send_raw(f"raw{rate}-{tag}")), sink)
            system_times = latencies(paced(rate, count, submit(f"sys{rate}-{tag}")), sink)
            ratio = percentile(system_times, 0.99) / percentile(raw_times, 0.99)
            say(f"    system {figures(system_times)}; raw {figures(raw_times)}")
            rows.append(
                Row(
                    f"Submit to receipt at {rate}/s",
                    figures(system_times),
                    figures(raw_times),
                    ratio,
                    f"p99 ≤ {TARGET:.0f} times raw (ratio ≤ {TARGET:.0f})",
                    ratio <= TARGET,
                    figures={
                        "p50_ms": percentile(system_times, 0.5) * 1000,
                        "p99_ms": percentile(system_times, 0.99) * 1000,
                        "raw_p99_ms": percentile(raw_times, 0.99) * 1000,
                    },
                )
            )
    finally:
        system.stop()
        raw.terminate()
        raw.wait(30)
        sink.stop()
    rows[0].note = (
        "the system's receipt takes the outbox, notify's consumer (inbox, the message rendered "
        "and stored) and a delivery task; the coordinator's copy goes out beside it. The raw "
        "parts: one Celery task and one smtplib send. Both on one solo worker process, as "
        "make run starts them. Missed: see docs/performance.md"
    )
    return rows
