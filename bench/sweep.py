"""Row 6 of issue 20: the report-deadline sweep with 1,000 reminders due among 10,000 and among
1,000,000 stored reports, against one SQL statement inserting the same 1,000 outbox rows.

    python -m bench sweep            (in the table of ``make bench``)
    python -m bench.sweep            (or: make bench-sweep; DUE=1000 by default)

Each size gets a fresh database migrated by reporting's Alembic migrations, bulk-loaded with
one ``INSERT ... SELECT`` per table (the tables' secondary indexes and foreign keys dropped
for the load and made again after it, as a restore does: the schema is the migrated one).
Each report has its six reminders: the ones not due have their -14 and -3 reminders sent
already and the rest ahead; each due report has its -14 reminder due now, the rest ahead. The
sweep (services/reporting/reports/domain.py ``sweep``) and the raw insert each run
in a transaction rolled back after it (nothing is published), in interleaved rounds; the
medians are compared. The raw insert is SQLAlchemy Core's executemany of the 1,000 rows the
sweep wrote (same columns, same messages), which it sends as one multi-row INSERT.

Target: the raw insert's time at least half the sweep's (ratio raw / sweep ≥ 0.5), and the
sweep among 1,000,000 reports within 1.5 times the sweep among 10,000.
"""

from __future__ import annotations

import argparse
import os
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from bench.lab import Lab, median, say
from bench.table import Row, render
from shared.db import Database, sqlalchemy_url

TITLE = "Deadline sweep: 1,000 reminders due"
NOW = datetime(2030, 6, 1, 13, 0, tzinfo=UTC)
SIZES = (10_000, 1_000_000)
DUE = 1000
ROUNDS = 5
TARGET = 0.5  # raw insert / sweep
SPREAD = 1.5  # the largest size's sweep against the smallest's, at most

TABLES = ("alliances", "reports", "report_reminders")

LOAD = """
INSERT INTO alliances (id, reference, partner_name, contact_email, liaison_email, contact,
    liaison, division, signing_date, term_years, ends_on, signed, received_at)
SELECT md5('alliance' || a)::uuid, 'AP-2030-' || a, 'Partner ' || a, 'dana@example.org',
    'lee@agency.example', '{"name": "Dana", "email": "dana@example.org"}',
    '{"name": "Lee", "email": "lee@agency.example"}', 'construction_safety_health',
    date '2030-01-01', 3, date '2032-12-31',
    jsonb_build_object('proposal_id', md5('proposal' || a)::uuid), now()
FROM generate_series(0, :alliances - 1) AS a;

INSERT INTO reports (id, alliance_id, kind, term, period_start, period_end, due_date, status,
    created_at)
SELECT md5('report' || r)::uuid, md5('alliance' || (r % :alliances))::uuid, 'quarterly', 0,
    date '2000-01-01' + (r / :alliances)::int, date '2000-01-02' + (r / :alliances)::int,
    date '2030-07-01', 'scheduled', now()
FROM generate_series(0, :reports - 1) AS r;

INSERT INTO report_reminders (report_id, kind, days, due_at, sent_at, skipped)
SELECT md5('report' || r)::uuid, k.kind, k.days,
    CASE WHEN r < :due AND k.days = -14 THEN timestamptz '2030-06-01 12:00+00'
         WHEN r < :due THEN timestamptz '2030-07-01 13:00+00' + k.days * interval '1 day'
         ELSE timestamptz '2030-06-15 13:00+00' + (k.days + 14) * interval '1 day'
              + (r % 1000) * interval '1 minute' END,
    CASE WHEN r >= :due AND k.days < 0 THEN timestamptz '2030-05-20 13:00+00' END,
    false
FROM generate_series(0, :reports - 1) AS r,
    (VALUES ('due_soon', -14), ('due_soon', -3), ('due', 0), ('overdue', 1),
            ('overdue', 14), ('escalated', 30)) AS k(kind, days);
"""

# The loaded tables' secondary indexes and their unique and foreign-key constraints, as the
# migrations made them, to drop before the load and make again after it.
SCHEMA_EXTRAS = """
SELECT 'index', tablename, indexname, indexdef FROM pg_indexes
WHERE schemaname = 'public' AND tablename = ANY(:tables)
  AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE contype IN ('p', 'u'))
UNION ALL
SELECT 'constraint', conrelid::regclass::text, conname,
    format('ALTER TABLE %s ADD CONSTRAINT %I %s', conrelid::regclass, conname,
           pg_get_constraintdef(oid))
FROM pg_constraint
WHERE conrelid::regclass::text = ANY(:tables) AND contype IN ('u', 'f')
"""


def load(url: str, *, reports: int, due: int) -> float:
    """Fill a migrated reporting database; the seconds it took."""
    engine = create_engine(url)
    started = time.perf_counter()
    try:
        with engine.begin() as conn:
            conn.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
            extras = conn.execute(text(SCHEMA_EXTRAS), {"tables": list(TABLES)}).all()
            for kind, table, name, _definition in extras:
                if kind == "constraint":
                    conn.execute(text(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"'))
            for kind, _table, name, _definition in extras:
                if kind == "index":
                    conn.execute(text(f'DROP INDEX "{name}"'))
            for statement in LOAD.split(";\n"):
                if statement.strip():
                    conn.execute(
                        text(statement),
                        {"alliances": max(1, reports // 100), "reports": reports, "due": due},
                    )
            # Indexes first: the foreign keys' checks then use them.
            for _kind, _table, _name, definition in sorted(
                extras, key=lambda extra: extra[0] != "index"
            ):
                conn.execute(text(definition))
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))
    finally:
        engine.dispose()
    return time.perf_counter() - started


@dataclass
class Timings:
    sweep: list[float]
    raw: list[float]
    sent: int
    message_bytes: int


def measure(url: str, *, rounds: int, due: int) -> Timings:
    """The sweep and the raw insert of its rows, ``rounds`` times each, interleaved."""
    from services.reporting.models import OutboxEvent
    from services.reporting.reports.domain import sweep
    from services.reporting.worker import celery
    from shared.outbox import Outbox

    database = Database("reporting", url)
    outbox = Outbox(model=OutboxEvent, database=database, celery_app=celery, producer="reporting")
    table: Any = OutboxEvent.__table__
    written: list[dict[str, Any]] = []
    timings = Timings([], [], 0, 0)

    def one_sweep() -> float:
        with Session(database.engine) as session:
            session.execute(text("SELECT 1"))  # the connection taken before the clock starts
            started = time.perf_counter()
            counts = sweep(session, now=NOW, outbox=outbox)
            took = time.perf_counter() - started
            timings.sent = sum(counts.values())
            if not written:
                written.extend(
                    {"type": kind, "version": version, "message": message}
                    for kind, version, message in session.execute(
                        select(OutboxEvent.type, OutboxEvent.version, OutboxEvent.message)
                    )
                )
            session.rollback()
        return took

    def one_insert() -> float:
        now = datetime.now(UTC)
        rows = [
            {**row, "event_id": uuid.uuid4(), "created_at": now, "attempts": 0, "publications": 0}
            for row in written
        ]
        with database.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            started = time.perf_counter()
            conn.execute(table.insert(), rows)
            took = time.perf_counter() - started
            conn.rollback()
        return took

    try:
        one_sweep()  # warms up, and gives the rows the raw insert writes
        assert timings.sent == due == len(written), (timings.sent, due, len(written))
        timings.message_bytes = round(
            median([len(str(row["message"]).encode()) for row in written])
        )
        one_insert()
        for index in range(rounds):
            # Alternate which goes first: neither always meets a cache the other warmed.
            pair = (one_sweep, one_insert) if index % 2 == 0 else (one_insert, one_sweep)
            for run_one in pair:
                took = run_one()
                (timings.sweep if run_one is one_sweep else timings.raw).append(took)
    finally:
        database.dispose()
    return timings


def drop(server_url: str, url: str) -> None:
    name = make_url(url).database
    admin = create_engine(sqlalchemy_url(server_url), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def run(
    lab: Lab, *, sizes: tuple[int, ...] = SIZES, due: int = DUE, rounds: int = ROUNDS
) -> list[Row]:
    results: dict[int, Timings] = {}
    for size in sizes:
        url = lab.fresh_database(f"sweep_{size}", service="reporting")
        try:
            seconds = load(url, reports=size, due=due)
            say(f"loaded {size:,} reports, {size * 6:,} reminders in {seconds:.0f} s")
            results[size] = timings = measure(url, rounds=rounds, due=due)
            say(
                f"{size:,} reports: sweep {median(timings.sweep) * 1000:.0f} ms, "
                f"raw insert {median(timings.raw) * 1000:.0f} ms (medians of {rounds})"
            )
        finally:
            drop(lab.postgres_url, url)
    smallest = median(results[sizes[0]].sweep)
    rows = []
    for size, timings in results.items():
        swept, raw = median(timings.sweep), median(timings.raw)
        ratio = raw / swept
        spread = swept / smallest
        met = ratio >= TARGET and spread <= SPREAD
        target = f"≥ {TARGET}" if size == sizes[0] else f"≥ {TARGET}, ≤ {SPREAD} x first"
        note = (
            f"{size:,} reports stored, {timings.sent:,} reminders due (one per report), "
            f"messages of about {timings.message_bytes:,} bytes; "
            f"{swept / timings.sent * 1e6:.0f} µs per reminder; "
            f"{spread:.2f} x the sweep among {sizes[0]:,}"
        )
        rows.append(
            Row(
                f"Deadline sweep, {size:,} reports",
                f"{timings.sent:,} reminders in {swept * 1000:.0f} ms",
                f"one INSERT of the {timings.sent:,} outbox rows: {raw * 1000:.0f} ms",
                ratio,
                target,
                met,
                note,
                figures={"sweep_ms": swept * 1000, "raw_ms": raw * 1000, "spread": spread},
            )
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--due", type=int, default=int(os.environ.get("DUE", str(DUE))))
    parser.add_argument("--sizes", default=",".join(str(size) for size in SIZES))
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    args = parser.parse_args()
    lab = Lab()
    sizes = tuple(int(size) for size in args.sizes.split(","))
    print(render(run(lab, sizes=sizes, due=args.due, rounds=args.rounds)))


if __name__ == "__main__":
    main()
