"""The staff's view over what notify sent: the message log, the held decisions (edit, release,
hold back), the failed deliveries and resending. Every rule is in domain.py; views.py and
api.py are the pages and the JSON API over it. This module only wires the part into notify's
app."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # a worker imports the part too, and needs no Flask
    from flask import Flask

    from shared.api import ServiceApi


def register(app: Flask, rest: ServiceApi) -> None:
    from services.notify.log import api, views

    app.register_blueprint(views.bp)
    rest.register_blueprint(api.bp)
