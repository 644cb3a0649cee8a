"""Faults injected into the whole running system; nothing acknowledged is lost or doubled.

Each test starts ``alliance run`` against servers it owns (tests/faults/harness.py), submits
proposals over HTTP, injects faults, waits (bounded) until the pipeline settles, and checks end
to end: every proposal the client got a 201 for is stored and in review exactly once, and its
two messages (the receipt and the Coordinator's alert) were delivered exactly once, except
where a delivery was ambiguous (the connection dropped after DATA), which is counted.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence

import pytest

from tests.faults.harness import (
    Acknowledged,
    FaultLab,
    Submission,
    Tally,
    contact_email,
    kill_pool_child,
    kill_worker,
    lock_waiters,
    pool_pids,
    submit,
    table_locked,
    wait_pool_replaced,
    wait_until,
    wait_worker_replaced,
)

pytestmark = [pytest.mark.e2e, pytest.mark.fault]


def submit_all(lab: FaultLab, tag: str, count: int, *, retry_for: float = 60) -> list[Submission]:
    """Submit ``count`` proposals one after another, retrying (same key) through outages."""
    return [
        submit(lab.base, contact_email(tag, index), retry_for=retry_for) for index in range(count)
    ]


def acknowledged(submissions: Sequence[Submission]) -> list[Acknowledged]:
    for submission in submissions:
        assert submission.acknowledged, (submission.status, submission.body, submission.answers)
    return [Acknowledged.of(s) for s in submissions]


def explain(lab: FaultLab, tally: Tally) -> str:
    try:
        backlog = str(lab.valkey.backlog())
    except Exception as err:  # the broker may be the thing that is down
        backlog = f"unreachable ({err})"
    return f"\n{tally.table()}\nbroker: {backlog}\n{lab.log()}"


def settle(
    lab: FaultLab,
    acks: Sequence[Acknowledged],
    *,
    timeout: float,
    other_contacts: Sequence[str] = (),
) -> Tally:
    """Wait until the pipeline settled, then check exactly-once end to end."""
    checker = lab.checker()
    try:
        tally = checker.wait_settled(acks, timeout=timeout, other_contacts=other_contacts)
    finally:
        checker.close()
    assert tally.exactly_once, explain(lab, tally)
    assert tally.duplicate <= lab.smtp.dropped, explain(lab, tally)
    print(tally.table())
    return tally


def stop(lab: FaultLab) -> None:
    code = lab.stop_system()
    assert code == 0, lab.log()


@pytest.mark.timeout(300)
def test_kill9_pool_children_and_whole_workers_mid_task(lab):
    """Each kill leaves a task unfinished; all four happen before one wait, as notify gives a
    message left ``sending`` back only after its lease (60 s in the lab)."""
    system = lab.start_system()
    review_db = lab.database_urls["review"]
    submissions = submit_all(lab, "kill-before", 2)

    # notify's pool child is in the middle of an SMTP transaction (the server is slow).
    lab.smtp.slow(4)
    submissions.append(submit(lab.base, contact_email("kill-notify-pool", 0), retry_for=30))
    lab.smtp.wait_receiving()
    killed = kill_pool_child(system, "notify")
    lab.smtp.slow(0)
    wait_pool_replaced(system, "notify", killed)

    # review's pool child waits for a table lock the test holds.
    with table_locked(review_db, "queued_proposals"):
        submissions.append(submit(lab.base, contact_email("kill-review-pool", 0), retry_for=30))
        wait_until(lambda: lock_waiters(review_db) > 0, timeout=30, what="review blocked")
        killed = kill_pool_child(system, "review")
        wait_pool_replaced(system, "review", killed)

    # notify's whole worker (main process and pool) dies while a task is mid-send.
    lab.smtp.slow(4)
    submissions.append(submit(lab.base, contact_email("kill-notify-worker", 0), retry_for=30))
    lab.smtp.wait_receiving()
    old = kill_worker(system, "notify")
    lab.smtp.slow(0)
    wait_worker_replaced(system, "notify", old)

    # review's whole worker dies while its task waits for the lock: Redis holds the task
    # unacknowledged until the visibility timeout hands it to the restarted worker.
    with table_locked(review_db, "queued_proposals"):
        submissions.append(submit(lab.base, contact_email("kill-review-worker", 0), retry_for=30))
        wait_until(lambda: lock_waiters(review_db) > 0, timeout=30, what="review blocked")
        old = kill_worker(system, "review")
        wait_worker_replaced(system, "review", old)

    submissions += submit_all(lab, "kill-after", 2)
    settle(lab, acknowledged(submissions), timeout=200)
    stop(lab)


@pytest.mark.timeout(240)
def test_valkey_restart_with_tasks_queued_and_held(lab):
    lab.start_system()
    # A slow mail server makes notify's queue back up while the submissions come in.
    lab.smtp.slow(0.4)
    submissions = submit_all(lab, "valkey-before", 12)
    wait_until(lambda: lab.valkey.backlog()["notify"] >= 3, timeout=30, what="notify backlog")
    lab.smtp.wait_receiving()  # and one task is held mid-send

    # Valkey stops gracefully (its append-only file has every task) while clients submit.
    during: list[Submission] = []
    lab.valkey.stop()
    client = threading.Thread(
        target=lambda: during.extend(submit_all(lab, "valkey-during", 4, retry_for=60))
    )
    client.start()
    time.sleep(3)  # time passes on purpose: Valkey stays away 3 s while the client retries
    lab.valkey.start()
    client.join(90)

    submissions += during + submit_all(lab, "valkey-after", 2)
    lab.smtp.slow(0)
    settle(lab, acknowledged(submissions), timeout=150)
    print("answers while Valkey was away:", [s.answers for s in during])
    stop(lab)


@pytest.mark.timeout(240)
def test_smtp_outage_then_drops_after_data(lab):
    lab.start_system()

    # The mail server is away for longer than the first retry steps (1 s, 2 s, 4 s).
    lab.smtp.stop()
    outage = submit_all(lab, "smtp-outage", 3)
    time.sleep(9)  # time passes on purpose: the outage outlasts the first retry steps
    lab.smtp.start()
    outage_acks = acknowledged(outage)
    settle(lab, outage_acks, timeout=90)

    # The server takes the next messages but drops the connection before its 250.
    lab.smtp.drop_after_data(3)
    drops = submit_all(lab, "smtp-drop", 3)
    tally = settle(lab, outage_acks + acknowledged(drops), timeout=90)
    assert lab.smtp.dropped == 3
    assert tally.ambiguous >= lab.smtp.dropped, explain(lab, tally)
    stop(lab)


@pytest.mark.timeout(240)
def test_database_cuts(lab):
    lab.start_system()

    # intake's database goes away for 3 s while three clients keep submitting.
    submissions: list[Submission] = []
    lock = threading.Lock()
    enough = threading.Event()

    def client(tag: str) -> None:
        index = 0
        while not enough.is_set():
            done = submit(lab.base, contact_email(tag, index))
            with lock:
                submissions.append(done)
            index += 1
            time.sleep(0.1)  # a client's pace, not a wait for anything

    clients = [threading.Thread(target=client, args=(f"cut-{n}",)) for n in range(3)]
    for thread in clients:
        thread.start()
    wait_until(
        lambda: any(s.acknowledged for s in submissions),
        timeout=30,
        what="a submission acknowledged before the cut",
    )
    lab.proxies["intake"].cut()
    time.sleep(3)  # time passes on purpose: the database stays away 3 s
    lab.proxies["intake"].restore()
    restored = len(submissions)
    wait_until(
        lambda: any(s.acknowledged for s in submissions[restored:]),
        timeout=30,
        what="a submission acknowledged after the restore",
    )
    enough.set()
    for thread in clients:
        thread.join(60)

    refused = [s for s in submissions if not s.acknowledged]
    assert refused, "the cut came too late: every submission was acknowledged"
    uncertain = []
    for submission in refused:
        assert submission.status == 503, (submission.status, submission.body)
        # RETRY_AFTER_SECONDS=1 in the lab: the outage's wait, not the rate limiter's window.
        assert submission.retry_after == "1", submission.retry_after
        message = json.dumps(submission.body).lower()
        if "may or may not have been stored" in message:
            uncertain.append(submission)  # the connection broke during the COMMIT itself
        else:
            assert "nothing you sent was stored" in message, submission.body
    # What the 503 could not tell, sending it again with the same key does: once only.
    resent = [submit(lab.base, s.email, key=s.key, retry_for=30) for s in uncertain]
    refused = [s for s in refused if s not in uncertain]
    ok = [s for s in submissions if s.acknowledged] + resent
    assert ok

    # review's database goes away for a few seconds: its consumer retries.
    lab.proxies["review"].cut()
    during = submit_all(lab, "cut-review", 4, retry_for=30)
    time.sleep(5)  # time passes on purpose: review's database stays away while it retries
    lab.proxies["review"].restore()

    settle(
        lab,
        acknowledged(ok + during),
        timeout=120,
        other_contacts=[s.email for s in refused],
    )
    stop(lab)


@pytest.mark.timeout(240)
def test_every_event_twice_and_a_second_beat(lab):
    lab.start_system()
    beat = lab.start_extra_beat()
    submissions = submit_all(lab, "twice", 6)
    settle(lab, acknowledged(submissions), timeout=60)

    sent = lab.republish_outbox(times=2)
    assert sent >= 2 * 2 * len(submissions)  # proposal.submitted to review and notify
    # Once the queues drained, the repeats were handled.
    wait_until(
        lambda: lab.valkey.backlog()["notify"] + lab.valkey.backlog()["review"] == 0,
        timeout=60,
        what="queues drained",
    )
    submissions += submit_all(lab, "twice-after", 2)
    settle(lab, acknowledged(submissions), timeout=60)

    assert beat.process.poll() is None, beat.log_path.read_text()
    assert "stands by: another beat leads" in beat.log_path.read_text()
    assert pool_pids(lab.system, "notify")
    stop(lab)
