"""Importing the alliances an agency already has: domain.py (the rules: checking a CSV file
row by row, storing and announcing what it adds), views.py (the Coordinator's page,
/staff/alliances/import). The operator's command is ``alliance import alliances``
(deploy/cli.py). This module only wires the part into review's app.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # a worker imports the part too, and needs no Flask
    from flask import Flask

    from shared.api import ServiceApi


def register(app: Flask, rest: ServiceApi) -> None:
    from services.review.imports import views as pages

    app.register_blueprint(pages.bp)
