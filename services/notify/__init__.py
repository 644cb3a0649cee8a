"""Notify: what to say to whom (messages/), getting it out by e-mail and to webhook endpoints
(delivery/, webhooks/), and the staff's log over both (log/); who the staff are (staff/).
This module only wires the parts into notify's app."""

from flask import Flask


def create_app(test_config: dict[str, object] | None = None) -> Flask:
    from flask_wtf.csrf import CSRFProtect

    from services.notify import webhooks
    from services.notify.log import api, views
    from shared.api import ServiceApi
    from shared.staff_auth import init_staff_auth
    from shared.web import ServiceApp, init_app

    app = ServiceApp(__name__)
    init_app(app, service="notify")
    app.config.update(
        API_TITLE="Alliance Program Manager: messages (staff)",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
    )
    if test_config:
        app.config.update(test_config)
    init_staff_auth(app)  # the review service's sign-in works here too
    CSRFProtect(app)  # writes need the X-CSRFToken header
    app.register_blueprint(views.bp)
    rest = ServiceApi(app)
    rest.register_blueprint(api.bp)
    webhooks.register(app, rest)
    return app
