"""Webhooks' staff JSON API (the Coordinator's): endpoints, their secret (shown on creation
and rotation only), deliveries with their attempts, and replays. Documented in notify's
OpenAPI document (``/api/v1/openapi.json``).

Every rule is in ``services/notify/webhooks/domain.py``; the role each route asks for is only
the sign-in gate."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Response, after_this_request
from flask_smorest import Blueprint

from services.notify.delivery.queue import deliver_webhooks_after_commit
from services.notify.webhooks import domain
from services.notify.webhooks.schemas import (
    DeliveriesOut,
    DeliveryOut,
    DeliveryWithAttemptsOut,
    EndpointChangeIn,
    EndpointIn,
    EndpointOut,
    EndpointsOut,
    EndpointWithSecretOut,
)
from services.notify.worker import database
from shared.api import ErrorSchema
from shared.config import load_settings
from shared.db import utcnow
from shared.staff_auth import staff_api_required
from shared.web import current_acting, request_session

bp = Blueprint(
    "webhooks_api",
    __name__,
    url_prefix="/api/v1/webhooks",
    description="Webhooks: signed event deliveries to the Coordinator's HTTPS endpoints.",
)

REFUSED = "Only the Coordinator manages webhooks."
NO_ENDPOINT = "There is no such webhook endpoint."
NO_DELIVERY = "There is no such webhook delivery."
INVALID = 'Bad input: ``{"errors": {field path: [messages]}}``'


def _no_store() -> None:
    """An answer that shows a secret is kept by no cache."""

    @after_this_request
    def no_store(response: Response) -> Response:
        response.headers["Cache-Control"] = "no-store"
        return response


@bp.route("/endpoints")
@staff_api_required(*domain.MANAGERS)
@bp.response(200, EndpointsOut)
@bp.alt_response(403, schema=ErrorSchema, description=REFUSED)
def list_endpoints() -> Any:
    """Every endpoint, oldest first (never its secret)."""
    session, acting = request_session(database), current_acting()
    return {"endpoints": domain.list_endpoints(session, acting)}


@bp.route("/endpoints", methods=["POST"])
@staff_api_required(*domain.MANAGERS)
@bp.arguments(EndpointIn)
@bp.response(201, EndpointWithSecretOut)
@bp.alt_response(403, schema=ErrorSchema, description=REFUSED)
@bp.alt_response(422, schema=ErrorSchema, description=INVALID)
def create_endpoint(body: dict[str, Any]) -> Any:
    """Register an HTTPS endpoint for some event types. The answer holds its signing secret,
    shown this once."""
    session, acting = request_session(database), current_acting()
    _no_store()
    return domain.create_endpoint(
        session, acting, settings=load_settings().webhooks, now=utcnow(), **body
    )


@bp.route("/endpoints/<uuid:endpoint_id>")
@staff_api_required(*domain.MANAGERS)
@bp.response(200, EndpointOut)
@bp.alt_response(403, schema=ErrorSchema, description=REFUSED)
@bp.alt_response(404, schema=ErrorSchema, description=NO_ENDPOINT)
def get_endpoint(endpoint_id: uuid.UUID) -> Any:
    """One endpoint (never its secret)."""
    session, acting = request_session(database), current_acting()
    return domain.get_endpoint(session, acting, endpoint_id)


@bp.route("/endpoints/<uuid:endpoint_id>", methods=["PATCH"])
@staff_api_required(*domain.MANAGERS)
@bp.arguments(EndpointChangeIn)
@bp.response(200, EndpointOut)
@bp.alt_response(403, schema=ErrorSchema, description=REFUSED)
@bp.alt_response(404, schema=ErrorSchema, description=NO_ENDPOINT)
@bp.alt_response(422, schema=ErrorSchema, description=INVALID)
def change_endpoint(body: dict[str, Any], endpoint_id: uuid.UUID) -> Any:
    """Change an endpoint's URL, description or events; disable it (its deliveries wait) or
    enable it (they go)."""
    session, acting = request_session(database), current_acting()
    enabled = body.pop("enabled", None)
    endpoint = domain.update_endpoint(
        session, acting, endpoint_id, settings=load_settings().webhooks, **body
    )
    if enabled is not None:
        endpoint = domain.set_enabled(session, acting, endpoint_id, enabled=enabled, now=utcnow())
    return endpoint


@bp.route("/endpoints/<uuid:endpoint_id>", methods=["DELETE"])
@staff_api_required(*domain.MANAGERS)
@bp.response(204)
@bp.alt_response(403, schema=ErrorSchema, description=REFUSED)
@bp.alt_response(404, schema=ErrorSchema, description=NO_ENDPOINT)
def delete_endpoint(endpoint_id: uuid.UUID) -> None:
    """Delete an endpoint with its deliveries."""
    session, acting = request_session(database), current_acting()
    domain.delete_endpoint(session, acting, endpoint_id)


@bp.route("/endpoints/<uuid:endpoint_id>/secret", methods=["POST"])
@staff_api_required(*domain.MANAGERS)
@bp.response(200, EndpointWithSecretOut)
@bp.alt_response(403, schema=ErrorSchema, description=REFUSED)
@bp.alt_response(404, schema=ErrorSchema, description=NO_ENDPOINT)
def rotate_secret(endpoint_id: uuid.UUID) -> Any:
    """Replace the endpoint's signing secret; the answer shows the new one, this once."""
    session, acting = request_session(database), current_acting()
    _no_store()
    return domain.rotate_secret(
        session, acting, endpoint_id, settings=load_settings().webhooks, now=utcnow()
    )


@bp.route("/endpoints/<uuid:endpoint_id>/deliveries")
@staff_api_required(*domain.MANAGERS)
@bp.response(200, DeliveriesOut)
@bp.alt_response(403, schema=ErrorSchema, description=REFUSED)
@bp.alt_response(404, schema=ErrorSchema, description=NO_ENDPOINT)
def list_deliveries(endpoint_id: uuid.UUID) -> Any:
    """The endpoint's newest deliveries (at most 100), newest first."""
    session, acting = request_session(database), current_acting()
    return {"deliveries": domain.endpoint_deliveries(session, acting, endpoint_id)}


@bp.route("/deliveries/<uuid:delivery_id>")
@staff_api_required(*domain.MANAGERS)
@bp.response(200, DeliveryWithAttemptsOut)
@bp.alt_response(403, schema=ErrorSchema, description=REFUSED)
@bp.alt_response(404, schema=ErrorSchema, description=NO_DELIVERY)
def get_delivery(delivery_id: uuid.UUID) -> Any:
    """A delivery, its body and every attempt: status code, time, duration, the first KB of
    the answer, the error."""
    session, acting = request_session(database), current_acting()
    return domain.get_delivery(session, acting, delivery_id)


@bp.route("/deliveries/<uuid:delivery_id>/replay", methods=["POST"])
@staff_api_required(*domain.MANAGERS)
@bp.response(202, DeliveryOut)
@bp.alt_response(403, schema=ErrorSchema, description=REFUSED)
@bp.alt_response(404, schema=ErrorSchema, description=NO_DELIVERY)
@bp.alt_response(409, schema=ErrorSchema, description="The endpoint is disabled, or busy.")
def replay(delivery_id: uuid.UUID) -> Any:
    """Send a delivery again now: a new attempt, recorded."""
    session, acting = request_session(database), current_acting()
    delivery = domain.replay(session, acting, delivery_id, now=utcnow())
    deliver_webhooks_after_commit(session, [delivery.id])
    return delivery
