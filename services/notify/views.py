"""Notify's staff pages: decision messages held for a last look, and any message's preview."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for

from services.notify import messages
from services.notify.models import Message
from services.notify.tasks import deliver_after_commit
from services.notify.worker import database
from shared.staff_auth import staff_required

bp = Blueprint("messages", __name__, url_prefix="/staff")

RELEASERS = ("coordinator", "reviewer")


@bp.route("/messages", methods=["GET", "POST"])
@staff_required(*RELEASERS)
def held_page() -> Any:
    problem = ""
    if request.method == "POST":
        try:
            ids = [uuid.UUID(v) for v in request.form.getlist("message_id")]
        except ValueError:
            abort(400, description="A selected message is not valid.")
        if not ids:
            problem = "Choose at least one message."
        else:
            with database.transaction() as session:
                released = messages.release_held(session, message_ids=ids, actor=str(g.staff.email))
                deliver_after_commit(session, released)
            flash(
                f"Released {len(released)} message{'s' if len(released) != 1 else ''}.", "success"
            )
            return redirect(url_for("messages.held_page"), code=303)
    with database.transaction() as session:
        held = messages.held_messages(session)
    return render_template("staff/held.html", held=held, problem=problem), (422 if problem else 200)


@bp.route("/messages/<uuid:message_id>", methods=["GET", "POST"])
@staff_required(*RELEASERS)
def message_page(message_id: uuid.UUID) -> Any:
    errors: dict[str, list[str]] = {}
    form: dict[str, str] = {}
    if request.method == "POST":
        form = {
            "subject": request.form.get("subject", ""),
            "text_body": request.form.get("text_body", ""),
        }
        action = request.form.get("action", "save")
        try:
            with database.transaction() as session:
                if action == "hold":
                    messages.hold_again(session, message_ids=[message_id], actor=str(g.staff.email))
                else:
                    messages.edit_held(
                        session,
                        message_id=message_id,
                        subject=form["subject"],
                        text_body=form["text_body"],
                        actor=str(g.staff.email),
                    )
                    if action == "release":
                        released = messages.release_held(
                            session, message_ids=[message_id], actor=str(g.staff.email)
                        )
                        deliver_after_commit(session, released)
        except messages.NotEditable as err:
            errors = {"text_body": [str(err)]}
        else:
            flash(
                {"hold": "Held back.", "release": "Saved and released."}.get(action, "Saved."),
                "success",
            )
            return redirect(url_for("messages.message_page", message_id=message_id), code=303)
    with database.transaction() as session:
        message = session.get(Message, message_id)
        if message is None:
            abort(404, description="There is no such message.")
    return render_template("staff/message.html", message=message, errors=errors, form=form), (
        422 if errors else 200
    )


@bp.route("/deliveries")
@staff_required("coordinator")
def deliveries_page() -> Any:
    """Messages that failed for good, and those that may have reached their recipient twice."""
    with database.transaction() as session:
        problems = messages.delivery_problems(session)
    return render_template("staff/deliveries.html", problems=problems)


@bp.route("/deliveries/<uuid:message_id>/resend", methods=["POST"])
@staff_required("coordinator")
def resend(message_id: uuid.UUID) -> Any:
    try:
        with database.transaction() as session:
            copy_id = messages.resend(session, message_id=message_id, actor=str(g.staff.email))
            copy = session.get(Message, copy_id)
            assert copy is not None
            deliver_after_commit(session, [copy_id])
    except messages.NotEditable as err:
        flash(str(err), "error")
    else:
        flash(f"A new copy of “{copy.subject}” is on its way to {copy.to_address}.", "success")
    return redirect(url_for("messages.deliveries_page"), code=303)
