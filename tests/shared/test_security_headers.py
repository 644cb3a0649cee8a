"""Every answer of every service is hardened by the app itself (shared/security_headers.py).

The walk takes each service's route table (its ``url_map``, not a list kept here), fills each
path argument with a value its converter accepts, and asks every route once: GET where the
route answers GET, otherwise its own method (POST, PUT, PATCH, DELETE). It does so signed out
(with a staff cookie whose session is gone, so answers clear it) and signed in as the
Coordinator. Every answer, 200, redirect, 400, 403, 404 or 405 alike, must carry the policy
(no inline script, no framing), nosniff, the referrer policy (none at all on a path holding a
signed link), no HSTS over plain http in development, and every cookie it sets must be HttpOnly
and SameSite (and Secure in production). The gunicorn the launchers run names no server."""

from __future__ import annotations

import http.client
import json
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from flask import Flask
from werkzeug.routing import Rule, ValidationError

import services.intake
import services.notify
import services.reporting
import services.review
from deploy.embedded import free_port
from shared.config import load_settings
from shared.staff_auth import COOKIE_NAME
from tests.production import production_environment
from tests.shared.factories import COORDINATOR, signed_in

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clean_databases")]

ROOT = Path(__file__).resolve().parents[2]
FACTORIES: dict[str, Callable[..., Flask]] = {
    "intake": services.intake.create_app,
    "review": services.review.create_app,
    "reporting": services.reporting.create_app,
    "notify": services.notify.create_app,
}
# The pages a signed link opens: a link followed from one of them must not hand the token on.
SIGNED_LINK_ROUTES = {
    ("intake", "/apply/resume/<token>"),
    ("intake", "/apply/confirmation/<token>"),
    ("intake", "/status/<token>"),
    ("intake", "/status/<token>/edit"),
    ("reporting", "/reports/<token>"),
    ("reporting", "/reports/<token>/report.pdf"),
    ("review", "/staff/set-password/<token>"),
}
# A value for each path argument, the first one its converter accepts.
SAMPLES: dict[str, tuple[str, ...]] = {
    "filename": ("css/uswds.min.css", "apply.js"),
}
ANY_ARGUMENT = (str(uuid.uuid4()), "1", "not-a-signed-link")


@dataclass
class Walk:
    """What the answers of a walk were, and every way one of them fell short."""

    statuses: set[int] = field(default_factory=set)
    cookies: set[str] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)
    requests: int = 0


def sample_path(app: Flask, rule: Rule, method: str) -> str:
    values: dict[str, Any] = {}
    for name, converter in rule._converters.items():
        for candidate in SAMPLES.get(name, ()) + ANY_ARGUMENT:
            if not re.fullmatch(converter.regex, candidate):
                continue
            try:
                values[name] = converter.to_python(candidate)
            except ValidationError:
                continue
            break
        else:
            raise AssertionError(f"no sample value for <{name}> of {rule.rule}: add one")
    adapter = app.url_map.bind("localhost")
    path = adapter.build(rule.endpoint, values, method=method)
    matched, _ = adapter.match(path, method=method, return_rule=True)
    assert matched is rule, f"{path} does not reach {rule.rule} ({method})"
    return path


def method_of(rule: Rule) -> str:
    methods = (rule.methods or set()) - {"HEAD", "OPTIONS"}
    return "GET" if "GET" in methods else sorted(methods)[0]


def expected_problems(
    service: str, rule: Rule, method: str, path: str, response: Any, *, production: bool
) -> list[str]:
    headers = response.headers
    where = f"{service} {method} {path} ({response.status_code})"
    found: list[str] = []
    policy = headers.get("Content-Security-Policy", "")
    directives = {
        words[0]: " ".join(words[1:])
        for words in (part.split() for part in policy.split(";"))
        if words
    }
    wanted = {
        "default-src": "'self'",
        "script-src": "'self'",
        "style-src": "'self'",
        "object-src": "'none'",
        "base-uri": "'none'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }
    for name, value in wanted.items():
        if directives.get(name) != value:
            found.append(f"{where}: Content-Security-Policy {name} is {directives.get(name)!r}")
    if headers.get("X-Content-Type-Options") != "nosniff":
        found.append(f"{where}: no X-Content-Type-Options: nosniff")
    if headers.get("X-Frame-Options") != "DENY":
        found.append(f"{where}: X-Frame-Options is {headers.get('X-Frame-Options')!r}")
    referrer = (
        "no-referrer"
        if (service, rule.rule) in SIGNED_LINK_ROUTES
        else "strict-origin-when-cross-origin"
    )
    if headers.get("Referrer-Policy") != referrer:
        found.append(f"{where}: Referrer-Policy {headers.get('Referrer-Policy')!r}, not {referrer}")
    hsts = headers.get("Strict-Transport-Security")
    if production and not (hsts and "max-age=" in hsts):
        found.append(f"{where}: no Strict-Transport-Security in production")
    if not production and hsts:
        found.append(f"{where}: Strict-Transport-Security over plain http in development")
    if "Server" in headers:
        found.append(f"{where}: names its server: {headers['Server']}")
    for cookie in headers.getlist("Set-Cookie"):
        name = cookie.split("=", 1)[0]
        flags = {part.strip().split("=")[0].lower(): part.strip() for part in cookie.split(";")[1:]}
        samesite = flags.get("samesite", "").lower()
        if "httponly" not in flags:
            found.append(f"{where}: cookie {name} is not HttpOnly: {cookie}")
        if samesite not in {"samesite=lax", "samesite=strict"}:
            found.append(f"{where}: cookie {name} has no SameSite Lax or Strict: {cookie}")
        if production and "secure" not in flags:
            found.append(f"{where}: cookie {name} is not Secure in production: {cookie}")
    return found


def walk_every_route(*, production: bool = False) -> Walk:
    walk = Walk()
    for service, create_app in FACTORIES.items():
        # CSRF on, as in production: a form post without its token is refused, and answered.
        app = create_app({"TESTING": False})
        signed_out = app.test_client()
        signed_out.set_cookie(COOKIE_NAME, "a-session-that-has-ended")
        for client in (signed_out, signed_in(app, COORDINATOR)):
            for rule in app.url_map.iter_rules():
                method = method_of(rule)
                path = sample_path(app, rule, method)
                response = client.open(path, method=method)
                response.close()  # a static file's answer holds it open
                walk.requests += 1
                walk.statuses.add(response.status_code)
                walk.cookies |= {c.split("=", 1)[0] for c in response.headers.getlist("Set-Cookie")}
                walk.problems += expected_problems(
                    service, rule, method, path, response, production=production
                )
    return walk


def test_every_answer_of_every_route_of_every_service_is_hardened(redis_client):
    walk = walk_every_route()

    assert walk.problems == []
    # The walk met every kind of answer, and both cookies (Flask's session holds the CSRF
    # token of each form page; the ended staff session is cleared).
    assert {200, 400, 404} <= walk.statuses
    assert walk.statuses & {302, 303}
    assert walk.statuses & {401, 403}
    assert {"session", COOKIE_NAME} <= walk.cookies
    assert walk.requests > 200


def test_the_signed_link_routes_are_every_route_with_a_token():
    """The list above is the routes holding a signed link, as the route tables have them."""
    with_token = {
        (service, rule.rule)
        for service, create_app in FACTORIES.items()
        for rule in create_app().url_map.iter_rules()
        if "token" in rule.arguments
    }
    assert with_token == SIGNED_LINK_ROUTES


@pytest.fixture
def in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    """APP_ENV=production, with every setting production asks for (tests/production.py)."""
    for name, value in production_environment(os.environ).items():
        monkeypatch.setenv(name, value)
    assert load_settings().production


def test_in_production_every_answer_has_hsts_and_every_cookie_is_secure(
    redis_client, in_production
):
    walk = walk_every_route(production=True)

    assert walk.problems == []
    assert {"session", COOKIE_NAME} <= walk.cookies


def test_hsts_is_sent_over_https_and_not_over_plain_http(redis_client):
    client = services.intake.create_app({"TESTING": True}).test_client()

    over_https = client.get("/apply", base_url="https://alliances.agency.example")
    over_http = client.get("/apply", base_url="http://localhost")

    assert over_https.headers.get("Strict-Transport-Security") == (
        "max-age=63072000; includeSubDomains"
    )
    assert "Strict-Transport-Security" not in over_http.headers


def test_behind_the_proxy_hsts_follows_the_scheme_the_proxy_saw(redis_client, monkeypatch):
    forwarded_https = {"X-Forwarded-Proto": "https"}
    direct = services.intake.create_app({"TESTING": True}).test_client()
    monkeypatch.setenv("BEHIND_PROXY", "1")
    proxied = services.intake.create_app({"TESTING": True}).test_client()

    assert "Strict-Transport-Security" in proxied.get("/apply", headers=forwarded_https).headers
    assert "Strict-Transport-Security" not in proxied.get("/apply").headers
    # Without the proxy setting, anyone could send the header: it changes nothing.
    assert "Strict-Transport-Security" not in direct.get("/apply", headers=forwarded_https).headers


def test_the_session_cookie_is_httponly_and_samesite_lax(redis_client):
    response = services.intake.create_app({"TESTING": True}).test_client().get("/apply")

    [cookie] = response.headers.getlist("Set-Cookie")
    assert cookie.startswith("session=")
    assert "; HttpOnly" in cookie
    assert "; SameSite=Lax" in cookie
    assert "; Secure" not in cookie  # plain http in development


def test_the_mail_frame_has_a_sandbox_policy_of_its_own_and_only_our_pages_may_frame_it(
    redis_client,
):
    from services.notify.models import Message
    from services.notify.worker import database
    from shared.db import utcnow

    with database.transaction() as session:
        message = Message(
            cause=f"test:{uuid.uuid4()}",
            template="proposal_receipt",
            to_address="dana@example.org",
            subject="We received your Alliance proposal AP-2026-10007",
            text_body="Dear Dana,\n",
            html_body='<p style="color: #1b1b1b">Dear Dana,</p><script>alert(1)</script>',
            reference="AP-2026-10007",
            status="sent",
            attempts=1,
            ambiguous_deliveries=0,
            created_at=utcnow(),
            next_attempt_at=utcnow(),
            sent_at=utcnow(),
        )
        session.add(message)
        session.flush()
        message_id = message.id
    client = signed_in(services.notify.create_app({"TESTING": False}), COORDINATOR)

    page = client.get(f"/staff/log/{message_id}")
    frame = client.get(f"/staff/log/{message_id}/html")

    assert page.status_code == 200
    assert f'src="/staff/log/{message_id}/html"' in page.get_data(as_text=True)
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert frame.status_code == 200
    assert frame.headers["Content-Security-Policy"] == (
        "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; "
        "form-action 'none'; base-uri 'none'; frame-ancestors 'self'"
    )
    assert frame.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert frame.headers["Referrer-Policy"] == "no-referrer"
    assert frame.headers["X-Content-Type-Options"] == "nosniff"
    assert frame.headers["Cache-Control"] == "no-store"
    # Signed out, the frame's address is the sign-in redirect, which no page may frame.
    signed_out = services.notify.create_app({"TESTING": False}).test_client()
    refused = signed_out.get(f"/staff/log/{message_id}/html")
    assert refused.status_code in {302, 303}
    assert "frame-ancestors 'none'" in refused.headers["Content-Security-Policy"]


# -- the server the launchers run ----------------------------------------------------------


GUNICORN_CONFIG = ["--config", "python:deploy.gunicorn_conf"]


def launcher_command_lines(var_dir: Path) -> dict[str, list[str]]:
    """Every gunicorn command line the repository runs: compose, the image, `alliance web`
    and `alliance run`."""
    from deploy import cli, supervisor

    found: dict[str, list[str]] = {}
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    for name, service in compose["services"].items():
        command = service.get("command")
        if isinstance(command, list) and command and command[0] == "gunicorn":
            found[f"docker-compose.yml {name}"] = command
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text(encoding="utf-8")
    [cmd] = re.findall(r"^CMD (\[.*?\])$", dockerfile.replace("\\\n", " "), re.MULTILINE)
    found["deploy/Dockerfile"] = json.loads(cmd)

    ran: list[list[str]] = []

    def execvp(program: str, argv: list[str]) -> None:
        ran.append(argv)

    original = cli.os.execvp
    cli.os.execvp = execvp  # type: ignore[assignment]
    try:
        cli.web.callback(bind="127.0.0.1:0")  # type: ignore[misc]
    finally:
        cli.os.execvp = original
    found["alliance web"] = ran[0]
    plan = supervisor.Supervisor(var_dir=var_dir, port=0, concurrency=1)
    plan.plan()
    [web] = [child for child in plan.children if child.name == "web"]
    found["alliance run"] = web.argv
    return found


def test_every_launcher_runs_gunicorn_with_the_config_that_hides_its_name(tmp_path):
    lines = launcher_command_lines(tmp_path)

    assert len(lines) == 7  # four services in compose, the image, `alliance web`, `alliance run`
    missing = {
        name: argv
        for name, argv in lines.items()
        if not any(argv[i : i + 2] == GUNICORN_CONFIG for i in range(len(argv)))
    }
    assert missing == {}


@pytest.fixture
def gateway(redis_client) -> Iterator[int]:
    """The port of the development gateway (every service under one port) in the gunicorn
    `alliance web` runs, with the config every launcher passes."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            *GUNICORN_CONFIG,
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "deploy.gateway:create_gateway()",
        ],
        cwd=ROOT,
        env=dict(os.environ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                answer(port, "/healthz")
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    process.kill()
                    _, err = process.communicate(timeout=10)
                    pytest.fail(f"gunicorn did not start: {err.decode()[-3000:]}")
                time.sleep(0.2)
        yield port
    finally:
        process.terminate()
        try:
            process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()


def answer(port: int, path: str) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers={"Accept": "text/html"})
        response = connection.getresponse()
        response.read()
        return response
    finally:
        connection.close()


def test_the_gateway_under_gunicorn_names_no_server_and_sends_the_headers(gateway):
    for path in ("/apply", "/status/not-a-signed-link", "/review/staff/sign-in", "/notify/x"):
        response = answer(gateway, path)
        headers = response.headers

        assert (path, response.status) in {(path, 200), (path, 404)}
        assert (path, headers.get_all("Server")) == (path, None)
        policy = headers.get("Content-Security-Policy", "")
        assert "script-src 'self';" in policy
        assert "frame-ancestors 'none'" in policy
        assert headers["X-Content-Type-Options"] == "nosniff"
        signed_link = path.startswith("/status/")
        expected = "no-referrer" if signed_link else "strict-origin-when-cross-origin"
        assert headers["Referrer-Policy"] == expected
