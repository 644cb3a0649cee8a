"""Row 5: catching up after an SMTP outage.

A real notify worker and the system's beat (its delivery sweep) with the default retry
schedule and sweep period, a local SMTP sink (bench/notify.py). The sink stops; 500 messages
are recorded and queued as notify's consumer queues them, while it is away; 90 s after it
stopped it starts again on the same port. Measured: the time from its return to the last
message's arrival, and that every message arrived once. The baseline is the raw part: the
same messages sent with smtplib over one connection once the server is back.
"""

from __future__ import annotations

import subprocess
import time
from collections import Counter

from sqlalchemy import create_engine, text

from bench.lab import Lab, say
from bench.notify import (
    Producer,
    Sink,
    notify_env,
    raw_send,
    start_beat,
    start_worker,
    stop_process,
    wait_worker_ready,
)
from bench.table import Row
from shared.db import sqlalchemy_url

TITLE = "Outage catch-up: 500 messages after a 90 s SMTP outage"

MESSAGES = 500
OUTAGE_SECONDS = 90.0
TARGET_SECONDS = 30.0
# Waiting longer than this after the server's return is a miss whatever the figure.
GIVE_UP_SECONDS = 240.0


def attempts_charged(database_url: str, causes: str) -> tuple[int, int]:
    """(messages attempted more than once, attempts beyond one a message) among the messages
    whose cause is like ``causes``."""
    engine = create_engine(sqlalchemy_url(database_url))
    try:
        with engine.connect() as connection:
            row = connection.execute(
                text(
                    "SELECT count(*) FILTER (WHERE attempts > 1),"
                    " coalesce(sum(attempts), 0) - count(*) FROM messages WHERE cause LIKE :causes"
                ),
                {"causes": causes},
            ).one()
            return int(row[0]), int(row[1])
    finally:
        engine.dispose()


def run(lab: Lab) -> list[Row]:
    database_url = lab.fresh_database("notify_outage", service="notify")
    lab.flush_redis()
    sink = Sink()
    sink.start()
    env = notify_env(lab, database_url, sink.port)
    eml_dir = lab.scratch / "outage-messages"
    eml_dir.mkdir()
    worker: subprocess.Popen[bytes] | None = None
    beat: subprocess.Popen[bytes] | None = None
    try:
        worker = start_worker(env, lab.scratch / "outage-worker.log")
        beat = start_beat(env, lab.scratch / "outage-beat.log")
        wait_worker_ready(sink, env, lab, "warm")
        sink.stop()
        down_at = time.monotonic()
        say(f"SMTP server stopped; queuing {MESSAGES} messages")
        producer = Producer(env, count=MESSAGES, tag="outage", eml_dir=eml_dir)
        count = producer.ready()
        producer.go()
        time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - down_at)))
        sink.reset()
        sink.start()
        back_at = time.monotonic()
        say(f"SMTP server back after {back_at - down_at:.0f} s")
        arrived_all = sink.wait_for(count, GIVE_UP_SECONDS)
        with sink.lock:
            ids = list(sink.ids)
            last_at = sink.last_at
        catch_up = (last_at - back_at) if arrived_all else float("inf")
        retried, extra = attempts_charged(database_url, "proposal.submitted:%")
        stop_process(worker)
        worker = None
        sink.reset()
        raw = raw_send(sink.port, eml_dir)
    finally:
        stop_process(worker)
        stop_process(beat)
        sink.stop()
        lab.flush_redis()
    copies = Counter(ids)
    duplicates = sum(n - 1 for n in copies.values() if n > 1)
    say(
        f"{len(copies)} of {count} arrived, {duplicates} duplicates, last {catch_up:.1f} s after "
        f"the return; {extra} attempts beyond one a message, {retried} messages retried"
    )
    met = arrived_all and duplicates == 0 and catch_up <= TARGET_SECONDS
    note = (
        f"{count} messages (receipts and Coordinator's alerts) queued while the SMTP sink was "
        f"stopped for {OUTAGE_SECONDS:.0f} s; one notify worker and beat with the default "
        f"NOTIFY_RETRY_SCHEDULE and DELIVERY_SWEEP_SECONDS; {extra} attempts beyond one a "
        f"message ({retried} messages attempted more than once)."
    )
    if not met:
        note += (
            f" Missed: {len(copies)} of {count} arrived, {duplicates} duplicates, "
            f"the last {catch_up:.0f} s after the return."
        )
    return [
        Row(
            TITLE,
            f"last one {catch_up:.1f} s after the server's return "
            f"({len(copies)}/{count}, {duplicates} duplicates)",
            f"{raw:.1f} s to send them all (smtplib, one connection)",
            catch_up,
            f"≤ {TARGET_SECONDS:.0f} s",
            met,
            note,
            figures={
                "catch_up_seconds": catch_up,
                "raw_seconds": raw,
                "duplicates": duplicates,
                "extra_attempts": extra,
            },
        )
    ]
