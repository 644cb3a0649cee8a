"""Helpers for tests that read what went over the broker."""

from __future__ import annotations

import base64
import json
from typing import Any


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
