import uuid

import pytest
from sqlalchemy import select

from deploy.embedded import free_port
from services.notify import messages
from services.notify.mail import FileMailer, SmtpMailer
from services.notify.models import Message
from services.notify.worker import database
from shared.config import SmtpSettings
from tests.smtp import text_of

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clean_databases")]


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


def smtp_mailer(port: int) -> SmtpMailer:
    return SmtpMailer(
        SmtpSettings(
            host="127.0.0.1", port=port, username="", password="", starttls=False, timeout=2
        )
    )


def test_message_is_sent_over_smtp_once(smtp_server):
    message_id = a_pending_message()
    mailer = smtp_mailer(smtp_server.port)

    for _ in range(2):
        with database.transaction() as session:
            messages.deliver(
                session,
                message_id=message_id,
                mailer=mailer,
                mail_from="Alliance Program <alliances@agency.example>",
            )

    [received] = smtp_server.inbox.wait_for(lambda m: True)
    assert received["To"] == "dana@example.org"
    assert received["Subject"] == "We received your Alliance proposal AP-2026-00007"
    assert "AP-2026-00007" in text_of(received)
    assert received["X-Alliance-Reference"] == "AP-2026-00007"
    stored = load(message_id)
    assert (stored.status, stored.attempts) == ("sent", 1)
    assert stored.sent_at is not None


def test_smtp_failure_is_recorded_and_the_message_stays_pending():
    message_id = a_pending_message()
    dead = smtp_mailer(free_port())

    with database.transaction() as session:
        status = messages.deliver(session, message_id=message_id, mailer=dead, mail_from="a@b.c")

    assert status == "pending"
    stored = load(message_id)
    assert stored.attempts == 1
    assert "ConnectionRefusedError" in (stored.last_error or "")


def test_message_fails_for_good_after_the_last_attempt():
    message_id = a_pending_message()
    dead = smtp_mailer(free_port())
    for _ in range(messages.MAX_ATTEMPTS):
        with database.transaction() as session:
            status = messages.deliver(
                session, message_id=message_id, mailer=dead, mail_from="a@b.c"
            )
    assert status == "failed"
    assert load(message_id).attempts == messages.MAX_ATTEMPTS


def test_file_mailer_writes_a_readable_eml(tmp_path):
    message_id = a_pending_message()
    with database.transaction() as session:
        messages.deliver(
            session, message_id=message_id, mailer=FileMailer(tmp_path), mail_from="a@b.c"
        )
    [written] = list(tmp_path.glob("*.eml"))
    assert str(message_id) in written.name
    assert b"Subject: We received your Alliance proposal AP-2026-00007" in written.read_bytes()
    assert list(tmp_path.glob("*.tmp")) == []


def test_pending_sweep_finds_only_old_pending_messages():
    fresh = a_pending_message()
    with database.transaction() as session:
        assert messages.pending_message_ids(session, older_than_seconds=60) == []
        assert messages.pending_message_ids(session, older_than_seconds=-1) == [fresh]
        sent = session.get(Message, fresh)
        assert sent is not None
        sent.status = "sent"
    with database.transaction() as session:
        assert messages.pending_message_ids(session, older_than_seconds=-1) == []
        assert session.scalars(select(Message.status)).all() == ["sent"]
