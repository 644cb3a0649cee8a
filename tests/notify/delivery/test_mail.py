"""The mail transports against real servers: SMTP time-outs (a server that never greets, one
that stalls mid-conversation or after the content), STARTTLS and AUTH, and the console and
files backends MAIL_BACKEND chooses. What tests/notify/delivery/test_domain.py covers already
(SMTP down then back, a connection dropped after DATA, a permanent 5xx) is not repeated.

A long subject stays one line in the raw message (no folded Subject: header).

Python's e-mail package folds every header at 78 columns, so a subject such as "Action
required: your quarterly report for AP-2026-00042 of <a partner's name> is overdue" went out
on two lines: legitimate RFC 5322, yet shown broken by some mail programs and by anyone who
reads the .eml. Each transport now writes each header on one line (up to RFC 5322's 998), in
plain ASCII, as UTF-8 where the server takes it, or as RFC 2047 encoded words; every
transport's raw bytes are checked here, and so is what a mail program decodes from them.

E-mail delivery against real PostgreSQL and a real (in-process) SMTP server: each attempt
counted once, attempts spaced on the schedule, nothing lost and nothing sent twice unseen."""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import io
import ipaddress
import socket
import ssl
import time
import uuid
from datetime import timedelta
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import update

from deploy.embedded import free_port
from services.notify import tasks
from services.notify.delivery import domain as messages
from services.notify.delivery import mail
from services.notify.delivery.mail import (
    ConsoleMailer,
    FileMailer,
    Mailer,
    SmtpMailer,
    build_email,
    mailer_from_settings,
)
from services.notify.models import MailChannel, Message
from services.notify.worker import database
from shared.config import SmtpSettings, load_settings, read_settings
from shared.db import utcnow
from tests.smtp import Inbox, SmtpServer

pytestmark = pytest.mark.integration

MAIL_FROM = "Alliance Program <alliances@agency.example>"
TIMEOUT = 1.0
STALL = 4.0


@pytest.fixture
def short_schedule(monkeypatch):
    monkeypatch.setenv("NOTIFY_RETRY_SCHEDULE", "1m,5m")
    monkeypatch.setenv("NOTIFY_SENDING_LEASE_SECONDS", "120")


def a_pending_message() -> uuid.UUID:
    with database.transaction() as session:
        message = Message(
            cause=f"test:{uuid.uuid4()}",
            template="proposal_receipt",
            to_address="dana@example.org",
            subject="We received your Alliance proposal AP-2026-00007",
            text_body="Your reference number is AP-2026-00007.\n",
            html_body="<p>Your reference number is <strong>AP-2026-00007</strong>.</p>",
            reference="AP-2026-00007",
        )
        session.add(message)
        session.flush()
        return message.id


def load(message_id) -> Message:
    with database.transaction() as session:
        message = session.get(Message, message_id)
        assert message is not None
        return message


def make_due(message_id) -> None:
    with database.transaction() as session:
        session.execute(
            update(Message)
            .where(Message.id == message_id)
            .values(next_attempt_at=utcnow() - timedelta(seconds=1))
        )


def smtp(port: int, **changes: Any) -> SmtpMailer:
    values: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": port,
        "username": "",
        "password": "",
        "starttls": False,
        "timeout": TIMEOUT,
    }
    values.update(changes)
    return SmtpMailer(SmtpSettings(**values))


def deliver(message_id, mailer: Mailer) -> tuple[str, float]:
    """One attempt; its outcome and how long it took."""
    started = time.monotonic()
    outcome = tasks.deliver(
        message_id,
        mailer=mailer,
        mail_from=MAIL_FROM,
        policy=tasks.delivery_policy(load_settings()),
    )
    return outcome.status, time.monotonic() - started


# -- a slow server: every wait is bounded by the time-out, and the message waits its turn ------


class StallingInbox(Inbox):
    """Stalls (longer than the client's time-out) at ``where``: "rcpt" (before the content:
    the server certainly did not take the message) or "data" (after it: maybe it did)."""

    def __init__(self, where: str) -> None:
        super().__init__()
        self.where = where
        self.stalling = True

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        if self.where == "rcpt" and self.stalling:
            await asyncio.sleep(STALL)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.where == "data" and self.stalling:
            await asyncio.sleep(STALL)
            return "451 too late"  # the client has given up long before
        return await super().handle_DATA(server, session, envelope)


@pytest.mark.usefixtures("clean_databases")
@pytest.mark.usefixtures("short_schedule")
def test_a_server_that_never_greets_times_out_and_the_message_waits():
    listener = socket.create_server(("127.0.0.1", 0))  # accepts connections, never speaks
    try:
        message_id = a_pending_message()
        status, took = deliver(message_id, smtp(listener.getsockname()[1]))
    finally:
        listener.close()

    assert status == "waiting"
    assert took < TIMEOUT + 3
    # No greeting is the server's state, not the message's: no attempt is charged to it.
    stored = load(message_id)
    assert (stored.status, stored.attempts, stored.ambiguous_deliveries) == ("pending", 0, 0)
    with database.transaction() as session:
        channel = session.get(MailChannel, "mail")
        assert channel is not None
        assert channel.down_since is not None
        assert "timed out" in channel.last_error.lower() or "Timeout" in channel.last_error


@pytest.mark.usefixtures("clean_databases")
@pytest.mark.usefixtures("short_schedule")
def test_a_server_stalling_before_the_content_times_out_and_the_message_goes_out_later():
    inbox = StallingInbox("rcpt")
    server = SmtpServer(free_port(), inbox)
    server.start()
    try:
        message_id = a_pending_message()
        status, took = deliver(message_id, smtp(server.port))
        assert status == "pending"
        assert took < TIMEOUT + 3  # bounded by the command time-out, not by the stall
        stored = load(message_id)
        assert (stored.attempts, stored.ambiguous_deliveries) == (1, 0)  # certainly not sent
        assert "timed out" in stored.last_error.lower() or "Timeout" in stored.last_error

        inbox.stalling = False  # the server is well again
        make_due(message_id)
        assert deliver(message_id, smtp(server.port))[0] == "sent"
        assert len(inbox.wait_for(lambda m: True)) == 1
    finally:
        server.stop()
    assert (load(message_id).status, load(message_id).attempts) == ("sent", 2)


@pytest.mark.usefixtures("clean_databases")
@pytest.mark.usefixtures("short_schedule")
def test_a_server_stalling_after_the_content_is_ambiguous_and_the_message_goes_out_later():
    inbox = StallingInbox("data")
    server = SmtpServer(free_port(), inbox)
    server.start()
    try:
        message_id = a_pending_message()
        status, took = deliver(message_id, smtp(server.port))
        assert status == "pending"
        assert took < TIMEOUT + 3
        stored = load(message_id)
        assert (stored.attempts, stored.ambiguous_deliveries) == (1, 1)  # maybe delivered
        assert stored.last_error.startswith("ambiguous: ")

        inbox.stalling = False
        make_due(message_id)
        assert deliver(message_id, smtp(server.port))[0] == "sent"
        assert len(inbox.wait_for(lambda m: True)) == 1
    finally:
        server.stop()
    stored = load(message_id)
    assert (stored.status, stored.attempts, stored.ambiguous_deliveries) == ("sent", 2, 1)


# -- STARTTLS and AUTH --------------------------------------------------------------------------


def self_signed(tmp_path) -> tuple[str, str]:
    """A certificate for 127.0.0.1 and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_file), str(key_file)


class SessionInbox(Inbox):
    """Notes, for each message, whether its session was encrypted and who signed in."""

    def __init__(self) -> None:
        super().__init__()
        self.sessions: list[tuple[bool, bool, Any]] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        login = getattr(session.auth_data, "login", None)
        self.sessions.append((session.ssl is not None, session.authenticated, login))
        return await super().handle_DATA(server, session, envelope)


def authenticator(server, session, envelope, mechanism, auth_data) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        b"notify",
        b"s3cret",
    )
    return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)


def secured_server(tmp_path, monkeypatch, inbox: Inbox) -> Controller:
    """A server that requires STARTTLS, then AUTH; the client trusts its certificate."""
    cert_file, key_file = self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    monkeypatch.setenv("SSL_CERT_FILE", cert_file)  # what ssl.create_default_context() trusts
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=free_port(),
        tls_context=context,
        require_starttls=True,
        auth_required=True,
        auth_require_tls=True,
        authenticator=authenticator,
    )
    controller.start()
    return controller


@pytest.mark.usefixtures("clean_databases")
@pytest.mark.usefixtures("short_schedule")
def test_starttls_and_auth_when_configured(tmp_path, monkeypatch):
    inbox = SessionInbox()
    controller = secured_server(tmp_path, monkeypatch, inbox)
    try:
        message_id = a_pending_message()
        mailer = smtp(controller.port, starttls=True, username="notify", password="s3cret")

        assert deliver(message_id, mailer)[0] == "sent"

        inbox.wait_for(lambda m: True)
        assert inbox.sessions == [(True, True, b"notify")]
    finally:
        controller.stop()


@pytest.mark.usefixtures("clean_databases")
@pytest.mark.usefixtures("short_schedule")
def test_a_wrong_password_is_not_sent_and_waits_for_the_next_attempt(tmp_path, monkeypatch):
    inbox = SessionInbox()
    controller = secured_server(tmp_path, monkeypatch, inbox)
    try:
        message_id = a_pending_message()
        mailer = smtp(controller.port, starttls=True, username="notify", password="wrong")

        assert deliver(message_id, mailer)[0] == "pending"

        stored = load(message_id)
        assert stored.last_error.startswith("SMTPAuthenticationError: (535")
        assert inbox.matching(lambda m: True) == []
    finally:
        controller.stop()


@pytest.mark.usefixtures("clean_databases")
@pytest.mark.usefixtures("short_schedule")
def test_without_starttls_a_server_requiring_it_gets_nothing(tmp_path, monkeypatch):
    inbox = SessionInbox()
    controller = secured_server(tmp_path, monkeypatch, inbox)
    try:
        message_id = a_pending_message()
        mailer = smtp(controller.port, username="notify", password="s3cret")

        assert deliver(message_id, mailer)[0] != "sent"  # never in clear text

        assert inbox.matching(lambda m: True) == []
    finally:
        controller.stop()


# -- a connection kept across messages ----------------------------------------------------------


@pytest.mark.usefixtures("clean_databases")
@pytest.mark.usefixtures("short_schedule")
def test_a_kept_connection_the_server_dropped_is_replaced_before_a_message_is_claimed(
    monkeypatch,
):
    port = free_port()
    first_server = SmtpServer(port)
    first_server.start()
    mailer = SmtpMailer(smtp(port).settings, keep_idle=30)
    try:
        first = a_pending_message()
        assert deliver(first, mailer)[0] == "sent"
        assert len(mailer._idle) == 1  # kept for the next message
    finally:
        first_server.stop()  # the server restarts: the kept connection is dead
    second_server = SmtpServer(port)
    second_server.start()
    try:
        monkeypatch.setattr(mail, "CHECK_AFTER_SECONDS", 0.0)  # asked before any reuse
        second = a_pending_message()
        assert deliver(second, mailer)[0] == "sent"
        assert len(second_server.inbox.wait_for(lambda m: True)) == 1
    finally:
        mailer.close()
        second_server.stop()
    assert (load(second).status, load(second).attempts) == ("sent", 1)


@pytest.mark.usefixtures("clean_databases")
@pytest.mark.usefixtures("short_schedule")
def test_a_connection_idle_too_long_is_closed():
    server = SmtpServer(free_port())
    server.start()
    mailer = SmtpMailer(smtp(server.port).settings, keep_idle=0.3)
    try:
        assert deliver(a_pending_message(), mailer)[0] == "sent"
        [(kept, _since)] = mailer._idle
        time.sleep(1.0)
        assert mailer._idle == []
        assert kept.smtp.sock is None  # QUIT sent, socket closed
    finally:
        mailer.close()
        server.stop()


# -- the backends MAIL_BACKEND chooses ---------------------------------------------------------


@pytest.mark.usefixtures("clean_databases")
@pytest.mark.usefixtures("short_schedule")
def test_the_backend_follows_smtp_host_unless_mail_backend_says_otherwise(tmp_path):
    assert isinstance(mailer_from_settings(read_settings({})), FileMailer)
    with_host = read_settings({"SMTP_HOST": "mail.agency.example"})
    assert isinstance(mailer_from_settings(with_host), SmtpMailer)
    files = read_settings({"SMTP_HOST": "mail.agency.example", "MAIL_BACKEND": "files"})
    assert isinstance(mailer_from_settings(files), FileMailer)
    assert isinstance(
        mailer_from_settings(read_settings({"MAIL_BACKEND": "console"})), ConsoleMailer
    )
    with pytest.raises(Exception, match="MAIL_BACKEND=smtp needs SMTP_HOST"):
        read_settings({"MAIL_BACKEND": "smtp"})


@pytest.mark.usefixtures("clean_databases")
@pytest.mark.usefixtures("short_schedule")
def test_the_console_backend_prints_the_whole_message():
    message_id = a_pending_message()
    out = io.StringIO()

    assert deliver(message_id, ConsoleMailer(out))[0] == "sent"

    printed = out.getvalue()
    assert "To: dana@example.org\n" in printed
    assert "Subject: We received your Alliance proposal AP-2026-00007\n" in printed
    assert "Content-Type: text/plain" in printed
    assert "Content-Type: text/html" in printed
    assert "\r" not in printed
    assert load(message_id).status == "sent"


@pytest.mark.usefixtures("clean_databases")
@pytest.mark.usefixtures("short_schedule")
def test_the_console_backend_is_chosen_by_the_task(monkeypatch, capsys):
    message_id = a_pending_message()
    monkeypatch.setenv("MAIL_BACKEND", "console")

    assert tasks.deliver_message(message_id=str(message_id)) == "sent"

    assert "Subject: We received your Alliance proposal AP-2026-00007" in capsys.readouterr().out


MAIL_FROM_MAIL_SUBJECT_HEADER = "MIOSHA Alliance Program <alliances@agency.example>"
SUBJECTS = [
    "Action required: your quarterly report for AP-2026-00042 of Great Lakes Roofing "
    "Contractors Association is overdue (due July 30, 2026)",
    "Action required: you are the liaison for Société de Sécurité Québécoise — Région "
    "des Grands Lacs (AP-2026-00042), signed January 15, 2026",
]


def a_message(subject: str) -> Message:
    return Message(
        id=uuid.uuid4(),
        to_address="dana@example.org",
        subject=subject,
        text_body="Dear Dana,\n",
        html_body="<p>Dear Dana,</p>",
        reference="AP-2026-00042",
        calendar="",
    )


def the_subject_line(raw: bytes, linesep: bytes) -> bytes:
    """The Subject header as it is in ``raw``: its first line, checked to be its only one."""
    headers = raw.split(linesep + linesep, 1)[0].split(linesep)
    [index] = [i for i, line in enumerate(headers) if line.startswith(b"Subject:")]
    if index + 1 < len(headers):
        following = headers[index + 1]
        assert not following[:1].isspace(), f"the subject is folded: {following!r}"
    return headers[index]


def decoded(raw: bytes) -> str:
    return str(email.message_from_bytes(raw, policy=email.policy.default)["Subject"])


@pytest.mark.parametrize("subject", SUBJECTS)
def test_the_files_backend_writes_the_subject_on_one_line(tmp_path, subject):
    message = a_message(subject)
    connection = FileMailer(tmp_path).connect()
    connection.send(build_email(message, mail_from=MAIL_FROM_MAIL_SUBJECT_HEADER))
    [path] = tmp_path.glob("*.eml")
    raw = path.read_bytes()
    line = the_subject_line(raw, b"\n")
    if subject.isascii():
        assert line == f"Subject: {subject}".encode()
    assert decoded(raw) == subject


@pytest.mark.parametrize("subject", SUBJECTS)
def test_the_console_backend_prints_the_subject_on_one_line(subject):
    out = io.StringIO()
    ConsoleMailer(out).connect().send(
        build_email(a_message(subject), mail_from=MAIL_FROM_MAIL_SUBJECT_HEADER)
    )
    assert f"\nSubject: {subject}\n" in out.getvalue()


class RawInbox(Inbox):
    """Keeps the bytes of each message as the client sent them."""

    def __init__(self) -> None:
        super().__init__()
        self.raw: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.raw.append(envelope.original_content or envelope.content)
        return await super().handle_DATA(server, session, envelope)


@pytest.mark.parametrize("subject", SUBJECTS)
def test_smtp_sends_the_subject_on_one_line(subject):
    inbox = RawInbox()
    server = SmtpServer(free_port(), inbox)
    server.start()
    try:
        mailer = SmtpMailer(
            SmtpSettings(
                host="127.0.0.1", port=server.port, username="", password="", starttls=False
            )
        )
        connection = mailer.connect()
        try:
            connection.send(
                build_email(a_message(subject), mail_from=MAIL_FROM_MAIL_SUBJECT_HEADER)
            )
        finally:
            connection.close()
        inbox.wait_for(lambda m: True)
        [raw] = inbox.raw
        line = the_subject_line(raw, b"\r\n")
        assert len(line) <= 998
        if subject.isascii():
            assert line == f"Subject: {subject}".encode()
        else:  # no SMTPUTF8 needed for ASCII addresses: RFC 2047 encoded words
            assert line.isascii()
            assert b"=?utf-8?" in line
        assert decoded(raw) == subject
        # The rest of the message still keeps to 78 columns.
        body = raw.split(b"\r\n\r\n", 1)[1]
        assert max(len(body_line) for body_line in body.split(b"\r\n")) <= 78
    finally:
        server.stop()


LEASE = timedelta(seconds=120)


@pytest.fixture
def short_schedule_delivery(monkeypatch):
    """Four attempts, 1 min, 5 min and 1 h apart (the parsed NOTIFY_RETRY_SCHEDULE)."""
    monkeypatch.setenv("NOTIFY_RETRY_SCHEDULE", "1m,5m,1h")
    monkeypatch.setenv("NOTIFY_SENDING_LEASE_SECONDS", str(int(LEASE.total_seconds())))


def a_pending_message_delivery(**overrides) -> uuid.UUID:
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


def deliver_delivery(message_id, mailer: Mailer) -> messages.Outcome:
    return tasks.deliver(
        message_id,
        mailer=mailer,
        mail_from=MAIL_FROM,
        policy=tasks.delivery_policy(load_settings()),
    )


@pytest.mark.usefixtures("clean_databases")
@pytest.mark.usefixtures("short_schedule_delivery")
def test_file_mailer_writes_a_readable_eml(tmp_path):
    message_id = a_pending_message_delivery()

    assert deliver_delivery(message_id, FileMailer(tmp_path)).status == "sent"

    [written] = list(tmp_path.glob("*.eml"))
    assert str(message_id) in written.name
    assert b"Subject: We received your Alliance proposal AP-2026-00007" in written.read_bytes()
    assert list(tmp_path.glob("*.tmp")) == []
    stored = load(message_id)
    assert (stored.status, stored.attempts) == ("sent", 1)


@pytest.mark.usefixtures("clean_databases")
@pytest.mark.usefixtures("short_schedule_delivery")
def test_file_mailer_failure_is_retried_on_schedule(tmp_path):
    message_id = a_pending_message_delivery()
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("a file where the mail directory should be")

    assert deliver_delivery(message_id, FileMailer(blocked)).status == "pending"

    stored = load(message_id)
    assert (stored.status, stored.attempts) == ("pending", 1)
    assert stored.last_error.startswith("FileExistsError: ")
