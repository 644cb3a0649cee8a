"""An in-process SMTP server (aiosmtpd) that keeps what it receives."""

from __future__ import annotations

import asyncio
import email
import email.policy
import threading
import time
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


class Inbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            self.messages.append(message)
        return "250 Message accepted"

    def wait_for(
        self, predicate: Callable[[EmailMessage], bool], *, count: int = 1, timeout: float = 30
    ) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                found = [m for m in self.messages if predicate(m)]
            if len(found) >= count:
                return found
            time.sleep(0.1)
        with self._lock:
            seen = [str(m["Subject"]) for m in self.messages]
        raise AssertionError(f"expected {count} matching messages within {timeout}s; saw {seen}")

    def matching(self, predicate: Callable[[EmailMessage], bool]) -> list[EmailMessage]:
        with self._lock:
            return [m for m in self.messages if predicate(m)]


class DroppingInbox(Inbox):
    """Keeps the first ``drops`` messages, then drops the connection instead of answering 250
    (the client cannot know the message arrived); answers later ones normally."""

    def __init__(self, drops: int = 1) -> None:
        super().__init__()
        self.drops = drops

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        answer = await super().handle_DATA(server, session, envelope)
        if self.drops > 0:
            self.drops -= 1
            server.transport.abort()
            await asyncio.sleep(30)  # cancelled when the connection is gone: nothing answers
        return answer


class RefusingInbox(Inbox):
    """Refuses every recipient for good, as a server does for an address it does not know."""

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"


class SmtpServer:
    def __init__(self, port: int, inbox: Inbox | None = None):
        self.inbox = inbox if inbox is not None else Inbox()
        self.port = port
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=port)

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())
