"""What every service's JSON API has in common: its flask-smorest ``Api`` and the error body.

Every refused or failed API request answers ``{"errors": {field path: [messages]}}``
(``_request`` stands for the request as a whole), whatever the status: 4xx from a domain
rule or bad input, 503 while a server we need is down, 500 if all else fails. shared/web.py
writes that body in one place; ``ErrorSchema`` documents it, and ``ServiceApi`` puts it in each
service's OpenAPI document as the ``default`` response of every operation and in each status it
names (``@bp.alt_response(404, ...)``), so a client (and schemathesis, tests/contract) can
check every answer against the document.
"""

from __future__ import annotations

from typing import Any

from flask_smorest import Api
from marshmallow import Schema, fields


class ErrorSchema(Schema):
    """The body of every refused or failed API request."""

    errors = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        required=True,
        metadata={
            "description": "Messages by field path (``organization.name``, ``goals.0.term``, "
            "``query.status``); ``_request`` for the request as a whole.",
            "example": {"_request": ["Sign in as staff first."]},
        },
    )


class ServiceApi(Api):  # type: ignore[misc]  # flask-smorest has no type hints
    """flask-smorest's ``Api`` documenting our error body instead of its own.

    Its error handler is not installed: shared/web.py ``register_error_handlers`` answers
    every error, for the HTML pages and the API alike.
    """

    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self) -> Any:
        return None
