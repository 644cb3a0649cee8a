"""Review's gauges, read from its database when Prometheus scrapes (shared/metrics.py): its
outbox and its rejected events."""

from shared.metrics import DatabaseGauges

gauges = DatabaseGauges("review")
