"""The running system's state file: how an operator command finds the servers of `make run`.

``alliance run`` (what ``make run`` runs) writes ``$VAR_DIR/run/state.json`` once its
servers are up and its databases migrated: the supervisor's pid, each service's database URL,
the broker URL, the mail folder, the web port and the public base URL. It removes the file when
it stops. Every other ``alliance`` command reads it through ``find_running_system`` when the
environment leaves a server URL unset, and takes from it only the variables the environment
leaves unset (the environment always wins). A file whose supervisor no longer runs (a run that
was killed) is ignored, with a line saying so.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from shared.config import (
    DATABASE_URLS,
    MAIL_DIR,
    PUBLIC_BASE_URL,
    REDIS_URL,
    SERVICES,
    VAR_DIR,
    database_url_variable,
    reset_settings,
)

STATE_FILE = Path("run") / "state.json"

# The variables that name a server: one of them unset sends a command to the state file.
SERVER_VARIABLES: tuple[str, ...] = (REDIS_URL.name, *(s.name for s in DATABASE_URLS.values()))


def state_path(var_dir: Path) -> Path:
    return var_dir / STATE_FILE


def shown(path: Path) -> str:
    """``path`` relative to the working folder when it lies inside it (var/run/state.json)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def process_started(pid: int) -> int | None:
    """When process ``pid`` started (clock ticks after boot, /proc/PID/stat), so that a pid
    reused by another process is told apart; None without /proc or when it does not run."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    try:
        return int(stat.rpartition(")")[2].split()[19])
    except (IndexError, ValueError):
        return None


def process_runs(pid: int, started: int | None) -> bool:
    """Does the process that wrote a state file (``pid``, started at ``started``) still run?"""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it runs, as another user
    if started is None or not Path("/proc/self").exists():
        return True  # no start time to compare (no /proc: macOS)
    return process_started(pid) == started


@dataclass(frozen=True)
class RunState:
    """What a running ``alliance run`` tells the operator commands."""

    pid: int
    pid_started: int | None
    port: int
    public_base_url: str
    redis_url: str
    database_urls: dict[str, str]
    mail_dir: str
    var_dir: str
    started_at: str = ""

    @classmethod
    def of_supervisor(
        cls, env: Mapping[str, str], *, port: int, var_dir: Path, pid: int | None = None
    ) -> RunState:
        """The state of the supervisor running in this process, from its children's
        environment (where the embedded servers' URLs have been added)."""
        pid = os.getpid() if pid is None else pid
        return cls(
            pid=pid,
            pid_started=process_started(pid),
            port=port,
            public_base_url=env[PUBLIC_BASE_URL.name],
            redis_url=env[REDIS_URL.name],
            database_urls={s: env[database_url_variable(s)] for s in SERVICES},
            mail_dir=env[MAIL_DIR.name],
            var_dir=str(var_dir),
            started_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )

    @classmethod
    def from_json(cls, data: Any) -> RunState:
        """Raises ValueError (or KeyError, TypeError) for what is not a state file."""
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        urls = data["database_urls"]
        if not isinstance(urls, dict) or set(urls) != set(SERVICES):
            raise ValueError("database_urls must name every service")
        started = data.get("pid_started")
        return cls(
            pid=int(data["pid"]),
            pid_started=int(started) if started is not None else None,
            port=int(data["port"]),
            public_base_url=str(data["public_base_url"]),
            redis_url=str(data["redis_url"]),
            database_urls={s: str(urls[s]) for s in SERVICES},
            mail_dir=str(data["mail_dir"]),
            var_dir=str(data["var_dir"]),
            started_at=str(data.get("started_at", "")),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "pid": self.pid,
            "pid_started": self.pid_started,
            "started_at": self.started_at,
            "port": self.port,
            "public_base_url": self.public_base_url,
            "redis_url": self.redis_url,
            "database_urls": self.database_urls,
            "mail_dir": self.mail_dir,
            "var_dir": self.var_dir,
        }

    def environment(self) -> dict[str, str]:
        """The variables this running system gives an operator command."""
        env = {
            REDIS_URL.name: self.redis_url,
            MAIL_DIR.name: self.mail_dir,
            PUBLIC_BASE_URL.name: self.public_base_url,
        }
        for service, url in self.database_urls.items():
            env[database_url_variable(service)] = url
        return env

    def runs(self) -> bool:
        return process_runs(self.pid, self.pid_started)


def write_state(path: Path, state: RunState) -> None:
    """Write the state file atomically (a reader sees the old file or the new one, never half
    of one), readable by its owner only: it names the local servers' URLs."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            json.dump(state.to_json(), file, indent=2)
            file.write("\n")
            file.flush()
            os.fsync(file.fileno())
        os.chmod(partial, 0o600)  # O_CREAT's mode does not apply to a file left by a crash
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def remove_state(path: Path, pid: int) -> None:
    """Remove the state file if the supervisor ``pid`` wrote it (not another run's)."""
    try:
        written = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if isinstance(written, dict) and written.get("pid") == pid:
        path.unlink(missing_ok=True)


def read_state(path: Path) -> tuple[RunState | None, str]:
    """The state in ``path`` whatever its supervisor does, or None and why not ('' when the
    file does not exist)."""
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, ""
    except OSError as err:
        return None, f"ignoring {shown(path)}: it cannot be read ({err.strerror})"
    try:
        return RunState.from_json(json.loads(raw)), ""
    except (ValueError, KeyError, TypeError) as err:
        return None, f"ignoring {shown(path)}: it is not a state file `make run` wrote ({err})"


def running_state(path: Path) -> tuple[RunState | None, str]:
    """The state in ``path`` if its supervisor still runs; else None and why not ('' when
    there is no file)."""
    state, why = read_state(path)
    if state is not None and not state.runs():
        return None, (
            f"ignoring {shown(path)}: the `make run` that wrote it (pid {state.pid}) is no "
            "longer running"
        )
    return state, why


@dataclass(frozen=True)
class Lookup:
    """Where an operator command's servers come from: the environment, the running system's
    state file (``state``), or the development defaults."""

    path: Path
    state: RunState | None = None
    additions: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()  # lines for stderr
    unset: tuple[str, ...] = ()  # the server variables the environment left unset

    def hint(self, variable: str) -> str:
        """What to do when the server ``variable`` names cannot be reached."""
        if variable in self.additions and self.state is not None:
            return (
                f"it is the running `make run`'s (pid {self.state.pid}, {shown(self.path)}); "
                "is that system still up and healthy?"
            )
        if self.state is None and variable in self.unset:
            return (
                f"no running `make run` was found ({shown(self.path)}) and {variable} is not "
                "set, so its development default was tried: start the "
                f"system with `make run` and run this command again in another terminal, or "
                f"set {variable} (every setting: docs/configuration.md)"
            )
        if variable == REDIS_URL.name:
            return f"is {variable} right?"
        return f"is {variable} right, and has `alliance migrate` created the database?"


def find_running_system(environ: Mapping[str, str]) -> Lookup:
    """The servers an operator command uses when ``environ`` leaves some unset.

    When every server URL is set, nothing is read. Otherwise the state file of a running
    ``make run`` (``$VAR_DIR/run/state.json``) gives each variable ``environ`` leaves unset
    (``additions``), with one note saying so; a stale or unreadable file is ignored with a
    note saying why.
    """
    path = state_path(VAR_DIR.read(environ))
    unset = [name for name in SERVER_VARIABLES if not environ.get(name, "").strip()]
    if not unset:
        return Lookup(path)
    state, why = running_state(path)
    notes = (why,) if why else ()
    if state is None:
        return Lookup(path, notes=notes, unset=tuple(unset))
    additions = {
        name: value
        for name, value in state.environment().items()
        if not environ.get(name, "").strip()
    }
    used = f"using the servers of the running `make run` ({shown(path)}, pid {state.pid})"
    taken = [name for name in SERVER_VARIABLES if name in additions]
    if len(taken) < len(SERVER_VARIABLES):
        used += " for " + ", ".join(taken)
    return Lookup(path, state, additions, (*notes, used), tuple(unset))


# -- for the operator's commands (deploy/cli.py, deploy/operations/) ----------------------------

LOOKUP = "alliance.servers"  # where a command's context keeps its Lookup


def use_running_system(ctx: click.Context) -> None:
    """The one place an operator command finds its servers when the environment names only
    some or none: the state file of a running `make run` (deploy/running.py) fills in each
    variable the environment leaves unset, and one line on stderr says so."""
    lookup = find_running_system(os.environ)
    for note in lookup.notes:
        click.echo(f"[alliance] {note}", err=True)
    if lookup.additions:
        os.environ.update(lookup.additions)  # for this process and any it starts
        reset_settings()
    ctx.meta[LOOKUP] = lookup


def unreachable(what: str, variable: str, err: object) -> click.ClickException:
    """The error for a server that does not answer: what to do about it, no traceback."""
    lookup = click.get_current_context().meta.get(LOOKUP)
    hint = lookup.hint(variable) if lookup is not None else f"is {variable} right?"
    reason = " ".join(str(err).split())
    return click.ClickException(f"could not reach {what} ({reason}); {hint}")
