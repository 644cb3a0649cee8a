"""Soak run: many proposals at a fixed rate through the whole system while faults keep coming.

    python -m bench.soak --submissions 2000 --rate 20      (or: make soak SUBMISSIONS=2000)

Starts the system as the fault tests do (tests/faults/harness.py: its own Valkey, SMTP server
and database proxies, ``alliance run``), submits proposals from a client that records every
acknowledged id and retries a 503 or a lost answer with the same Idempotency-Key, injects a
fault every few seconds (kill -9 of pool children and whole workers, Valkey restart, SMTP
outage, connections dropped after DATA, a slow SMTP server, database cuts), then waits for
the pipeline to settle and prints the checker's table. The exit code is 1 when anything
acknowledged is missing, stuck, failed or duplicated beyond the ambiguous deliveries.

PostgreSQL: ``POSTGRES_URL`` (a server URL; the run creates ``<prefix>_<service>`` databases,
prefix ``SOAK_DB_PREFIX`` or apm_soak), otherwise an embedded PostgreSQL in the run's folder.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import shutil
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from deploy.embedded import EmbeddedPostgres
from shared.config import SERVICES
from shared.db import sqlalchemy_url
from shared.migrations import upgrade
from tests.e2e.system import RunningSystem
from tests.faults.harness import (
    Acknowledged,
    FaultLab,
    Submission,
    Tally,
    contact_email,
    kill_pool_child,
    kill_worker,
    submit,
    wait_worker_replaced,
)

DESCRIPTION = "Soak run: proposals at a fixed rate through the whole system under faults."


def say(message: str) -> None:
    print(f"[soak] {message}", flush=True)


# -- the databases ----------------------------------------------------------------------------


def fresh_databases(server_url: str, prefix: str) -> dict[str, str]:
    """Drop and migrate ``<prefix>_<service>`` on the server; their URLs."""
    base = make_url(sqlalchemy_url(server_url))
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    urls = {}
    try:
        with admin.connect() as conn:
            for service in SERVICES:
                name = f"{prefix}_{service}"
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                urls[service] = base.set(database=name).render_as_string(hide_password=False)
    finally:
        admin.dispose()
    for service, url in urls.items():
        upgrade(service, url)
    return urls


# -- the faults -------------------------------------------------------------------------------


@dataclass
class Injector:
    """Injects one fault after another on a timer, each undone before the next one."""

    lab: FaultLab
    every: float
    rng: random.Random
    log: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    errors: list[str] = field(default_factory=list)
    injected: set[str] = field(default_factory=set)

    def faults(self) -> list[tuple[str, Callable[[], None]]]:
        return [
            ("kill -9 a notify pool child", lambda: self._kill_pool("notify")),
            ("SMTP server away for 8 s", self._smtp_outage),
            ("kill -9 a review pool child", lambda: self._kill_pool("review")),
            ("cut intake's database for 3 s", lambda: self._cut("intake", 3)),
            ("SMTP drops the connection after DATA, 3 times", self._smtp_drops),
            ("kill -9 the whole notify worker", lambda: self._kill_worker("notify")),
            ("restart Valkey (2 s down)", self._restart_valkey),
            ("cut review's database for 5 s", lambda: self._cut("review", 5)),
            ("kill -9 an intake pool child", lambda: self._kill_pool("intake")),
            ("SMTP answers after 3 s, for 8 s", self._smtp_slow),
            ("cut notify's database for 4 s", lambda: self._cut("notify", 4)),
            ("kill -9 the whole review worker", lambda: self._kill_worker("review")),
        ]

    def run(self) -> None:
        faults = self.faults()
        self.rng.shuffle(faults)
        started = time.monotonic()
        index = 0
        # Until the load ends, and in any case until every kind of fault was injected once
        # (the last ones then hit the pipeline while it drains).
        while True:
            if self.stop.is_set():
                if index >= len(faults):
                    break
                time.sleep(self.every)  # the load is over: keep the faults apart all the same
            elif self.stop.wait(self.every) and index >= len(faults):
                break
            name, inject = faults[index % len(faults)]
            index += 1
            self.log.append(f"t={time.monotonic() - started:6.1f}s  {name}")
            self.injected.add(name)
            say(f"fault: {name}")
            try:
                inject()
            except Exception as err:  # a fault that could not be injected is reported
                self.errors.append(f"{name}: {type(err).__name__}: {err}")
                say(f"could not inject {name!r}: {err}")

    @property
    def system(self) -> RunningSystem:
        assert self.lab.system is not None
        return self.lab.system

    def _kill_pool(self, service: str) -> None:
        kill_pool_child(self.system, service)

    def _kill_worker(self, service: str) -> None:
        old = kill_worker(self.system, service)
        wait_worker_replaced(self.system, service, old, timeout=90)

    def _restart_valkey(self) -> None:
        self.lab.valkey.restart(down_seconds=2)

    def _smtp_outage(self) -> None:
        self.lab.smtp.stop()
        self.stop.wait(8)
        self.lab.smtp.start()

    def _smtp_drops(self) -> None:
        self.lab.smtp.drop_after_data(3)

    def _smtp_slow(self) -> None:
        self.lab.smtp.slow(3)
        self.stop.wait(8)
        self.lab.smtp.slow(0)

    def _cut(self, service: str, seconds: float) -> None:
        proxy = self.lab.proxies[service]
        proxy.cut()
        self.stop.wait(seconds)
        proxy.restore()

    def undo_all(self) -> None:
        for proxy in self.lab.proxies.values():
            proxy.restore()
        self.lab.smtp.slow(0)
        self.lab.smtp.drop_after_data(0)
        if not self.lab.smtp.running:
            self.lab.smtp.start()


# -- the client -------------------------------------------------------------------------------


def submit_at_rate(
    lab: FaultLab, *, count: int, rate: float, retry_for: float, run_tag: str
) -> list[Submission]:
    """Start submission ``i`` at ``i / rate`` seconds; each retries (same key) on 503."""
    results: list[Submission] = []
    lock = threading.Lock()

    def one(index: int) -> None:
        done = submit(lab.base, contact_email(run_tag, index), retry_for=retry_for)
        with lock:
            results.append(done)

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=32) as pool:
        for index in range(count):
            delay = started + index / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            pool.submit(one, index)
            if index and index % max(1, int(rate * 10)) == 0:
                with lock:
                    acked = sum(1 for s in results if s.acknowledged)
                say(f"submitted {index}/{count}, acknowledged {acked}")
    return results


# -- the report -------------------------------------------------------------------------------


def report(tally: Tally, submissions: list[Submission], elapsed: dict[str, float]) -> str:
    answers = Counter(status for s in submissions for status in s.answers)
    given_up = sum(1 for s in submissions if not s.acknowledged)
    lines = [
        tally.table(before=[("submitted", len(submissions)), ("not acknowledged", given_up)]),
        "HTTP answers: "
        + ", ".join(f"{code or 'none'} x{n}" for code, n in sorted(answers.items())),
        "time: " + ", ".join(f"{name} {seconds:.0f} s" for name, seconds in elapsed.items()),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=DESCRIPTION)
    parser.add_argument("--submissions", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=20.0, help="submissions per second")
    parser.add_argument(
        "--fault-every",
        type=float,
        default=0.0,
        help="seconds between faults (0: a dozen faults over the submissions, 2 to 12 s apart)",
    )
    parser.add_argument("--no-faults", action="store_true", help="a plain load run")
    parser.add_argument("--settle-timeout", type=float, default=0.0, help="0: from the load")
    parser.add_argument("--seed", type=int, default=None, help="the order of the faults")
    parser.add_argument("--dir", type=Path, default=None, help="the run's folder (logs, data)")
    args = parser.parse_args(argv)

    os.environ.setdefault("SECRET_KEY", "soak-secret-key")
    os.environ.setdefault("APP_ENV", "test")
    os.environ.setdefault("INTAKE_RATE_LIMIT", "1000000 per minute")
    root = args.dir or Path(tempfile.mkdtemp(prefix="apm-soak-"))
    root.mkdir(parents=True, exist_ok=True)
    seed = args.seed if args.seed is not None else secrets.randbelow(1_000_000)
    say(f"folder {root}; fault order seed {seed}")

    postgres: EmbeddedPostgres | None = None
    server_url = os.environ.get("POSTGRES_URL", "").strip()
    if not server_url:
        postgres = EmbeddedPostgres(root / "postgres")
        say("POSTGRES_URL is not set: starting an embedded PostgreSQL")
        postgres.start()
        server_url = f"postgresql://postgres@127.0.0.1:{postgres.port}/postgres"
    lab: FaultLab | None = None
    ok = False
    try:
        database_urls = fresh_databases(server_url, os.environ.get("SOAK_DB_PREFIX", "apm_soak"))
        lab = FaultLab.open(root, database_urls)
        elapsed: dict[str, float] = {}
        mark = time.monotonic()
        lab.start_system(timeout=180)
        elapsed["start"] = time.monotonic() - mark
        say(f"system up at {lab.base}")

        # Spread the twelve kinds of fault over the load (each also lasts a few seconds).
        every = args.fault_every or min(12.0, max(2.0, args.submissions / args.rate / 12 - 4))
        injector = Injector(lab, every=every, rng=random.Random(seed))  # noqa: S311
        faults = threading.Thread(target=injector.run, name="faults", daemon=True)
        if not args.no_faults:
            faults.start()
        mark = time.monotonic()
        submissions = submit_at_rate(
            lab,
            count=args.submissions,
            rate=args.rate,
            retry_for=180,
            run_tag=f"soak-{uuid.uuid4().hex[:6]}",
        )
        elapsed["submitting"] = time.monotonic() - mark
        injector.stop.set()
        if faults.is_alive():
            say("letting the fault injector finish (every kind of fault at least once) ...")
            faults.join(900)
        injector.undo_all()

        acks = [Acknowledged.of(s) for s in submissions if s.acknowledged]
        # Recoveries take minutes at worst here: a killed worker's tasks come back after the
        # visibility timeout and kombu's restore cycle, events lost in the broker after their
        # second publication, a mail whose worker died mid-send after the lease.
        timeout = args.settle_timeout or max(600.0, args.submissions / max(args.rate, 1) * 3)
        say(f"waiting (up to {timeout:.0f} s) for {len(acks)} proposals to settle ...")
        mark = time.monotonic()
        checker = lab.checker()
        try:
            tally = checker.wait_settled(
                acks,
                timeout=timeout,
                quiet=5,
                other_contacts=[s.email for s in submissions if not s.acknowledged],
                progress=lambda t: say(
                    f"  {time.monotonic() - mark:4.0f} s: in review {t.in_review}/{t.acknowledged}"
                    f", delivered {t.delivered}/{t.expected}, in flight {t.in_flight}"
                    f", stuck {t.stuck}"
                    + (f"; e.g. {', '.join(t.missing[:3])}" if t.missing else "")
                ),
            )
        finally:
            checker.close()
        elapsed["settling"] = time.monotonic() - mark

        print()
        if injector.log:
            print("faults injected:")
            for line in injector.log:
                print(f"  {line}")
        for error in injector.errors:
            print(f"  not injected: {error}")
        print(f"SMTP connections dropped after DATA: {lab.smtp.dropped}")
        print(f"Valkey restarts: {lab.valkey.restarts}")
        print()
        print(report(tally, submissions, elapsed))
        # Duplicates are allowed only where notify counted the delivery as ambiguous (a drop
        # after DATA, or a worker killed between the server's 250 and the commit).
        every_kind = len(injector.injected) == len(injector.faults())
        print(f"kinds of fault injected: {len(injector.injected)} of {len(injector.faults())}")
        ok = tally.exactly_once and (args.no_faults or every_kind)
        ok = ok and not injector.errors
        print()
        print("RESULT: " + ("every acknowledged proposal exactly once" if ok else "FAILED"))
        if not ok:
            print(f"logs: {root / 'var' / 'log'}")
        code = lab.stop_system()
        if code != 0:
            ok = False
            print(f"alliance run exited with {code}: see {root / 'var'}")
        return 0 if ok else 1
    finally:
        if lab is not None:
            lab.close()
        if postgres is not None:
            postgres.stop()
        if ok and args.dir is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
