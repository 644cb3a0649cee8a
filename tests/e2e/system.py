"""Start the whole system the way ``make run`` does (``alliance run``) for a test."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from shared.config import SERVICES, database_url_variable, reset_settings


class RunningSystem:
    """``alliance run`` as ``make run`` starts it, except with one web process (of 4 threads)
    where ``make run`` has two: a test sends a request or a few at a time, and the suite runs
    up to three whole systems at once on two cores (``web_workers`` to choose)."""

    def __init__(
        self,
        *,
        var_dir: Path,
        port: int,
        env: dict[str, str],
        web_workers: int = 1,
        pool: str = "solo",
    ):
        self.var_dir = var_dir
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.env = env
        self.output = var_dir / "alliance-run.out"
        var_dir.mkdir(parents=True, exist_ok=True)
        self._out = open(self.output, "wb")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "deploy.cli",
                "run",
                "--port",
                str(port),
                "--var-dir",
                str(var_dir),
                "--web-workers",
                str(web_workers),
                "--pool",
                pool,
            ],
            env=env,
            stdout=self._out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )

    def log(self) -> str:
        parts = [self.output.read_text(errors="replace")]
        for path in sorted((self.var_dir / "log").glob("*.log")):
            parts.append(
                f"--- {path.name}\n"
                + "\n".join(path.read_text(errors="replace").splitlines()[-40:])
            )
        return "\n".join(parts)

    def wait_healthy(self, timeout: float = 120) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"alliance run exited early:\n{self.log()}")
            try:
                status, body = self.request("GET", "/healthz")
                if status == 200:
                    return body
            except OSError:
                pass
            time.sleep(0.3)
        raise AssertionError(f"not healthy within {timeout}s:\n{self.log()}")

    def broker_url(self) -> str:
        """The broker this system uses: the environment's, or the embedded one it started."""
        if self.env.get("REDIS_URL"):
            return self.env["REDIS_URL"]
        found = re.search(r"broker: (redis://\S+)", self.output.read_text())
        assert found is not None, self.log()
        return found.group(1)

    def staff_cookie(self, *roles: str) -> str:
        """A signed-in staff session in this system's Redis, as the cookie header value."""
        from shared.staff_auth import COOKIE_NAME, start_session

        previous = os.environ.get("REDIS_URL")
        os.environ["REDIS_URL"] = self.broker_url()
        reset_settings()  # the settings are read once; read them again with this broker
        try:
            session_id = start_session(uuid.uuid4(), "e2e@agency.example", "E2E Staff", roles)
        finally:
            if previous is None:
                os.environ.pop("REDIS_URL", None)
            else:
                os.environ["REDIS_URL"] = previous
            reset_settings()
        return f"{COOKIE_NAME}={session_id}"

    def request(
        self, method: str, path: str, body: Any = None, cookie: str = ""
    ) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if data else {}
        if cookie:
            headers["Cookie"] = cookie
        request = urllib.request.Request(  # noqa: S310 (loopback only)
            self.base + path,
            data=data,
            method=method,
            headers=headers,
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                return response.status, json.load(response)
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"null")

    def stop(self, timeout: float = 60) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # what Ctrl-C sends
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        self._out.close()
        return self.process.returncode


def without_server_urls(env: dict[str, str]) -> dict[str, str]:
    """The environment of a fresh machine: no broker, database or SMTP named."""
    dropped = {
        "REDIS_URL",
        "POSTGRES_URL",
        "SMTP_HOST",
        "SMTP_PORT",
        *(database_url_variable(s) for s in SERVICES),
    }
    return {k: v for k, v in env.items() if k not in dropped}
