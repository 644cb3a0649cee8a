"""Webhooks' staff pages (the Coordinator's): the endpoints and a form to register one, an
endpoint with its deliveries, and a delivery with every attempt and a replay button.

Every rule is in ``services/notify/webhooks/domain.py``; a refusal becomes its page in
``shared.web``. The role each route asks for is only the sign-in gate. A new secret is shown
in the answer to the form that made it, never through a flash (the session cookie)."""

from __future__ import annotations

import uuid
from typing import Any

from flask import (
    Blueprint,
    Response,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)

from services.notify.delivery.queue import deliver_webhooks_after_commit
from services.notify.webhooks import domain
from services.notify.webhooks.schemas import EndpointChangeIn, EndpointIn
from services.notify.worker import database
from shared.config import load_settings
from shared.db import utcnow
from shared.domain import Invalid
from shared.schemas import checks_form_text, load_input
from shared.staff_auth import staff_required
from shared.web import current_acting, request_session

bp = Blueprint("webhooks", __name__, url_prefix="/staff/webhooks")

EVENT_OPTIONS = [
    (event_type, label, f"{group}: {event_type}")
    for group, types in domain.EVENT_GROUPS
    for event_type, label in types
]


def _form_input() -> dict[str, Any]:
    return {
        "url": request.form.get("url", "").strip(),
        "description": request.form.get("description", "").strip(),
        "event_types": request.form.getlist("event_types"),
    }


def _secret_page(made: domain.WithSecret, *, created: bool, status: int) -> Response:
    """The one page that shows a secret: no cache keeps it."""
    response = make_response(
        render_template("webhooks/secret.html", made=made, created=created), status
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("", methods=["GET", "POST"])
@staff_required(*domain.MANAGERS)
@checks_form_text
def endpoints_page() -> Any:
    session, acting = request_session(database), current_acting()
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        try:
            given = load_input(EndpointIn(), _form_input())
            made = domain.create_endpoint(
                session, acting, settings=load_settings().webhooks, now=utcnow(), **given
            )
        except Invalid as err:
            errors = err.errors
        else:
            return _secret_page(made, created=True, status=201)
    endpoints = domain.list_endpoints(session, acting)
    return render_template(
        "webhooks/endpoints.html",
        endpoints=endpoints,
        errors=errors,
        form=request.form,
        chosen=request.form.getlist("event_types") if request.method == "POST" else [],
        event_options=EVENT_OPTIONS,
    ), (422 if errors else 200)


@bp.route("/<uuid:endpoint_id>", methods=["GET", "POST"])
@staff_required(*domain.MANAGERS)
@checks_form_text
def endpoint_page(endpoint_id: uuid.UUID) -> Any:
    session, acting = request_session(database), current_acting()
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        action = request.form.get("action", "save")
        if action == "rotate":
            made = domain.rotate_secret(
                session, acting, endpoint_id, settings=load_settings().webhooks, now=utcnow()
            )
            return _secret_page(made, created=False, status=200)
        if action == "delete":
            domain.delete_endpoint(session, acting, endpoint_id)
            flash("The endpoint and its deliveries were deleted.", "success")
            return redirect(url_for("webhooks.endpoints_page"), code=303)
        if action in ("enable", "disable"):
            domain.set_enabled(
                session, acting, endpoint_id, enabled=action == "enable", now=utcnow()
            )
            flash("Enabled." if action == "enable" else "Disabled.", "success")
            return redirect(url_for("webhooks.endpoint_page", endpoint_id=endpoint_id), code=303)
        try:
            given = load_input(EndpointChangeIn(), _form_input())
            domain.update_endpoint(
                session, acting, endpoint_id, settings=load_settings().webhooks, **given
            )
        except Invalid as err:
            errors = err.errors
        else:
            flash("Saved.", "success")
            return redirect(url_for("webhooks.endpoint_page", endpoint_id=endpoint_id), code=303)
    endpoint = domain.get_endpoint(session, acting, endpoint_id)
    deliveries = domain.endpoint_deliveries(session, acting, endpoint_id)
    return render_template(
        "webhooks/endpoint.html",
        endpoint=endpoint,
        deliveries=deliveries,
        errors=errors,
        form=request.form,
        chosen=request.form.getlist("event_types") if errors else list(endpoint.event_types),
        event_options=EVENT_OPTIONS,
    ), (422 if errors else 200)


@bp.route("/deliveries/<uuid:delivery_id>", methods=["GET", "POST"])
@staff_required(*domain.MANAGERS)
def delivery_page(delivery_id: uuid.UUID) -> Any:
    session, acting = request_session(database), current_acting()
    if request.method == "POST":
        delivery = domain.replay(session, acting, delivery_id, now=utcnow())
        deliver_webhooks_after_commit(session, [delivery.id])
        flash("Replaying: a new attempt is on its way.", "success")
        return redirect(url_for("webhooks.delivery_page", delivery_id=delivery_id), code=303)
    record = domain.get_delivery(session, acting, delivery_id)
    return render_template("webhooks/delivery.html", record=record)
