"""How an operator command finds the servers of a running `make run` (deploy/running.py): the
state file the supervisor writes, read only for the variables the environment leaves unset."""

from __future__ import annotations

import dataclasses
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from deploy.embedded import free_port
from deploy.running import (
    SERVER_VARIABLES,
    RunState,
    find_running_system,
    process_started,
    remove_state,
    state_path,
    write_state,
)
from shared.config import SERVICES

pytestmark = pytest.mark.unit

URLS = {s: f"postgresql://postgres@127.0.0.1:40001/alliance_{s}" for s in SERVICES}


def state_of(pid: int, started: int | None, var_dir: Path) -> RunState:
    return RunState(
        pid=pid,
        pid_started=started,
        port=8131,
        public_base_url="http://127.0.0.1:8131",
        redis_url="redis://127.0.0.1:40002/0",
        database_urls=URLS,
        mail_dir=str(var_dir / "mail"),
        var_dir=str(var_dir),
    )


def running(var_dir: Path) -> RunState:
    """A state file whose supervisor runs: this test process."""
    state = state_of(os.getpid(), process_started(os.getpid()), var_dir)
    write_state(state_path(var_dir), state)
    return state


def ended_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_the_state_file_is_written_whole_and_for_its_owner_only(tmp_path):
    state = running(tmp_path)
    path = tmp_path / "run" / "state.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["state.json"]  # no partial file left
    written = json.loads(path.read_text())
    assert written["pid"] == os.getpid()
    assert written["database_urls"] == URLS
    assert written["redis_url"] == "redis://127.0.0.1:40002/0"
    assert written["mail_dir"] == str(tmp_path / "mail")
    assert written["port"] == 8131
    assert RunState.from_json(written) == state


def test_with_no_url_set_every_server_comes_from_the_running_system(tmp_path):
    state = running(tmp_path)
    lookup = find_running_system({"VAR_DIR": str(tmp_path)})
    assert lookup.state == state
    assert lookup.additions == {
        "REDIS_URL": "redis://127.0.0.1:40002/0",
        "MAIL_DIR": str(tmp_path / "mail"),
        "PUBLIC_BASE_URL": "http://127.0.0.1:8131",
        **{f"{s.upper()}_DATABASE_URL": URLS[s] for s in SERVICES},
    }
    path = tmp_path / "run" / "state.json"
    assert lookup.notes == (
        f"using the servers of the running `make run` ({path}, pid {os.getpid()})",
    )
    assert "is that system still up" in lookup.hint("REVIEW_DATABASE_URL")


def test_the_environment_wins_over_the_running_system(tmp_path):
    running(tmp_path)
    environ = {
        "VAR_DIR": str(tmp_path),
        "REDIS_URL": "redis://broker.internal:6379/2",
        "PUBLIC_BASE_URL": "https://alliances.agency.gov",
        "REVIEW_DATABASE_URL": "postgresql://db.internal/review",
    }
    lookup = find_running_system(environ)
    assert set(lookup.additions) == {
        "MAIL_DIR",
        "INTAKE_DATABASE_URL",
        "REPORTING_DATABASE_URL",
        "NOTIFY_DATABASE_URL",
    }
    [note] = lookup.notes
    assert note.endswith(
        f"pid {os.getpid()}) for INTAKE_DATABASE_URL, REPORTING_DATABASE_URL, NOTIFY_DATABASE_URL"
    )
    assert lookup.hint("REVIEW_DATABASE_URL") == (
        "is REVIEW_DATABASE_URL right, and has `alliance migrate` created the database?"
    )


def test_with_every_server_url_set_the_state_file_is_not_read(tmp_path):
    path = state_path(tmp_path)
    path.parent.mkdir()
    path.write_text("not json")
    environ = {"VAR_DIR": str(tmp_path), **{name: "redis://x/0" for name in SERVER_VARIABLES}}
    lookup = find_running_system(environ)
    assert (lookup.state, lookup.additions, lookup.notes) == (None, {}, ())
    assert lookup.hint("REDIS_URL") == "is REDIS_URL right?"


def test_a_state_file_whose_supervisor_ended_is_ignored(tmp_path):
    pid = ended_pid()
    write_state(state_path(tmp_path), state_of(pid, None, tmp_path))
    lookup = find_running_system({"VAR_DIR": str(tmp_path)})
    assert (lookup.state, lookup.additions) == (None, {})
    assert lookup.notes == (
        f"ignoring {tmp_path / 'run' / 'state.json'}: the `make run` that wrote it "
        f"(pid {pid}) is no longer running",
    )


def test_a_pid_now_used_by_another_process_is_not_the_supervisor(tmp_path):
    # This process runs, but it started at another moment than the one the file records.
    started = process_started(os.getpid())
    assert started is not None
    write_state(state_path(tmp_path), state_of(os.getpid(), started + 1, tmp_path))
    lookup = find_running_system({"VAR_DIR": str(tmp_path)})
    assert lookup.additions == {}
    assert "is no longer running" in lookup.notes[0]


def test_without_a_state_file_the_error_says_what_to_do(tmp_path):
    lookup = find_running_system({"VAR_DIR": str(tmp_path), "REDIS_URL": "redis://x:1/0"})
    assert (lookup.state, lookup.additions, lookup.notes) == (None, {}, ())
    hint = lookup.hint("REVIEW_DATABASE_URL")
    assert hint.startswith(
        f"no running `make run` was found ({tmp_path / 'run' / 'state.json'}) and "
        "REVIEW_DATABASE_URL is not set"
    )
    assert "start the system with `make run`" in hint
    assert "or set REVIEW_DATABASE_URL" in hint
    assert lookup.hint("REDIS_URL") == "is REDIS_URL right?"  # it was set


def test_a_damaged_state_file_is_ignored_with_the_reason(tmp_path):
    path = state_path(tmp_path)
    path.parent.mkdir()
    path.write_text(json.dumps({"pid": os.getpid()}))
    lookup = find_running_system({"VAR_DIR": str(tmp_path)})
    assert lookup.additions == {}
    [note] = lookup.notes
    assert note.startswith(f"ignoring {path}: it is not a state file `make run` wrote")


def test_a_supervisor_removes_only_its_own_state_file(tmp_path):
    path = state_path(tmp_path)
    running(tmp_path)
    remove_state(path, os.getpid() + 1)
    assert path.exists()
    remove_state(path, os.getpid())
    assert not path.exists()


def test_a_second_make_run_on_the_same_var_folder_refuses_to_start(tmp_path):
    running(tmp_path)  # this test process plays the running supervisor
    env = {**os.environ, "APP_ENV": "development"}
    for variable in SERVER_VARIABLES:
        env.pop(variable, None)  # it would start the embedded servers for these
    result = subprocess.run(
        [sys.executable, "-m", "deploy.cli", "run", "--var-dir", str(tmp_path), "--port", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert f"a `make run` (pid {os.getpid()}) already runs with {tmp_path}" in result.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no server was started


def test_a_running_system_whose_servers_do_not_answer_is_named_in_the_error(tmp_path):
    nothing = f"127.0.0.1:{free_port()}"  # where nothing listens
    state = state_of(os.getpid(), process_started(os.getpid()), tmp_path)
    urls = {s: f"postgresql://postgres@{nothing}/alliance_{s}" for s in SERVICES}
    write_state(state_path(tmp_path), dataclasses.replace(state, database_urls=urls))
    env = {**os.environ, "VAR_DIR": str(tmp_path)}
    for variable in SERVER_VARIABLES:
        env.pop(variable, None)
    command = ["create-coordinator", "--email", "a@b.gov", "--name", "A"]
    result = subprocess.run(
        [sys.executable, "-m", "deploy.cli", *command],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    path = tmp_path / "run" / "state.json"
    assert result.returncode == 1
    assert result.stderr.startswith(
        f"[alliance] using the servers of the running `make run` ({path}, pid {os.getpid()})\n"
        "Error: could not reach the review database (connection failed: "
    )
    assert result.stderr.endswith(
        f"; it is the running `make run`'s (pid {os.getpid()}, {path}); is that system still "
        "up and healthy?\n"
    )
    assert "Traceback" not in result.stderr
