"""Notify's JSON API: the messages recorded for a proposal."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, abort, jsonify, request
from sqlalchemy import select

from services.notify.models import Message
from services.notify.worker import database

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.get("/messages")
def list_messages() -> Any:
    raw = request.args.get("proposal_id", "")
    try:
        proposal_id = uuid.UUID(raw)
    except ValueError:
        abort(400, description="Give proposal_id, the proposal's id (a UUID).")
    with database.transaction() as session:
        rows = session.scalars(
            select(Message).where(Message.proposal_id == proposal_id).order_by(Message.created_at)
        ).all()
        body = [
            {
                "id": str(m.id),
                "template": m.template,
                "to": m.to_address,
                "subject": m.subject,
                "status": m.status,
                "attempts": m.attempts,
                "last_error": m.last_error,
                "created_at": m.created_at.isoformat(),
                "sent_at": m.sent_at.isoformat() if m.sent_at else None,
            }
            for m in rows
        ]
    return jsonify({"messages": body})
