"""Log lines that say which process, task, event, proposal and alliance they are about.

Every process (web, worker, beat) writes one line per event to stderr, in one of two formats
(``LOG_FORMAT``): ``human``, the text line below, or ``json``, one JSON object a line for a log
collector, with the fields ``time``, ``level``, ``service``, ``process``, ``logger``,
``message`` and, when known, ``task_id``, ``event_id``, ``proposal_id`` and ``alliance_id``
(and ``exc_info`` for a traceback). Only those fields are written: never the extra data a
library attaches to a record (Celery attaches a task's arguments, which hold people's names
and addresses); a signed link's token in a message is written ``<token>``. The ids come from
context variables that the task wrapper (shared/tasks.py) and each web request (shared/web.py)
set.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from pythonjsonlogger.json import JsonFormatter

# What a line is about; None while unknown.
service_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("service", default=None)
task_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("task_id", default=None)
event_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("event_id", default=None)
proposal_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "proposal_id", default=None
)
alliance_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "alliance_id", default=None
)
CONTEXT: dict[str, contextvars.ContextVar[str | None]] = {
    "service": service_var,
    "task_id": task_id_var,
    "event_id": event_id_var,
    "proposal_id": proposal_id_var,
    "alliance_id": alliance_id_var,
}
# The ids a JSON line carries when they are known, in this order.
IDS = ("task_id", "event_id", "proposal_id", "alliance_id")

# The human format (``make run``'s log files).
FORMAT = (
    "%(asctime)s %(levelname)s [%(process)d] [task=%(task_id)s event=%(event_id)s] "
    "%(name)s: %(message)s"
)

FORMATS = ("json", "human")

_process_service = "-"  # this process's service (or "web", "beat"), until a request says

# A signed link's token (a status, draft or report link: itsdangerous's payload, JSON or
# compressed, then its timestamp and signature), which opens what it names to whoever reads it.
SIGNED_TOKEN = re.compile(
    r"(?:\.eJ|eyJ|Ij)[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]{5,8}\.[A-Za-z0-9_-]{27,}"
)


def hide_tokens(text: str) -> str:
    """``text`` with ``<token>`` for each signed link's token in it."""
    return SIGNED_TOKEN.sub("<token>", text)


class ContextFilter(logging.Filter):
    """Puts the context's ids on each record (``-`` for the human format when unknown)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = service_var.get() or _process_service
        for name in IDS:
            value = CONTEXT[name].get()
            setattr(record, name, value if value is not None else "-")
        return True


class JsonLineFormatter(JsonFormatter):
    """One JSON object per record with the fields the module's docstring names, and no
    others."""

    def __init__(self) -> None:
        super().__init__(reserved_attrs=())

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        created = datetime.fromtimestamp(record.created, UTC)
        log_data["time"] = created.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        log_data["level"] = record.levelname
        log_data["service"] = getattr(record, "service", None) or _process_service
        log_data["process"] = record.process
        log_data["logger"] = record.name
        log_data["message"] = hide_tokens(record.getMessage())
        for name in IDS:
            value = getattr(record, name, None)
            if value not in (None, "-"):
                log_data[name] = value
        if message_dict.get("exc_info"):
            log_data["exc_info"] = message_dict["exc_info"]
        if message_dict.get("stack_info"):
            log_data["stack_info"] = message_dict["stack_info"]

    def jsonify_log_record(self, log_data: dict[str, Any]) -> str:
        return json.dumps(log_data, default=str, ensure_ascii=False)


def human_formatter() -> logging.Formatter:
    return logging.Formatter(FORMAT)


def formatter(log_format: str) -> logging.Formatter:
    """The formatter of ``LOG_FORMAT``'s value."""
    if log_format == "json":
        return JsonLineFormatter()
    if log_format == "human":
        return human_formatter()
    raise ValueError(f"no log format {log_format!r}: one of {', '.join(FORMATS)}")


def bind_log_context(**values: str | None) -> Callable[[], None]:
    """Set the context's ``values`` (each a name of ``CONTEXT``; None leaves it unknown) and
    return what restores the previous ones."""
    tokens = [(CONTEXT[name], CONTEXT[name].set(value)) for name, value in values.items()]

    def restore() -> None:
        for var, token in reversed(tokens):
            var.reset(token)

    return restore


@contextmanager
def log_context(
    *,
    task_id: str | None,
    event_id: str | None,
    proposal_id: str | None = None,
    alliance_id: str | None = None,
) -> Iterator[None]:
    """Every line written inside the block carries these ids."""
    restore = bind_log_context(
        task_id=task_id, event_id=event_id, proposal_id=proposal_id, alliance_id=alliance_id
    )
    try:
        yield
    finally:
        restore()


def set_process_service(service: str) -> None:
    """The service this process's lines name when no request or task says otherwise."""
    global _process_service
    _process_service = service


def log_handler(log_format: str, stream: Any = None) -> logging.Handler:
    """A handler writing to ``stream`` (stderr) in ``log_format``, with the context's ids."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(formatter(log_format))
    handler.addFilter(ContextFilter())
    return handler


def configure_logging(level: str = "INFO", *, log_format: str = "human", service: str) -> None:
    """Make the root logger write ``log_format`` lines of ``level`` and above to stderr, each
    naming ``service`` unless a request or task names another."""
    set_process_service(service)
    root = logging.getLogger()
    root.handlers[:] = [log_handler(log_format)]
    root.setLevel(level)
    logging.captureWarnings(True)  # a library's warning is a line like any other
