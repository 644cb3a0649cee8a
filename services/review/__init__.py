"""Review: the priority queue, decisions and agreements (staff side)."""

from flask import Flask


def create_app(test_config: dict[str, object] | None = None) -> Flask:
    from services.review import api
    from shared.web import init_app

    app = Flask(__name__)
    init_app(app, service="review")
    if test_config:
        app.config.update(test_config)
    app.register_blueprint(api.bp)
    return app
