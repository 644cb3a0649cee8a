"""The report aggregate: the reports a partner owes, their reminders, drafts, versions,
reviews and resent links, with every rule that changes them. The screens for the partner
(services/reporting/submissions/) and for the liaison (services/reporting/reviews/) sit on
top of it and import it; it imports neither.

models.py (Report, ReportReminder, ReportDraft, ReportVersion, ReportReview,
ReportLinkResend), domain.py (storing a term's schedule, cutting it short, the exactly-once
deadline sweep, where a report stands, the fields of every ``report.*`` event),
content.py (what a report holds: sections, fields, goal categories), submission.py (the
partner's drafts and versions, the completeness rule), review.py (reading, accepting, asking
for a revision, resending the link), tokens.py (the partner's signed link), printout.py (the
printable PDF, for staff and partner alike), schemas.py, api.py
(/api/v1/alliances/<id>/reports), views.py (an alliance's reports). The dates come from
services/reporting/schedules/. This module only wires the part into reporting's app.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # a worker imports the part too, and needs no Flask
    from flask import Flask

    from shared.api import ServiceApi


def register(app: Flask, rest: ServiceApi) -> None:
    from services.reporting.reports import api, views

    rest.register_blueprint(api.bp)
    app.register_blueprint(views.bp)  # an alliance's reports, the liaison's work list
