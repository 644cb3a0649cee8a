"""Review's JSON API: the queue."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from services.review.queue import list_queue, queue_entry
from services.review.worker import database

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.get("/queue")
def get_queue() -> Any:
    with database.transaction() as session:
        entries = [queue_entry(q) for q in list_queue(session)]
    return jsonify({"proposals": entries, "count": len(entries)})
