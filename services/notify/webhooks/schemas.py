"""What the webhook pages and API accept (one input schema per action, for the form and the
API alike) and how the API describes endpoints, deliveries and attempts (dump schemas, in the
OpenAPI document too). The secret appears in one answer only: creation and rotation."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, pre_dump, validate

from services.notify.webhooks.domain import EVENT_TYPES, WithSecret
from shared.schemas import InputSchema

EVENT_TYPE = fields.String(validate=validate.OneOf(EVENT_TYPES))
URL_DOC = (
    "An HTTPS URL that answers 2xx to a POST. Its host must be public: an internal address "
    "however written (loopback, private, link-local, …: 127.1, 2130706433, [::1] too), a "
    "localhost-like name, or a name that does not resolve or resolves to an internal address "
    "is refused (422 on url), unless the operator lists the host in WEBHOOK_ALLOWED_HOSTS."
)


# -- input ------------------------------------------------------------------------------------


class EndpointIn(InputSchema):
    """A new endpoint (``POST /api/v1/webhooks/endpoints``, the endpoints page's form)."""

    url = fields.String(
        required=True,
        validate=validate.Length(min=1, max=2000),
        metadata={"description": URL_DOC, "example": "https://hooks.example.org/alliance"},
    )
    description = fields.String(load_default="", validate=validate.Length(max=500))
    event_types = fields.List(
        EVENT_TYPE,
        required=True,
        validate=validate.Length(min=1, max=len(EVENT_TYPES), error="Choose at least one event."),
        error_messages={"required": "Choose at least one event."},
        metadata={"example": ["proposal.submitted", "report.overdue"]},
    )


class EndpointChangeIn(InputSchema):
    """A change to an endpoint: its URL, description, events, or enabled or not."""

    url = fields.String(
        validate=validate.Length(min=1, max=2000), metadata={"description": URL_DOC}
    )
    description = fields.String(validate=validate.Length(max=500))
    event_types = fields.List(
        EVENT_TYPE,
        validate=validate.Length(min=1, max=len(EVENT_TYPES), error="Choose at least one event."),
    )
    enabled = fields.Boolean()


# -- output -----------------------------------------------------------------------------------


class EndpointOut(Schema):
    id = fields.UUID(required=True)
    url = fields.String(required=True)
    description = fields.String(required=True)
    event_types = fields.List(fields.String(), required=True)
    enabled = fields.Boolean(required=True)
    disabled_reason = fields.String(required=True)
    disabled_at = fields.DateTime(allow_none=True, required=True)
    failing_since = fields.DateTime(
        allow_none=True,
        required=True,
        metadata={"description": "Since when every attempt failed; null while it answers."},
    )
    last_success_at = fields.DateTime(allow_none=True, required=True)
    secret_rotated_at = fields.DateTime(required=True)
    created_by = fields.String(
        required=True, metadata={"description": "The e-mail address of who registered it."}
    )
    created_by_name = fields.String(
        allow_none=True,
        required=True,
        metadata={
            "description": "Their name as it was then; null for an endpoint registered "
            "before names were recorded."
        },
    )
    created_at = fields.DateTime(required=True)


class EndpointWithSecretOut(EndpointOut):
    secret = fields.String(
        required=True,
        metadata={
            "description": "The signing secret (``whsec_`` + base64). Shown in this answer "
            "only: keep it now."
        },
    )

    @pre_dump
    def flatten(self, data: Any, **kwargs: Any) -> Any:
        if isinstance(data, WithSecret):
            dumped: dict[str, Any] = {
                name: getattr(data.endpoint, name) for name in EndpointOut().fields
            }
            dumped["secret"] = data.secret
            return dumped
        return data


class EndpointsOut(Schema):
    endpoints = fields.List(fields.Nested(EndpointOut), required=True)


class DeliveryOut(Schema):
    id = fields.UUID(required=True)
    endpoint_id = fields.UUID(required=True)
    event_id = fields.UUID(required=True, metadata={"description": "Also the webhook-id."})
    event_type = fields.String(required=True)
    status = fields.String(
        required=True,
        validate=validate.OneOf(("pending", "sending", "delivered", "failed")),
    )
    attempts = fields.Integer(required=True)
    next_attempt_at = fields.DateTime(required=True)
    last_status = fields.Integer(allow_none=True, required=True)
    last_error = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    delivered_at = fields.DateTime(allow_none=True, required=True)


class DeliveriesOut(Schema):
    deliveries = fields.List(fields.Nested(DeliveryOut), required=True)


class AttemptOut(Schema):
    number = fields.Integer(required=True)
    started_at = fields.DateTime(required=True)
    duration_ms = fields.Integer(required=True)
    status_code = fields.Integer(allow_none=True, required=True)
    response_excerpt = fields.String(
        required=True, metadata={"description": "The first KB of the answer."}
    )
    error = fields.String(required=True)
    replayed_by = fields.String(
        allow_none=True,
        required=True,
        metadata={"description": "The e-mail address of who asked for this attempt, if anyone."},
    )
    replayed_by_name = fields.String(
        allow_none=True,
        required=True,
        metadata={
            "description": "Their name as it was then; null when nobody asked, or for an "
            "attempt recorded before names were."
        },
    )


class DeliveryWithAttemptsOut(DeliveryOut):
    body = fields.String(required=True, metadata={"description": "The JSON body sent."})
    attempts_made = fields.List(fields.Nested(AttemptOut), required=True)

    @pre_dump
    def flatten(self, data: Any, **kwargs: Any) -> Any:
        delivery = data.delivery
        dumped: dict[str, Any] = {name: getattr(delivery, name) for name in DeliveryOut().fields}
        dumped["body"] = delivery.body
        dumped["attempts_made"] = data.attempts
        return dumped
