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
    from flask_wtf.csrf import CSRFProtect

    from services.reporting import evaluations, figures, reports, reviews, submissions
    from shared.api import ServiceApi
    from shared.staff_auth import init_staff_auth
    from shared.web import ServiceApp, init_app

    app = ServiceApp(__name__)
    init_app(app, service="reporting")
    app.config.update(
        API_TITLE="Alliance Program Manager: reports (staff)",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
    )
    if test_config:
        app.config.update(test_config)
    init_staff_auth(app)  # the review service's sign-in works here too
    CSRFProtect(app)  # form posts, and the X-CSRFToken header on API writes
    rest = ServiceApi(app)
    # Each part of the domain wires its own pages and API (services/reporting/<part>/).
    for part in (reports, submissions, reviews, evaluations, figures):
        part.register(app, rest)
    return app
