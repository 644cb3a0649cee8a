"""The public JSON API: ``POST /api/v1/proposals`` (the contract in SPEC.md)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request
from marshmallow import ValidationError
from werkzeug.exceptions import BadRequest, UnsupportedMediaType

from services.intake.proposals import submit_proposal
from services.intake.schemas import ProposalInputSchema
from services.intake.worker import database, outbox
from shared.config import load_settings
from shared.proposal import flatten_errors

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def unprocessable(errors: dict[str, list[str]]) -> Any:
    response = jsonify({"errors": errors})
    response.status_code = 422
    return response


@bp.post("/proposals")
def create_proposal() -> Any:
    try:
        payload = request.get_json()
    except (BadRequest, UnsupportedMediaType):  # a body too large still answers 413
        payload = None
    if payload is None:
        return unprocessable(
            {
                "_request": [
                    "Send the proposal as a JSON object with Content-Type: application/json."
                ]
            }
        )
    try:
        data = ProposalInputSchema().load(payload)
    except ValidationError as err:
        return unprocessable(flatten_errors(err.messages))
    with database.transaction() as session:
        proposal = submit_proposal(
            session, data=data, outbox=outbox, timezone=load_settings().agency_timezone
        )
    body = {
        "id": str(proposal.id),
        "reference": proposal.reference,
        "status": proposal.status,
        "version": proposal.version,
        "submitted_at": proposal.submitted_at.isoformat() if proposal.submitted_at else None,
    }
    response = jsonify(body)
    response.status_code = 201
    return response
