"""A fresh machine's second terminal: `make run` (the embedded servers, no URL set) in one,
then the operator commands in another, with no server URL in their environment either. They
find the running system's servers in its state file (deploy/running.py), and the Coordinator
that `alliance create-coordinator` makes signs in through the running web front."""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import shlex
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from subprocess import PIPE

import pytest
from prometheus_client.parser import text_string_to_metric_families

from deploy.embedded import free_port
from tests.e2e.system import RunningSystem, without_server_urls

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery staple"
ROOT = Path(__file__).resolve().parents[2]
SUBMITTED = {"service": "intake", "method": "POST", "route": "/api/v1/proposals", "status": "201"}
# The consumers a submitted proposal runs, and intake's record of the mail notify sent.
CONSUMERS = (
    "review.proposal_submitted",
    "notify.proposal_submitted",
    "reporting.proposal_submitted",
    "intake.message_sent",
)


def bare_environment() -> dict[str, str]:
    """This machine's environment with no server, mail folder, link base or var folder named."""
    env = without_server_urls(dict(os.environ))
    for variable in ("VAR_DIR", "MAIL_DIR", "PUBLIC_BASE_URL", "ALLIANCE_PASSWORD"):
        env.pop(variable, None)
    return env


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    var_dir = tmp_path_factory.mktemp("make-run") / "var"
    running = RunningSystem(var_dir=var_dir, port=free_port(), env=bare_environment())
    try:
        running.wait_healthy()
        deadline = time.monotonic() + 30
        while "Ctrl-C stops everything" not in running.output.read_text():
            assert time.monotonic() < deadline, running.log()
            time.sleep(0.2)
        yield running
    finally:
        assert running.stop() == 0, running.log()
    assert not (var_dir / "run" / "state.json").exists()  # a clean stop removes it


def alliance() -> str:
    return str(Path(sys.executable).parent / "alliance")


def using_line(system: RunningSystem) -> str:
    state = system.var_dir / "run" / "state.json"
    return (
        f"[alliance] using the servers of the running `make run` ({state}, "
        f"pid {system.process.pid})\n"
    )


# What the outbox logs when the broker takes longer than half a second to take an event
# (shared/outbox.py, NUDGE_WAIT_SECONDS), as on a loaded machine: the event still goes out.
SLOW_BROKER_NOTE = "the broker is slow to answer; publishing goes on in the background\n"


def without_slow_broker_notes(stderr: str) -> str:
    return "".join(line for line in stderr.splitlines(keepends=True) if line != SLOW_BROKER_NOTE)


def printed_command(system: RunningSystem) -> list[str]:
    """The create-coordinator command `make run` printed, as the person would type it."""
    lines = system.output.read_text().splitlines()
    [at] = [i for i, line in enumerate(lines) if "No Coordinator yet" in line]
    typed = lines[at + 1].removeprefix("[alliance]").strip()
    assert "create-coordinator --email you@agency.gov --name 'Your Name'" in typed, typed
    return shlex.split(typed)


def test_a_coordinator_created_in_a_second_terminal_signs_in(system: RunningSystem):
    output = system.output.read_text()
    sign_in = f"{system.base}/review/staff/sign-in"
    assert f"[alliance]   staff:      {sign_in}\n" in output
    assert f"(it asks for a password; then sign in at {sign_in})" in output

    # What `make run` printed, typed as is (it names this run's var folder, not the default).
    words = printed_command(system)
    assignments = {}
    while "=" in words[0] and not words[0].startswith("-"):
        name, _, value = words.pop(0).partition("=")
        assignments[name] = value
    assert assignments == {"VAR_DIR": str(system.var_dir)}
    created = subprocess.run(
        words,
        env={**bare_environment(), **assignments, "ALLIANCE_PASSWORD": PASSWORD},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert created.returncode == 0, created.stderr
    assert without_slow_broker_notes(created.stderr) == using_line(system)
    assert created.stdout == (
        f"[alliance] created Coordinator you@agency.gov; they sign in at {sign_in}\n"
    )

    # Signing in through the running web front, with the form's CSRF token.
    browser = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    with browser.open(sign_in, timeout=10) as page:
        found = re.search(r'name="csrf_token" value="([^"]+)"', page.read().decode())
    assert found is not None
    form = {"csrf_token": found.group(1), "email": "you@agency.gov", "password": PASSWORD}
    with browser.open(sign_in, urllib.parse.urlencode(form).encode(), timeout=10) as landed:
        assert landed.status == 200
        assert "/staff/sign-in" not in landed.url
    with browser.open(f"{system.base}/review/staff/me", timeout=10) as page:
        me = page.read().decode()
    assert "you@agency.gov" in me
    assert "Your Name" in me
    # A Coordinator's page: the staff accounts.
    with browser.open(f"{system.base}/review/staff/people", timeout=10) as page:
        assert page.status == 200
        assert "you@agency.gov" in page.read().decode()


def test_the_other_operator_commands_use_the_running_system(system: RunningSystem):
    commands = {
        "scan": [alliance(), "reporting", "scan"],
        "migrate": [alliance(), "migrate", "review"],
        # The broker, too: the worker's health report is in the running system's Valkey.
        "health": [alliance(), "healthcheck", "review"],
    }
    env = {**bare_environment(), "VAR_DIR": str(system.var_dir)}
    started = {  # at once, as three terminals would: each spends seconds importing
        name: subprocess.Popen(argv, env=env, stdout=PIPE, stderr=PIPE, text=True)
        for name, argv in commands.items()
    }
    done = {
        name: (*process.communicate(timeout=120), process.returncode)
        for name, process in started.items()
    }

    for name in commands:
        _, stderr, returncode = done[name]
        assert returncode == 0, (name, stderr)
        assert without_slow_broker_notes(stderr) == using_line(system), name
    assert done["scan"][0] == "due_soon: 0, due: 0, overdue: 0, escalated: 0\n"
    assert done["migrate"][0] == "[alliance] migrating review\n"
    assert done["health"][0] == "review: healthy\n"


def metrics_page(system: RunningSystem, path: str = "/metrics") -> dict[tuple, float]:
    """The running system's metrics page, each sample by its name and labels."""
    with urllib.request.urlopen(system.base + path, timeout=10) as page:  # noqa: S310
        text = page.read().decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def sample(page: dict[tuple, float], name: str, **labels: str) -> float:
    return page.get((name, frozenset(labels.items())), 0.0)


def test_the_metrics_page_shows_the_whole_system_moving_when_a_proposal_comes_in(
    system: RunningSystem,
):
    """`curl -s localhost:8000/metrics` under `make run`: every process's counts (the web's,
    each worker's pool, the beat's) and every service's gauges, moving with a proposal."""
    ran = "alliance_task_runs_total"
    sent = {"service": "notify", "channel": "mail", "status": "sent"}

    def moved(before: dict, after: dict) -> dict[str, float]:
        def rise(name: str, **labels: str) -> float:
            return sample(after, name, **labels) - sample(before, name, **labels)

        return {
            "submitted": rise("alliance_http_requests_total", **SUBMITTED),
            **{task: rise(ran, service=task.split(".")[0], task=task) for task in CONSUMERS},
            "published by intake": rise("alliance_outbox_published_total", service="intake"),
            "mail sent": rise("alliance_deliveries", **sent),
        }

    before = metrics_page(system)
    proposal = json.loads((ROOT / "docs" / "example-proposal.json").read_text())
    status, body = system.request("POST", "/api/v1/proposals", proposal)
    assert status == 201, body
    deadline = time.monotonic() + 60
    while True:  # until notify sent the receipt and the Coordinator's alert, and intake heard
        after = metrics_page(system)
        change = moved(before, after)
        if change["mail sent"] >= 2 and change["intake.message_sent"] >= 1:
            break
        assert time.monotonic() < deadline, (change, system.log())
        time.sleep(0.5)

    assert change["submitted"] == 1
    assert all(change[task] >= 1 for task in CONSUMERS), change
    assert change["published by intake"] >= 1
    for service in ("intake", "review", "reporting", "notify"):
        assert sample(after, "alliance_database_up", service=service) == 1
        assert ("alliance_outbox_pending", frozenset({("service", service)})) in after
        # Each worker's canary: its heartbeat, counted in its pool process.
        assert sample(after, ran, service=service, task=f"{service}.canary") > 0
    assert sample(after, "alliance_beat_sent_total", entry="intake-relay-outbox") > 0
    assert ("alliance_deadline_sweep_duration_seconds_count", frozenset()) in after
    assert ("alliance_reports_overdue", frozenset({("service", "reporting")})) in after

    # A service's own page under its prefix: its gauges alone.
    review = metrics_page(system, "/review/metrics")
    assert sample(review, "alliance_database_up", service="review") == 1
    assert ("alliance_database_up", frozenset({("service", "notify")})) not in review


def test_the_demo_loads_a_living_program_into_the_running_system(system: RunningSystem):
    """`alliance demo` in the second terminal: through the import, the running reporting
    worker schedules every alliance's reports (the command waits for it), then the reports'
    past, roundtables and new proposals; its Coordinator signs in and sees the figures."""
    env = {**bare_environment(), "VAR_DIR": str(system.var_dir), "ALLIANCE_PASSWORD": PASSWORD}
    done = subprocess.run(
        [alliance(), "demo", "--proposals", "2", "--limit", "12", "--wait", "120"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    summary = done.stdout.splitlines()[0]
    assert re.search(r"demo loaded in \d+ s: 12 of the 12 alliances in .* imported now", summary)
    assert "'accepted': " in summary
    assert "2 new proposals" in summary
    assert (system.var_dir / "demo" / "alliances-state_plan.csv").exists()

    browser = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    sign_in = f"{system.base}/review/staff/sign-in"
    with browser.open(sign_in, timeout=10) as page:
        found = re.search(r'name="csrf_token" value="([^"]+)"', page.read().decode())
    assert found is not None
    form = {
        "csrf_token": found.group(1),
        "email": "coordinator@demo.agency.example",
        "password": PASSWORD,
    }
    with browser.open(sign_in, urllib.parse.urlencode(form).encode(), timeout=10) as landed:
        assert "/staff/sign-in" not in landed.url
    with browser.open(f"{system.base}/reporting/staff/dashboard", timeout=30) as page:
        figures = page.read().decode()
    active = re.search(r"Consultation Education (?:&amp;|&) Training</th><td>(\d+)</td>", figures)
    assert active is not None, figures[:2000]
    assert int(active.group(1)) > 0
