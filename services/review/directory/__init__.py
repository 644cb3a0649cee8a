"""The public directory of current alliances and roundtables.

domain.py (what the public sees), schemas.py, views.py (/directory), api.py (/api/v1/directory).
This module only wires the part into review's app.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # a worker imports the part too, and needs no Flask
    from flask import Flask

    from shared.api import ServiceApi


def register(app: Flask, rest: ServiceApi) -> None:
    from services.review.directory import api, views

    app.register_blueprint(views.bp)
    rest.register_blueprint(api.bp)
