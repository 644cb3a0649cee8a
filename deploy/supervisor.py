"""``alliance run``: the whole system on one machine, every service as its own process.

Starts the embedded PostgreSQL and Valkey unless the environment names real servers,
migrates every service's database, then runs the web gateway, one Celery worker per service
and one beat. A process that dies is restarted; Ctrl-C stops everything, the embedded servers
included.

Every process counts its metrics into one folder, ``$VAR_DIR/metrics``
(``PROMETHEUS_MULTIPROC_DIR``, emptied at each start), so the gateway's ``/metrics`` shows the
whole system's; no worker or beat serves a page of its own (``METRICS_PORT=0``).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO

from deploy.embedded import EmbeddedPostgres, EmbeddedValkey
from deploy.running import RunState, remove_state, running_state, shown, state_path, write_state
from shared.config import (
    DATABASE_URLS,
    METRICS_PORT,
    PROMETHEUS_MULTIPROC_DIR,
    REDIS_URL,
    SERVICES,
    VAR_DIR,
    Settings,
    coordinator_email_warning,
    database_url_variable,
    read_settings,
)
from shared.health import BEAT_KEY, health_key, redis_client


def say(message: str) -> None:
    print(f"[alliance] {message}", flush=True)


def kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL a child and everything in its process group (a worker's pool processes)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        process.kill()


def count_coordinators(review_database_url: str) -> int | None:
    """How many active Coordinators the review database holds (None when it cannot tell)."""
    from sqlalchemy import create_engine, func, select

    from services.review.models import StaffUser
    from shared.db import sqlalchemy_url

    engine = create_engine(sqlalchemy_url(review_database_url))
    try:
        with engine.connect() as connection:
            return connection.scalar(
                select(func.count())
                .select_from(StaffUser)
                .where(StaffUser.active.is_(True), StaffUser.roles.contains(["coordinator"]))
            )
    except Exception:  # only a hint is at stake: never stop the start for it
        return None
    finally:
        engine.dispose()


def count_coordinators_apart(review_database_url: str, env: dict[str, str]) -> int | None:
    """``count_coordinators`` in a process of its own: the supervisor stays small (review's
    models and SQLAlchemy would stay in its memory for the whole run)."""
    script = (
        "import sys; from deploy.supervisor import count_coordinators; "
        "n = count_coordinators(sys.argv[1]); print('' if n is None else n)"
    )
    try:
        answer = subprocess.run(
            [sys.executable, "-c", script, review_database_url],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = answer.stdout.strip().splitlines()[-1:] if answer.returncode == 0 else []
    return int(text[0]) if text and text[0].isdigit() else None


def check_settings(env: dict[str, str]) -> Settings:
    """Every setting as the children will see it, before anything starts; a bad one raises
    the ConfigurationError that names it. The embedded servers' URLs are not known yet: their
    development defaults stand in for the ones the environment lacks."""
    planned = dict(env)
    for setting in (REDIS_URL, *DATABASE_URLS.values()):
        if not planned.get(setting.name, "").strip():
            planned[setting.name] = setting.default
    return read_settings(planned)


@dataclass
class Child:
    name: str
    argv: list[str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    log_file: IO[bytes] | None = None
    restarts: list[float] = field(default_factory=list)
    service: str = ""  # the service whose worker this is ('' for web and beat)
    started_at: float = 0.0
    silent_since: float | None = None  # when its health report went missing


class Supervisor:
    def __init__(
        self,
        *,
        var_dir: Path,
        port: int,
        concurrency: int,
        web_workers: int = 1,
        pool: str = "solo",
        host: str = "127.0.0.1",
    ):
        self.var_dir = var_dir
        self.port = port
        self.host = host
        self.concurrency = concurrency
        self.pool = pool
        self.web_workers = web_workers
        self.children: list[Child] = []
        self.postgres: EmbeddedPostgres | None = None
        self.valkey: EmbeddedValkey | None = None
        self.stopping = False
        self._last_silence_check = 0.0
        self.stall_seconds = 150.0

    # -- the embedded servers -------------------------------------------------------------
    def start_servers(self, env: dict[str, str]) -> None:
        if not env.get("REDIS_URL"):
            self.valkey = EmbeddedValkey(self.var_dir / "valkey")
            say(f"starting embedded Valkey (data in {self.valkey.data_dir}) ...")
            self.valkey.start()
            env["REDIS_URL"] = self.valkey.url
            say(f"  broker: {self.valkey.url}")
        else:
            say("broker: REDIS_URL from the environment")
        missing = [s for s in SERVICES if not env.get(database_url_variable(s))]
        if missing:
            self.postgres = EmbeddedPostgres(self.var_dir / "postgres")
            say(f"starting embedded PostgreSQL 18 (data in {self.postgres.data_dir}) ...")
            self.postgres.start()
            for service in missing:
                env[database_url_variable(service)] = self.postgres.url(f"alliance_{service}")
            say(f"  databases: {self.postgres.url('alliance_<service>')}")
        if len(missing) < len(SERVICES):
            say(
                "databases from the environment: "
                + ", ".join(database_url_variable(s) for s in SERVICES if s not in missing)
            )

    def share_metrics(self, env: dict[str, str]) -> None:
        """One folder for every process's counts, emptied (the counts of an earlier run are
        not this one's); the web serves them all."""
        folder = self.var_dir / "metrics"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        env[PROMETHEUS_MULTIPROC_DIR.name] = str(folder)
        env[METRICS_PORT.name] = "0"

    def stop_servers(self) -> None:
        for server in (self.postgres, self.valkey):
            if server is not None:
                server.stop()

    # -- the processes --------------------------------------------------------------------
    def plan(self) -> None:
        logs = self.var_dir / "log"
        python = sys.executable
        self.children.append(
            Child(
                "web",
                [
                    python,
                    "-m",
                    "gunicorn",
                    "--config",
                    "python:deploy.gunicorn_conf",
                    "--bind",
                    f"{self.host}:{self.port}",
                    "--workers",
                    str(self.web_workers),
                    "--threads",
                    "8",
                    "--graceful-timeout",
                    "10",
                    "--access-logfile",
                    "-",
                    "deploy.gateway:create_gateway()",
                ],
                logs / "web.log",
            )
        )
        for service in SERVICES:
            self.children.append(
                Child(
                    f"{service}-worker",
                    [
                        python,
                        "-m",
                        "celery",
                        "-A",
                        f"services.{service}.worker",
                        "worker",
                        "-Q",
                        service,
                        "-n",
                        f"{service}@%h",
                        "--pool",
                        self.pool,
                        "--concurrency",
                        str(self.concurrency),
                        "--without-gossip",
                        "--without-mingle",
                        "--loglevel",
                        "INFO",
                    ],
                    logs / f"{service}-worker.log",
                    service=service,
                )
            )
        self.children.append(
            Child(
                "beat",
                [
                    python,
                    "-m",
                    "celery",
                    "-A",
                    "shared.beat",
                    "beat",
                    "--loglevel",
                    "INFO",
                    "--schedule",
                    str(self.var_dir / "celerybeat-schedule"),
                ],
                logs / "beat.log",
            )
        )

    def spawn(self, child: Child, env: dict[str, str]) -> None:
        child.log_path.parent.mkdir(parents=True, exist_ok=True)
        if child.log_file is None:
            child.log_file = open(child.log_path, "ab")  # noqa: SIM115 (kept open while it runs)
        child.process = subprocess.Popen(
            child.argv,
            env=env,
            stdout=child.log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            # Its own process group, so a stuck worker is killed with its pool processes.
            start_new_session=True,
        )
        child.started_at = time.monotonic()
        child.silent_since = None

    def stop_children(self) -> None:
        for child in self.children:
            if child.process and child.process.poll() is None:
                child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 20
        for child in self.children:
            if child.process is None:
                continue
            try:
                child.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                kill_group(child.process)
                child.process.wait(5)
            if child.log_file:
                child.log_file.close()

    def wait_until_healthy(self, timeout: float = 90) -> bool:
        url = f"http://{self.host}:{self.port}/healthz"
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline and not self.stopping:
            for child in self.children:
                if child.process and child.process.poll() is not None:
                    say(
                        f"{child.name} exited with {child.process.returncode} at start; "
                        f"see {child.log_path}"
                    )
                    return False
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        return True
            except urllib.error.HTTPError as err:
                last = err.read().decode(errors="replace")
            except OSError as err:
                last = str(err)
            time.sleep(0.3)
        say(f"not healthy after {timeout:.0f} s: {last}")
        return False

    def run(self) -> int:
        env = dict(os.environ)
        env.setdefault("MAIL_DIR", str(self.var_dir / "mail"))
        env.setdefault("PUBLIC_BASE_URL", f"http://{self.host}:{self.port}")
        env["PORT"] = str(self.port)
        env["PYTHONUNBUFFERED"] = "1"

        def on_signal(signum: int, frame: FrameType | None) -> None:
            self.stopping = True

        warning = coordinator_email_warning(check_settings(env))
        if warning:
            say(warning)
        state_file = state_path(self.var_dir)
        running, why = running_state(state_file)
        if running is not None:
            say(
                f"a `make run` (pid {running.pid}) already runs with {self.var_dir} and its "
                f"servers ({shown(state_file)}): stop it first (Ctrl-C in its terminal), or "
                "give this one another var folder (--var-dir or VAR_DIR)"
            )
            return 1
        if why:
            say(why)
        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)
        try:
            self.share_metrics(env)
            self.start_servers(env)
            self.stall_seconds = read_settings(env).reliability.worker_stall_seconds
            say("migrating the databases ...")
            migrate = subprocess.run([sys.executable, "-m", "deploy.cli", "migrate"], env=env)
            if migrate.returncode != 0:
                say("migration failed (see above); nothing was started")
                return 1
            # Operator commands in another terminal find these servers in it (deploy/running.py).
            state = RunState.of_supervisor(env, port=self.port, var_dir=self.var_dir)
            write_state(state_file, state)
            self.plan()
            say("starting: " + ", ".join(c.name for c in self.children))
            for child in self.children:
                self.spawn(child, env)
            if not self.wait_until_healthy():
                if not self.stopping:
                    say(f"start-up failed; logs are in {self.var_dir / 'log'}")
                    return 1
                return 0
            self.announce(env)
            return self.watch(env)
        finally:
            say("stopping ...")
            remove_state(state_file, os.getpid())
            self.stop_children()
            self.stop_servers()
            say("stopped")

    def announce(self, env: dict[str, str]) -> None:
        base = f"http://{self.host}:{self.port}"
        mail = (
            f"SMTP {env['SMTP_HOST']}:{env.get('SMTP_PORT', '25')}"
            if env.get("SMTP_HOST")
            else env["MAIL_DIR"]
        )
        from shared.staff_shell import absolute_url

        settings = read_settings(env)
        sign_in = settings.staff_sign_in_url or absolute_url(
            settings.public_base_url, "review", "/staff/sign-in"
        )
        say("ready")
        say(f"  beat:       {self.beat_summary(env)}")
        say(f"  web:        {base}  (public form {base}/apply, API {base}/api/v1/proposals)")
        say(f"  staff:      {sign_in}")
        say(f"  review API: {base}/review/api/v1/queue")
        say(f"  health:     {base}/healthz  (metrics: {base}/metrics)")
        say(f"  mail:       {mail}")
        say(f"  logs:       {self.var_dir / 'log'}")
        say(f"  servers:    {shown(state_path(self.var_dir))} (for `alliance` in another terminal)")
        coordinators = count_coordinators_apart(env[database_url_variable("review")], env)
        if coordinators == 0:
            say("No Coordinator yet: to create the first one, in another terminal run")
            example = "--email you@agency.gov --name 'Your Name'"
            say(f"    {self.operator_command()} create-coordinator {example}")
            say(f"  (it asks for a password; then sign in at {sign_in})")
        elif coordinators is None:
            say(f"  first Coordinator: {self.operator_command()} create-coordinator --help")
        say("  Ctrl-C stops everything")

    def operator_command(self) -> str:
        """How to run ``alliance`` from another terminal in the folder this one runs in, with
        this run's var folder when it is not the default (where the commands look for it)."""
        installed = Path(sys.executable).parent / "alliance"
        command = shown(installed) if installed.exists() else f"{sys.executable} -m deploy.cli"
        if self.var_dir.resolve() != Path(VAR_DIR.default).resolve():
            command = f"VAR_DIR={shlex.quote(str(self.var_dir))} {command}"
        return command

    def restart_silent_workers(self, env: dict[str, str]) -> None:
        """Kill a worker that stopped reporting while the broker answers (frozen, say); the
        loop in ``watch`` starts it again. A worker that still reports but no longer
        consumes restarts itself (shared/health.py)."""
        now = time.monotonic()
        if now - self._last_silence_check < 5:
            return
        self._last_silence_check = now
        stall = self.stall_seconds
        try:
            client = redis_client(env["REDIS_URL"])
            client.ping()
            reports = client.mget([health_key(c.service) for c in self.workers()])
        except Exception:
            return  # the broker is away: nobody can report, nothing to judge
        for child, raw in zip(self.workers(), reports, strict=True):
            process = child.process
            if process is None or process.poll() is not None:
                continue
            report = json.loads(raw) if raw else None
            if report is not None and report.get("pid") == process.pid:
                child.silent_since = None
                continue
            if now - child.started_at < stall + 15:
                continue  # still starting
            child.silent_since = child.silent_since or now
            if now - child.silent_since > stall:
                say(f"{child.name} has not reported for {stall:.0f} s; restarting it")
                kill_group(process)

    def workers(self) -> list[Child]:
        return [child for child in self.children if child.service]

    def beat_summary(self, env: dict[str, str]) -> str:
        """What the beat has applied so far (it applies every entry as soon as it leads)."""
        try:
            raw = redis_client(env["REDIS_URL"]).get(BEAT_KEY)
        except Exception as err:
            return f"unknown ({type(err).__name__})"
        if not raw:
            return "no report yet"
        report = json.loads(raw)
        applied = sum(report.get("applied", {}).values())
        entries = len(report.get("entries", []))
        sent = f"{applied} task{'s' if applied != 1 else ''} sent so far"
        return f"applying its schedule ({entries} entries; {sent})"

    def watch(self, env: dict[str, str]) -> int:
        while not self.stopping:
            self.restart_silent_workers(env)
            for child in self.children:
                if child.process and child.process.poll() is not None and not self.stopping:
                    now = time.monotonic()
                    child.restarts = [t for t in child.restarts if now - t < 60] + [now]
                    if len(child.restarts) > 5:
                        say(f"{child.name} keeps dying; see {child.log_path}. Stopping.")
                        return 1
                    say(
                        f"{child.name} exited with {child.process.returncode}; restarting "
                        f"(log: {child.log_path})"
                    )
                    self.spawn(child, env)
            time.sleep(0.5)
        return 0
