"""Review: the priority queue, decisions and agreements (staff side).

One sub-package per part of the domain (queue, decisions, alliances, roundtables,
directory, staff), each with the same modules: models, domain (the rules, taking the acting
staff member), schemas, views (HTML), api (JSON). docs/architecture.md lists them.
"""

from flask import Flask


def create_app(test_config: dict[str, object] | None = None) -> Flask:
    from flask_wtf.csrf import CSRFProtect

    from services.review import alliances, decisions, directory, queue, roundtables, staff
    from shared.api import ServiceApi
    from shared.staff_auth import init_staff_auth
    from shared.web import ServiceApp, init_app

    app = ServiceApp(__name__)
    init_app(app, service="review")
    if test_config:
        app.config.update(test_config)
    init_staff_auth(app)
    CSRFProtect(app)  # every form post, and X-CSRFToken on API writes (shared/staff_auth.py)
    app.config.update(
        API_TITLE="Alliance Program Manager: review (staff)",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
    )
    rest = ServiceApi(app)
    # Each part of the domain wires its own pages and API (services/review/<part>/).
    for part in (staff, queue, decisions, alliances, roundtables, directory):
        part.register(app, rest)
    return app
