"""The partner's report form, a screen on top of the report aggregate
(services/reporting/reports/: the signed link, drafts, versions and the completeness rule
are its own).

schemas.py (the form's input schemas), forms.py (field names and ids; posted forms become
content and back), views.py (``/reports/<token>``, and the partner's printable copy at
``/reports/<token>/report.pdf``). This module only wires the part into reporting's app.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # a worker imports the part too, and needs no Flask
    from flask import Flask

    from shared.api import ServiceApi


def register(app: Flask, rest: ServiceApi) -> None:
    from services.reporting.submissions import views

    app.register_blueprint(views.bp)
