"""The settings of what the processes tell the people who watch them: log lines and metrics."""

from __future__ import annotations

from pathlib import Path

from shared.config.declarations import Section, Setting
from shared.config.parsers import PATH, one_of, whole

MONITORING = Section(
    "Monitoring",
    "Log lines and Prometheus metrics (the metrics, the alert rules and what to do about each: "
    "deploy/monitoring/README.md).",
)
LOG_FORMAT = MONITORING.add(
    Setting(
        "LOG_FORMAT",
        one_of("json", "human"),
        "",
        "`json`: one JSON object a line (time, level, service, process, logger, message and the "
        "task, event, proposal and alliance ids when known) on every process; `human`: one "
        "line of text each",
        default_doc="`json` when `APP_ENV=production`, else `human`",
    )
)
METRICS_PORT: Setting[int | None] = MONITORING.add(
    Setting(
        "METRICS_PORT",
        whole("", 0, 65535),
        None,
        "where each worker and the beat serve their Prometheus metrics (`/metrics`); 0: not "
        "at all. A web process serves its own at `/metrics` on its port; `alliance run` "
        "serves the whole system's there and sets 0",
        default_doc="`9100` when `APP_ENV=production`, else 0",
    )
)
PROMETHEUS_MULTIPROC_DIR: Setting[Path | None] = MONITORING.add(
    Setting(
        "PROMETHEUS_MULTIPROC_DIR",
        PATH,
        None,
        "an empty folder, writable, one per server, where its processes keep their counts, "
        "which its `/metrics` adds up: a Celery worker's pool processes (where its tasks run: "
        "a prefork worker needs it, or its page misses every task) and gunicorn's workers "
        "(gunicorn makes a temporary one when it is unset); `alliance run` sets "
        "`$VAR_DIR/metrics`, emptied at each start. Read by prometheus-client itself",
        default_doc="(none: one process's counts)",
    )
)
