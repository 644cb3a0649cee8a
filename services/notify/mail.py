"""Mail transports: SMTP when SMTP_HOST is set, otherwise files under var/mail/."""

from __future__ import annotations

import os
import smtplib
import ssl
import tempfile
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

from shared.config import Settings, SmtpSettings


class Mailer(Protocol):
    def send(self, message: EmailMessage) -> None: ...


class FileMailer:
    """Writes each message as an ``.eml`` file; the development and embedded default."""

    def __init__(self, directory: Path):
        self.directory = directory

    def send(self, message: EmailMessage) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        message_id = str(message["Message-ID"]).strip("<>").split("@", 1)[0]
        target = self.directory / f"{message_id}.eml"
        # Write then rename, so a reader never sees half a message.
        fd, tmp = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            fh.write(message.as_bytes())
        os.replace(tmp, target)


class SmtpMailer:
    def __init__(self, settings: SmtpSettings):
        self.settings = settings

    def send(self, message: EmailMessage) -> None:
        s = self.settings
        with smtplib.SMTP(s.host, s.port, timeout=s.timeout) as smtp:
            if s.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if s.username:
                smtp.login(s.username, s.password)
            smtp.send_message(message)


def mailer_from_settings(settings: Settings) -> Mailer:
    if settings.smtp is not None:
        return SmtpMailer(settings.smtp)
    return FileMailer(settings.mail_dir)
