"""From a signed alliance to its first report reminder, over the real processes: review
releases an approval, the Coordinator records the signing of the agreement, reporting (its
worker) schedules the reports and notify welcomes the
partner with the calendar and the first report's link, the operator's
``alliance reporting scan`` emits the reminder, notify (its worker) mails it; a second scan
for the same instant sends nothing more; notify's message log, filtered by the proposal's
reference, lists every message from the receipt to the reminder, and the webhook deliveries
(proposal submitted and approved, alliance signed) that reached the Coordinator's receiver.
"""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from standardwebhooks import Webhook

from deploy.embedded import free_port
from shared.db import sqlalchemy_url
from shared.times import agency_zone
from tests.e2e.system import RunningSystem
from tests.e2e.test_pipeline import query, smtp_env, submit_and_read_receipt
from tests.smtp import text_of
from tests.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.e2e

LIAISON_EMAIL = "lee.liaison@agency.example"
PARTNER = "Michigan Roofing Contractors Association"  # shared.testing.example_proposal
WEBHOOK_TYPES = [
    "proposal.submitted",
    "proposal.approved",
    "alliance.signed",
    "report.submitted",
    "report.overdue",
    "report.escalated",
]


class StaffClient:
    """A staff member's browser-less client: the session cookie, Flask's CSRF cookie, and
    the ``X-CSRFToken`` header review's API asks for on writes."""

    def __init__(self, system: RunningSystem, cookie: str) -> None:
        self.system = system
        name, _, value = cookie.partition("=")
        self.cookies = {name: value}
        self.csrf = ""

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(  # noqa: S310 (loopback only)
            self.system.base + path, data=data, method=method
        )
        request.add_header("Cookie", "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        if data:
            request.add_header("Content-Type", "application/json")
        if self.csrf:
            request.add_header("X-CSRFToken", self.csrf)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                self._keep(response.headers.get_all("Set-Cookie") or [])
                return response.status, json.load(response)
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"null")

    def page(self, path: str) -> tuple[int, str]:
        """A staff page's status and HTML."""
        request = urllib.request.Request(self.system.base + path)  # noqa: S310 (loopback)
        request.add_header("Cookie", "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        request.add_header("Accept", "text/html")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                return response.status, response.read().decode()
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode()

    def _keep(self, set_cookies: list[str]) -> None:
        for header in set_cookies:
            name, _, rest = header.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]

    def start(self) -> None:
        status, me = self.call("GET", "/review/api/v1/staff/me")
        assert status == 200, me
        self.csrf = me["csrf_token"]


def store(url: str, sql: str, **params: Any) -> None:
    engine = create_engine(sqlalchemy_url(url))
    try:
        with engine.begin() as conn:
            conn.execute(text(sql), params)
    finally:
        engine.dispose()


def add_liaison(review_database: str) -> uuid.UUID:
    """Lee Liaison (LIAISON_EMAIL), a liaison on review's staff, stored straight in its
    database; returns the id."""
    liaison_id = uuid.uuid4()
    store(
        review_database,
        "INSERT INTO staff_users (id, email, name, password_hash, roles, active, created_at,"
        " updated_at) VALUES (:id, :email, 'Lee Liaison', 'unused', ARRAY['liaison'], true,"
        " now(), now())",
        id=liaison_id,
        email=LIAISON_EMAIL,
    )
    return liaison_id


def scan(now: datetime, env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "deploy.cli", "reporting", "scan", "--now", now.isoformat()],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.usefixtures("redis_client")
def test_a_signed_alliance_gets_its_first_reminder_once(tmp_path, smtp_server, clean_databases):
    receiver = WebhookReceiver().start()
    # The test's receiver listens on loopback: the operator allows that host for webhooks.
    env = {**os.environ, **smtp_env(smtp_server), "WEBHOOK_ALLOWED_HOSTS": "127.0.0.1"}
    system = RunningSystem(var_dir=tmp_path / "var", port=free_port(), env=env)
    try:
        # The Coordinator registers an endpoint for every event type before anything happens.
        system.wait_healthy()
        coordinator = StaffClient(system, system.staff_cookie("coordinator"))
        coordinator.start()
        status, endpoint = coordinator.call(
            "POST",
            "/notify/api/v1/webhooks/endpoints",
            {"url": receiver.url, "description": "Partner portal", "event_types": WEBHOOK_TYPES},
        )
        assert status == 201, endpoint
        proposal = submit_and_read_receipt(system, smtp_server)
        liaison_id = add_liaison(clean_databases["review"])

        staff = StaffClient(system, system.staff_cookie("coordinator", "reviewer"))
        staff.start()
        # Signed the day it is approved (a signing is never before its approval).
        signing = datetime.now(agency_zone()).date()
        status, prepared = staff.call(
            "POST",
            f"/review/api/v1/proposals/{proposal['id']}/decision",
            {
                "kind": "approved",
                "details": {
                    "division": "construction_safety_health",
                    "liaison_id": str(liaison_id),
                    "term_years": 2,
                },
            },
        )
        assert status in (200, 201), prepared
        status, released = staff.call(
            "POST", "/review/api/v1/decisions/release", {"decision_ids": [prepared["id"]]}
        )
        assert status == 200, released
        [(alliance_id,)] = query(
            clean_databases["review"],
            "SELECT id FROM alliances WHERE proposal_id = :id",
            id=proposal["id"],
        )
        # The approval letter, held in notify for a last look, is released and goes out
        # before the agreement is signed.
        held: list[dict[str, Any]] = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not held:
            status, found = staff.call("GET", "/notify/api/v1/held")
            assert status == 200, found
            held = found["messages"]
            time.sleep(0.3)
        status, answer = staff.call(
            "POST", "/notify/api/v1/held/release", {"message_ids": [m["id"] for m in held]}
        )
        assert status == 200, answer
        smtp_server.inbox.wait_for(
            lambda m: m["To"] == "dana@example.org" and "is approved" in str(m["Subject"])
        )
        status, page = staff.call(
            "POST",
            f"/review/api/v1/alliances/{alliance_id}/signing",
            {"signing_date": signing.isoformat()},
        )
        assert status == 200, page

        # Reporting's worker schedules the term from alliance.signed.
        reports: list[dict[str, Any]] = []
        deadline = time.monotonic() + 30
        status = 404  # until reporting's worker has stored the alliance
        while time.monotonic() < deadline and (status != 200 or not reports):
            status, reports = staff.call(
                "GET", f"/reporting/api/v1/alliances/{alliance_id}/reports"
            )
            time.sleep(0.3)
        assert status == 200, (status, reports, system.log())
        assert reports, system.log()
        first = reports[0]
        assert first["kind"] == "quarterly"
        assert first["period_start"] == signing.isoformat()

        # Notify welcomes the partner once reporting has the calendar: the reports and the
        # link to the first one's form, which opens through the gateway.
        [welcome] = smtp_server.inbox.wait_for(
            lambda m: m["To"] == "dana@example.org" and "is signed" in str(m["Subject"])
        )
        body = text_of(welcome).replace("\r\n", "\n")
        assert "The report calendar" in body, body
        found = re.search(r"here:\n\S*(/reporting/reports/[^/\s]+)\n", body)
        assert found, body
        with urllib.request.urlopen(system.base + found.group(1), timeout=10) as response:  # noqa: S310
            assert response.status == 200
        smtp_server.inbox.wait_for(
            lambda m: m["To"] == LIAISON_EMAIL and "you are the liaison" in str(m["Subject"])
        )

        # The operator's scan at the due reminder's moment: only the most recent reminder of
        # that report goes out (the two "due soon" ones passed unsent, as after an outage).
        at = datetime.fromisoformat(_due_at(clean_databases["reporting"], first["id"], 0))
        at = at + timedelta(minutes=1)
        assert scan(at, env) == "due_soon: 0, due: 1, overdue: 0, escalated: 0"
        reference = proposal["reference"]
        [to_partner] = smtp_server.inbox.wait_for(
            lambda m: m["To"] == "dana@example.org" and "is due today" in str(m["Subject"])
        )
        assert reference in str(to_partner["Subject"])
        smtp_server.inbox.wait_for(
            lambda m: m["To"] == LIAISON_EMAIL and "is due today" in str(m["Subject"])
        )
        assert "/reporting/reports/" in text_of(to_partner) or "liaison" in text_of(to_partner)

        # The same instant again: nothing more is emitted or sent.
        assert scan(at, env) == "due_soon: 0, due: 0, overdue: 0, escalated: 0"
        time.sleep(2)  # time passes on purpose: a second send would have arrived by now
        assert len(smtp_server.inbox.matching(lambda m: "is due today" in str(m["Subject"]))) == 2
        status, reports = staff.call("GET", f"/reporting/api/v1/alliances/{alliance_id}/reports")
        assert status == 200, (status, reports)
        assert reports[0]["status"] == "due"
        sent = {(r["kind"], r["days"]): r["sent_at"] for r in reports[0]["reminders"]}
        assert sent[("due", 0)] is not None
        assert sent[("overdue", 1)] is None

        # The message log, filtered by the proposal's reference, tells the story newest first:
        # every message about the proposal and its alliance, what became of each.
        expected = [
            (f"Action required: your quarterly report for {reference} is due today", "Sent"),
            (f"Copy: the quarterly report of {PARTNER} for {reference} is due today", "Sent"),
            (f"Action required: you are the liaison for {PARTNER} ({reference})", "Sent"),
            (f"Your alliance with MIOSHA is signed ({reference})", "Sent"),
            # Review released its decision; staff released its e-mail after a last look.
            (f"Your Alliance proposal {reference} is approved", "Sent"),
            (f"Action required: new Alliance proposal {reference} from {PARTNER}", "Sent"),
            (f"We received your Alliance proposal {reference}", "Sent"),
        ]
        deadline = time.monotonic() + 20
        rows: list[tuple[str, str, str]] = []
        while time.monotonic() < deadline:
            status, log = staff.page(f"/notify/staff/log?reference={reference.lower()}")
            assert status == 200, log
            rows = _log_rows(log)
            if sorted((subject, state) for _, subject, state in rows) == sorted(expected):
                break
            time.sleep(0.5)
        assert f"<h1>Messages about {reference}</h1>" in log
        assert sorted((subject, state) for _, subject, state in rows) == sorted(expected), rows
        # Newest first: the reminders lead, the receipt and the Coordinator's alert close.
        assert {rows[0][1], rows[1][1]} == {expected[0][0], expected[1][0]}
        assert {rows[-1][1], rows[-2][1]} == {expected[-1][0], expected[-2][0]}
        welcome = next(href for href, subject, _ in rows if subject == expected[3][0])
        status, page = staff.page(welcome)
        assert status == 200, page
        assert "Accepted" in page
        assert "The report calendar" in page
        assert re.search(r"<iframe[^>]*sandbox=\"\"", page)

        # The webhook deliveries that went out: signed, each once, and listed in the log of
        # the reference for the Coordinator beside the e-mails.
        expected_hooks = ["proposal.submitted", "proposal.approved", "alliance.signed"]
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and len(receiver.received) < len(expected_hooks):
            time.sleep(0.3)
        verifier = Webhook(endpoint["secret"])
        received = [verifier.verify(r.body, r.headers) for r in receiver.received]
        assert sorted(hook["type"] for hook in received) == sorted(expected_hooks), received
        assert {hook["data"]["reference"] for hook in received} == {reference}
        status, log = coordinator.page(f"/notify/staff/log?reference={reference}")
        assert status == 200, log
        hooks = log.partition('id="webhook-deliveries"')[2]
        for event_type in expected_hooks:
            assert f">{event_type}</a>" in hooks, hooks
        assert hooks.count("Delivered") == len(expected_hooks), hooks
    finally:
        receiver.stop()
        assert system.stop() == 0, system.log()


def _log_rows(page: str) -> list[tuple[str, str, str]]:
    """The message log page's rows: each message's link, subject and status."""
    rows = []
    page = page.partition('id="webhook-deliveries"')[0]  # the e-mails' table only
    for row in page.split("<tr>")[2:]:  # after the header's row
        link = re.search(r'<a class="usa-link" href="([^"]+)">([^<]*)</a>', row)
        state = re.search(r'<span class="usa-tag[^"]*">([^<]*)</span>', row)
        assert link, row
        assert state, row
        rows.append((link[1], html.unescape(link[2]), state[1]))
    return rows


def _due_at(reporting_url: str, report_id: str, days: int) -> str:
    [(due_at,)] = query(
        reporting_url,
        "SELECT due_at FROM report_reminders WHERE report_id = :id AND kind = 'due'"
        " AND days = :days",
        id=report_id,
        days=days,
    )
    return due_at.isoformat()
