"""Prometheus metrics: what every process counts, and the gauges read from the databases.

Counted where it happens (prometheus-client, every name ``alliance_...``):

- each web request: ``alliance_http_requests_total{service, method, route, status}`` and
  ``alliance_http_request_duration_seconds{service, route}`` (``route``: the URL rule, such as
  ``/api/v1/proposals``, never the path a client sent);
- each Celery task run, failure and retry (``alliance_task_*{service, task}``, from Celery's
  signals) and its duration;
- each event an outbox published (``alliance_outbox_published_total{service}``) and each event
  a consumer rejected (``alliance_inbox_rejects_total{service, reason}``);
- each entry the beat sent or failed to send (``alliance_beat_*{entry}``);
- a service's own (the report-deadline sweep: services/reporting/metrics.py).

Gauges read from a database (``DatabaseGauges``) are computed when Prometheus scrapes: one
query per service with a short statement timeout; a database that does not answer leaves its
gauges out (``alliance_database_up`` says 0) and never fails the page. Every service counts its
outbox and its rejected events; each adds its own (services/<service>/metrics.py). A web app
serves ``GET /metrics`` with its service's gauges (shared/web.py); ``alliance run``'s gateway
serves the whole system's at its root (deploy/gateway.py).

Several processes of one server (gunicorn's workers, a Celery worker's pool) share their
counts through ``PROMETHEUS_MULTIPROC_DIR`` (prometheus-client's multiprocess mode): the page
adds up every process's file. A worker and the beat serve their page on ``METRICS_PORT``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from prometheus_client import (
    CONTENT_TYPE_PLAIN_0_0_4,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector

from shared.config import load_settings

if TYPE_CHECKING:
    from sqlalchemy import Engine

log = logging.getLogger(__name__)

# The text format every Prometheus server reads.
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4

# Counters say ``_total`` only: a ``_created`` series beside each (the time it started) would
# double the series and tell an operator nothing.
disable_created_metrics()  # type: ignore[no-untyped-call]

HTTP_REQUESTS = Counter(
    "alliance_http_requests_total",
    "Web requests answered, by service, method, route (the URL rule) and status.",
    ["service", "method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "alliance_http_request_duration_seconds",
    "Seconds from a web request's arrival to its answer, by service and route.",
    ["service", "route"],
)
TASK_RUNS = Counter(
    "alliance_task_runs_total",
    "Celery task runs, whatever their outcome (a worker's canary runs every few seconds).",
    ["service", "task"],
)
TASK_FAILURES = Counter(
    "alliance_task_failures_total",
    "Celery task runs that raised (not retried; they run again after the visibility timeout).",
    ["service", "task"],
)
TASK_RETRIES = Counter(
    "alliance_task_retries_total",
    "Celery task runs that asked to be retried later (a database or broker away).",
    ["service", "task"],
)
TASK_DURATION = Histogram(
    "alliance_task_duration_seconds",
    "Seconds a Celery task run took.",
    ["service", "task"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)
OUTBOX_PUBLISHED = Counter(
    "alliance_outbox_published_total",
    "Events an outbox sent to the broker (a repeat publication counts again).",
    ["service"],
)
INBOX_REJECTS = Counter(
    "alliance_inbox_rejects_total",
    "Events a consumer kept in rejected_events: malformed, or failed for a reason a retry "
    "does not cure.",
    ["service", "reason"],
)
BEAT_SENT = Counter(
    "alliance_beat_sent_total",
    "Schedule entries the leading beat sent.",
    ["entry"],
)
BEAT_FAILURES = Counter(
    "alliance_beat_send_failures_total",
    "Schedule entries the beat could not send (the broker away).",
    ["entry"],
)

UNMATCHED_ROUTE = "(unmatched)"  # a path no URL rule matched: one series, not one per path


def service_of(task_name: str) -> str:
    return task_name.partition(".")[0]


# -- tasks ----------------------------------------------------------------------------------


_task_started: dict[str, float] = {}  # task id: when it started, until it ends
_instrumented = False


def instrument_tasks() -> None:
    """Count every task run, failure and retry of this process through Celery's signals
    (once per process, however many apps ask)."""
    from celery import signals

    global _instrumented
    if _instrumented:
        return
    _instrumented = True

    @signals.task_prerun.connect(weak=False)  # type: ignore[untyped-decorator]
    def started(task_id: str | None = None, **kwargs: Any) -> None:
        if task_id:
            _task_started[task_id] = time.perf_counter()

    @signals.task_postrun.connect(weak=False)  # type: ignore[untyped-decorator]
    def ran(task_id: str | None = None, task: Any = None, **kwargs: Any) -> None:
        name = getattr(task, "name", None) or "unknown"
        labels = (service_of(name), name)
        TASK_RUNS.labels(*labels).inc()
        began = _task_started.pop(task_id or "", None)
        if began is not None:
            TASK_DURATION.labels(*labels).observe(time.perf_counter() - began)

    @signals.task_failure.connect(weak=False)  # type: ignore[untyped-decorator]
    def failed(sender: Any = None, **kwargs: Any) -> None:
        name = getattr(sender, "name", None) or "unknown"
        TASK_FAILURES.labels(service_of(name), name).inc()

    @signals.task_retry.connect(weak=False)  # type: ignore[untyped-decorator]
    def retried(sender: Any = None, **kwargs: Any) -> None:
        name = getattr(sender, "name", None) or "unknown"
        TASK_RETRIES.labels(service_of(name), name).inc()


def process_ended(pid: int) -> None:
    """A process of this server ended (a gunicorn worker, a pool process): its live gauges
    go; its counts stay in the sums."""
    if load_settings().metrics_dir is not None:
        mark_process_dead(pid)  # type: ignore[no-untyped-call]


# -- gauges read from a database ----------------------------------------------------------


@dataclass(frozen=True)
class GaugeFamily:
    """A gauge a service's query gives: its name, help and labels beyond ``service``."""

    name: str
    documentation: str
    labels: tuple[str, ...] = ()


DATABASE_UP = GaugeFamily(
    "alliance_database_up",
    "1 when the service's database answered the metrics query, 0 when it did not (its other "
    "gauges are then absent).",
)

# Every service's outbox and rejected events (shared/outbox.py, shared/inbox.py).
COMMON_FAMILIES = (
    GaugeFamily("alliance_outbox_pending", "Outbox events not yet published."),
    GaugeFamily(
        "alliance_outbox_oldest_pending_age_seconds",
        "Seconds the oldest outbox event not yet published has waited (0 when none waits).",
    ),
    GaugeFamily(
        "alliance_inbox_rejected_events",
        "Events kept in rejected_events for a person to inspect, by reason.",
        ("reason",),
    ),
)
# Rows of (gauge, first label, second label, value); '' for a label the gauge does not have.
COMMON_SQL = """
SELECT 'alliance_outbox_pending', '', '', count(*)::float8
  FROM outbox_events WHERE published_at IS NULL
UNION ALL
SELECT 'alliance_outbox_oldest_pending_age_seconds', '', '',
       COALESCE((SELECT EXTRACT(EPOCH FROM now() - created_at) FROM outbox_events
                  WHERE published_at IS NULL ORDER BY id LIMIT 1), 0)::float8
UNION ALL
SELECT 'alliance_inbox_rejected_events', reasons.reason, '',
       (SELECT count(*) FROM rejected_events WHERE reason = reasons.reason)::float8
  FROM (VALUES ('malformed'), ('failed')) AS reasons (reason)
"""

# How long a metrics query may run, and wait to connect.
STATEMENT_TIMEOUT_MS = 2000
CONNECT_TIMEOUT_SECONDS = 2


class DatabaseGauges:
    """A service's gauges, read from its own database when Prometheus scrapes.

    ``sql`` (with its bound ``params``) gives rows of (gauge name, label, label, value) for the
    ``families`` (the labels a family has, in order; the others ''). Its service's outbox and
    rejected events come first (``COMMON_SQL``): one query in all, cut off after
    ``STATEMENT_TIMEOUT_MS``."""

    def __init__(
        self,
        service: str,
        *,
        families: Sequence[GaugeFamily] = (),
        sql: str = "",
        params: Mapping[str, Any] | None = None,
    ) -> None:
        self.service = service
        self.params = dict(params or {})
        self.families = (*COMMON_FAMILIES, *families)
        self.sql = COMMON_SQL + (f"UNION ALL\n{sql}" if sql.strip() else "")
        self._engines: dict[str, Engine] = {}
        self._lock = threading.Lock()

    def _engine(self, url: str) -> Engine:
        # SQLAlchemy is imported here: beat counts its sends with this module and needs none.
        from sqlalchemy import create_engine, event
        from sqlalchemy.pool import NullPool

        from shared.db import sqlalchemy_url

        with self._lock:
            engine = self._engines.get(url)
            if engine is None:
                # A connection per scrape (every 15 s or so), none kept between them: a web
                # process holds no idle connection for its metrics.
                engine = create_engine(
                    sqlalchemy_url(url),
                    poolclass=NullPool,
                    connect_args={
                        "connect_timeout": CONNECT_TIMEOUT_SECONDS,
                        "application_name": f"alliance-{self.service}-metrics",
                    },
                )
                event.listen(engine, "connect", _limit_the_session)
                self._engines[url] = engine
            return engine

    def read(self) -> list[tuple[str, str, str, float]]:
        """The rows of the query (raises when the database does not answer)."""
        from sqlalchemy import text

        url = load_settings().database_url(self.service)
        with self._engine(url).connect() as connection:
            rows = connection.execute(text(self.sql), self.params).all()
            connection.rollback()
        return [(str(name), str(a), str(b), float(value)) for name, a, b, value in rows]

    def describe(self) -> Iterator[Metric]:
        for family in (DATABASE_UP, *self.families):
            yield GaugeMetricFamily(
                family.name, family.documentation, labels=["service", *family.labels]
            )

    def collect(self) -> Iterator[Metric]:
        from sqlalchemy.exc import SQLAlchemyError

        try:
            rows = self.read()
        except (SQLAlchemyError, OSError) as err:
            log.warning(
                "metrics: the %s database did not answer (%s); its gauges are left out",
                self.service,
                type(err).__name__,
            )
            rows = None
        up = GaugeMetricFamily(DATABASE_UP.name, DATABASE_UP.documentation, labels=["service"])
        up.add_metric([self.service], 0.0 if rows is None else 1.0)
        yield up
        if rows is None:
            return
        by_name = {
            family.name: (
                family,
                GaugeMetricFamily(
                    family.name, family.documentation, labels=["service", *family.labels]
                ),
            )
            for family in self.families
        }
        for name, first, second, value in rows:
            if name not in by_name:
                continue
            family, gauge = by_name[name]
            gauge.add_metric([self.service, first, second][: 1 + len(family.labels)], value)
        for _family, gauge in by_name.values():
            yield gauge


def _limit_the_session(connection: Any, record: Any) -> None:
    """A metrics connection reads only, and never for long."""
    cursor = connection.cursor()
    cursor.execute(
        f"SET statement_timeout = {STATEMENT_TIMEOUT_MS}; SET default_transaction_read_only = on"
    )
    cursor.close()
    connection.commit()


# -- the page -------------------------------------------------------------------------------


class Merged:
    """Several collectors as one: the families of one name (each service's
    ``alliance_outbox_pending``) become one family, as the text format requires."""

    def __init__(self, collectors: Iterable[Collector]) -> None:
        self.collectors = list(collectors)

    def collect(self) -> Iterator[Metric]:
        merged: dict[str, Metric] = {}
        for collector in self.collectors:
            for family in collector.collect():
                found = merged.get(family.name)
                if found is None:
                    merged[family.name] = found = Metric(
                        family.name, family.documentation, family.type, family.unit
                    )
                found.samples += family.samples
        yield from merged.values()


class _ThisProcess:
    """This process's own metrics (the default registry), when processes keep no files."""

    def collect(self) -> Iterator[Metric]:
        return iter(REGISTRY.collect())


def registry(gauges: Iterable[Collector] = ()) -> CollectorRegistry:
    """What a metrics page shows: the counts of every process of this server (the files in
    ``PROMETHEUS_MULTIPROC_DIR``), or of this process alone, and ``gauges``."""
    shown = CollectorRegistry(auto_describe=False)
    folder = load_settings().metrics_dir
    if folder is not None:
        MultiProcessCollector(shown, path=str(folder))  # type: ignore[no-untyped-call]
    else:
        shown.register(_ThisProcess())
    gauges = list(gauges)
    if gauges:
        shown.register(Merged(gauges))
    return shown


def page(gauges: Iterable[Collector] = ()) -> bytes:
    """The metrics page, in Prometheus's text format (``CONTENT_TYPE``)."""
    return generate_latest(registry(gauges))


def serve_metrics(port: int, *, what: str) -> None:
    """Serve this process's (and its children's) metrics at ``http://0.0.0.0:port/metrics``,
    from a thread (a worker's, the beat's). A port already taken is logged, not fatal."""
    try:
        start_http_server(port, registry=registry())
    except OSError as err:
        log.error("%s cannot serve its metrics on port %d: %s", what, port, err)
        return
    log.info("%s serves its metrics on port %d (/metrics)", what, port)
