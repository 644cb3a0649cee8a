"""The whole path over real processes: HTTP in, events over the broker, e-mail out.

The tests share one system on the test servers (``system``), each on proposals of its own."""

import os
import re
import time
import urllib.request
from collections.abc import Iterator
from datetime import datetime

import pytest
from sqlalchemy import create_engine, text

from deploy.embedded import free_port
from shared.config import SERVICES
from shared.db import sqlalchemy_url
from shared.testing import example_proposal
from shared.times import agency_zone
from tests.e2e.system import RunningSystem
from tests.smtp import SmtpServer, text_of

pytestmark = pytest.mark.e2e


def smtp_env(smtp_server) -> dict[str, str]:
    return {
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp_server.port),
        "COORDINATOR_EMAIL": "coordinator@agency.example",
    }


def submit_and_read_receipt(system: RunningSystem, smtp_server) -> dict:
    health = system.wait_healthy()
    assert sorted(health["services"]) == sorted(SERVICES)
    assert all(s["state"] == "up" for s in health["services"].values())

    status, body = system.request("POST", "/api/v1/proposals", example_proposal())
    assert status == 201, body
    assert body["status"] == "submitted"
    reference = body["reference"]

    [receipt] = smtp_server.inbox.wait_for(
        lambda m: m["To"] == "dana@example.org" and reference in str(m["Subject"])
    )
    assert f"Your reference number is {reference}." in text_of(receipt)
    smtp_server.inbox.wait_for(
        lambda m: m["To"] == "coordinator@agency.example" and reference in str(m["Subject"])
    )

    cookie = system.staff_cookie("reviewer")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        _, queue = system.request("GET", "/review/api/v1/queue", cookie=cookie)
        if reference in [p["reference"] for p in queue["proposals"]]:
            break
        time.sleep(0.2)
    # Other proposals of the module's tests may wait beside it; this one waits once.
    assert [p["reference"] for p in queue["proposals"]].count(reference) == 1
    return body


def query(url: str, sql: str, **params) -> list:
    engine = create_engine(sqlalchemy_url(url))
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(sql), params))
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def smtp_server() -> Iterator[SmtpServer]:
    """One SMTP server for the module's system (tests/conftest.py has one a test)."""
    server = SmtpServer(free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def databases(clean_databases_for_module: dict[str, str]) -> dict[str, str]:
    return clean_databases_for_module


@pytest.fixture(scope="module")
def system(
    tmp_path_factory: pytest.TempPathFactory,
    smtp_server: SmtpServer,
    databases: dict[str, str],
) -> Iterator[RunningSystem]:
    """One system on the test servers for the module's tests, each on its own proposals: it
    starts once (a dozen processes) instead of once a test, and stops cleanly at the end."""
    env = {**os.environ, **smtp_env(smtp_server)}
    var_dir = tmp_path_factory.mktemp("pipeline") / "var"
    running = RunningSystem(var_dir=var_dir, port=free_port(), env=env)
    try:
        running.wait_healthy()
        yield running
    finally:
        assert running.stop() == 0, running.log()


def test_pipeline_on_redis_and_postgresql(system, smtp_server, databases):
    submitted = submit_and_read_receipt(system, smtp_server)

    # Redeliver the same proposal.submitted twice, then a malformed one, then a sentinel
    # proposal: each worker runs one task at a time in queue order, so once the
    # sentinel's receipt is out, the duplicates and the malformed event were handled.
    from services.intake.worker import celery

    [(message,)] = query(
        databases["intake"],
        "SELECT message FROM outbox_events WHERE type = 'proposal.submitted' "
        "AND message -> 'payload' ->> 'proposal_id' = :id",
        id=submitted["id"],
    )
    for _ in range(2):
        for task in ("review.proposal_submitted", "notify.proposal_submitted"):
            celery.send_task(task, kwargs={"event": message}, queue=task.split(".")[0])
    malformed = {**message, "event_id": "not-a-uuid"}
    celery.send_task("review.proposal_submitted", kwargs={"event": malformed}, queue="review")
    sentinel = example_proposal()
    sentinel["contact"]["email"] = "sentinel@example.org"
    status, answer = system.request("POST", "/api/v1/proposals", sentinel)
    assert status == 201
    smtp_server.inbox.wait_for(lambda m: m["To"] == "sentinel@example.org")
    both = {"ids": [submitted["id"], answer["id"]]}
    in_queue = "SELECT 1 FROM queued_proposals WHERE proposal_id::text = ANY(:ids)"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if len(query(databases["review"], in_queue, **both)) == 2:
            break
        time.sleep(0.2)

    receipts = smtp_server.inbox.matching(
        lambda m: submitted["reference"] in str(m["Subject"]) and m["To"] == "dana@example.org"
    )
    assert len(receipts) == 1
    review_rows = query(
        databases["review"],
        "SELECT reference FROM queued_proposals WHERE proposal_id = :id",
        id=submitted["id"],
    )
    assert len(review_rows) == 1
    rejected = query(databases["review"], "SELECT reason, event_id FROM rejected_events")
    assert [tuple(r) for r in rejected] == [("malformed", "not-a-uuid")]
    assert (
        "rejected a malformed proposal.submitted event"
        in (system.var_dir / "log" / "review-worker.log").read_text()
    )


def link_in(message, prefix: str) -> str:
    found = re.search(rf"{re.escape(prefix)}\S+", text_of(message))
    assert found is not None, text_of(message)
    return found.group(0)


def test_draft_resume_submit_and_status_link(system, smtp_server):
    partial = {
        "contact": {"email": "dana@example.org", "name": "Dana Smith"},
        "organization": {"name": "Michigan Roofing Contractors Association"},
    }
    status, draft = system.request("POST", "/api/v1/drafts", {"proposal": partial})
    assert status == 201, draft

    [draft_mail] = smtp_server.inbox.wait_for(
        lambda m: str(m["Subject"]).startswith("Your saved Alliance proposal draft")
    )
    # The mailed link and the answer's are signed apart (a second may pass between them).
    resume_url = link_in(draft_mail, f"{system.base}/apply/resume/")
    assert draft["resume_url"].startswith(f"{system.base}/apply/resume/")
    with urllib.request.urlopen(resume_url, timeout=10) as page:  # noqa: S310 (loopback)
        assert 'value="Michigan Roofing Contractors Association"' in page.read().decode()

    token = resume_url.rsplit("/", 1)[1]
    status, _ = system.request(
        "PUT", f"/api/v1/drafts/{draft['id']}?token={token}", {"proposal": example_proposal()}
    )
    assert status == 200
    status, submitted = system.request("POST", f"/api/v1/drafts/{draft['id']}/submit?token={token}")
    assert status == 201, submitted

    [receipt] = smtp_server.inbox.wait_for(
        lambda m: submitted["reference"] in str(m["Subject"]) and m["To"] == "dana@example.org"
    )
    status_url = link_in(receipt, f"{system.base}/status/")
    assert submitted["status_url"].startswith(f"{system.base}/status/")

    # notify reports what it sent; intake shows it on the status page.
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with urllib.request.urlopen(status_url, timeout=10) as page:  # noqa: S310
            html = page.read().decode()
        if "We received your Alliance proposal" in html:
            break
        time.sleep(0.3)
    assert f"Proposal {submitted['reference']}" in html
    assert "Submitted: waiting for review" in html
    assert "We received your Alliance proposal" in html


def test_the_approval_letter_comes_first_and_the_signed_mail_only_after_the_signing(
    system, smtp_server, databases
):
    # Imported here: that module imports this one's helpers.
    from tests.e2e.test_report_reminders import LIAISON_EMAIL, StaffClient, add_liaison

    proposal = submit_and_read_receipt(system, smtp_server)
    reference = proposal["reference"]
    liaison_id = add_liaison(databases["review"])
    staff = StaffClient(system, system.staff_cookie("coordinator", "reviewer"))
    staff.start()
    status, prepared = staff.call(
        "POST",
        f"/review/api/v1/proposals/{proposal['id']}/decision",
        {
            "kind": "approved",
            "details": {
                "division": "construction_safety_health",
                "liaison_id": str(liaison_id),
            },
        },
    )
    assert status == 201, prepared
    status, released = staff.call(
        "POST", "/review/api/v1/decisions/release", {"decision_ids": [prepared["id"]]}
    )
    assert status == 200, released
    [(alliance_id,)] = query(
        databases["review"],
        "SELECT id FROM alliances WHERE proposal_id = :id",
        id=proposal["id"],
    )

    # The approval letter waits for a last look; staff release it and it goes out.
    held: list[dict] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not held:
        status, found = staff.call("GET", "/notify/api/v1/held")
        assert status == 200, found
        held = [m for m in found["messages"] if m["template"] == "decision_approved"]
        time.sleep(0.3)
    assert held, system.log()
    status, sent = staff.call(
        "POST", "/notify/api/v1/held/release", {"message_ids": [held[0]["id"]]}
    )
    assert status == 200, sent
    [letter] = smtp_server.inbox.wait_for(
        lambda m: m["To"] == "dana@example.org" and "is approved" in str(m["Subject"])
    )
    letter_text = text_of(letter)
    assert "Once the agreement is signed you will receive the schedule" in letter_text
    assert "Signing date" not in letter_text

    # Not signed yet: no report schedule, no "signed" mail, no welcome for the liaison.
    time.sleep(3)  # time passes on purpose: nothing may follow the approval by itself
    status, _ = staff.call("GET", f"/reporting/api/v1/alliances/{alliance_id}/reports")
    assert status == 404
    assert not smtp_server.inbox.matching(lambda m: "is signed" in str(m["Subject"]))
    assert not smtp_server.inbox.matching(lambda m: m["To"] == LIAISON_EMAIL)

    # The Coordinator records the signing: the schedule starts, the mail follows.
    signed_on = datetime.now(agency_zone()).date()
    status, page = staff.call(
        "POST",
        f"/review/api/v1/alliances/{alliance_id}/signing",
        {"signing_date": signed_on.isoformat()},
    )
    assert status == 200, page
    assert (page["status"], page["signing_date"]) == ("active", signed_on.isoformat())
    [signed] = smtp_server.inbox.wait_for(
        lambda m: m["To"] == "dana@example.org" and "is signed" in str(m["Subject"])
    )
    assert reference in str(signed["Subject"])
    smtp_server.inbox.wait_for(lambda m: m["To"] == LIAISON_EMAIL)
    to_partner = smtp_server.inbox.matching(lambda m: m["To"] == "dana@example.org")
    assert to_partner.index(letter) < to_partner.index(signed)
