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
from sqlalchemy.orm import Session
from webargs.flaskparser import FlaskParser

from services.intake import proposals
from services.intake.config import IntakeSettings, load_intake_settings
from services.intake.idempotency import (
    MAX_KEY_LENGTH,
    KeyReused,
    StoredAnswer,
    claim_key,
    remember_answer,
    request_fingerprint,
)
from services.intake.limits import limiter, writing_limit
from services.intake.models import Proposal
from services.intake.schemas import (
    DraftRequestSchema,
    DraftSavedSchema,
    DraftSchemaOut,
    ProposalInputSchema,
    ProposalStatusSchema,
    SubmittedSchema,
    TokenQuerySchema,
)
from services.intake.tokens import LinkExpired, LinkInvalid, read_token
from services.intake.worker import database, outbox
from shared.proposal import flatten_errors


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
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "maxLength": MAX_KEY_LENGTH},
    "description": "Send the same key again (for example after a timeout) to get the same "
    "answer instead of a second proposal.",
}


def _token_target(
    purpose: str, token: str, proposal_id: uuid.UUID, settings: IntakeSettings
) -> None:
    lifetime = settings.draft_lifetime if purpose == "draft" else settings.status_link_lifetime
    try:
        named = read_token(purpose, token, max_age=lifetime)
    except LinkExpired:
        abort(
            403,
            errors={
                "token": ["This link has expired. Ask the Alliance Coordinator for a new one."]
            },
        )
    except LinkInvalid:
        named = None
    if named != proposal_id:
        abort(404, errors={"token": ["This link is not valid for this proposal."]})


def _submitted_answer(proposal: Proposal, settings: IntakeSettings) -> dict[str, Any]:
    return {
        "id": str(proposal.id),
        "reference": proposal.reference,
        "status": proposal.status,
        "version": proposal.version,
        "submitted_at": proposal.submitted_at.isoformat() if proposal.submitted_at else None,
        "status_url": proposals.status_url(settings, proposal.id),
    }


def _idempotent(scope: str, create: Any) -> tuple[dict[str, Any], int]:
    """Run ``create(session)`` once per Idempotency-Key; replay its answer afterwards."""
    key = request.headers.get("Idempotency-Key", "").strip()
    if len(key) > MAX_KEY_LENGTH:
        abort(422, errors={"Idempotency-Key": [f"Use at most {MAX_KEY_LENGTH} characters."]})
    scoped_key = f"{scope}:{key}"
    with database.transaction() as session:
        if key:
            fingerprint = request_fingerprint(scope, request.get_json(silent=True))
            try:
                earlier = claim_key(session, key=scoped_key, fingerprint=fingerprint)
            except KeyReused as err:
                abort(422, errors={"Idempotency-Key": [str(err)]})
            if earlier is not None:
                return earlier.body, earlier.status_code
        body, status = create(session)
        if key:
            remember_answer(session, key=scoped_key, answer=StoredAnswer(status, body))
    return body, status


@bp.route("/proposals", methods=["POST"])
@limiter.limit(writing_limit)
@bp.doc(parameters=[IDEMPOTENCY_HEADER])
@bp.arguments(ProposalInputSchema, location="json")
@bp.response(201, SubmittedSchema)
@bp.alt_response(422, description='Bad input: ``{"errors": {field path: [messages]}}``')
def submit(data: dict[str, Any]) -> Any:
    """Submit a proposal (SPEC's contract)."""
    settings = load_intake_settings()

    def create(session: Session) -> tuple[dict[str, Any], int]:
        proposal = proposals.submit_proposal(session, data=data, settings=settings, outbox=outbox)
        return _submitted_answer(proposal, settings), 201

    return _idempotent("proposals", create)


@bp.route("/proposals/<uuid:proposal_id>")
class ProposalResource(MethodView):
    @bp.arguments(TokenQuerySchema, location="query", as_kwargs=True)
    @bp.response(200, ProposalStatusSchema)
    def get(self, proposal_id: uuid.UUID, token: str) -> Any:
        """A proposal's status, history and the messages sent about it."""
        settings = load_intake_settings()
        _token_target("status", token, proposal_id, settings)
        with database.transaction() as session:
            proposal = session.get(Proposal, proposal_id)
            if proposal is None or proposal.status == "draft":
                abort(404, errors={"token": ["No such proposal."]})
                raise AssertionError("unreachable")
            return proposals.public_status(proposal, timezone=settings.timezone)

    @limiter.limit(writing_limit)
    @bp.arguments(TokenQuerySchema, location="query", as_kwargs=True)
    @bp.arguments(ProposalInputSchema, location="json")
    @bp.response(200, SubmittedSchema)
    def put(self, data: dict[str, Any], proposal_id: uuid.UUID, token: str) -> Any:
        """Resubmit a proposal the agency asked to change (a new version)."""
        settings = load_intake_settings()
        _token_target("status", token, proposal_id, settings)
        with database.transaction() as session:
            try:
                proposal = proposals.resubmit_proposal(
                    session, proposal_id=proposal_id, data=data, settings=settings, outbox=outbox
                )
            except proposals.NotEditable as err:
                abort(409, errors={"_request": [str(err)]})
            return _submitted_answer(proposal, settings)


@bp.route("/drafts", methods=["POST"])
@limiter.limit(writing_limit)
@bp.arguments(DraftRequestSchema, location="json")
@bp.response(201, DraftSavedSchema)
def create_draft(body: dict[str, Any]) -> Any:
    """Save an unfinished proposal; a link to resume it is e-mailed to the contact."""
    settings = load_intake_settings()
    with database.transaction() as session:
        draft = proposals.save_draft(
            session, data=body["proposal"], settings=settings, outbox=outbox
        )
        return _draft_saved(draft, settings)


def _draft_saved(draft: Proposal, settings: IntakeSettings) -> dict[str, Any]:
    assert draft.draft_expires_at is not None
    return {
        "id": str(draft.id),
        "status": "draft",
        "resume_url": proposals.resume_url(settings, draft.id),
        "expires_at": draft.draft_expires_at.isoformat(),
    }


@bp.route("/drafts/<uuid:draft_id>")
class DraftResource(MethodView):
    @bp.arguments(TokenQuerySchema, location="query", as_kwargs=True)
    @bp.response(200, DraftSchemaOut)
    def get(self, draft_id: uuid.UUID, token: str) -> Any:
        """What was saved in a draft."""
        settings = load_intake_settings()
        _token_target("draft", token, draft_id, settings)
        with database.transaction() as session:
            draft = _draft_or_404(session, draft_id)
            assert draft.draft_expires_at is not None
            return {
                "id": str(draft.id),
                "status": "draft",
                "proposal": draft.data,
                "expires_at": draft.draft_expires_at.isoformat(),
            }

    @limiter.limit(writing_limit)
    @bp.arguments(TokenQuerySchema, location="query", as_kwargs=True)
    @bp.arguments(DraftRequestSchema, location="json")
    @bp.response(200, DraftSavedSchema)
    def put(self, body: dict[str, Any], draft_id: uuid.UUID, token: str) -> Any:
        """Replace what a draft holds."""
        settings = load_intake_settings()
        _token_target("draft", token, draft_id, settings)
        with database.transaction() as session:
            try:
                draft = proposals.save_draft(
                    session,
                    data=body["proposal"],
                    settings=settings,
                    outbox=outbox,
                    draft_id=draft_id,
                )
            except proposals.DraftNotFound as err:
                abort(404, errors={"_request": [str(err)]})
            return _draft_saved(draft, settings)


def _draft_or_404(session: Session, draft_id: uuid.UUID) -> Proposal:
    try:
        return proposals.find_draft(session, draft_id)
    except proposals.DraftNotFound as err:
        abort(404, errors={"_request": [str(err)]})
    raise AssertionError("unreachable")


@bp.route("/drafts/<uuid:draft_id>/submit", methods=["POST"])
@limiter.limit(writing_limit)
@bp.arguments(TokenQuerySchema, location="query", as_kwargs=True)
@bp.response(201, SubmittedSchema)
def submit_draft(draft_id: uuid.UUID, token: str) -> Any:
    """Submit what a draft holds, once it is complete."""
    from marshmallow import ValidationError

    settings = load_intake_settings()
    _token_target("draft", token, draft_id, settings)
    with database.transaction() as session:
        draft = _draft_or_404(session, draft_id)
        try:
            data = ProposalInputSchema().load(draft.data)
        except ValidationError as err:
            abort(422, errors=flatten_errors(err.messages))
        proposal = proposals.submit_proposal(
            session, data=data, settings=settings, outbox=outbox, draft_id=draft_id
        )
        return _submitted_answer(proposal, settings)
