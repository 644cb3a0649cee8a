"""The liaison's review of a submitted report, a screen on top of the report aggregate
(services/reporting/reports/review.py decides who may read, review or send a link, and what
each does): the liaison (or the Coordinator) accepts a report or asks for a revision.

schemas.py, views.py (/staff/reports/<id>, .../report.pdf, .../review, .../link), api.py
(/api/v1/reports/<id>, .../acceptance, .../revision-request, .../link). This module only
wires the part into reporting's app.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # a worker imports the part too, and needs no Flask
    from flask import Flask

    from shared.api import ServiceApi


def register(app: Flask, rest: ServiceApi) -> None:
    from services.reporting.reviews import api, views

    rest.register_blueprint(api.bp)
    app.register_blueprint(views.bp)
