"""Row 1 of issue 20: how many proposals intake takes a second, against the raw parts.

Intake's web app is served the way ``alliance run`` serves web processes (gunicorn with
``deploy/gunicorn_conf.py``, an access log), here with 2 sync workers, on a fresh migrated
database, with ``INTAKE_RATE_LIMIT`` raised so that one client's many submissions are not
throttled (as tests/ and bench/soak.py do). The baseline (bench/minimal_intake.py) validates the
same body with marshmallow and inserts one row with SQLAlchemy, under the same gunicorn settings.
wrk (8 connections, a Lua script making every body a new proposal) loads each in turn: 10 s
rounds, interleaved, medians of 3. Nothing consumes the events meanwhile.

The second row checks that "a web request never waits on the broker": intake on a Valkey the
benchmark owns, one round with it up, one with it stopped (the same interleaving), and the p99
of the two.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.lab import Lab, free_port, gunicorn_argv, median, say, stop_group
from bench.table import Row

TITLE = "Intake: POST /api/v1/proposals"
ROOT = Path(__file__).resolve().parent.parent
ROUND_SECONDS = 10
ROUNDS = 3
OUTAGE_ROUNDS = 2
CONNECTIONS = 8
TARGET = 0.75
OUTAGE_TARGET = 0.9  # the stopped broker's p99 at most about the normal one

# Every request a new proposal: the example of docs/ with its organization and contact made
# unique by the wrk thread and a counter.
LUA = r"""
local template = [==[BODY]==]
local counter = 0
local thread_id = 0
local threads = {}

setup = function(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

init = function(args)
  thread_id = tid
end

request = function()
  counter = counter + 1
  local tag = thread_id .. "-" .. counter .. "-" .. math.random(1, 1000000000)
  local body = template:gsub("@TAG@", tag)
  return wrk.format("POST", "/api/v1/proposals",
    {["Content-Type"] = "application/json"}, body)
end

done = function(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    "RESULT {\"requests\": %d, \"seconds\": %.3f, \"bad_status\": %d, \"socket_errors\": %d, "
    .. "\"p50_us\": %d, \"p99_us\": %d}\n",
    summary.requests, summary.duration / 1e6, errors.status,
    errors.connect + errors.read + errors.write + errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


def proposal_body() -> str:
    example = json.loads((ROOT / "docs" / "example-proposal.json").read_text())
    example["organization"]["name"] = "Roofing Contractors Association @TAG@"
    example["contact"]["name"] = "Dana Smith @TAG@"
    example["contact"]["email"] = "dana@example.org"
    return json.dumps(example)


@dataclass
class Round:
    per_second: float
    p50_ms: float
    p99_ms: float
    bad: int

    @staticmethod
    def of(output: str) -> Round:
        line = next(x for x in output.splitlines() if x.startswith("RESULT "))
        figures = json.loads(line.removeprefix("RESULT "))
        return Round(
            per_second=figures["requests"] / figures["seconds"],
            p50_ms=figures["p50_us"] / 1000,
            p99_ms=figures["p99_us"] / 1000,
            bad=figures["bad_status"] + figures["socket_errors"],
        )


def load(script: Path, port: int, seconds: float) -> Round:
    """``seconds`` of wrk against the server on ``port``."""
    done = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{CONNECTIONS}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return Round.of(done.stdout)


@contextmanager
def gunicorn(app: str, env: dict[str, str], log: Path) -> Iterator[int]:
    """``app`` under gunicorn with the web processes' settings (deploy/gunicorn_conf.py),
    2 sync workers; its port."""
    port = free_port()
    with open(log, "ab") as out:
        process = subprocess.Popen(
            gunicorn_argv(app, port),
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_until_answering(port, process, log)
        yield port
    finally:
        stop_group(process, timeout=15)


def wait_until_answering(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn ended ({process.returncode}); see {log}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/proposals", timeout=2)
        except urllib.error.HTTPError:
            return  # 405 to a GET: the app answers
        except OSError:
            time.sleep(0.2)
            continue
        return
    raise RuntimeError(f"gunicorn on {port} did not answer within 60 s; see {log}")


def service_env(lab: Lab, *, intake_url: str, redis_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "SECRET_KEY": env.get("SECRET_KEY", "bench-intake-secret-key"),
            "COORDINATOR_EMAIL": env.get("COORDINATOR_EMAIL", "coordinator@agency.example"),
            "INTAKE_DATABASE_URL": intake_url,
            "REDIS_URL": redis_url,
            # One client (wrk) sends thousands of proposals: no rate limit may refuse them.
            "INTAKE_RATE_LIMIT": "100000000 per minute",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return env


def figures(rounds: list[Round]) -> tuple[float, float, float]:
    return (
        median([r.per_second for r in rounds]),
        median([r.p50_ms for r in rounds]),
        median([r.p99_ms for r in rounds]),
    )


def described(per_second: float, p50: float, p99: float) -> str:
    return f"{per_second:,.0f} /s, p50 {p50:.0f} ms, p99 {p99:.0f} ms"


def run(lab: Lab) -> list[Row]:
    from bench.minimal_intake import create_table

    script = lab.scratch / "intake.lua"
    script.write_text(LUA.replace("BODY", proposal_body()))
    intake_url = lab.fresh_database("intake_row1", service="intake")
    minimal_url = lab.fresh_database("intake_row1_minimal")
    create_table(minimal_url)
    lab.flush_redis()
    env = service_env(lab, intake_url=intake_url, redis_url=lab.redis_url)
    minimal_env = {**env, "MINIMAL_DATABASE_URL": minimal_url}
    logs = lab.scratch
    rows = []
    with (
        gunicorn("services.intake:create_app()", env, logs / "intake-web.log") as intake,
        gunicorn("bench.minimal_intake:create_app()", minimal_env, logs / "minimal.log") as raw,
    ):
        load(script, intake, 2)  # warm both up: connections, imports, caches
        load(script, raw, 2)
        ours: list[Round] = []
        theirs: list[Round] = []
        for index in range(ROUNDS):
            pair = [(intake, ours), (raw, theirs)]
            for port, into in pair if index % 2 == 0 else reversed(pair):
                into.append(load(script, port, ROUND_SECONDS))
        say(f"intake rounds: {ours}")
        say(f"minimal rounds: {theirs}")
    measure = figures(ours)
    baseline = figures(theirs)
    # Each round beside the baseline's round next to it: on a shared machine the load of the
    # moment moves both, so the median of the paired ratios is the steadier figure.
    ratio = median([a.per_second / b.per_second for a, b in zip(ours, theirs, strict=True)])
    bad = sum(r.bad for r in ours + theirs)
    rows.append(
        Row(
            "Intake: submissions/s",
            described(*measure),
            described(*baseline),
            ratio,
            f"≥ {TARGET}",
            ratio >= TARGET and bad == 0,
            note=(
                f"POST /api/v1/proposals (gunicorn, 2 sync workers, deploy/gunicorn_conf.py) "
                f"against bench/minimal_intake.py (marshmallow ProposalSchema + one SQLAlchemy "
                f"insert, same gunicorn settings); wrk, {CONNECTIONS} connections, every body a "
                f"new proposal; {ROUNDS} interleaved {ROUND_SECONDS} s rounds, medians; "
                f"INTAKE_RATE_LIMIT raised so as not to throttle one client; no worker consumes "
                f"the events; ratio: median of the paired rounds' ratios; {bad} answers not 201 "
                f"or failed."
                + (
                    ""
                    if ratio >= TARGET
                    else " Missed: a submission stores four rows (proposal, version, history, "
                    "outbox: 7 round trips to PostgreSQL with the pool's pre-ping, BEGIN and "
                    "COMMIT, against 3 for the baseline) and its event goes out to 4 consumers "
                    "(4 Redis pushes and a publishing transaction in the same process), which "
                    "the profile shows as most of a request's time on 2 shared cores."
                )
            ),
            figures={
                "per_second": measure[0],
                "p50_ms": measure[1],
                "p99_ms": measure[2],
                "baseline_per_second": baseline[0],
                "baseline_p50_ms": baseline[1],
                "baseline_p99_ms": baseline[2],
            },
        )
    )
    rows.append(broker_stopped(lab, script, intake_url))
    return rows


def broker_stopped(lab: Lab, script: Path, intake_url: str) -> Row:
    """Submissions while intake's broker is stopped, against submissions while it runs."""
    from tests.faults.harness import OwnedValkey

    valkey = OwnedValkey(lab.scratch / "valkey")
    valkey.start()
    env = service_env(lab, intake_url=intake_url, redis_url=valkey.url)
    up: list[Round] = []
    down: list[Round] = []
    try:
        with gunicorn("services.intake:create_app()", env, lab.scratch / "outage.log") as port:
            load(script, port, 2)
            for _ in range(OUTAGE_ROUNDS):
                up.append(load(script, port, ROUND_SECONDS))
                valkey.stop()
                down.append(load(script, port, ROUND_SECONDS))
                valkey.start()
        say(f"broker up: {up}")
        say(f"broker stopped: {down}")
    finally:
        valkey.stop()
    normal = figures(up)
    stopped = figures(down)
    ratio = normal[2] / stopped[2]
    bad = sum(r.bad for r in up + down)
    return Row(
        "Intake, broker stopped: p99",
        described(*stopped),
        described(*normal) + " (broker up)",
        ratio,
        f"≥ {OUTAGE_TARGET} (p99 up / p99 stopped)",
        ratio >= OUTAGE_TARGET and bad == 0,
        note=(
            f"A web request never waits on the broker: intake on a Valkey of its own, "
            f"{OUTAGE_ROUNDS} pairs of {ROUND_SECONDS} s wrk rounds with it running, then "
            f"stopped; the ratio is the normal p99 over the p99 while stopped (1 or more: no "
            f"slower); the outbox relay publishes what waited once the broker is back; {bad} "
            f"answers not 201 or failed."
        ),
        figures={
            "per_second": stopped[0],
            "p50_ms": stopped[1],
            "p99_ms": stopped[2],
            "baseline_per_second": normal[0],
            "baseline_p50_ms": normal[1],
            "baseline_p99_ms": normal[2],
        },
    )
