"""``alliance``: the operator's command (run, migrate, worker, beat, web, create-coordinator;
and from deploy/operations/: config check, outbox, inbox, messages, webhooks, backup, restore,
export)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from deploy.running import unreachable, use_running_system
from shared.config import (
    PORT,
    REDIS_URL,
    SERVICES,
    VAR_DIR,
    ConfigurationError,
    database_url_variable,
    load_agency_profile,
    load_settings,
    reset_settings,
)


class SettingsRefused(click.ClickException):
    """A setting is bad: the message names it; no traceback."""

    exit_code = 2


class Command(click.Command):
    """An ``alliance`` operator command: the servers of a running `make run` stand in for the
    URLs the environment leaves unset, then every setting is read and checked before it does
    anything."""

    def invoke(self, ctx: click.Context) -> Any:
        use_running_system(ctx)
        load_settings()
        return super().invoke(ctx)


class Alliance(click.Group):
    command_class = Command

    def invoke(self, ctx: click.Context) -> Any:
        reset_settings()  # a command's start-up: the environment as it is now
        try:
            return super().invoke(ctx)
        except ConfigurationError as err:
            raise SettingsRefused(str(err)) from None


def settle_outboxes() -> None:
    """Let the outbox's publishing thread hand what the command committed to the broker before
    its database goes (what it cannot publish now, the relay publishes later)."""
    from shared.outbox import wait_until_all_published

    wait_until_all_published()


@click.group(cls=Alliance)
def main() -> None:
    """Alliance Program Manager operator commands."""


# The supervisor checks every setting itself, as its children will see them: it starts the
# embedded servers whose URLs the environment lacks (deploy/supervisor.py).
@main.command(cls=click.Command)
@click.option(
    "--port",
    type=int,
    default=lambda: PORT.read(os.environ),
    show_default="8000 or $PORT",
)
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Pool processes per service with --pool prefork (solo runs one task at a time).",
)
@click.option(
    "--pool",
    type=click.Choice(["solo", "prefork"]),
    default="solo",
    show_default=True,
    # One process per service fits a laptop (docs/performance.md, memory). Not threads: with
    # acks_late and prefetch 1 their worker asks Redis for the next task only every 1-2 s (a
    # task ending in a thread does not wake the event loop). Production's images run prefork,
    # whose pool processes a task time limit can stop.
    help="How each service's worker runs its tasks: in its one process (solo), or prefork.",
)
@click.option(
    "--web-workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    # One process of 8 threads serves a laptop's staff and applicants; each more costs
    # about 100 MB (docs/performance.md, memory).
    help="Web processes (gunicorn workers, 8 threads each).",
)
@click.option(
    "--var-dir",
    type=click.Path(path_type=Path),
    default=lambda: VAR_DIR.read(os.environ),
    show_default="var/ or $VAR_DIR",
)
def run(port: int, concurrency: int, pool: str, web_workers: int, var_dir: Path) -> None:
    """Start the whole system (embedded servers unless URLs are set)."""
    from deploy.supervisor import Supervisor

    supervisor = Supervisor(
        var_dir=var_dir.resolve(),
        port=port,
        concurrency=concurrency,
        pool=pool,
        web_workers=web_workers,
    )
    sys.exit(supervisor.run())


@main.command()
@click.argument("services", nargs=-1, type=click.Choice(SERVICES))
def migrate(services: tuple[str, ...]) -> None:
    """Create each service's database if missing and upgrade it to the newest schema."""
    from sqlalchemy.exc import OperationalError

    from shared.migrations import upgrade

    for service in services or SERVICES:
        click.echo(f"[alliance] migrating {service}")
        try:
            upgrade(service)
        except OperationalError as err:
            raise unreachable(
                f"the {service} database", database_url_variable(service), err.orig
            ) from None


@main.command(context_settings={"ignore_unknown_options": True})
@click.argument("service", type=click.Choice(SERVICES))
@click.argument("celery_args", nargs=-1, type=click.UNPROCESSED)
def worker(service: str, celery_args: tuple[str, ...]) -> None:
    """Run SERVICE's Celery worker on its own queue (extra arguments go to Celery)."""
    os.execvp(
        sys.executable,
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            f"services.{service}.worker",
            "worker",
            "-Q",
            service,
            "-n",
            f"{service}@%h",
            "--without-gossip",
            "--without-mingle",
            *celery_args,
        ],
    )


@main.command(context_settings={"ignore_unknown_options": True})
@click.argument("celery_args", nargs=-1, type=click.UNPROCESSED)
def beat(celery_args: tuple[str, ...]) -> None:
    """Run the one Celery beat (outbox relays, delivery sweeps)."""
    os.execvp(
        sys.executable, [sys.executable, "-m", "celery", "-A", "shared.beat", "beat", *celery_args]
    )


@main.command()
@click.option("--bind", default="127.0.0.1:8000", show_default=True)
def web(bind: str) -> None:
    """Serve every service's web side under one port (the development gateway)."""
    os.execvp(
        sys.executable,
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--config",
            "python:deploy.gunicorn_conf",
            "--bind",
            bind,
            "--workers",
            "2",
            "--threads",
            "4",
            "deploy.gateway:create_gateway()",
        ],
    )


@main.command()
@click.argument("process", type=click.Choice([*SERVICES, "beat"]))
@click.option(
    "--restart-unhealthy",
    is_flag=True,
    help="In a container whose init is docker-init or tini (compose `init: true`): when the "
    "worker is silent or stalled, kill the container's processes so its restart policy "
    "starts it again.",
)
def healthcheck(process: str, restart_unhealthy: bool) -> None:
    """Exit 0 while PROCESS (a service's worker, or the beat) reports itself healthy.

    For container health checks: a worker must report recently and still consume (its canary
    runs); the beat must report recently and its last scheduled entry must have been applied.
    """
    import json

    from shared.health import BEAT_KEY, health_key, redis_client

    try:
        raw = redis_client(_redis_url()).get(BEAT_KEY if process == "beat" else health_key(process))
    except Exception as err:
        raise unreachable("the broker", REDIS_URL.name, err) from None
    problem = ""
    report = json.loads(raw) if raw else None
    if report is None:
        problem = f"{process}: no recent health report"
    elif process == "beat":
        if report.get("last_error_at", 0) > report.get("last_applied_at", 0):
            problem = f"beat: failing: {report.get('last_error')}"
    elif report.get("worker") != "up" or report.get("database") != "ok":
        problem = f"{process}: worker {report.get('worker')}, database {report.get('database')}"
    if not problem:
        click.echo(f"{process}: healthy")
        return
    if restart_unhealthy and process != "beat" and (report is None or report["worker"] != "up"):
        _restart_container(problem)
    raise click.ClickException(problem)


def _restart_container(reason: str) -> None:
    import signal

    try:
        init = Path("/proc/1/comm").read_text().strip()
    except OSError:
        init = ""
    if init not in {"docker-init", "tini"} or os.getpid() == 1:
        raise click.ClickException(f"{reason}; not restarting: no container init (pid 1 {init!r})")
    click.echo(f"{reason}: killing the container's processes so that it restarts", err=True)
    os.kill(-1, signal.SIGKILL)  # every process but init and this one; init then exits


def _redis_url() -> str:
    return load_settings().redis_url


@main.command("create-coordinator")
@click.option("--email", required=True, help="The Coordinator's e-mail address (their sign-in).")
@click.option("--name", required=True, help="The Coordinator's name, as staff see it.")
@click.option(
    "--office",
    default="",
    help="The office they coordinate (a slug of AGENCY_OFFICES, such as region_5); "
    "default: the top office, which sees every office.",
)
def create_coordinator(email: str, name: str, office: str) -> None:
    """Create a Coordinator's staff account (run `alliance migrate` first): the first one,
    or one per office (--office).

    The password comes from ALLIANCE_PASSWORD, or is asked for twice without echoing.
    """
    from sqlalchemy.exc import OperationalError, ProgrammingError

    from services.review.staff import domain as accounts
    from shared.db import Database
    from shared.domain import Invalid

    offices = load_agency_profile().offices
    if office and office not in offices:
        raise click.ClickException(
            f"no account created: {office!r} is not one of the agency's offices "
            f"({', '.join(o.slug for o in list(offices)[:6])}, ...: AGENCY_OFFICES)"
        )
    database = Database("review")
    try:
        try:  # before asking for a password: is there a database to keep the account in?
            with database.engine.connect():
                pass
        except OperationalError as err:
            raise unreachable(
                "the review database", database_url_variable("review"), err.orig
            ) from None
        password = load_settings().alliance_password or click.prompt(
            "Password (at least 12 characters)", hide_input=True, confirmation_prompt=True
        )
        with database.transaction() as session:
            user = accounts.add_account(
                session,
                email=email,
                name=name,
                roles=["coordinator"],
                password=password,
                actor="alliance create-coordinator",
                settings=load_settings(),
                office=None if office in ("", offices.top.slug) else office,
            )
            created = user.email
    except Invalid as err:
        messages = [m for field_messages in err.errors.values() for m in field_messages]
        raise click.ClickException("no account created: " + " ".join(messages)) from None
    except ProgrammingError:
        raise click.ClickException(
            "the review database has no staff tables yet: run `alliance migrate review` first"
        ) from None
    except OperationalError as err:
        raise unreachable(
            "the review database", database_url_variable("review"), err.orig
        ) from None
    finally:
        settle_outboxes()
        database.dispose()
    from shared.staff_shell import absolute_url

    sign_in = absolute_url(load_settings().public_base_url, "review", "/staff/sign-in")
    click.echo(f"[alliance] created Coordinator {created}; they sign in at {sign_in}")


@main.group(cls=click.Group)
def reporting() -> None:
    """Reports partners owe: deadline scans."""


def _instant(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    from datetime import UTC, datetime

    if value is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not an ISO-8601 instant (e.g. 2026-03-01T09:00:00-05:00)"
        ) from None
    if moment.tzinfo is None:
        raise click.BadParameter(f"{value!r} has no time zone offset: give one (Z, +00:00, -05:00)")
    return moment.astimezone(UTC)


@reporting.command(cls=Command)
@click.option(
    "--now",
    callback=_instant,
    metavar="ISO-8601",
    help="Sweep as of this instant, with its offset (default: now).",
)
def scan(now: Any) -> None:
    """Run one report-deadline sweep and print how many reminders of each kind it emitted.

    Each reminder goes out at most once: a second run for the same instant emits nothing."""
    from sqlalchemy.exc import OperationalError, ProgrammingError

    from services.reporting.reports.domain import sweep
    from services.reporting.worker import database, outbox

    try:
        with database.transaction() as session:
            sent = sweep(session, now=now, outbox=outbox)
    except ProgrammingError:
        raise click.ClickException(
            "the reporting database has no report tables yet: run `alliance migrate reporting`"
        ) from None
    except OperationalError as err:
        raise unreachable(
            "the reporting database", database_url_variable("reporting"), err.orig
        ) from None
    finally:
        settle_outboxes()
        database.dispose()
    click.echo(", ".join(f"{kind}: {count}" for kind, count in sent.items()))


@main.command(cls=Command)
@click.option("--proposals", default=25, show_default=True, help="New proposals to queue.")
@click.option("--seed", default=2026, show_default=True, help="The same seed, the same program.")
@click.option(
    "--limit", default=0, help="Load only this many of the program's alliances (a quick look)."
)
@click.option(
    "--wait",
    default=600,
    show_default=True,
    help="Seconds to wait for reporting to schedule the imported alliances' reports.",
)
def demo(proposals: int, seed: int, limit: int, wait: int) -> None:
    """Load a living program into the running system (`make run` in another terminal): staff,
    the alliances of the agency's profile through the import, three years of reports, some
    late, overdue and revised, roundtables and new proposals (deploy/demo.py). Not in
    production. Run twice, it adds only the new proposals again."""
    import time as clock

    from sqlalchemy import func, select
    from sqlalchemy.exc import OperationalError, ProgrammingError

    from deploy import demo as program
    from services.reporting.alliances.models import Alliance as ScheduledAlliance
    from services.reporting.worker import database as reporting_database
    from services.review.alliances.models import Alliance as ReviewAlliance
    from services.review.imports import domain as importing
    from services.review.worker import database as review_database
    from services.review.worker import outbox as review_outbox

    settings = load_settings()
    if settings.production:
        raise click.ClickException("the demo is not for production (APP_ENV=production)")
    started = clock.monotonic()
    profile = load_agency_profile()
    today = program.agency_today()
    built = program.build_alliances(profile, today=today, seed=seed, limit=limit)
    folder = settings.var_dir / "demo"
    folder.mkdir(parents=True, exist_ok=True)
    kept = folder / f"alliances-{profile.profile}.csv"
    kept.write_bytes(built.csv)
    password = settings.alliance_password or program.new_password()

    def bar(label: str) -> Any:
        def progress(items: Any) -> Any:
            with click.progressbar(list(items), label=f"[alliance] {label}", file=sys.stderr) as b:
                yield from b

        return progress

    try:
        with review_database.transaction() as session:
            ids = program.ensure_staff(session, built.people, password=password)
        people = {p.email: program.acting_as(p, ids[p.email]) for p in built.people}
        coordinator = people[built.people[0].email]
        with review_database.transaction() as session:
            imported = importing.import_alliances(
                session,
                acting=coordinator,
                raw=built.csv,
                today=today,
                outbox=review_outbox,
                past_reports_owed=True,
                progress=bar("importing the alliances"),
            )
        if imported.plan.problems:
            for line in importing.problems_in_words(imported.plan.problems)[:20]:
                click.echo(line, err=True)
            raise click.ClickException("the demo's own file was refused: nothing was stored")
        signed = sum(1 for p in imported.plan.new if p.status != "concluded")
        with review_database.transaction() as session:
            expected = int(
                session.scalar(
                    select(func.count())
                    .select_from(ReviewAlliance)
                    .where(ReviewAlliance.status.in_(["active", "ambassador"]))
                )
                or 0
            )
        deadline = clock.monotonic() + wait
        while True:
            with reporting_database.transaction() as session:
                known = int(
                    session.scalar(select(func.count()).select_from(ScheduledAlliance)) or 0
                )
            if known >= expected:
                break
            if clock.monotonic() > deadline:
                raise click.ClickException(
                    f"reporting has scheduled {known} of {expected} alliances after {wait} s: "
                    "is the system running (`make run`), its reporting worker included?"
                )
            click.echo(f"[alliance] reporting has scheduled {known} of {expected} ...", err=True)
            clock.sleep(2)
        history = program.report_history(
            today=today, liaisons=people, progress=bar("reporting three years"), seed=seed
        )
        roundtable_work = program.roundtables(today=today, coordinator=coordinator, seed=seed)
        queued = program.new_proposals(profile, count=proposals, seed=seed)
    except ProgrammingError:
        raise click.ClickException(
            "a service's database has no tables yet: run `alliance migrate` first"
        ) from None
    except OperationalError as err:
        raise unreachable(
            "a service's database", "the *_DATABASE_URL variables", err.orig
        ) from None
    finally:
        settle_outboxes()
        review_database.dispose()
        reporting_database.dispose()
    took = clock.monotonic() - started
    click.echo(
        f"[alliance] demo loaded in {took:.0f} s: {len(imported.alliance_ids)} of the "
        f"{built.alliances} alliances in {kept} imported now ({signed} active or Ambassadors"
        f", {len(imported.plan.unchanged)} already here), reports {history}, "
        f"{roundtable_work}, {queued} new proposals"
    )
    click.echo(
        f"[alliance] sign in as {built.people[0].email} (every office) or a region's or "
        f"division's coordinator, e.g. {built.people[4].email}, with the password "
        + ("from ALLIANCE_PASSWORD" if settings.alliance_password else password)
    )


@main.group("import", cls=click.Group)
def import_() -> None:
    """Bring in what the agency already has."""


@import_.command("alliances", cls=Command)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--dry-run", is_flag=True, help="Check the file and list its problems; store nothing."
)
@click.option(
    "--welcome",
    is_flag=True,
    help="Send each partner's contact and liaison the welcome with their report calendar "
    "(default: none; these partners know the program already).",
)
def import_alliances(file: Path, dry_run: bool, welcome: bool) -> None:
    """Import the alliances the agency already has from FILE, a CSV file made from the template
    (docs/import.md): every row is checked first, and nothing is stored if any has a problem.
    An agreement number already here is left as it is: importing twice changes nothing."""
    import uuid

    from sqlalchemy.exc import OperationalError, ProgrammingError

    from services.review import people
    from services.review.imports import domain as importing
    from services.review.worker import database, outbox
    from shared.domain import Acting

    try:
        raw = file.read_bytes()
    except OSError as err:
        raise click.ClickException(f"cannot read {file}: {err.strerror}") from None
    # The operator acts for the whole agency: the top office's Coordinator.
    operator = Acting(
        staff_id=uuid.UUID(int=0),
        email="alliance import",
        roles=frozenset({"coordinator"}),
        name="The operator (alliance import)",
    )
    try:
        with database.transaction() as session:

            def progress(items: Any) -> Any:
                return click.progressbar(list(items), label="[alliance] importing", file=sys.stderr)

            def storing(items: Any) -> Any:
                with progress(items) as bar:
                    yield from bar

            result = importing.import_alliances(
                session,
                acting=operator,
                raw=raw,
                today=people.today(load_settings()),
                outbox=outbox,
                welcome=welcome,
                dry_run=dry_run,
                progress=storing,
            )
    except ProgrammingError:
        raise click.ClickException(
            "the review database has no alliance tables yet: run `alliance migrate review`"
        ) from None
    except OperationalError as err:
        raise unreachable(
            "the review database", database_url_variable("review"), err.orig
        ) from None
    finally:
        settle_outboxes()
        database.dispose()
    found = result.plan
    for line in importing.problems_in_words(found.problems):
        click.echo(line, err=True)
    if found.problems:
        raise click.ClickException(
            f"{len(found.problems)} problem(s) in {file.name}: nothing was stored"
        )
    unchanged = (
        f"; {len(found.unchanged)} already here, left as they are" if found.unchanged else ""
    )
    if dry_run:
        click.echo(
            f"[alliance] {file.name}: no problem in {found.rows} rows; importing it adds "
            f"{len(found.new)} alliances{unchanged} (nothing stored: --dry-run)"
        )
    else:
        click.echo(f"[alliance] imported {len(result.alliance_ids)} alliances{unchanged}")


# Running it day to day (deploy/operations/; docs/operations.md).
from deploy.operations import backup, config_check, deliveries, events, export  # noqa: E402

for _command in (
    config_check.config,
    events.outbox,
    events.inbox,
    deliveries.messages,
    deliveries.webhooks,
    backup.backup,
    backup.restore,
    export.export,
):
    main.add_command(_command)


if __name__ == "__main__":
    main()
