"""A worker that is alive but no longer consuming is found and restarted, over real processes."""

import contextlib
import json
import os
import signal

import pytest
import redis

from deploy.embedded import free_port
from shared.health import health_key, pool_children
from shared.testing import example_proposal
from tests.e2e.system import RunningSystem
from tests.helpers import wait_until

pytestmark = pytest.mark.e2e

STALL_SECONDS = 6


def worker_pid(client: redis.Redis, service: str) -> int | None:
    raw = client.get(health_key(service))
    return json.loads(raw)["pid"] if raw else None


def wait_for(condition, timeout: float, what: str, system: RunningSystem):
    try:
        return wait_until(condition, timeout=timeout, interval=0.3, what=what)
    except AssertionError as err:
        raise AssertionError(f"{err}\n{system.log()}") from None


def in_review(system: RunningSystem, cookie: str, reference: str) -> bool:
    _, queue = system.request("GET", "/review/api/v1/queue", cookie=cookie)
    return reference in [p["reference"] for p in queue["proposals"]]


@pytest.mark.timeout(240)
@pytest.mark.usefixtures("clean_databases")
def test_frozen_pool_and_frozen_worker_are_restarted(tmp_path, redis_client):
    env = {**os.environ, "WORKER_STALL_SECONDS": str(STALL_SECONDS)}
    system = RunningSystem(var_dir=tmp_path / "var", port=free_port(), env=env, pool="prefork")
    stopped: list[int] = []
    try:
        system.wait_healthy()
        cookie = system.staff_cookie("reviewer")
        first = worker_pid(redis_client, "review")
        [pool] = pool_children(first)

        # 1. The pool process freezes: the worker still reports, but its canary waits. It
        # restarts itself; the supervisor starts it again.
        os.kill(pool, signal.SIGSTOP)
        stopped.append(pool)
        second = wait_for(
            lambda: (pid := worker_pid(redis_client, "review")) not in (None, first) and pid,
            STALL_SECONDS + 40,
            "a new review worker after its pool froze",
            system,
        )
        status, body = system.request("POST", "/api/v1/proposals", example_proposal())
        assert status == 201
        wait_for(lambda: in_review(system, cookie, body["reference"]), 30, "in review", system)
        assert "consumed nothing" in (system.var_dir / "log" / "review-worker.log").read_text()

        # 2. The whole worker freezes: no report at all. The supervisor kills and restarts it.
        os.kill(second, signal.SIGSTOP)
        stopped.append(second)
        wait_for(
            lambda: worker_pid(redis_client, "review") not in (None, first, second),
            STALL_SECONDS + 60,
            "a new review worker after the worker froze",
            system,
        )
        status, body = system.request("POST", "/api/v1/proposals", example_proposal())
        assert status == 201
        wait_for(lambda: in_review(system, cookie, body["reference"]), 30, "in review", system)
        assert "review-worker has not reported" in system.output.read_text()
        system.wait_healthy()
    finally:
        for pid in stopped:  # never leave a stopped process behind
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        assert system.stop() == 0, system.log()
