"""Reporting: report schedules, deadline scans and report submission."""

from flask import Flask


def create_app(test_config: dict[str, object] | None = None) -> Flask:
    from shared.web import ServiceApp, init_app

    app = ServiceApp(__name__)
    init_app(app, service="reporting")
    if test_config:
        app.config.update(test_config)
    return app
