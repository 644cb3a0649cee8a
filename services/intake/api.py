"""The public JSON API (the contract in SPEC.md, extended). OpenAPI: ``/api/v1/openapi.json``.

Applicants have no accounts: a proposal or draft is reached with the signed token from the
link they were sent (``?token=``).
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from webargs.flaskparser import FlaskParser

from services.intake import proposals
from services.intake.idempotency import (
    HEADER,
    MAX_KEY_LENGTH,
    StoredAnswer,
    once,
    request_fingerprint,
)
from services.intake.limits import limiter, writing_limit
from services.intake.models import Proposal
from services.intake.schemas import (
    DRAFT_REQUEST,
    PROPOSAL_INPUT,
    TOKEN_QUERY,
    DraftSavedSchema,
    DraftSchemaOut,
    ProposalStatusSchema,
    SubmittedSchema,
)
from services.intake.worker import database, outbox
from shared.config import Settings, load_settings
from shared.schemas import load_input
from shared.web import request_session


class Parser(FlaskParser):
    def _handle_invalid_json_error(self, error: Any, req: Any, *args: Any, **kwargs: Any) -> Any:
        # Bad input is a 422 with a message, like any other bad input here.
        abort(
            422,
            errors={
                "_request": [
                    "The body is not valid JSON. Send a JSON object "
                    "with Content-Type: application/json."
                ]
            },
        )


class ApiBlueprint(Blueprint):
    ARGUMENTS_PARSER = Parser()


bp = ApiBlueprint(
    "api",
    __name__,
    url_prefix="/api/v1",
    description="Proposals and drafts, for applicants and their systems.",
)

IDEMPOTENCY_HEADER = {
    "name": HEADER,
    "in": "header",
    "required": False,
    "schema": {"type": "string", "maxLength": MAX_KEY_LENGTH},
    "description": "Send the same key again (for example after a timeout) to get the same "
    "answer instead of a second proposal.",
}


def _submitted(proposal: Proposal, settings: Settings) -> dict[str, Any]:
    return {
        "id": str(proposal.id),
        "reference": proposal.reference,
        "status": proposal.status,
        "version": proposal.version,
        "submitted_at": proposal.submitted_at.isoformat() if proposal.submitted_at else None,
        "status_url": proposals.status_url(settings, proposal.id),
    }


def _draft_saved(draft: Proposal, settings: Settings) -> dict[str, Any]:
    assert draft.draft_expires_at is not None
    return {
        "id": str(draft.id),
        "status": "draft",
        "resume_url": proposals.resume_url(settings, draft.id),
        "expires_at": draft.draft_expires_at.isoformat(),
    }


@bp.route("/proposals", methods=["POST"])
@limiter.limit(writing_limit)
@bp.doc(parameters=[IDEMPOTENCY_HEADER])
@bp.arguments(PROPOSAL_INPUT, location="json")
@bp.response(201, SubmittedSchema)
@bp.alt_response(422, description='Bad input: ``{"errors": {field path: [messages]}}``')
def submit(data: dict[str, Any]) -> Any:
    """Submit a proposal (SPEC's contract)."""
    settings = load_settings()
    session = request_session(database)

    def create() -> StoredAnswer:
        proposal = proposals.submit_proposal(session, data=data, settings=settings, outbox=outbox)
        return StoredAnswer(201, _submitted(proposal, settings))

    key = request.headers.get(HEADER, "").strip()
    answer = once(
        session,
        scope="proposals",
        key=key,
        # Worth computing only when there is a key to remember it by.
        fingerprint=request_fingerprint("proposals", request.get_json(silent=True)) if key else "",
        create=create,
    )
    return answer.body, answer.status_code


@bp.route("/proposals/<uuid:proposal_id>")
class ProposalResource(MethodView):
    @bp.arguments(TOKEN_QUERY, location="query", as_kwargs=True)
    @bp.response(200, ProposalStatusSchema)
    def get(self, proposal_id: uuid.UUID, token: str) -> Any:
        """A proposal's status, history and the messages sent about it."""
        settings = load_settings()
        proposals.linked_id("status", token, settings=settings, proposal_id=proposal_id)
        proposal = proposals.find_submitted(request_session(database), proposal_id)
        return proposals.public_status(proposal, timezone=settings.agency_timezone)

    @limiter.limit(writing_limit)
    @bp.arguments(TOKEN_QUERY, location="query", as_kwargs=True)
    @bp.arguments(PROPOSAL_INPUT, location="json")
    @bp.response(200, SubmittedSchema)
    def put(self, data: dict[str, Any], proposal_id: uuid.UUID, token: str) -> Any:
        """Resubmit a proposal the agency asked to change (a new version)."""
        settings = load_settings()
        proposals.linked_id("status", token, settings=settings, proposal_id=proposal_id)
        session = request_session(database)
        proposal = proposals.resubmit_proposal(
            session, proposal_id=proposal_id, data=data, settings=settings, outbox=outbox
        )
        return _submitted(proposal, settings)


@bp.route("/drafts", methods=["POST"])
@limiter.limit(writing_limit)
@bp.arguments(DRAFT_REQUEST, location="json")
@bp.response(201, DraftSavedSchema)
def create_draft(body: dict[str, Any]) -> Any:
    """Save an unfinished proposal; a link to resume it is e-mailed to the contact."""
    settings = load_settings()
    draft = proposals.save_draft(
        request_session(database), data=body["proposal"], settings=settings, outbox=outbox
    )
    return _draft_saved(draft, settings)


@bp.route("/drafts/<uuid:draft_id>")
class DraftResource(MethodView):
    @bp.arguments(TOKEN_QUERY, location="query", as_kwargs=True)
    @bp.response(200, DraftSchemaOut)
    def get(self, draft_id: uuid.UUID, token: str) -> Any:
        """What was saved in a draft."""
        settings = load_settings()
        proposals.linked_id("draft", token, settings=settings, proposal_id=draft_id)
        draft = proposals.find_draft(request_session(database), draft_id)
        assert draft.draft_expires_at is not None
        return {
            "id": str(draft.id),
            "status": "draft",
            "proposal": draft.data,
            "expires_at": draft.draft_expires_at.isoformat(),
        }

    @limiter.limit(writing_limit)
    @bp.arguments(TOKEN_QUERY, location="query", as_kwargs=True)
    @bp.arguments(DRAFT_REQUEST, location="json")
    @bp.response(200, DraftSavedSchema)
    def put(self, body: dict[str, Any], draft_id: uuid.UUID, token: str) -> Any:
        """Replace what a draft holds."""
        settings = load_settings()
        proposals.linked_id("draft", token, settings=settings, proposal_id=draft_id)
        session = request_session(database)
        draft = proposals.save_draft(
            session, data=body["proposal"], settings=settings, outbox=outbox, draft_id=draft_id
        )
        return _draft_saved(draft, settings)


@bp.route("/drafts/<uuid:draft_id>/submit", methods=["POST"])
@limiter.limit(writing_limit)
@bp.arguments(TOKEN_QUERY, location="query", as_kwargs=True)
@bp.response(201, SubmittedSchema)
def submit_draft(draft_id: uuid.UUID, token: str) -> Any:
    """Submit what a draft holds, once it is complete."""
    settings = load_settings()
    proposals.linked_id("draft", token, settings=settings, proposal_id=draft_id)
    proposal = proposals.submit_draft(
        request_session(database),
        draft_id=draft_id,
        complete=lambda data: load_input(PROPOSAL_INPUT, data),
        settings=settings,
        outbox=outbox,
    )
    return _submitted(proposal, settings)
