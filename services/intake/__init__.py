"""Intake: the public proposal form and API. Owns proposals until they are submitted."""

from flask import Flask


def create_app(test_config: dict[str, object] | None = None) -> Flask:
    from flask_wtf.csrf import CSRFProtect

    from services.intake import api, views
    from services.intake.limits import init_limits
    from shared.api import ServiceApi
    from shared.web import ServiceApp, init_app

    app = ServiceApp(__name__)
    init_app(app, service="intake")
    app.config.update(
        API_TITLE="Alliance Program Manager: proposals",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
    )
    if test_config:
        app.config.update(test_config)
    init_limits(app)
    csrf = CSRFProtect(app)
    csrf.exempt(api.bp)  # the JSON API uses no cookies: nothing for CSRF to ride on
    app.register_blueprint(views.bp)
    ServiceApi(app).register_blueprint(api.bp)
    return app
