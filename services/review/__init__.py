"""Review: the priority queue, decisions and agreements (staff side)."""

from flask import Flask


def create_app(test_config: dict[str, object] | None = None) -> Flask:
    from flask_wtf.csrf import CSRFProtect

    from services.review.alliances import api as agreement_api
    from services.review.alliances import views as alliance_views
    from services.review.decisions import api as decisions_api
    from services.review.decisions import views as decisions_views
    from services.review.directory import api as directory_api
    from services.review.directory import views as directory_views
    from services.review.queue import api as queue_api
    from services.review.queue import views as queue_views
    from services.review.roundtables import api as roundtable_api
    from services.review.staff import api as staff_api
    from services.review.staff import views as staff_views
    from shared.api import ServiceApi
    from shared.staff_auth import init_staff_auth
    from shared.web import ServiceApp, init_app, register_error_handlers

    app = ServiceApp(__name__)
    init_app(app, service="review")
    if test_config:
        app.config.update(test_config)
    init_staff_auth(app)
    CSRFProtect(app)  # every form post, and X-CSRFToken on API writes (shared/staff_auth.py)
    staff_views.init_app(app)
    app.register_blueprint(queue_views.bp)  # the queue, a proposal, conflicts, scoring
    app.register_blueprint(decisions_views.bp)  # preparing and releasing decisions
    app.register_blueprint(alliance_views.bp)  # staff pages for signed alliances
    app.register_blueprint(directory_views.bp)  # the public directory's page
    app.config.update(
        API_TITLE="Alliance Program Manager: review (staff)",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
    )
    rest = ServiceApi(app)
    rest.register_blueprint(queue_api.bp)  # the queue, proposals, conflicts, scoring
    rest.register_blueprint(decisions_api.bp)  # decisions
    rest.register_blueprint(staff_api.bp)  # /api/v1/staff
    rest.register_blueprint(agreement_api.bp)  # signed alliances (staff)
    rest.register_blueprint(roundtable_api.bp)  # roundtables and memberships (staff)
    rest.register_blueprint(directory_api.bp)  # the public directory as JSON
    register_error_handlers(app)  # flask-smorest installed its own; ours answer instead
    return app
