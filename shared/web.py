"""What every service's Flask app has in common: settings, error pages, /healthz."""

from __future__ import annotations

import logging
import os
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from shared.config import load_settings
from shared.health import system_health

log = logging.getLogger(__name__)


def wants_json() -> bool:
    if "/api/" in request.path or request.path.endswith("/healthz"):
        return True
    return request.accept_mimetypes.best == "application/json"


def init_app(app: Flask, *, service: str) -> None:
    settings = load_settings()
    app.config["SECRET_KEY"] = settings.secret_key
    # Flask's default is no limit at all; ALLIANCE_MAX_CONTENT_LENGTH overrides this.
    app.config["MAX_CONTENT_LENGTH"] = 256 * 1024
    app.config["SERVICE_NAME"] = service
    app.config.from_prefixed_env("ALLIANCE")
    if os.environ.get("BEHIND_PROXY", "").strip().lower() in {"1", "true", "yes"}:
        # One trusted reverse proxy in front (deploy/nginx.conf), which strips the prefix.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=1, x_proto=1, x_host=1, x_prefix=1
        )

    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException) -> Any:
        if wants_json():
            response = jsonify({"errors": {"_request": [err.description]}, "status": err.code})
            response.status_code = err.code or 500
            return response
        return err

    @app.errorhandler(Exception)
    def unexpected_error(err: Exception) -> Any:
        # Never a traceback to a user: log it, answer plainly.
        log.exception("unhandled error on %s %s", request.method, request.path)
        message = "Something went wrong on our side. Nothing you sent was lost; try again."
        if wants_json():
            response = jsonify({"errors": {"_request": [message]}, "status": 500})
            response.status_code = 500
            return response
        return Response(message, status=500, mimetype="text/plain")

    @app.get("/healthz")
    def healthz() -> Any:
        healthy, body = system_health(load_settings().redis_url)
        response = jsonify(body)
        response.status_code = 200 if healthy else 503
        response.headers["Cache-Control"] = "no-store"
        return response
