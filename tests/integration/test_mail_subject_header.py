"""A long subject stays one line in the raw message (issue 16: "a folded Subject: header").

Python's e-mail package folds every header at 78 columns, so a subject such as "Action
required: your quarterly report for AP-2026-00042 of <a partner's name> is overdue" went out
on two lines: legitimate RFC 5322, yet shown broken by some mail programs and by anyone who
reads the .eml. Each transport now writes each header on one line (up to RFC 5322's 998), in
plain ASCII, as UTF-8 where the server takes it, or as RFC 2047 encoded words; every
transport's raw bytes are checked here, and so is what a mail program decodes from them.
"""

from __future__ import annotations

import email
import email.policy
import io
import uuid
from typing import Any

import pytest

from deploy.embedded import free_port
from services.notify.delivery.mail import ConsoleMailer, FileMailer, SmtpMailer, build_email
from services.notify.models import Message
from shared.config import SmtpSettings
from tests.smtp import Inbox, SmtpServer

pytestmark = [pytest.mark.integration]

MAIL_FROM = "MIOSHA Alliance Program <alliances@agency.example>"
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
    connection.send(build_email(message, mail_from=MAIL_FROM))
    [path] = tmp_path.glob("*.eml")
    raw = path.read_bytes()
    line = the_subject_line(raw, b"\n")
    if subject.isascii():
        assert line == f"Subject: {subject}".encode()
    assert decoded(raw) == subject


@pytest.mark.parametrize("subject", SUBJECTS)
def test_the_console_backend_prints_the_subject_on_one_line(subject):
    out = io.StringIO()
    ConsoleMailer(out).connect().send(build_email(a_message(subject), mail_from=MAIL_FROM))
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
            connection.send(build_email(a_message(subject), mail_from=MAIL_FROM))
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
