"""E-mail delivery against real PostgreSQL and a real (in-process) SMTP server: each attempt
counted once, attempts spaced on the schedule, nothing lost and nothing sent twice unseen."""

import logging
import threading
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError

from deploy.embedded import free_port
from services.notify import tasks
from services.notify.delivery import attempts
from services.notify.delivery import domain as messages
from services.notify.delivery.mail import Mailer, SmtpMailer
from services.notify.models import MailChannel, Message, OutboxEvent
from services.notify.worker import database
from shared.config import SmtpSettings, load_settings
from shared.db import utcnow
from tests.helpers import queued_tasks
from tests.smtp import DroppingInbox, Inbox, RefusingInbox, SmtpServer, text_of

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clean_databases")]

MAIL_FROM = "Alliance Program <alliances@agency.example>"
SCHEDULE = (timedelta(minutes=1), timedelta(minutes=5), timedelta(hours=1))
LEASE = timedelta(seconds=120)


@pytest.fixture(autouse=True)
def short_schedule(monkeypatch):
    """Four attempts, 1 min, 5 min and 1 h apart (the parsed NOTIFY_RETRY_SCHEDULE)."""
    monkeypatch.setenv("NOTIFY_RETRY_SCHEDULE", "1m,5m,1h")
    monkeypatch.setenv("NOTIFY_SENDING_LEASE_SECONDS", str(int(LEASE.total_seconds())))


def a_pending_message(**overrides) -> uuid.UUID:
    values = {
        "cause": f"test:{uuid.uuid4()}",
        "template": "proposal_receipt",
        "to_address": "dana@example.org",
        "subject": "We received your Alliance proposal AP-2026-00007",
        "text_body": "Your reference number is AP-2026-00007.\n",
        "html_body": "<p>Your reference number is <strong>AP-2026-00007</strong>.</p>",
        "reference": "AP-2026-00007",
    }
    values.update(overrides)
    with database.transaction() as session:
        message = Message(**values)
        session.add(message)
        session.flush()
        return message.id


def load(message_id) -> Message:
    with database.transaction() as session:
        message = session.get(Message, message_id)
        assert message is not None
        return message


def change(message_id, **values) -> None:
    with database.transaction() as session:
        session.execute(update(Message).where(Message.id == message_id).values(**values))


def make_due(message_id) -> None:
    """As if the pause before the next attempt had passed."""
    change(message_id, next_attempt_at=utcnow() - timedelta(seconds=1))


def smtp_mailer(port: int) -> SmtpMailer:
    return SmtpMailer(
        SmtpSettings(
            host="127.0.0.1", port=port, username="", password="", starttls=False, timeout=2
        )
    )


def deliver(message_id, mailer: Mailer) -> messages.Outcome:
    return tasks.deliver(
        message_id,
        mailer=mailer,
        mail_from=MAIL_FROM,
        policy=tasks.delivery_policy(load_settings()),
    )


def alerts() -> list[Message]:
    with database.transaction() as session:
        return list(
            session.scalars(select(Message).where(Message.template == "delivery_failed")).all()
        )


def test_message_is_sent_over_smtp_once(smtp_server):
    message_id = a_pending_message()
    mailer = smtp_mailer(smtp_server.port)

    statuses = [deliver(message_id, mailer).status for _ in range(2)]

    assert statuses == ["sent", "sent"]
    [received] = smtp_server.inbox.wait_for(lambda m: True)
    assert received["To"] == "dana@example.org"
    assert received["Subject"] == "We received your Alliance proposal AP-2026-00007"
    assert "AP-2026-00007" in text_of(received)
    assert received["X-Alliance-Reference"] == "AP-2026-00007"
    stored = load(message_id)
    assert (stored.status, stored.attempts, stored.ambiguous_deliveries) == ("sent", 1, 0)
    assert stored.sent_at is not None
    assert stored.sending_since is None
    with database.transaction() as session:
        assert session.scalars(select(OutboxEvent.type)).all() == ["message.sent"]


def channel() -> MailChannel | None:
    with database.transaction() as session:
        return session.get(MailChannel, messages.MAIL_CHANNEL)


def probe_due_now() -> None:
    """As if the pause before the next probe had passed."""
    with database.transaction() as session:
        session.execute(update(MailChannel).values(probe_at=utcnow() - messages.PROBE_EVERY * 2))


class DeferringInbox(Inbox):
    """Defers every recipient for now (a 4xx), as a server does for a mailbox over quota."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        return "451 4.2.2 Mailbox full, try again later"


def test_an_unreachable_server_is_the_channel_down_not_an_attempt_at_the_message(
    monkeypatch, redis_client
):
    message_id = a_pending_message()
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_PORT", str(free_port()))  # nothing listens there

    statuses = [tasks.deliver_message(message_id=str(message_id)) for _ in range(2)]

    assert statuses == ["waiting", "waiting"]
    stored = load(message_id)
    # The message waits, due, its attempts untouched: the outage is no fault of its own.
    assert (stored.status, stored.attempts, stored.last_error) == ("pending", 0, None)
    assert stored.next_attempt_at <= utcnow()
    down = channel()
    assert down is not None
    assert down.down_since is not None
    assert down.last_error.startswith("ConnectionRefusedError: ")
    # The first task to find the server away started the probes; the second only waits.
    assert queued_tasks(redis_client, "notify") == [("notify.probe_mail", {})]


def test_attempts_follow_the_schedule_until_the_message_fails():
    server = SmtpServer(free_port(), DeferringInbox())
    server.start()
    try:
        message_id = a_pending_message()
        deferring = smtp_mailer(server.port)

        for attempt, pause in enumerate(SCHEDULE, start=1):
            before = utcnow()
            outcome = deliver(message_id, deferring)
            after = utcnow()
            stored = load(message_id)
            assert (outcome.status, stored.status, stored.attempts) == (
                "pending",
                "pending",
                attempt,
            )
            assert before + pause <= stored.next_attempt_at <= after + pause
            assert outcome.next_attempt_at == stored.next_attempt_at
            assert deliver(message_id, deferring).status == "pending"  # not due: not counted
            assert load(message_id).attempts == attempt
            make_due(message_id)

        outcome = deliver(message_id, deferring)
    finally:
        server.stop()

    stored = load(message_id)
    assert (outcome.status, stored.status, stored.attempts) == ("failed", "failed", 4)
    assert stored.last_error.startswith("SMTPRecipientsRefused: 451 4.2.2 Mailbox full")
    [alert] = alerts()
    assert outcome.follow_up == (alert.id,)
    assert (alert.to_address, alert.status, alert.cause) == (
        "coordinator@agency.example",
        "pending",
        f"delivery_failed:{message_id}",
    )
    make_due(message_id)
    assert deliver(message_id, deferring).status == "failed"
    assert load(message_id).attempts == 4
    assert channel() is None  # a mailbox's trouble says nothing about the server


def test_delivery_resumes_once_a_probe_finds_smtp_back():
    message_id = a_pending_message()
    port = free_port()

    assert deliver(message_id, smtp_mailer(port)).status == "waiting"
    assert attempts.probe(database=database, mailer=smtp_mailer(port)) == "busy"  # not yet
    server = SmtpServer(port)
    server.start()
    try:
        # Back, but nobody knows before the probe: the message still waits, uncharged.
        assert deliver(message_id, smtp_mailer(port)).status == "waiting"
        probe_due_now()
        assert attempts.probe(database=database, mailer=smtp_mailer(port)) == "up"
        assert channel().down_since is None
        assert deliver(message_id, smtp_mailer(port)).status == "sent"
        make_due(message_id)
        assert deliver(message_id, smtp_mailer(port)).status == "sent"
        server.inbox.wait_for(lambda m: True)
        assert len(server.inbox.matching(lambda m: True)) == 1
    finally:
        server.stop()
    stored = load(message_id)
    assert (stored.status, stored.attempts, stored.last_error) == ("sent", 1, None)


def test_a_probe_that_finds_the_server_still_away_keeps_probing(monkeypatch, redis_client):
    message_id = a_pending_message()
    port = free_port()
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_PORT", str(port))
    assert tasks.deliver_message(message_id=str(message_id)) == "waiting"
    redis_client.delete("notify")

    assert tasks.probe_mail() == "busy"  # its time has not come: the next one probes
    assert queued_tasks(redis_client, "notify") == []
    probe_due_now()
    assert tasks.probe_mail() == "down"
    assert queued_tasks(redis_client, "notify") == [("notify.probe_mail", {})]
    assert load(message_id).attempts == 0


def test_once_the_server_answers_the_probe_sends_what_waited(monkeypatch, redis_client):
    port = free_port()
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_PORT", str(port))
    waiting = [a_pending_message(to_address=f"p{i}@example.org") for i in range(5)]
    assert [tasks.deliver_message(message_id=str(m)) for m in waiting] == ["waiting"] * 5
    server = SmtpServer(port)
    server.start()
    try:
        probe_due_now()
        assert tasks.probe_mail() == "up"
        server.inbox.wait_for(lambda m: True, count=5)
        # The tasks queued for each message meanwhile find it sent.
        assert [tasks.deliver_message(message_id=str(m)) for m in waiting] == ["sent"] * 5
        assert len(server.inbox.matching(lambda m: True)) == 5
    finally:
        server.stop()
    assert [(load(m).status, load(m).attempts) for m in waiting] == [("sent", 1)] * 5


def test_while_the_server_is_down_the_sweep_queues_nothing_and_probes_it_when_due(
    monkeypatch, redis_client
):
    port = free_port()
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_PORT", str(port))
    message_id = a_pending_message()
    assert deliver(message_id, smtp_mailer(port)).status == "waiting"

    assert tasks.deliver_pending() == 0  # the probe is not due: nothing queued, nothing tried
    assert queued_tasks(redis_client, "notify") == []
    server = SmtpServer(port)
    server.start()
    try:
        # The probe queued at the outage may wait behind a long queue: the sweep probes too,
        # and sends what waited at once.
        probe_due_now()
        assert tasks.deliver_pending() == 0
        server.inbox.wait_for(lambda m: True)
    finally:
        server.stop()
    assert channel().down_since is None
    assert (load(message_id).status, load(message_id).attempts) == ("sent", 1)


def test_a_message_whose_turn_comes_when_a_probe_is_due_is_the_probe():
    message_id = a_pending_message()
    port = free_port()
    assert deliver(message_id, smtp_mailer(port)).status == "waiting"
    server = SmtpServer(port)
    server.start()
    try:
        probe_due_now()
        assert deliver(message_id, smtp_mailer(port)).status == "sent"
        server.inbox.wait_for(lambda m: True)
    finally:
        server.stop()
    assert channel().down_since is None
    assert load(message_id).attempts == 1


def test_a_permanent_refusal_fails_at_once_and_the_coordinator_is_told():
    server = SmtpServer(free_port(), RefusingInbox())
    server.start()
    try:
        message_id = a_pending_message()
        outcome = deliver(message_id, smtp_mailer(server.port))

        stored = load(message_id)
        assert (outcome.status, stored.status, stored.attempts) == ("failed", "failed", 1)
        assert stored.last_error == (
            "SMTPRecipientsRefused: 550 5.1.1 <dana@example.org>: "
            "Recipient address rejected: User unknown"
        )
        [alert] = alerts()
        assert alert.subject == (
            "Action required: a message to dana@example.org could not be delivered (AP-2026-00007)"
        )
        assert stored.last_error in alert.text_body
        assert "http://127.0.0.1:8000/notify/staff/deliveries" in alert.text_body

        # The alert fails the same way here; nobody is alerted about the alert.
        assert deliver(alert.id, smtp_mailer(server.port)).status == "failed"
        assert [a.id for a in alerts()] == [alert.id]
        assert server.inbox.matching(lambda m: True) == []
    finally:
        server.stop()


def test_a_connection_dropped_after_the_content_is_ambiguous_and_sent_again(caplog):
    server = SmtpServer(free_port(), DroppingInbox(drops=1))
    server.start()
    try:
        message_id = a_pending_message()
        with caplog.at_level(logging.WARNING, logger="services.notify.delivery.domain"):
            first = deliver(message_id, smtp_mailer(server.port))

        stored = load(message_id)
        assert (first.status, stored.status, stored.attempts) == ("pending", "pending", 1)
        assert stored.ambiguous_deliveries == 1
        assert stored.last_error.startswith("ambiguous: SMTPServerDisconnected")
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert any("ambiguous" in w and str(message_id) in w for w in warnings), warnings

        make_due(message_id)
        assert deliver(message_id, smtp_mailer(server.port)).status == "sent"
        server.inbox.wait_for(lambda m: True, count=2)
        copies = server.inbox.matching(lambda m: m["X-Alliance-Message"] == str(message_id))
        assert len(copies) == 2
    finally:
        server.stop()
    stored = load(message_id)
    assert (stored.status, stored.attempts, stored.ambiguous_deliveries) == ("sent", 2, 1)


def test_a_message_stuck_sending_past_the_lease_is_due_again(redis_client, caplog):
    stalled = a_pending_message()
    change(stalled, status="sending", attempts=1, sending_since=utcnow() - LEASE * 2)
    busy = a_pending_message()
    change(busy, status="sending", attempts=1, sending_since=utcnow() - LEASE / 2)

    with caplog.at_level(logging.WARNING, logger="services.notify.delivery.domain"):
        queued = tasks.deliver_pending()

    assert queued == 1
    stored = load(stalled)
    assert (stored.status, stored.attempts, stored.ambiguous_deliveries) == ("pending", 1, 1)
    assert stored.next_attempt_at <= utcnow()
    assert stored.sending_since is None
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("ambiguous" in w and str(stalled) in w for w in warnings), warnings
    assert queued_tasks(redis_client, "notify") == [
        ("notify.deliver_message", {"message_id": str(stalled)})
    ]
    still_busy = load(busy)
    assert (still_busy.status, still_busy.ambiguous_deliveries) == ("sending", 0)


def test_a_sent_or_busy_message_is_not_sent_by_a_duplicate_task(smtp_server):
    message_id = a_pending_message()
    mailer = smtp_mailer(smtp_server.port)
    assert deliver(message_id, mailer).status == "sent"
    make_due(message_id)  # a stale due time must not matter once sent

    assert deliver(message_id, mailer).status == "sent"

    busy = a_pending_message()
    change(busy, status="sending", attempts=1, sending_since=utcnow())
    assert deliver(busy, mailer).status == "sending"

    smtp_server.inbox.wait_for(lambda m: True)
    assert [m["X-Alliance-Message"] for m in smtp_server.inbox.matching(lambda m: True)] == [
        str(message_id)
    ]
    assert (load(message_id).attempts, load(busy).attempts) == (1, 1)


def test_two_tasks_at_once_send_one_copy(smtp_server):
    message_id = a_pending_message()
    start = threading.Barrier(2)
    statuses: list[str] = []

    def run() -> None:
        start.wait()
        statuses.append(deliver(message_id, smtp_mailer(smtp_server.port)).status)

    workers = [threading.Thread(target=run) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    assert len(statuses) == 2
    smtp_server.inbox.wait_for(lambda m: True)
    assert len(smtp_server.inbox.matching(lambda m: True)) == 1
    stored = load(message_id)
    assert (stored.status, stored.attempts) == ("sent", 1)


def test_sent_is_recorded_on_a_fresh_connection_when_the_first_commit_fails(
    smtp_server, monkeypatch
):
    message_id = a_pending_message()
    real_record_sent = messages.record_sent
    calls = []

    def lose_the_database_once(session, **kwargs):
        calls.append(kwargs["attempt"])
        if len(calls) == 1:
            raise OperationalError("COMMIT", {}, Exception("server closed the connection"))
        return real_record_sent(session, **kwargs)

    monkeypatch.setattr(messages, "record_sent", lose_the_database_once)

    assert deliver(message_id, smtp_mailer(smtp_server.port)).status == "sent"

    assert calls == [1, 1]
    smtp_server.inbox.wait_for(lambda m: True)
    assert len(smtp_server.inbox.matching(lambda m: True)) == 1
    stored = load(message_id)
    assert (stored.status, stored.attempts, stored.ambiguous_deliveries) == ("sent", 1, 0)


# -- what is due, over kept connections ----------------------------------------------------------


class CountingInbox(Inbox):
    """Counts the connections greeted (EHLO), and refuses the addresses in ``refused``."""

    def __init__(self, refused: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.greetings = 0
        self.refused = refused

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.greetings += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        if address in self.refused:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def deliver_due(mailer: Mailer, *, limit: int = 100, senders: int = 1) -> attempts.Drained:
    return attempts.deliver_due(
        database=database,
        outbox=None,
        mailer=mailer,
        mail_from=MAIL_FROM,
        policy=tasks.delivery_policy(load_settings()),
        limit=limit,
        seconds=30,
        senders=senders,
    )


def kept_mailer(port: int) -> SmtpMailer:
    return SmtpMailer(
        SmtpSettings(
            host="127.0.0.1", port=port, username="", password="", starttls=False, timeout=2
        ),
        keep_idle=30,
    )


def test_what_is_due_goes_out_over_one_connection_kept_for_the_next():
    inbox = CountingInbox()
    server = SmtpServer(free_port(), inbox)
    server.start()
    mailer = kept_mailer(server.port)
    try:
        due = [a_pending_message(to_address=f"p{i}@example.org") for i in range(12)]
        later = a_pending_message(next_attempt_at=utcnow() + timedelta(hours=1))

        drained = deliver_due(mailer)

        assert (drained.attempted, drained.sent, drained.more) == (12, 12, False)
        inbox.wait_for(lambda m: True, count=12)
        assert inbox.greetings == 1
        assert [(load(m).status, load(m).attempts) for m in due] == [("sent", 1)] * 12
        assert load(later).status == "pending"

        make_due(later)
        assert deliver_due(mailer).sent == 1  # over the kept connection
        inbox.wait_for(lambda m: True, count=13)
        assert inbox.greetings == 1
    finally:
        mailer.close()
        server.stop()


def test_a_backlog_goes_out_over_several_connections_each_message_once():
    inbox = CountingInbox()
    server = SmtpServer(free_port(), inbox)
    server.start()
    mailer = kept_mailer(server.port)
    try:
        due = [a_pending_message(to_address=f"p{i}@example.org") for i in range(60)]

        drained = deliver_due(mailer, senders=3)

        assert drained.sent == 60
        received = inbox.wait_for(lambda m: True, count=60)
        assert sorted(m["X-Alliance-Message"] for m in received) == sorted(map(str, due))
        assert inbox.greetings == 3
        assert {(load(m).status, load(m).attempts) for m in due} == {("sent", 1)}
    finally:
        mailer.close()
        server.stop()


def test_sending_what_is_due_stops_at_its_limit_and_says_more_is_due():
    server = SmtpServer(free_port())
    server.start()
    try:
        due = [a_pending_message(to_address=f"p{i}@example.org") for i in range(5)]

        drained = deliver_due(smtp_mailer(server.port), limit=3)

        assert (drained.sent, drained.more) == (3, True)
        assert [load(m).status for m in due] == ["sent"] * 3 + ["pending"] * 2  # oldest first
    finally:
        server.stop()


def test_a_refused_recipient_fails_alone_and_the_rest_go_on_a_new_connection():
    inbox = CountingInbox(refused=("p1@example.org",))
    server = SmtpServer(free_port(), inbox)
    server.start()
    mailer = kept_mailer(server.port)
    try:
        due = [a_pending_message(to_address=f"p{i}@example.org") for i in range(3)]

        drained = deliver_due(mailer)

        [alert] = alerts()
        assert alert.id in drained.follow_up
        assert [(load(m).status, load(m).attempts) for m in due] == [
            ("sent", 1),
            ("failed", 1),
            ("sent", 1),
        ]
        assert load(due[1]).last_error.startswith("SMTPRecipientsRefused: 550 5.1.1")
        # The Coordinator's alert was due as well, and went out with the rest.
        assert load(alert.id).status == "sent"
        inbox.wait_for(lambda m: True, count=3)
        assert inbox.greetings == 2
        assert channel() is None
    finally:
        mailer.close()
        server.stop()


def test_nothing_is_sent_while_the_channel_is_down(smtp_server):
    message_id = a_pending_message()
    with database.transaction() as session:
        messages.channel_down(session, error="ConnectionRefusedError: test", now=utcnow())

    assert deliver_due(smtp_mailer(smtp_server.port)).attempted == 0
    assert deliver(message_id, smtp_mailer(smtp_server.port)).status == "waiting"
    assert load(message_id).attempts == 0
