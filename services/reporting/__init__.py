"""Reporting: report schedules, deadline scans and report submission.

One sub-package per part of the domain: alliances (reporting's copy of each signed
alliance), schedules (the pure date rules), reports (stored reports, reminders, the deadline
sweep, the staff API), submissions (the partner's report form: signed link, drafts,
versions), reviews (the liaison's review), evaluations (the annual evaluation of each
agreement year), figures (the dashboard and exports), conflicts (declared conflicts).
docs/architecture.md lists them.
"""

from flask import Flask


def create_app(test_config: dict[str, object] | None = None) -> Flask:
    from services.reporting import evaluations, figures, reports, reviews, submissions
    from shared.web import create_service_app

    return create_service_app(
        __name__,
        service="reporting",
        title="reports (staff)",
        test_config=test_config,
        parts=[reports, submissions, reviews, evaluations, figures],
    )
