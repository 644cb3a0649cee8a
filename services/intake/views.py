"""The public pages: the proposal form, drafts, confirmation, status and resubmission.

The form posts the API's field paths (services/intake/forms.py) and is checked by the API's
own input schemas (services/intake/schemas.py); a refusal is the form again with each message
beside its field (``form_refused``), text no one can type included. The rules are in
services/intake/proposals.py; a refused link or state is answered by shared/web.py
(the page is templates/refusal.html).
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, abort, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, TooManyRequests
from werkzeug.wrappers import Response

from services.intake import forms, proposals
from services.intake.idempotency import StoredAnswer, once
from services.intake.limits import limiter, writing_limit
from services.intake.schemas import DRAFT, FORM_CONTROLS, PROPOSAL_INPUT
from services.intake.tokens import make_token
from services.intake.worker import database, outbox
from shared.agency import GOAL_TERMS, ORGANIZATION_TYPES
from shared.config import Settings, load_agency_profile, load_settings
from shared.converters import whole_number
from shared.domain import Invalid
from shared.i18n import translate_message, use_language_of
from shared.proposal import US_STATES
from shared.schemas import checks_form_text, load_input
from shared.web import request_session

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


def _field_label(label: str) -> str:
    """A field's name in the error summary, in the page's language ("Goal 2, description")."""
    goal, comma, field = label.partition(", ")
    if comma and goal.startswith("Goal "):
        return translate_message(f"{goal}, {translate_message(field)}")
    return translate_message(label)


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
    errors = {forms.printable(path): messages for path, messages in (errors or {}).items()}
    data = forms.printable(data)
    profile = load_agency_profile()
    if profile.federal:
        # The federal form asks for the office, which names its level: what is said of the
        # level belongs beside the office's list.
        errors = forms.lead_errors_at_the_office(errors)
    # The checks' messages and the fields' names in the page's language (shared/i18n.py).
    errors = {path: [translate_message(m) for m in messages] for path, messages in errors.items()}
    page = render_template(
        "apply.html",
        page_title=_("Propose an alliance") if mode == "apply" else _("Edit and resubmit"),
        data=data,
        errors=errors,
        error_rows=[
            (target, _field_label(label), message)
            for target, label, message in forms.error_list(errors)
        ],
        goal_groups=forms.goal_groups(data, profile),
        value_at=forms.value_at,
        field_id=forms.field_id,
        mode=mode,
        draft_token=forms.printable(draft_token),
        status_token=status_token,
        submission_id=uuid.uuid4().hex,
        notice=notice,
        notice_kind=notice_kind,
        focus=focus,
        changes_requested=g.get("changes_requested", "") if mode == "edit" else "",
        honeypot=HONEYPOT,
        **_choices(),
    )
    return page, status


def message_page(
    title: str, message: str, *, status: int, kind: str = "warning"
) -> tuple[str, int]:
    return render_template("message.html", page_title=title, message=message, kind=kind), status


@bp.get("/")
def home() -> Response:
    return redirect(url_for("public.apply"))


@bp.get("/apply")
def apply() -> Any:
    return render_form(forms.blank_proposal())


@bp.get("/apply/resume/<token>")
def resume(token: str) -> Any:
    settings = load_settings()
    draft_id = proposals.linked_id("draft", token, settings=settings)
    draft = proposals.find_draft(request_session(database), draft_id)
    data = draft.data if isinstance(draft.data, dict) else {}
    notice = ""
    if request.args.get("saved") and draft.draft_expires_at is not None:
        when = draft.draft_expires_at.astimezone(settings.agency_timezone).strftime("%B %-d, %Y")
        email = forms.value_at(data, "contact.email")
        notice = (
            f"Draft saved. We e-mailed a link to {email} so you can come back to it "
            f"until {when}. Nothing has been sent to the agency yet."
        )
    return render_form(
        data, draft_token=token, notice=notice, notice_kind="success" if notice else "info"
    )


def _posted_form() -> tuple[dict[str, Any], dict[str, Any]]:
    """The form's controls and the proposal it describes, as typed. Text no one can type, in
    any field, is ``Invalid`` (shared/schemas.py InputSchema): the form again, inline."""
    if request.form.get(HONEYPOT):
        abort(400, description="Your submission could not be accepted.")
    controls = load_input(FORM_CONTROLS, request.form)
    return controls, forms.from_form(request.form)


@bp.post("/apply")
@checks_form_text
@limiter.limit(writing_limit)
def apply_post() -> Any:
    settings = load_settings()
    controls, data = _posted_form()
    draft_token = controls["draft_token"]
    draft_id = proposals.linked_id("draft", draft_token, settings=settings) if draft_token else None
    action = controls["action"]
    if edited := _edit_goals(data, action):
        return render_form(data, draft_token=draft_token, focus=edited)
    if action == "save_draft":
        return _save_draft(data, draft_id, settings)
    return _submit(data, draft_id, settings, controls["submission_id"])


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
        index = whole_number(action.split(":", 1)[1])
        if index is not None and index < len(goals):
            removed = goals.pop(index)
            return f"goals-{forms.field_id(str(removed.get('category', '')))}"
        return "goals-outreach-communication"
    return ""


def _save_draft(data: dict[str, Any], draft_id: uuid.UUID | None, settings: Settings) -> Any:
    load_input(DRAFT, data)  # the API's very schema; Invalid: the form again, inline
    session = request_session(database)
    draft = proposals.save_draft(
        session, data=data, settings=settings, outbox=outbox, draft_id=draft_id, anew_if_gone=True
    )
    token = make_token("draft", draft.id)
    return redirect(url_for("public.resume", token=token, saved=1), code=303)


def _submit(
    data: dict[str, Any],
    draft_id: uuid.UUID | None,
    settings: Settings,
    submission_id: str,
) -> Any:
    valid = load_input(PROPOSAL_INPUT, data)
    session = request_session(database)

    def create() -> StoredAnswer:
        proposal = proposals.submit_proposal(
            session, data=valid, settings=settings, outbox=outbox, draft_id=draft_id
        )
        return StoredAnswer(303, {"status_token": make_token("status", proposal.id)})

    # A second click on Submit gives the first answer.
    key = submission_id[:64]
    answer = once(session, scope="form", key=key, fingerprint=f"form:{key}", create=create)
    return redirect(url_for("public.confirmation", token=answer.body["status_token"]), code=303)


@bp.get("/apply/confirmation/<token>")
def confirmation(token: str) -> Any:
    settings = load_settings()
    proposal_id = proposals.linked_id("status", token, settings=settings)
    proposal = proposals.find_submitted(request_session(database), proposal_id)
    return render_template(
        "confirmation.html",
        page_title=_("Proposal submitted"),
        status=proposals.public_status(proposal, timezone=settings.agency_timezone),
        email=proposal.contact_email,
        token=token,
    )


@bp.get("/status/<token>")
def status_page(token: str) -> Any:
    settings = load_settings()
    proposal_id = proposals.linked_id("status", token, settings=settings)
    proposal = proposals.find_submitted(request_session(database), proposal_id)
    status = proposals.public_status(proposal, timezone=settings.agency_timezone)
    # The language the contact chose on the form, unless the browser asks for another.
    contact = proposal.data.get("contact") if isinstance(proposal.data, dict) else None
    use_language_of(str((contact or {}).get("language") or ""))
    return render_template(
        "status.html",
        page_title=_("Proposal %(reference)s", reference=status["reference"]),
        status=status,
        token=token,
        resubmitted=bool(request.args.get("resubmitted")),
    )


@bp.route("/status/<token>/edit", methods=["GET", "POST"])
@checks_form_text
@limiter.limit(writing_limit, methods=["POST"])
def edit(token: str) -> Any:
    settings = load_settings()
    proposal_id = proposals.linked_id("status", token, settings=settings)
    session = request_session(database)
    proposal = proposals.find_editable(session, proposal_id)
    # What the agency asked for stays above the form, also when it comes back with errors.
    g.changes_requested = proposal.changes_requested_message
    if request.method == "GET":
        return render_form(proposal.data, mode="edit", status_token=token)
    controls, data = _posted_form()
    if focus := _edit_goals(data, controls["action"]):
        return render_form(data, mode="edit", status_token=token, focus=focus)
    valid = load_input(PROPOSAL_INPUT, data)
    proposals.resubmit_proposal(
        session, proposal_id=proposal_id, data=valid, settings=settings, outbox=outbox
    )
    return redirect(url_for("public.status_page", token=token, resubmitted=1), code=303)


@bp.errorhandler(HTTPException)
def public_error(err: HTTPException) -> Any:
    """HTTP errors on the public pages (a filled-in trap field, a body too large) as
    plain-language pages in the site's look."""
    return message_page(
        "Something is wrong with the request" if err.code == 400 else "Something went wrong",
        str(err.description),
        status=err.code or 400,
    )


@bp.errorhandler(Invalid)
def form_refused(err: Invalid) -> Any:
    """Input a form's schema refused: the form again, each message beside its field."""
    return render_posted_form(status=422, errors=err.errors)


@bp.errorhandler(CSRFError)
def csrf_failed(err: CSRFError) -> Any:
    """An expired or missing form token: keep everything typed and ask to send it again."""
    if request.method != "POST" or not request.form:
        return message_page(
            "Please try again", "Your session expired. Start again from the form.", status=400
        )
    return render_posted_form(
        status=400,
        notice="For your security, this page timed out. Everything you typed is still below: "
        "check it and choose Submit or Save draft again.",
    )


@bp.errorhandler(TooManyRequests)
def too_many(err: TooManyRequests) -> Any:
    if request.method != "POST" or not request.form:
        return message_page("Too many requests", "Please wait a minute and try again.", status=429)
    return render_posted_form(
        status=429,
        notice="We received many requests from your network in a short time. Everything you "
        "typed is still below: wait a minute, then send it again.",
    )


def render_posted_form(
    *, status: int, errors: dict[str, list[str]] | None = None, notice: str = ""
) -> tuple[str, int]:
    """The form just posted (to /apply or to a proposal's edit page), as it was typed."""
    status_token = (request.view_args or {}).get("token", "")
    return render_form(
        forms.from_form(request.form),
        errors=errors,
        status=status,
        mode="edit" if request.endpoint == "public.edit" else "apply",
        draft_token=request.form.get("draft_token", ""),
        status_token=status_token if request.endpoint == "public.edit" else "",
        notice=notice,
        notice_kind="warning" if notice else "info",
    )
