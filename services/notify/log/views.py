"""Notify's staff pages: the message log and each message in it (resend from there), the
decision messages held for a last look (preview, edit, hold, release), and the deliveries that
failed.

Every rule is in ``services/notify/log/domain.py``; a refusal becomes its page in
``shared.web``. The role each route asks for is only the sign-in gate."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for

from services.notify.log import domain
from services.notify.log.schemas import ChosenMessagesIn, EditIn, LogQuery
from services.notify.webhooks import domain as webhooks
from services.notify.worker import database
from shared.config import load_agency_profile, load_settings
from shared.domain import Invalid
from shared.schemas import checks_form_text, load_input
from shared.security_headers import sandboxed_document
from shared.staff_auth import staff_required
from shared.web import current_acting, request_session

bp = Blueprint("messages", __name__, url_prefix="/staff")

FLASHES = {"hold": "Held back.", "release": "Saved and released.", "save": "Saved."}


@bp.route("/messages", methods=["GET", "POST"])
@staff_required(*domain.RELEASERS)
def held_page() -> Any:
    session, acting = request_session(database), current_acting()
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        try:
            chosen = load_input(
                ChosenMessagesIn(), {"message_ids": request.form.getlist("message_ids")}
            )
        except Invalid as err:
            errors = err.errors
        else:
            released = domain.release_held(session, acting, message_ids=chosen["message_ids"])
            flash(
                f"Released {len(released)} message{'s' if len(released) != 1 else ''}.", "success"
            )
            return redirect(url_for("messages.held_page"), code=303)
    held = domain.held_messages(session, acting)
    problem = next(iter(errors.values()), [""])[0]
    return render_template("staff/held.html", held=held, problem=problem), (422 if errors else 200)


@bp.route("/messages/<uuid:message_id>", methods=["GET", "POST"])
@staff_required(*domain.RELEASERS)
@checks_form_text
def message_page(message_id: uuid.UUID) -> Any:
    session, acting = request_session(database), current_acting()
    errors: dict[str, list[str]] = {}
    action = request.form.get("action", "save")
    if request.method == "POST":
        try:
            if action == "hold":
                domain.hold_again(session, acting, message_ids=[message_id])
            else:
                edited = load_input(EditIn(), request.form)
                domain.edit_held(
                    session,
                    acting,
                    message_id=message_id,
                    settings=load_settings(),
                    profile=load_agency_profile(),
                    **edited,
                )
                if action == "release":
                    domain.release_held(session, acting, message_ids=[message_id])
        except Invalid as err:
            errors = err.errors
        else:
            flash(FLASHES.get(action, FLASHES["save"]), "success")
            return redirect(url_for("messages.message_page", message_id=message_id), code=303)
    message = domain.get_message(session, acting, message_id)
    return render_template(
        "staff/message.html", message=message, errors=errors, form=request.form
    ), (422 if errors else 200)


@bp.route("/deliveries")
@staff_required(*domain.WATCHERS)
def deliveries_page() -> Any:
    """Messages that failed for good, and those that may have reached their recipient twice."""
    session, acting = request_session(database), current_acting()
    problems = domain.delivery_problems(session, acting)
    return render_template("staff/deliveries.html", problems=problems)


@bp.route("/deliveries/<uuid:message_id>/resend", methods=["POST"])
@staff_required(*domain.WATCHERS)
def resend(message_id: uuid.UUID) -> Any:
    session, acting = request_session(database), current_acting()
    copy = domain.resend(session, acting, message_id=message_id)
    flash(f"A new copy of “{copy.subject}” is on its way to {copy.to_address}.", "success")
    return redirect(url_for("messages.deliveries_page"), code=303)


# -- the message log ----------------------------------------------------------------------------


@bp.route("/log")
@staff_required(*domain.READERS)
def log_page() -> Any:
    """Every message, newest first, found by search words (``q``) and filtered by
    reference, recipient and status."""
    session, acting = request_session(database), current_acting()
    errors: dict[str, list[str]] = {}
    try:
        chosen = load_input(LogQuery(), request.args)
    except Invalid as err:
        errors = err.errors
        chosen = {
            "reference": "",
            "search": "",
            "to_address": "",
            "status": "",
            "office": "",
            "page": 1,
        }
    reference = domain.normal_reference(chosen["reference"])
    search = " ".join(chosen["search"].split())
    offices = domain.office_choices(acting)
    if chosen["office"] and chosen["office"] not in offices:
        errors = {**errors, "office": ["Choose one of your offices from the list."]}
        chosen = {**chosen, "office": ""}
    found = domain.log_page(
        session,
        acting,
        reference=reference,
        search=search,
        to_address=chosen["to_address"].strip(),
        status=chosen["status"] or None,
        office=chosen["office"] or None,
        page=chosen["page"],
    )
    filters = {
        key: value
        for key, value in (
            ("q", search),
            ("reference", reference),
            ("to", chosen["to_address"].strip()),
            ("status", chosen["status"]),
            ("office", chosen["office"]),
        )
        if value
    }
    return render_template(
        "staff/log.html",
        log=found,
        reference=reference,
        filters=filters,
        form=request.args,
        errors=errors,
        offices=offices,
        may_resend=acting.has_any_role(*domain.RELEASERS),
        reason=domain.failure_reason,
        deliveries=webhooks.deliveries_about(session, acting, reference=reference),
    ), (422 if errors else 200)


@bp.route("/log/<uuid:message_id>")
@staff_required(*domain.READERS)
def log_message_page(message_id: uuid.UUID) -> Any:
    """One message: recipients, status, attempts, the server's last answer, both parts."""
    session, acting = request_session(database), current_acting()
    message = domain.get_message(session, acting, message_id)
    return render_template(
        "staff/log_message.html",
        message=message,
        reason=domain.failure_reason(message),
        may_resend=acting.has_any_role(*domain.RELEASERS) and message.status != "held",
        may_release=acting.has_any_role(*domain.RELEASERS),
    )


@bp.get("/log/<uuid:message_id>/html")
@staff_required(*domain.READERS)
def log_message_html(message_id: uuid.UUID) -> Any:
    """The HTML part of the message page, alone, for that page's sandboxed frame: under a
    policy of its own (its inline styles apply, no script runs), read as the page reads it."""
    session, acting = request_session(database), current_acting()
    message = domain.get_message(session, acting, message_id)
    return sandboxed_document(message.html_body)


@bp.route("/log/<uuid:message_id>/resend", methods=["GET", "POST"])
@staff_required(*domain.RELEASERS)
def log_resend(message_id: uuid.UUID) -> Any:
    """Asks first (GET), then sends a new copy (POST) and opens the copy's page."""
    session, acting = request_session(database), current_acting()
    if request.method == "POST":
        copy = domain.resend(session, acting, message_id=message_id)
        flash(
            f"A new copy of “{copy.subject}” is on its way to {copy.to_address}."
            " This is the copy; the original stays in the log as it was.",
            "success",
        )
        return redirect(url_for("messages.log_message_page", message_id=copy.id), code=303)
    message = domain.resendable(session, acting, message_id=message_id)
    return render_template("staff/log_resend.html", message=message)
