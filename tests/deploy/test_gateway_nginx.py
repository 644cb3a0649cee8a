"""The nginx gateways: deploy/nginx.conf (docker-compose.yml) and its Kubernetes twin,
deploy/kubernetes/base/gateway/nginx.conf, pass ``nginx -t`` with Debian's nginx, route the same
way, and do what they say when nginx runs them in front of a stand-in app.

Each runs from a copy in a temporary folder: its upstream hosts (Docker's or the cluster's
service names, which do not resolve here) become a local stand-in app, its listening port a free
one, its pid, log and temporary files the folder's. Nothing else of the file changes.
"""

from __future__ import annotations

import http.client
import http.server
import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from deploy.embedded import free_port
from deploy.gateway import MOUNTS

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_CONF = ROOT / "deploy" / "nginx.conf"
KUBERNETES_CONF = ROOT / "deploy" / "kubernetes" / "base" / "gateway" / "nginx.conf"
WEB_SIDES = ("intake", "review", "reporting", "notify")
# What the Kubernetes gateway takes from the ingress in front of it (and only from there).
INGRESS_ONLY = {"X-Forwarded-Proto"}


def nginx() -> str:
    for candidate in (shutil.which("nginx"), "/usr/sbin/nginx"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    pytest.skip(
        "nginx is not installed, so the gateway's configuration cannot be checked: run "
        "`make system-deps` (it installs Debian's nginx; as root: apt-get install nginx)"
    )


def local_copy(conf: Path, folder: Path, *, listen: int, upstream: str, trusted: str = "") -> Path:
    """``conf`` runnable here: upstreams at ``upstream`` (host:port), listening on ``listen``,
    its files in ``folder``; the Kubernetes one trusting ``trusted`` as its ingress."""
    text = conf.read_text()
    text = re.sub(r"^pid\s+\S+;", f"pid {folder}/nginx.pid;", text, flags=re.M)
    text = re.sub(r"^worker_processes\s+\S+;", "worker_processes 1;", text, flags=re.M)
    text = re.sub(r"access_log\s+(?!off)\S+;", f"access_log {folder}/access.log;", text)
    text = re.sub(r"error_log\s+\S+", f"error_log {folder}/error.log", text)
    text = re.sub(r"_temp_path\s+/tmp/", f"_temp_path {folder}/", text)
    if "_temp_path" not in text:
        temp = "".join(
            f"    {kind}_temp_path {folder}/{kind}_temp;\n"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        text = text.replace("http {\n", "http {\n" + temp, 1)
    mime = Path("/etc/nginx/mime.types")
    if not mime.exists():
        (folder / "mime.types").write_text("types { text/html html; }\n")
        text = text.replace(str(mime), str(folder / "mime.types"))
    text = re.sub(r"listen\s+\d+", f"listen 127.0.0.1:{listen}", text)
    # Compose: `set $review_web review-web:8000;` Kubernetes: `server review-web:8000;`
    text = re.sub(r"(set \$\w+_web)\s+[\w.-]+:\d+;", rf"\1 {upstream};", text)
    text = re.sub(r"(server)\s+[\w.-]+-web:\d+;", rf"\1 {upstream};", text)
    if trusted:
        text = text.replace("10.0.0.0/8", trusted)
    if os.geteuid() == 0:
        text = "user root;\n" + text  # else its workers run as nobody, who cannot read folder
    copy = folder / "nginx.conf"
    copy.write_text(text)
    return copy


@pytest.mark.parametrize("conf", [COMPOSE_CONF, KUBERNETES_CONF], ids=["compose", "kubernetes"])
def test_nginx_accepts_the_configuration(conf: Path, tmp_path: Path) -> None:
    copy = local_copy(conf, tmp_path, listen=free_port(), upstream="127.0.0.1:9")
    result = subprocess.run(
        [nginx(), "-t", "-p", str(tmp_path), "-e", str(tmp_path / "error.log"), "-c", str(copy)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, f"nginx -t refuses {conf.relative_to(ROOT)}:\n{result.stderr}"


# -- the two stay in step ---------------------------------------------------------------------


def locations(text: str) -> dict[str, dict[str, Any]]:
    """Each location (``= /review``, ``/review/``, ``~ ^...``) and what it does: where it sends
    the request (host:port), its rewrite, prefix, body limit and answer."""
    upstreams = {
        name: server
        for name, server in re.findall(r"upstream\s+(\w+)\s*\{[^}]*?server\s+([\w.:-]+);", text)
    }
    found = {}
    for match in re.finditer(r"location\s+((?:[=~]\s+)?\S+)\s*\{([^{}]*)\}", text):
        key = " ".join(match.group(1).split())
        body = match.group(2)
        variables = dict(re.findall(r"set\s+\$(\w+)\s+([^;\s]+);", body))
        target = re.search(r"proxy_pass\s+http://\$?([\w.:-]+)", body)
        upstream = None
        if target:
            name = target.group(1)
            upstream = variables.get(name) or upstreams.get(name) or name
        found[key] = {
            "upstream": upstream,
            "rewrite": re.findall(r"rewrite\s+([^;]+);", body),
            "prefix": variables.get("forwarded_prefix"),
            "body": re.findall(r"client_max_body_size\s+(\S+);", body),
            "return": re.findall(r"return\s+([^;]+);", body),
        }
    return found


def server_directives(text: str) -> dict[str, Any]:
    server = text[text.index("server {") :]
    server = re.sub(r"location\s+[^{]+\{[^{}]*\}", "", server)
    headers = dict(re.findall(r"proxy_set_header\s+(\S+)\s+([^;]+);", server))
    simple = {
        name: value
        for name, value in re.findall(r"^\s*(\w+)\s+([^;{]+);", server, flags=re.M)
        if name not in {"listen", "proxy_set_header", "set"}
    }
    return {"headers": headers, **simple}


def test_the_kubernetes_gateway_routes_as_the_compose_one() -> None:
    compose, kubernetes = COMPOSE_CONF.read_text(), KUBERNETES_CONF.read_text()
    ours, theirs = locations(kubernetes), locations(compose)
    assert ours == theirs, (
        "deploy/kubernetes/base/gateway/nginx.conf routes otherwise than deploy/nginx.conf:\n"
        + "\n".join(
            f"  {key}: kubernetes {ours.get(key)} / compose {theirs.get(key)}"
            for key in sorted(set(ours) | set(theirs))
            if ours.get(key) != theirs.get(key)
        )
    )
    routes = {"/": "intake", **{f"{prefix}/": service for prefix, service in MOUNTS.items()}}
    for location, service in routes.items():
        assert ours[location]["upstream"] == f"{service}-web:8000", location
    ours_server, theirs_server = server_directives(kubernetes), server_directives(compose)
    for name in set(ours_server) | set(theirs_server):
        if name == "headers":
            continue
        assert ours_server.get(name) == theirs_server.get(name), f"{name} differs"
    headers, compose_headers = ours_server["headers"], theirs_server["headers"]
    assert set(headers) == set(compose_headers), "the two send different headers"
    differing = {h for h in headers if headers[h] != compose_headers[h]}
    assert differing == INGRESS_ONLY, f"the headers differ in {differing}"


# -- nginx running them -----------------------------------------------------------------------


class StandIn(http.server.BaseHTTPRequestHandler):
    """An app that answers what it was asked: the path and the headers (lower-case names)."""

    def do_GET(self) -> None:
        headers = {name.lower(): value for name, value in self.headers.items()}
        body = json.dumps({"path": self.path, "headers": headers}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def stand_in() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), StandIn)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()
    thread.join(5)


def run_nginx(copy: Path, folder: Path, port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [
            nginx(),
            "-p",
            str(folder),
            "-e",
            str(folder / "error.log"),
            "-c",
            str(copy),
            "-g",
            "daemon off;",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            connection.request("GET", "/gateway-healthz")
            connection.getresponse().read()
            connection.close()
            return process
        except OSError:
            connection.close()
            if process.poll() is not None or time.monotonic() > deadline:
                stop(process)
                log = folder / "error.log"
                raise AssertionError(
                    "nginx did not start:\n" + (log.read_text() if log.exists() else "")
                ) from None
            time.sleep(0.05)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGQUIT)  # nginx's graceful stop
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def ask(
    port: int, path: str, headers: dict[str, str] | None = None, *, source: str = "127.0.0.1"
) -> tuple[int, Any]:
    connection = http.client.HTTPConnection(
        "127.0.0.1", port, timeout=5, source_address=(source, 0)
    )
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    is_json = response.getheader("Content-Type") == "application/json"
    return response.status, json.loads(body) if is_json else body.decode()


@pytest.mark.parametrize("conf", [COMPOSE_CONF, KUBERNETES_CONF], ids=["compose", "kubernetes"])
def test_the_gateway_strips_the_prefix_and_overwrites_what_a_client_claims(
    conf: Path, tmp_path: Path, stand_in: int
) -> None:
    port = free_port()
    copy = local_copy(conf, tmp_path, listen=port, upstream=f"127.0.0.1:{stand_in}")
    process = run_nginx(copy, tmp_path, port)
    try:
        forged = {"X-Forwarded-Prefix": "/evil", "X-Forwarded-Proto": "https"}
        status, seen = ask(port, "/review/staff/queue?x=1", forged)
        assert status == 200
        assert seen["path"] == "/staff/queue?x=1", "the /review prefix must be stripped"
        assert seen["headers"]["x-forwarded-prefix"] == "/review"
        # A client on no trusted proxy claims https in vain.
        assert seen["headers"]["x-forwarded-proto"] == "http"
        assert seen["headers"]["x-forwarded-for"].split(",")[-1].strip() == "127.0.0.1"

        status, seen = ask(port, "/apply", {"X-Forwarded-Prefix": "/evil"})
        assert (status, seen["path"]) == (200, "/apply")
        assert not seen["headers"].get("x-forwarded-prefix"), "a client's prefix must go"

        for path in ("/metrics", "/review/metrics", "/notify/metrics"):
            status, _ = ask(port, path)
            assert status == 404, f"{path}: the metrics are not for the public"
        status, body = ask(port, "/gateway-healthz")
        assert (status, body) == (200, "ok\n")
        status, _ = ask(port, "/reporting")
        assert status == 301
    finally:
        stop(process)


def test_the_kubernetes_gateway_believes_its_ingress_only(tmp_path: Path, stand_in: int) -> None:
    """Behind the cluster's ingress (here 127.0.0.1 plays it): the client's address and https
    come through to the app; from any other address (127.0.0.2) they are ignored."""
    port = free_port()
    copy = local_copy(
        KUBERNETES_CONF,
        tmp_path,
        listen=port,
        upstream=f"127.0.0.1:{stand_in}",
        trusted="127.0.0.1/32",
    )
    process = run_nginx(copy, tmp_path, port)
    try:
        claims = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}
        _, seen = ask(port, "/notify/staff/messages", claims, source="127.0.0.1")
        assert seen["headers"]["x-forwarded-proto"] == "https"
        assert seen["headers"]["x-forwarded-for"].split(",")[-1].strip() == "203.0.113.7"
        assert seen["headers"]["x-real-ip"] == "203.0.113.7"
        assert seen["headers"]["x-forwarded-prefix"] == "/notify"

        _, seen = ask(port, "/notify/staff/messages", claims, source="127.0.0.2")
        assert seen["headers"]["x-forwarded-proto"] == "http"
        assert seen["headers"]["x-forwarded-for"].split(",")[-1].strip() == "127.0.0.2"
    finally:
        stop(process)
