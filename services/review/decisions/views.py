"""The decisions' staff pages: the decision form on a proposal's page, and the decisions
waiting for release.

The forms load the API's input schemas (decisions/schemas.py) and call the domain functions,
which decide who may; ``Invalid`` re-renders the form with the messages beside the fields, and
any other refusal is answered by shared/web.py.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from services.review.decisions import domain as decisions
from services.review.decisions.schemas import DecisionIn, ReleaseIn
from services.review.queue import domain as queue
from services.review.queue.views import render_proposal
from services.review.worker import database, outbox
from shared.config import load_agency_profile
from shared.domain import Acting, Invalid
from shared.schemas import checks_form_text, load_input
from shared.staff_auth import staff_required
from shared.web import request_session

bp = Blueprint("decisions", __name__, url_prefix="/staff")

DECIDERS = tuple(sorted(queue.DECIDERS))

# The proposal page's decision form holds every kind's fields; each kind's details
# (decisions/schemas.py) by the form field that carries it.
FORM_FIELDS: dict[str, dict[str, str]] = {
    "changes_requested": {"message": "message"},
    "declined": {"reason": "decline_reason"},
    "approved": {
        "division": "division",
        "liaison_id": "liaison_id",
        "term_years": "term_years",
        "message": "approval_message",
    },
}


def _acting() -> tuple[Session, Acting]:
    session = request_session(database)
    return session, queue.acting_for(session, g.staff)


def decision_from_form(form: MultiDict[str, str]) -> dict[str, Any]:
    """The decision form as a DecisionIn body: the chosen kind's fields, those left empty
    left out."""
    kind = form.get("kind", "")
    details = {
        name: form.get(field, "").strip() for name, field in FORM_FIELDS.get(kind, {}).items()
    }
    return {"kind": kind, "details": {name: value for name, value in details.items() if value}}


def form_errors(kind: str, errors: dict[str, list[str]]) -> dict[str, list[str]]:
    """A decision's field messages by the form field they belong beside."""
    fields = FORM_FIELDS.get(kind, {})
    shown: dict[str, list[str]] = {}
    for path, messages in errors.items():
        name = path.removeprefix("details.")
        shown.setdefault(fields.get(name, name), []).extend(messages)
    return shown


@bp.post("/proposals/<uuid:proposal_id>/decision")
@checks_form_text
@staff_required(*DECIDERS)
def prepare_decision(proposal_id: uuid.UUID) -> Any:
    session, acting = _acting()
    sent = decision_from_form(request.form)
    try:
        body = load_input(DecisionIn(), sent)
        decisions.prepare(session, acting=acting, proposal_id=proposal_id, **body)
    except Invalid as err:
        errors = form_errors(sent["kind"], err.errors)
        return render_proposal(
            session, acting, proposal_id, errors=errors, form=request.form, status=422
        )
    flash("Decision prepared. Release it from the decisions page.", "success")
    return redirect(url_for("decisions.decisions_page"), code=303)


@bp.route("/decisions", methods=["GET", "POST"])
@checks_form_text
@staff_required(*DECIDERS)
def decisions_page() -> Any:
    session, acting = _acting()
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        try:
            body = load_input(ReleaseIn(), {"decision_ids": request.form.getlist("decision_ids")})
            released = decisions.release(
                session, acting=acting, decision_ids=body["decision_ids"], outbox=outbox
            )
        except Invalid as err:
            errors = err.errors
        else:
            count = len(released)
            flash(
                f"Released {count} decision{'s' if count != 1 else ''}.",
                "success",
            )
            return redirect(url_for("decisions.decisions_page"), code=303)
    return render_template(
        "review/decisions.html",
        rows=decisions.pending(session, acting=acting),
        errors=errors,
        profile=load_agency_profile(),
    ), (422 if errors else 200)
