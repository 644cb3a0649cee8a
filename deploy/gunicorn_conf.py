"""gunicorn's settings for every web process: ``gunicorn --config python:deploy.gunicorn_conf``
(the Dockerfile, docker-compose.yml, ``alliance web`` and ``alliance run`` all pass it).

gunicorn writes ``Server: gunicorn`` on every answer and has no setting to leave it out: the
hook below drops it before the first worker starts, so no answer names the server software.
The headers the answers do carry come from the apps themselves (shared/security_headers.py).

Logs: gunicorn's own lines and the apps' go to the format ``LOG_FORMAT`` names
(shared/logs.py): ``json``, one object a line, the access lines without the client's address,
user agent, referrer, query string or a signed link's token; ``human``, gunicorn's usual lines
and the apps' text.

Metrics: the workers count into ``PROMETHEUS_MULTIPROC_DIR``, which every worker's
``/metrics`` adds up (shared/metrics.py). Without one, a server of several workers makes a
folder of its own for its run; a worker that ends is forgotten (``child_exit``).
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from typing import Any

from gunicorn.http import wsgi

from shared.config import (
    PROMETHEUS_MULTIPROC_DIR,
    ConfigurationError,
    Settings,
    load_settings,
    reset_settings,
)
from shared.logs import hide_tokens, set_process_service

# gunicorn's own format for its lines, kept for the human format.
GUNICORN_FORMAT = "%(asctime)s [%(process)d] [%(levelname)s] %(message)s"
GUNICORN_DATE_FORMAT = "[%Y-%m-%d %H:%M:%S %z]"
# An access line in the JSON format: what was asked and answered, nothing about who asked.
JSON_ACCESS_FORMAT = "%(m)s %(U)s %(s)s %(B)s %(M)sms"


class HideTokens(logging.Filter):
    """Writes ``<token>`` for a signed link's token in an access line's path."""

    def filter(self, record: logging.LogRecord) -> bool:
        atoms = record.args
        if isinstance(atoms, dict) and isinstance(atoms.get("U"), str):
            atoms["U"] = hide_tokens(atoms["U"])
        return True


def _settings() -> Settings | None:
    try:
        return load_settings()
    except ConfigurationError:
        return None  # the app refuses to load with the message that names it


def logging_config(log_format: str, level: str) -> dict[str, Any]:
    """gunicorn's ``logconfig_dict``: the apps' lines (the root logger) and gunicorn's in
    ``log_format``; the access lines on stdout, the others on stderr."""
    app: dict[str, Any] = {
        "()": "shared.logs.log_handler",
        "log_format": log_format,
        "stream": "ext://sys.stderr",
    }
    filters: dict[str, Any] = {}
    formatters: dict[str, Any] = {}
    error: dict[str, Any] = dict(app)
    if log_format == "json":
        access = {**app, "stream": "ext://sys.stdout", "filters": ["hide_tokens"]}
        filters = {"hide_tokens": {"()": HideTokens}}
    else:
        error = {
            "class": "logging.StreamHandler",
            "formatter": "gunicorn",
            "stream": "ext://sys.stderr",
        }
        access = {
            "class": "logging.StreamHandler",
            "formatter": "access",
            "stream": "ext://sys.stdout",
        }
        formatters = {
            "gunicorn": {"format": GUNICORN_FORMAT, "datefmt": GUNICORN_DATE_FORMAT},
            "access": {"format": "%(message)s"},
        }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": formatters,
        "filters": filters,
        "handlers": {"app": app, "error": error, "access": access},
        "root": {"level": level, "handlers": ["app"]},
        "loggers": {
            # Its level stays gunicorn's own (--log-level).
            "gunicorn.error": {"handlers": ["error"], "propagate": False},
            "gunicorn.access": {"level": "INFO", "handlers": ["access"], "propagate": False},
        },
    }


set_process_service("web")  # the master's lines and its workers' outside a request
_loaded = _settings()
if _loaded is not None:
    logconfig_dict = logging_config(_loaded.log_format, _loaded.log_level)
    if _loaded.log_format == "json":
        access_log_format = JSON_ACCESS_FORMAT

_made_metrics_dir: list[str] = []


def on_starting(server: Any) -> None:
    hide_server_header()
    share_the_counts(server)
    # Imported now, with the folder set, so that the workers count into it and ``child_exit``
    # (run from a signal handler) imports nothing.
    import prometheus_client.multiprocess  # noqa: F401


def share_the_counts(server: Any) -> None:
    """Give the workers one folder for their counts when none is set (before they start)."""
    settings = _settings()
    if settings is None or settings.metrics_dir is not None or server.cfg.workers < 2:
        return
    folder = tempfile.mkdtemp(prefix="alliance-metrics-")
    _made_metrics_dir.append(folder)
    os.environ.update({PROMETHEUS_MULTIPROC_DIR.name: folder})
    reset_settings()  # read again, with the folder (the workers inherit them)
    _settings()


def child_exit(server: Any, worker: Any) -> None:
    """A worker ended: its live gauges go; its counts stay in the sums."""
    from prometheus_client.multiprocess import mark_process_dead

    settings = _settings()
    if settings is not None and settings.metrics_dir is not None:
        mark_process_dead(worker.pid, str(settings.metrics_dir))


def on_exit(server: Any) -> None:
    for folder in _made_metrics_dir:
        shutil.rmtree(folder, ignore_errors=True)


def hide_server_header() -> None:
    """Make gunicorn's responses leave out their ``Server`` line (idempotent)."""
    response = wsgi.Response
    if getattr(response.default_headers, "hides_server", False):
        return
    default_headers = response.default_headers

    def without_server(self: Any) -> list[str]:
        return [line for line in default_headers(self) if not line.lower().startswith("server:")]

    without_server.hides_server = True  # type: ignore[attr-defined]
    response.default_headers = without_server
