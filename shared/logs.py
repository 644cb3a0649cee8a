"""Logging with the task id and event id on every line a task writes."""

from __future__ import annotations

import contextvars
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager

task_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("task_id", default="-")
event_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("event_id", default="-")

FORMAT = (
    "%(asctime)s %(levelname)s [%(process)d] [task=%(task_id)s event=%(event_id)s] "
    "%(name)s: %(message)s"
)


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.task_id = task_id_var.get()
        record.event_id = event_id_var.get()
        return True


@contextmanager
def log_context(*, task_id: str | None, event_id: str | None) -> Iterator[None]:
    task_token = task_id_var.set(task_id or "-")
    event_token = event_id_var.set(event_id or "-")
    try:
        yield
    finally:
        task_id_var.reset(task_token)
        event_id_var.reset(event_token)


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
