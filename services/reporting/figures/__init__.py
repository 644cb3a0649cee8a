"""Program figures: the liaison's work list, the Coordinator's dashboard and the CSV export
of reports (views.py), the rules of who sees what (domain.py), server-rendered SVG charts
(charts.py). This module only wires the part into reporting's app."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # a worker imports the part too, and needs no Flask
    from flask import Flask

    from shared.api import ServiceApi


def register(app: Flask, rest: ServiceApi) -> None:
    from services.reporting.figures import views

    app.register_blueprint(views.bp)
