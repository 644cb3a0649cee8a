"""Roundtables and workgroups, and the alliances that take part in them.

domain.py (only the Coordinator keeps them), schemas.py, api.py (/api/v1/roundtables/…); no
pages yet. Their tables are the alliances' (alliances/models.py: an alliance's memberships end
with it, and its page lists them), so this part stands on alliances and not the other way.
This module only wires the part into review's app.
"""

from __future__ import annotations

from flask import Flask

from shared.api import ServiceApi


def register(app: Flask, rest: ServiceApi) -> None:
    from services.review.roundtables import api

    rest.register_blueprint(api.bp)
