"""Signed alliances: the agreement's life (renewal, conclusion, termination, Ambassador) and its
work plan, meetings and documents.

models.py, domain.py (who reads, who keeps the work plan, who decides on the agreement),
schemas.py, views.py (/staff/alliances/…), api.py (/api/v1/alliances/…). This module only wires
the part into review's app.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # a worker imports the part too, and needs no Flask
    from flask import Flask

    from shared.api import ServiceApi


def register(app: Flask, rest: ServiceApi) -> None:
    from services.review.alliances import api, views

    app.register_blueprint(views.bp)
    rest.register_blueprint(api.bp)
