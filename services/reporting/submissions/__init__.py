"""The partner's report: the signed link, the form, drafts and submitted versions.

tokens.py (the signed, expiring link and ``report_url``), models.py (ReportDraft,
ReportVersion), schemas.py (the form's input schemas), forms.py (field names and ids),
domain.py (save a draft, submit a version, the completeness rule), views.py
(``/reports/<token>``). This module only wires the part into reporting's app.
"""

from __future__ import annotations

from flask import Flask

from shared.api import ServiceApi


def register(app: Flask, rest: ServiceApi) -> None:
    from services.reporting.submissions import views

    app.register_blueprint(views.bp)
