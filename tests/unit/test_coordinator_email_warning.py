"""Issue 16: COORDINATOR_EMAIL left at its placeholder (coordinator@agency.example) got the
Coordinator's mail and nothing said so. Outside production (which requires the variable),
``make run`` and notify's worker now print one warning line at start."""

from __future__ import annotations

import os
import subprocess
import sys

from deploy import supervisor
from shared.config import coordinator_email_warning, read_settings
from tests.production import production_environment

PLACEHOLDER = "coordinator@agency.example"


def without_coordinator_email() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "COORDINATOR_EMAIL"}


def test_the_placeholder_address_is_named_in_one_line():
    line = coordinator_email_warning(read_settings(without_coordinator_email()))
    assert line is not None
    assert "\n" not in line
    assert line.startswith(f"warning: COORDINATOR_EMAIL is left at its default {PLACEHOLDER}")
    assert "alliance create-coordinator" in line


def test_no_warning_for_a_real_address_or_in_production():
    given = {**without_coordinator_email(), "COORDINATOR_EMAIL": "cora@agency.gov"}
    assert coordinator_email_warning(read_settings(given)) is None
    production = {**os.environ, **production_environment(without_coordinator_email())}
    assert production["COORDINATOR_EMAIL"] == PLACEHOLDER
    assert coordinator_email_warning(read_settings(production)) is None


def test_make_run_prints_the_warning_once_at_start(monkeypatch, capsys, tmp_path):
    monkeypatch.delenv("COORDINATOR_EMAIL")

    # Stop right after the settings are checked: another `make run` holds the var folder.
    class Running:
        pid = 4242

    monkeypatch.setattr(supervisor, "running_state", lambda path: (Running(), ""))
    assert supervisor.Supervisor(var_dir=tmp_path, port=8123, concurrency=1).run() == 1
    printed = capsys.readouterr().out.splitlines()
    warnings = [line for line in printed if "COORDINATOR_EMAIL" in line]
    assert warnings == [f"[alliance] {coordinator_email_warning(read_settings(os.environ))}"]


def test_notify_worker_logs_the_warning_when_it_starts():
    def start(env: dict[str, str]) -> str:
        return subprocess.run(
            [sys.executable, "-c", "import services.notify.worker"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stderr

    assert start(without_coordinator_email()).splitlines() == [
        coordinator_email_warning(read_settings(without_coordinator_email()))
    ]
    assert start({**without_coordinator_email(), "COORDINATOR_EMAIL": "cora@agency.gov"}) == ""
