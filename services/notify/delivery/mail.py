"""Mail transports, as MAIL_BACKEND chooses: SMTP (the default when SMTP_HOST is set), files
under var/mail/ (the default otherwise) or the console (each message printed to stdout).

Sending is split in two so that the caller can record "sending" between them: ``connect()``
opens and greets the server (EHLO, STARTTLS, AUTH), and the connection's ``send()`` runs the
mail transaction (MAIL, RCPT, DATA). A failure is reported as one of three errors, by what it
says about the message: ``NotSent`` (the server certainly did not take it; try again),
``Refused`` (a permanent 5xx answer; do not try again) and ``OutcomeUnknown`` (the content went
out and the answer never came: it may have been delivered). ``Unreachable``, a ``NotSent`` of
``connect()``, says nothing about any message: the server could not be reached or would not
greet, a state of the channel (delivery/domain.py ``channel_down``).

An SMTP connection is kept open across messages: ``close()`` hands a connection whose last
transaction ended cleanly back to its mailer, whose next ``connect()`` reuses it (after a NOOP
when it sat idle a while); one idle longer than ``KEEP_IDLE_SECONDS`` is closed. A greeting per
message cost more than the message itself.

``build_email`` makes the e-mail of a stored message (services/notify/models.py ``Message``).
"""

from __future__ import annotations

import email.generator
import email.headerregistry
import email.policy
import email.utils
import io
import os
import re
import smtplib
import ssl
import sys
import tempfile
import threading
import time
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


class _HeaderClasses(email.headerregistry.HeaderRegistry):
    """The standard header registry, making each header's class once: the standard one
    makes a new class for every header set, a tenth of the cost of building a message."""

    def __init__(self) -> None:
        super().__init__()
        self._made: dict[str, type] = {}

    def __getitem__(self, name: str) -> type:
        key = name.lower()
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = super().__getitem__(name)
        return made


# What messages are built with: the default policy, its header classes made once.
BUILD_POLICY = email.policy.default.clone(header_factory=_HeaderClasses())
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


class Unreachable(NotSent):
    """The server did not answer the connection or its greeting: nothing to do with a message."""


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


# A kept connection idle longer than this is closed (servers drop idle clients after a few
# minutes; RFC 5321 asks them to wait at least 5). One idle longer than CHECK_AFTER_SECONDS
# is asked for a NOOP before it carries a message, so a connection the server dropped meanwhile
# is replaced before a message is claimed on it.
KEEP_IDLE_SECONDS = 30.0
CHECK_AFTER_SECONDS = 2.0


class SmtpMailer:
    """Opens greeted SMTP connections and keeps the idle ones for the next message, for
    ``keep_idle`` seconds (0: closes each once used, for a mailer made for one message; a
    worker's is ``mailer_from_settings``'s, which keeps them)."""

    def __init__(self, settings: SmtpSettings, *, keep_idle: float = 0.0):
        self.settings = settings
        self.keep_idle = keep_idle
        self._lock = threading.Lock()
        self._idle: list[tuple[SmtpConnection, float]] = []
        self._reaper: threading.Thread | None = None

    def connect(self) -> SmtpConnection:
        """A greeted (and, when configured, encrypted and signed-in) connection: a kept one
        that still answers, else a new one."""
        while (kept := self._take_idle()) is not None:
            connection, idle_since = kept
            idle = time.monotonic() - idle_since
            if idle <= CHECK_AFTER_SECONDS or (idle <= self.keep_idle and connection.answers()):
                return connection
            connection.quit()
        return self._open()

    def _open(self) -> SmtpConnection:
        s = self.settings
        smtp = _SMTP(s.host, timeout=s.timeout)  # for the connection and for every command
        try:
            smtp.connect(s.host, s.port)
        except (smtplib.SMTPConnectError, smtplib.SMTPServerDisconnected, OSError) as err:
            # Refused, timed out, reset, or a greeting other than 220 (421: not now).
            smtp.close()
            raise Unreachable(describe(err)) from err
        try:
            smtp.ehlo_or_helo_if_needed()
            if s.starttls:
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo_or_helo_if_needed()
            if s.username:
                smtp.login(s.username, s.password)
        except (smtplib.SMTPException, OSError) as err:
            smtp.close()
            raise NotSent(describe(err)) from err
        return SmtpConnection(smtp, mailer=self)

    def _take_idle(self) -> tuple[SmtpConnection, float] | None:
        with self._lock:
            return self._idle.pop() if self._idle else None

    def keep(self, connection: SmtpConnection) -> None:
        """Keep ``connection`` for the next message (closed after ``keep_idle`` unused)."""
        if self.keep_idle <= 0:
            connection.quit()
            return
        with self._lock:
            self._idle.append((connection, time.monotonic()))
            if self._reaper is None or not self._reaper.is_alive():
                self._reaper = threading.Thread(
                    target=self._close_idle, name="smtp-idle", daemon=True
                )
                self._reaper.start()

    def _close_idle(self) -> None:
        """Close the connections idle past ``keep_idle``; ends once none is kept."""
        while True:
            time.sleep(self.keep_idle / 2)
            now = time.monotonic()
            with self._lock:
                stale = [c for c, since in self._idle if now - since > self.keep_idle]
                self._idle = [
                    (c, since) for c, since in self._idle if now - since <= self.keep_idle
                ]
                done = not self._idle
                if done:
                    self._reaper = None
            for connection in stale:
                connection.quit()
            if done:
                return

    def close(self) -> None:
        """Close every kept connection."""
        with self._lock:
            idle, self._idle = self._idle, []
        for connection, _ in idle:
            connection.quit()


def _answer(command: str, code: int, reply: bytes) -> DeliveryError:
    text = f"{command}: {code} {reply.decode('utf-8', 'replace')}"
    return Refused(text) if 500 <= code < 600 else NotSent(text)


class SmtpConnection:
    def __init__(self, smtp: smtplib.SMTP, *, mailer: SmtpMailer | None = None):
        self.smtp = smtp
        self.mailer = mailer
        # Only a connection whose last mail transaction ended with the server's 250 is in a
        # state the next message can start from.
        self.reusable = True

    def answers(self) -> bool:
        """Whether the server still answers on this connection (NOOP)."""
        try:
            return self.smtp.noop()[0] == 250
        except (smtplib.SMTPException, OSError):
            return False

    def send(self, message: EmailMessage) -> None:
        """One mail transaction; returns once the server answered 250 to the content."""
        self.reusable = False
        self._send(message)
        self.reusable = True

    def _send(self, message: EmailMessage) -> None:
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
        """Done with it for now: kept by its mailer when it can carry the next message."""
        if self.reusable and self.mailer is not None:
            self.mailer.keep(self)
        else:
            self.quit()

    def quit(self) -> None:
        try:
            self.smtp.quit()
        except (smtplib.SMTPException, OSError):
            self.smtp.close()


# One mailer (and its kept connections) per SMTP server a process sends to.
_smtp_mailers: dict[SmtpSettings, SmtpMailer] = {}
_smtp_mailers_lock = threading.Lock()


def mailer_from_settings(settings: Settings) -> Mailer:
    """MAIL_BACKEND's transport (shared/config/ checked that ``smtp`` has an SMTP_HOST)."""
    if settings.mail_backend == "console":
        return ConsoleMailer()
    if settings.mail_backend == "smtp" and settings.smtp is not None:
        with _smtp_mailers_lock:
            mailer = _smtp_mailers.get(settings.smtp)
            if mailer is None:
                mailer = _smtp_mailers[settings.smtp] = SmtpMailer(
                    settings.smtp, keep_idle=KEEP_IDLE_SECONDS
                )
            return mailer
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
    email = EmailMessage(policy=BUILD_POLICY)
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
