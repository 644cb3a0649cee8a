"""Staff accounts and sign-in.

models.py (StaffUser), domain.py (who may add people, change roles, (de)activate, set passwords;
password hashing), schemas.py, views.py (/staff/sign-in, /staff/me, /staff/people…), api.py
(/api/v1/staff…). This module only wires the part into review's app.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # a worker imports the part too, and needs no Flask
    from flask import Flask

    from shared.api import ServiceApi


def register(app: Flask, rest: ServiceApi) -> None:
    from services.review.staff import api, views

    views.init_app(app)  # sign-in rate limits, then its pages
    rest.register_blueprint(api.bp)
