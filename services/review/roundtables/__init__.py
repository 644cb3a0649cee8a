"""Roundtables and workgroups, the alliances that take part in them, and what they make
together: the days they met and their products (fact sheets, toolbox talks, webinars,
translations), which the public directory lists.

models.py (meetings and products), domain.py (only the Coordinator keeps them), schemas.py,
views.py (/staff/roundtables/…), api.py (/api/v1/roundtables/…). The roundtables and their
memberships are the alliances' tables (alliances/models.py: an alliance's memberships end
with it, and its page lists them), so this part stands on alliances and not the other way.
This module only wires the part into review's app.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # a worker imports the part too, and needs no Flask
    from flask import Flask

    from shared.api import ServiceApi


def register(app: Flask, rest: ServiceApi) -> None:
    from services.review.roundtables import api, views

    app.register_blueprint(views.bp)
    rest.register_blueprint(api.bp)
