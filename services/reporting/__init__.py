"""Reporting: report schedules, deadline scans and report submission.

One sub-package per part of the domain: alliances (reporting's copy of each signed
alliance), schedules (the pure date rules), reports (the report aggregate: reports,
reminders, drafts, versions, reviews, the deadline sweep, the staff API), submissions (the
partner's report form, on top of reports), reviews (the liaison's review, on top of
reports), evaluations (the annual evaluation of each agreement year), figures (the work
list, the dashboard and exports), conflicts (recording declared conflicts), proposals
(reporting's copy of each proposal); people.py is the floor under them (who is acting, who
is whose liaison, what a conflict hides, today). docs/architecture.md lists them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the worker imports this package too, and needs no Flask
    from flask import Flask


def create_app(test_config: dict[str, object] | None = None) -> Flask:
    from services.reporting import evaluations, figures, reports, reviews, submissions
    from services.reporting.metrics import gauges
    from services.reporting.people import CONFLICTS
    from services.reporting.worker import database
    from shared.i18n import offer_every_language
    from shared.web import create_service_app

    return create_service_app(
        __name__,
        service="reporting",
        title="reports (staff)",
        test_config=test_config,
        parts=[reports, submissions, reviews, evaluations, figures],
        database=database,
        conflicts=CONFLICTS.keys_of,
        # The partner's report form, its confirmation and printout in English and Spanish;
        # staff pages stay in English.
        extensions=[offer_every_language],
        gauges=gauges,
    )
