"""Reports a partner owes and their reminders.

models.py (Report, ReportReminder), domain.py (storing a term's schedule, cutting it short,
the exactly-once deadline sweep, a submission), schemas.py, api.py
(/api/v1/alliances/<id>/reports). The dates come from services/reporting/schedules/. This
module only wires the part into reporting's app.
"""

from __future__ import annotations

from flask import Flask

from shared.api import ServiceApi


def register(app: Flask, rest: ServiceApi) -> None:
    from services.reporting.reports import api, views

    rest.register_blueprint(api.bp)
    app.register_blueprint(views.bp)  # an alliance's reports, the liaison's work list
