"""Decisions: prepared by a reviewer or the Coordinator, then released together.

models.py (PreparedDecision), details.py (what each kind of decision needs), domain.py (who
may prepare, see and release; carrying out approval, decline, changes requested), schemas.py,
views.py (/staff/decisions, /staff/proposals/<id>/decision), api.py (/api/v1/decisions,
/api/v1/proposals/<id>/decision). This module only wires the part into review's app.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # a worker imports the part too, and needs no Flask
    from flask import Flask

    from shared.api import ServiceApi


def register(app: Flask, rest: ServiceApi) -> None:
    from services.review.decisions import api, views

    app.register_blueprint(views.bp)
    rest.register_blueprint(api.bp)
