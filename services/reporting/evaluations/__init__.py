"""The annual evaluation of an alliance at each agreement year's end.

models.py (Evaluation: one per alliance, term and year), domain.py (the fundamental
requirements, who may record and share, the year's activity roll-up), schemas.py (the
form's one input schema), views.py (``/staff/alliances/<id>/evaluations/<term>/<year>``).
This module only wires the part into reporting's app.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # a worker imports the part too, and needs no Flask
    from flask import Flask

    from shared.api import ServiceApi


def register(app: Flask, rest: ServiceApi) -> None:
    from services.reporting.evaluations import views

    app.register_blueprint(views.bp)
