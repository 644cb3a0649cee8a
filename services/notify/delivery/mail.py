"""Mail transports, as MAIL_BACKEND chooses: SMTP (the default when SMTP_HOST is set), files
under var/mail/ (the default otherwise) or the console (each message printed to stdout).

Sending is split in two so that the caller can record "sending" between them: ``connect()``
opens and greets the server (EHLO, STARTTLS, AUTH), and the connection's ``send()`` runs the
mail transaction (MAIL, RCPT, DATA). A failure is reported as one of three errors, by what it
says about the message: ``NotSent`` (the server certainly did not take it; try again),
``Refused`` (a permanent 5xx answer; do not try again) and ``OutcomeUnknown`` (the content went
out and the answer never came: it may have been delivered).

``build_email`` makes the e-mail of a stored message (services/notify/models.py ``Message``).
"""

from __future__ import annotations

import email.generator
import email.policy
import email.utils
import io
import os
import re
import smtplib
import ssl
import sys
import tempfile
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Protocol, TextIO

from services.notify.messages import calendars
from services.notify.models import Message
from shared.config import Settings, SmtpSettings

# Each header on one line, up to RFC 5322's limit of 998 characters (a subject is at most
# 300): the standard 78-column folding broke every subject longer than about 70 characters
# onto two lines, which some mail programs, and anyone reading the .eml file, show as a break.
# Bodies are unaffected: their encoding was chosen (at 78 columns) when their parts were set.
HEADER_LINE_LIMIT = 998
FILE_POLICY = email.policy.default.clone(max_line_length=HEADER_LINE_LIMIT)
SMTP_POLICY = email.policy.SMTP.clone(max_line_length=HEADER_LINE_LIMIT)
SMTPUTF8_POLICY = email.policy.SMTPUTF8.clone(max_line_length=HEADER_LINE_LIMIT)


class DeliveryError(Exception):
    """What became of a message that did not certainly go out; ``str()`` says why."""


class NotSent(DeliveryError):
    pass


class Refused(DeliveryError):
    pass


class OutcomeUnknown(DeliveryError):
    pass


def describe(err: BaseException) -> str:
    return f"{type(err).__name__}: {err}"


class MailConnection(Protocol):
    def send(self, message: EmailMessage) -> None: ...

    def close(self) -> None: ...


class Mailer(Protocol):
    def connect(self) -> MailConnection: ...


class FileMailer:
    """Writes each message as an ``.eml`` file; the development and embedded default."""

    def __init__(self, directory: Path):
        self.directory = directory

    def connect(self) -> FileConnection:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise NotSent(describe(err)) from err
        return FileConnection(self.directory)


class FileConnection:
    def __init__(self, directory: Path):
        self.directory = directory

    def send(self, message: EmailMessage) -> None:
        message_id = str(message["Message-ID"]).strip("<>").split("@", 1)[0]
        target = self.directory / f"{message_id}.eml"
        # Write then rename, so a reader never sees half a message; the rename is the "250".
        try:
            fd, tmp = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
        except OSError as err:
            raise NotSent(describe(err)) from err
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(message.as_bytes(policy=FILE_POLICY))
            os.replace(tmp, target)
        except OSError as err:
            Path(tmp).unlink(missing_ok=True)
            raise NotSent(describe(err)) from err

    def close(self) -> None:
        pass


class ConsoleMailer:
    """Prints each message, headers and all its parts, to standard output (development)."""

    def __init__(self, stream: TextIO | None = None):
        self.stream = stream

    def connect(self) -> ConsoleConnection:
        return ConsoleConnection(self.stream if self.stream is not None else sys.stdout)


class ConsoleConnection:
    def __init__(self, stream: TextIO):
        self.stream = stream

    def send(self, message: EmailMessage) -> None:
        text = message.as_bytes(policy=SMTPUTF8_POLICY).decode("utf-8", "replace")
        try:
            self.stream.write(f"{'-' * 72}\n{text.replace(chr(13), '')}\n{'-' * 72}\n")
            self.stream.flush()
        except (OSError, ValueError) as err:  # a closed or broken stream
            raise NotSent(describe(err)) from err

    def close(self) -> None:
        pass


class _SMTP(smtplib.SMTP):
    """smtplib's client, knowing the host before it connects: smtplib learns the name that
    STARTTLS checks the server's certificate against only when its constructor connects, and
    connecting outside the constructor lets a failed greeting close the socket here."""

    def __init__(self, host: str, *, timeout: float):
        super().__init__(timeout=timeout)
        self._host = host


class SmtpMailer:
    def __init__(self, settings: SmtpSettings):
        self.settings = settings

    def connect(self) -> SmtpConnection:
        """A greeted (and, when configured, encrypted and signed-in) connection."""
        s = self.settings
        smtp = _SMTP(s.host, timeout=s.timeout)  # for the connection and for every command
        try:
            smtp.connect(s.host, s.port)
            smtp.ehlo_or_helo_if_needed()
            if s.starttls:
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo_or_helo_if_needed()
            if s.username:
                smtp.login(s.username, s.password)
        except (smtplib.SMTPException, OSError) as err:
            smtp.close()
            raise NotSent(describe(err)) from err
        return SmtpConnection(smtp)


def _answer(command: str, code: int, reply: bytes) -> DeliveryError:
    text = f"{command}: {code} {reply.decode('utf-8', 'replace')}"
    return Refused(text) if 500 <= code < 600 else NotSent(text)


class SmtpConnection:
    def __init__(self, smtp: smtplib.SMTP):
        self.smtp = smtp

    def send(self, message: EmailMessage) -> None:
        """One mail transaction; returns once the server answered 250 to the content."""
        smtp = self.smtp
        sender = email.utils.getaddresses([str(message["From"])])[0][1]
        recipients = [addr for _, addr in email.utils.getaddresses([str(message["To"])])]
        international = any(not addr.isascii() for addr in [sender, *recipients])
        options: list[str] = []
        policy = SMTP_POLICY
        if international:
            if not smtp.has_extn("smtputf8"):
                raise Refused("SMTPNotSupportedError: the server does not take SMTPUTF8 addresses")
            options += ["SMTPUTF8", "BODY=8BITMIME"]
            policy = SMTPUTF8_POLICY
        elif smtp.has_extn("8bitmime"):
            options.append("BODY=8BITMIME")
        with io.BytesIO() as buffer:
            email.generator.BytesGenerator(buffer, policy=policy).flatten(message)
            content = buffer.getvalue()
        content = re.sub(rb"(?m)^\.", b"..", content)
        if not content.endswith(b"\r\n"):
            content += b"\r\n"
        content += b".\r\n"

        # Until the content has gone out, any failure means the server did not take it.
        try:
            code, reply = smtp.mail(sender, options)
            if code != 250:
                raise _answer("SMTPSenderRefused", code, reply)
            for recipient in recipients:
                code, reply = smtp.rcpt(recipient)
                if code not in (250, 251):
                    raise _answer("SMTPRecipientsRefused", code, reply)
            code, reply = smtp.docmd("DATA")
            if code != 354:
                raise _answer("SMTPDataError", code, reply)
            smtp.send(content)
        except DeliveryError:
            raise
        except (smtplib.SMTPException, OSError) as err:
            raise NotSent(describe(err)) from err
        # The server has the whole message; only its answer says whether it kept it.
        try:
            code, reply = smtp.getreply()
        except (smtplib.SMTPException, OSError) as err:
            raise OutcomeUnknown(describe(err)) from err
        if code != 250:
            raise _answer("SMTPDataError", code, reply)

    def close(self) -> None:
        try:
            self.smtp.quit()
        except (smtplib.SMTPException, OSError):
            self.smtp.close()


def mailer_from_settings(settings: Settings) -> Mailer:
    """MAIL_BACKEND's transport (shared/config/ checked that ``smtp`` has an SMTP_HOST)."""
    if settings.mail_backend == "console":
        return ConsoleMailer()
    if settings.mail_backend == "smtp" and settings.smtp is not None:
        return SmtpMailer(settings.smtp)
    return FileMailer(settings.mail_dir)


# Why multipart/mixed [multipart/alternative [text/plain, text/html], text/calendar]:
# - A text/calendar part inside multipart/alternative is one of the message's *versions*: a
#   client shows one alternative, so some show the calendar and hide the text (or the reverse:
#   Outlook 2007 showed only the plain text once a text/plain part was beside it), and Gmail
#   and Outlook treat an inline text/calendar as an iMIP invitation (METHOD:REQUEST with
#   ORGANIZER and ATTENDEE, answered with accept/decline), which a report deadline is not.
# - As an attachment beside the alternative (Content-Disposition: attachment; filename and the
#   Content-Type's name "reports.ics", method=PUBLISH), every client shows the message as
#   written and offers the .ics to add: Gmail's "Add to calendar" on the attachment, Apple
#   Mail's calendar preview, Outlook's opening an .ics into the calendar. Several reports (the
#   welcome's calendar) are several VEVENTs in the one attachment.
# (Invitation builders send the calendar both inline and as an attachment because some
# clients look only at attachments; for information-only PUBLISH calendars the attachment
# alone is the robust choice.)


def _header(value: str) -> str:
    """A header's value on one line: no line break in it can start another header."""
    return " ".join(str(value).split())


def build_email(message: Message, *, mail_from: str) -> EmailMessage:
    """The e-mail of ``message``: its text and HTML as alternatives, and its calendar (if any)
    attached as ``reports.ics`` (see above for why this structure)."""
    email = EmailMessage()
    email["From"] = mail_from
    # One address, parsed: whatever the row holds, it cannot name a second recipient.
    email["To"] = Address(addr_spec=_header(message.to_address))
    email["Subject"] = _header(message.subject)
    email["Message-ID"] = make_msgid(idstring=str(message.id), domain="alliance.local")
    email["X-Alliance-Message"] = str(message.id)
    if message.reference:
        email["X-Alliance-Reference"] = _header(message.reference)
    email.set_content(message.text_body)
    email.add_alternative(message.html_body, subtype="html")
    if message.calendar:
        email.add_attachment(
            message.calendar,
            subtype="calendar",
            filename=calendars.FILENAME,
            params={"method": "PUBLISH", "name": calendars.FILENAME},
        )
    return email
