"""How long one report-deadline sweep takes with 10,000 and with 1,000,000 scheduled reports,
the same number due (services/reporting/reports/domain.py ``sweep``).

    python -m bench.sweep            (or: make bench-sweep; DUE=1000 by default)

PostgreSQL: ``POSTGRES_URL`` (default ``postgresql://postgres@127.0.0.1:5432/postgres``); the
run creates the database ``apm_bench_sweep`` (dropped first), migrated by reporting's Alembic
migrations, and bulk-loads it with ``generate_series``. Each report has its six reminders:
the ones not due have their -14 and -3 reminders sent already and the rest ahead; each due
report has one reminder due now. The sweep runs in a transaction rolled back after it (so
nothing is published), three times; the best and the median are printed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from datetime import UTC, datetime

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from shared.db import Database, sqlalchemy_url

NOW = datetime(2030, 6, 1, 13, 0, tzinfo=UTC)

LOAD = """
INSERT INTO alliances (id, reference, partner_name, contact_email, liaison_email, contact,
    liaison, division, signing_date, term_years, ends_on, signed, received_at)
SELECT md5('alliance' || a)::uuid, 'AP-2030-' || a, 'Partner ' || a, 'dana@example.org',
    'lee@agency.example', '{"name": "Dana", "email": "dana@example.org"}',
    '{"name": "Lee", "email": "lee@agency.example"}', 'construction_safety_health',
    date '2030-01-01', 3, date '2032-12-31', '{}', now()
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


def prepare(server_url: str, *, reports: int, due: int) -> str:
    from shared.migrations import upgrade

    name = "apm_bench_sweep"
    admin = create_engine(sqlalchemy_url(server_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
    url = make_url(sqlalchemy_url(server_url)).set(database=name).render_as_string(False)
    upgrade("reporting", url)
    engine = create_engine(url)
    started = time.perf_counter()
    with engine.begin() as conn:
        for statement in LOAD.split(";\n"):
            if statement.strip():
                conn.execute(
                    text(statement),
                    {"alliances": max(1, reports // 100), "reports": reports, "due": due},
                )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()
    print(
        f"  loaded {reports:,} reports, {reports * 6:,} reminders in "
        f"{time.perf_counter() - started:.1f} s"
    )
    return url


def measure(url: str, *, rounds: int) -> tuple[list[float], int]:
    from services.reporting.models import OutboxEvent
    from services.reporting.reports.domain import sweep
    from services.reporting.worker import celery
    from shared.outbox import Outbox

    database = Database("reporting", url)
    outbox = Outbox(model=OutboxEvent, database=database, celery_app=celery, producer="reporting")
    timings, sent = [], 0
    for _ in range(rounds):
        with Session(database.engine) as session:
            started = time.perf_counter()
            counts = sweep(session, now=NOW, outbox=outbox)
            timings.append(time.perf_counter() - started)
            sent = sum(counts.values())
            session.rollback()
    database.dispose()
    return timings, sent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--due", type=int, default=int(os.environ.get("DUE", "1000")))
    parser.add_argument("--sizes", default="10000,1000000")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    server = os.environ.get("POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    results = []
    for size in (int(s) for s in args.sizes.split(",")):
        print(f"{size:,} scheduled reports, {args.due:,} due:")
        url = prepare(server, reports=size, due=args.due)
        timings, sent = measure(url, rounds=args.rounds)
        assert sent == args.due, (sent, args.due)
        results.append((size, min(timings), statistics.median(timings), sent))
    print()
    for size, best, median, sent in results:
        print(
            f"sweep with {size:>9,} scheduled reports: {sent:,} reminders sent in "
            f"{best * 1000:.0f} ms (median {median * 1000:.0f} ms of {args.rounds})"
        )


if __name__ == "__main__":
    main()
