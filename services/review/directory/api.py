"""The public directory as JSON: ``/api/v1/directory`` (``/review/api/v1/directory`` behind
the gateway), no sign-in, cached by anyone for five minutes."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_smorest import Blueprint

from services.review import people
from services.review.directory import domain as directory
from services.review.directory.schemas import DirectoryOut
from services.review.worker import database
from shared.config import load_settings
from shared.web import request_session

# Named "directory": the page links here with url_for("directory.directory_json").
bp = Blueprint(
    "directory",
    __name__,
    url_prefix="/api/v1",
    description="The public directory of active alliances and Ambassadors (no sign-in).",
)

PUBLIC_CACHE = {"Cache-Control": "public, max-age=300"}


@bp.route("/directory")
@bp.response(200, DirectoryOut)
def directory_json() -> Any:
    """Active alliances and Ambassadors, and the roundtables with their members (public);
    ``office``: those of that office and the offices under it (one of ``offices``)."""
    return (
        directory.public_directory(
            request_session(database),
            today=people.today(load_settings()),
            office=request.args.get("office", "").strip()[:64],
        ),
        200,
        PUBLIC_CACHE,
    )
