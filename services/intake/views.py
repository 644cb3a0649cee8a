"""The public pages: the proposal form, drafts, confirmation, status and resubmission."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException, TooManyRequests
from werkzeug.wrappers import Response

from services.intake import forms, proposals
from services.intake.config import IntakeSettings, load_intake_settings
from services.intake.idempotency import StoredAnswer, claim_key, remember_answer
from services.intake.limits import limiter, writing_limit
from services.intake.models import Proposal
from services.intake.schemas import DraftSchema, ProposalInputSchema
from services.intake.tokens import LinkExpired, LinkInvalid, make_token, read_token
from services.intake.worker import database, outbox
from shared.agency import GOAL_TERMS, ORGANIZATION_TYPES, load_agency_profile
from shared.proposal import US_STATES, flatten_errors

bp = Blueprint("public", __name__)

HONEYPOT = forms.HONEYPOT


def _choices() -> dict[str, Any]:
    profile = load_agency_profile()
    return {
        "profile": profile,
        "organization_types": ORGANIZATION_TYPES,
        "states": [(s, s) for s in sorted(US_STATES)],
        "terms": GOAL_TERMS,
    }


def render_form(
    data: dict[str, Any],
    *,
    errors: dict[str, list[str]] | None = None,
    status: int = 200,
    mode: str = "apply",
    draft_token: str = "",
    status_token: str = "",
    notice: str = "",
    notice_kind: str = "info",
    focus: str = "",
) -> tuple[str, int]:
    errors = errors or {}
    profile = load_agency_profile()
    page = render_template(
        "apply.html",
        page_title="Propose an alliance" if mode == "apply" else "Edit and resubmit",
        data=data,
        errors=errors,
        error_rows=forms.error_list(errors),
        goal_groups=forms.goal_groups(data, profile),
        value_at=forms.value_at,
        field_id=forms.field_id,
        mode=mode,
        draft_token=draft_token,
        status_token=status_token,
        submission_id=uuid.uuid4().hex,
        notice=notice,
        notice_kind=notice_kind,
        focus=focus,
        honeypot=HONEYPOT,
        **_choices(),
    )
    return page, status


def message_page(
    title: str, message: str, *, status: int, kind: str = "warning"
) -> tuple[str, int]:
    return render_template("message.html", page_title=title, message=message, kind=kind), status


def _read(purpose: str, token: str, settings: IntakeSettings) -> uuid.UUID:
    lifetime = settings.draft_lifetime if purpose == "draft" else settings.status_link_lifetime
    try:
        return read_token(purpose, token, max_age=lifetime)
    except LinkExpired:
        abort(
            403,
            description="This link has expired. Contact the Alliance Coordinator for a new one.",
        )
    except LinkInvalid:
        abort(404, description="This link is not valid. Check that you copied all of it.")
    raise AssertionError("unreachable")


@bp.get("/")
def home() -> Response:
    return redirect(url_for("public.apply"))


@bp.get("/apply")
def apply() -> Any:
    return render_form(forms.blank_proposal())


@bp.get("/apply/resume/<token>")
def resume(token: str) -> Any:
    settings = load_intake_settings()
    draft_id = _read("draft", token, settings)
    with database.transaction() as session:
        try:
            draft = proposals.find_draft(session, draft_id)
        except proposals.DraftNotFound as err:
            return message_page("Draft not available", str(err), status=404)
        data = draft.data if isinstance(draft.data, dict) else {}
        expires = draft.draft_expires_at
    notice = ""
    if request.args.get("saved") and expires is not None:
        when = expires.astimezone(settings.timezone).strftime("%B %-d, %Y")
        email = forms.value_at(data, "contact.email")
        notice = (
            f"Draft saved. We e-mailed a link to {email} so you can come back to it "
            f"until {when}. Nothing has been sent to the agency yet."
        )
    return render_form(
        data, draft_token=token, notice=notice, notice_kind="success" if notice else "info"
    )


@bp.post("/apply")
@limiter.limit(writing_limit)
def apply_post() -> Any:
    settings = load_intake_settings()
    form = request.form
    if form.get(HONEYPOT):
        abort(400, description="Your submission could not be accepted.")
    data = forms.from_form(form)
    draft_token = form.get("draft_token", "")
    draft_id = _read("draft", draft_token, settings) if draft_token else None
    action = form.get("action", "submit")

    if edited := _edit_goals(data, action):
        return render_form(data, draft_token=draft_token, focus=edited)
    if action == "save_draft":
        return _save_draft(data, draft_id, settings, draft_token)
    return _submit(data, draft_id, settings, draft_token, form.get("submission_id", ""))


def _edit_goals(data: dict[str, Any], action: str) -> str:
    """Add or remove a goal; returns the id to focus afterwards, or "" for other actions."""
    goals = data["goals"]
    if action.startswith("add_goal:"):
        category = action.split(":", 1)[1]
        if category not in load_agency_profile().goal_categories:
            abort(400, description="Unknown goal category.")
        if len(goals) >= 40:
            return f"goals-{forms.field_id(category)}"
        goals.append(forms.empty_goal(category))
        return forms.field_id(f"goals.{len(goals) - 1}.description")
    if action.startswith("remove_goal:"):
        index = action.split(":", 1)[1]
        if index.isdigit() and int(index) < len(goals):
            removed = goals.pop(int(index))
            return f"goals-{forms.field_id(str(removed.get('category', '')))}"
        return "goals-outreach-communication"
    return ""


def _save_draft(
    data: dict[str, Any], draft_id: uuid.UUID | None, settings: IntakeSettings, draft_token: str
) -> Any:
    try:
        DraftSchema().load(data)
    except ValidationError as err:
        errors = flatten_errors(err.messages)
        errors = {k: v for k, v in errors.items() if k.startswith("contact")}
        errors = errors or {
            "contact.email": [
                "Enter the contact's e-mail address: the link to your draft goes there."
            ]
        }
        return render_form(data, errors=errors, status=422, draft_token=draft_token)
    with database.transaction() as session:
        try:
            draft = proposals.save_draft(
                session, data=data, settings=settings, outbox=outbox, draft_id=draft_id
            )
        except proposals.DraftNotFound:
            draft = proposals.save_draft(session, data=data, settings=settings, outbox=outbox)
        token = make_token("draft", draft.id)
    return redirect(url_for("public.resume", token=token, saved=1), code=303)


def _submit(
    data: dict[str, Any],
    draft_id: uuid.UUID | None,
    settings: IntakeSettings,
    draft_token: str,
    submission_id: str,
) -> Any:
    try:
        valid = ProposalInputSchema().load(forms.for_submission(data))
    except ValidationError as err:
        return render_form(
            data, errors=flatten_errors(err.messages), status=422, draft_token=draft_token
        )
    with database.transaction() as session:
        key = f"form:{submission_id[:64]}" if submission_id else ""
        if key:
            earlier = claim_key(session, key=key, fingerprint=key)
            if earlier is not None:  # a second click on Submit: show the first result
                return redirect(
                    url_for("public.confirmation", token=earlier.body["status_token"]), code=303
                )
        try:
            proposal = proposals.submit_proposal(
                session, data=valid, settings=settings, outbox=outbox, draft_id=draft_id
            )
        except proposals.DraftNotFound:
            proposal = proposals.submit_proposal(
                session, data=valid, settings=settings, outbox=outbox
            )
        token = make_token("status", proposal.id)
        if key:
            remember_answer(session, key=key, answer=StoredAnswer(303, {"status_token": token}))
    return redirect(url_for("public.confirmation", token=token), code=303)


@bp.get("/apply/confirmation/<token>")
def confirmation(token: str) -> Any:
    settings = load_intake_settings()
    proposal_id = _read("status", token, settings)
    with database.transaction() as session:
        proposal = session.get(Proposal, proposal_id)
        if proposal is None or proposal.status == "draft":
            abort(404, description="We could not find this proposal.")
        status = proposals.public_status(proposal, timezone=settings.timezone)
        email = proposal.contact_email
    return render_template(
        "confirmation.html",
        page_title="Proposal submitted",
        status=status,
        email=email,
        token=token,
    )


@bp.get("/status/<token>")
def status_page(token: str) -> Any:
    settings = load_intake_settings()
    proposal_id = _read("status", token, settings)
    with database.transaction() as session:
        proposal = session.get(Proposal, proposal_id)
        if proposal is None or proposal.status == "draft":
            abort(404, description="We could not find this proposal.")
        status = proposals.public_status(proposal, timezone=settings.timezone)
    return render_template(
        "status.html",
        page_title=f"Proposal {status['reference']}",
        status=status,
        token=token,
        resubmitted=bool(request.args.get("resubmitted")),
    )


@bp.route("/status/<token>/edit", methods=["GET", "POST"])
@limiter.limit(writing_limit, methods=["POST"])
def edit(token: str) -> Any:
    settings = load_intake_settings()
    proposal_id = _read("status", token, settings)
    with database.transaction() as session:
        proposal = session.get(Proposal, proposal_id)
        if proposal is None or proposal.status == "draft":
            abort(404, description="We could not find this proposal.")
        if proposal.status not in proposals.EDITABLE_STATES:
            return message_page(
                "Editing is closed",
                "This proposal can be edited only while the agency has asked for changes. "
                "Its status page shows where it stands.",
                status=409,
            )
        current = proposal.data
    if request.method == "GET":
        return render_form(current, mode="edit", status_token=token)
    if request.form.get(HONEYPOT):
        abort(400, description="Your submission could not be accepted.")
    data = forms.from_form(request.form)
    action = request.form.get("action", "submit")
    if focus := _edit_goals(data, action):
        return render_form(data, mode="edit", status_token=token, focus=focus)
    try:
        valid = ProposalInputSchema().load(forms.for_submission(data))
    except ValidationError as err:
        return render_form(
            data, errors=flatten_errors(err.messages), status=422, mode="edit", status_token=token
        )
    with database.transaction() as session:
        try:
            proposals.resubmit_proposal(
                session, proposal_id=proposal_id, data=valid, settings=settings, outbox=outbox
            )
        except proposals.NotEditable as err:
            return message_page("Editing is closed", str(err), status=409)
    return redirect(url_for("public.status_page", token=token, resubmitted=1), code=303)


@bp.errorhandler(HTTPException)
def public_error(err: HTTPException) -> Any:
    """Errors on the public pages as plain-language pages in the site's look."""
    titles = {
        400: "Something is wrong with the request",
        403: "Link expired",
        404: "Not found",
        409: "Not possible now",
    }
    return message_page(
        titles.get(err.code or 400, "Something went wrong"),
        str(err.description),
        status=err.code or 400,
    )


@bp.errorhandler(CSRFError)
def csrf_failed(err: CSRFError) -> Any:
    """An expired or missing form token: keep everything typed and ask to send it again."""
    if request.method != "POST" or not request.form:
        return message_page(
            "Please try again", "Your session expired. Start again from the form.", status=400
        )
    return render_form(
        forms.from_form(request.form),
        status=400,
        draft_token=request.form.get("draft_token", ""),
        notice="For your security, this page timed out. Everything you typed is still below: "
        "check it and choose Submit or Save draft again.",
        notice_kind="warning",
    )


@bp.errorhandler(TooManyRequests)
def too_many(err: TooManyRequests) -> Any:
    if request.method != "POST" or not request.form:
        return message_page("Too many requests", "Please wait a minute and try again.", status=429)
    return render_form(
        forms.from_form(request.form),
        status=429,
        draft_token=request.form.get("draft_token", ""),
        notice="We received many requests from your network in a short time. Everything you "
        "typed is still below: wait a minute, then send it again.",
        notice_kind="warning",
    )
