"""Reviews of submitted reports: the liaison (or the Coordinator) accepts a report or asks
for a revision.

models.py (ReportReview, ReportLinkResend), domain.py (who may read and review, accept,
request_revision, resend_link, the comparison of two versions), schemas.py, views.py
(/staff/reports/<id>, .../review, .../link), api.py (/api/v1/reports/<id>, .../acceptance,
.../revision-request, .../link). This module only wires the part into reporting's app.
"""

from __future__ import annotations

from flask import Flask

from shared.api import ServiceApi


def register(app: Flask, rest: ServiceApi) -> None:
    from services.reporting.reviews import api, views

    rest.register_blueprint(api.bp)
    app.register_blueprint(views.bp)
