"""Reporting's metrics: the report-deadline sweep's duration and the reminders it emitted
(counted by the worker that runs it), and the reports overdue and escalated, read from its
database when Prometheus scrapes (shared/metrics.py)."""

from collections import Counter as Tally

from prometheus_client import Counter, Histogram

from shared.metrics import DatabaseGauges, GaugeFamily

SWEEP_DURATION = Histogram(
    "alliance_deadline_sweep_duration_seconds",
    "Seconds a report-deadline sweep took (reporting.sweep_deadlines, every minute).",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)
REMINDERS_EMITTED = Counter(
    "alliance_report_reminders_emitted_total",
    "Report reminders the deadline sweep emitted, by kind (due_soon, due, overdue, escalated).",
    ["kind"],
)


def count_reminders(sent: Tally[str]) -> None:
    """Count what one sweep emitted (once its transaction committed)."""
    for kind, count in sent.items():
        REMINDERS_EMITTED.labels(kind).inc(count)


# An escalated report: still owed (overdue, or sent back for a revision) after the escalation
# to the Coordinator of its current round of reminders went out (a revision request starts a
# new round: services/reporting/reports/domain.py).
SQL = """
SELECT 'alliance_reports_overdue', '', '', count(*)::float8
  FROM reports WHERE status = 'overdue'
UNION ALL
SELECT 'alliance_reports_escalated', '', '', count(*)::float8
  FROM reports AS r
 WHERE r.status IN ('overdue', 'revision_requested')
   AND EXISTS (SELECT 1 FROM report_reminders AS m
                WHERE m.report_id = r.id AND m.kind = 'escalated'
                  AND m.sent_at IS NOT NULL AND NOT m.skipped
                  AND m.round = (SELECT max(n.round) FROM report_reminders AS n
                                  WHERE n.report_id = r.id))
"""

gauges = DatabaseGauges(
    "reporting",
    families=(
        GaugeFamily("alliance_reports_overdue", "Reports past their due date, not submitted."),
        GaugeFamily(
            "alliance_reports_escalated",
            "Reports still owed after their escalation to the Coordinator went out.",
        ),
    ),
    sql=SQL,
)
