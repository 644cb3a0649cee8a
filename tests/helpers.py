"""Helpers for tests: what went over the broker, waiting for a condition, a test event."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from shared.events import Event, new_event
from shared.proposal import ProposalSchema
from shared.testing import example_proposal


def wait_until(
    condition: Callable[[], Any], *, timeout: float, interval: float = 0.2, what: str = ""
) -> Any:
    """The first truthy value of ``condition()``; AssertionError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"not within {timeout:.0f} s: {what or condition}")
        time.sleep(interval)


def submitted_event(reference: str = "AP-2026-09999") -> Event:
    """A ``proposal.submitted`` event from intake for the SPEC's example proposal."""
    return new_event(
        "proposal.submitted",
        producer="intake",
        payload={
            "proposal_id": uuid.uuid4(),
            "reference": reference,
            "version": 1,
            "submitted_at": datetime.now(UTC),
            "proposal": ProposalSchema().load(example_proposal()),
        },
    )


def queued_tasks(redis_client: Any, queue: str) -> list[tuple[str, dict[str, Any]]]:
    """(task name, kwargs) of every message waiting in a Celery queue on Redis."""
    tasks = []
    for raw in redis_client.lrange(queue, 0, -1):
        message = json.loads(raw)
        body = message["body"]
        if message["properties"].get("body_encoding") == "base64":
            body = base64.b64decode(body)
        _args, kwargs, _embed = json.loads(body)
        tasks.append((message["headers"]["task"], kwargs))
    return list(reversed(tasks))  # kombu pushes on the left: oldest last
