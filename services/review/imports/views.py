"""The Coordinator's page for importing the alliances an agency already has:
``/staff/alliances/import`` (the template at ``/staff/alliances/import/template.csv``).

Send the file to check it (nothing is stored: every problem by row and column, and what an
import would add), then import it: the same checks run again, and the alliances are stored
only if the file still has no problem.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, render_template, request
from werkzeug.exceptions import RequestEntityTooLarge

from services.review import people
from services.review.imports import domain as importing
from services.review.worker import database, outbox
from shared.config import load_settings
from shared.schemas import checks_form_text
from shared.staff_auth import staff_required
from shared.web import current_acting, request_session

bp = Blueprint("imports", __name__, url_prefix="/staff/alliances/import")

# Read up to this much of an upload: a larger file gets its own message, not a bare 413.
UPLOAD_LIMIT = importing.MAX_BYTES + 64 * 1024


def _page(status: int = 200, **context: Any) -> tuple[str, int]:
    context.setdefault("result", None)
    context.setdefault("problems", [])
    context.setdefault("welcome", False)
    return (
        render_template(
            "alliances/import.html",
            columns=importing.COLUMNS,
            max_rows=importing.MAX_ROWS,
            **context,
        ),
        status,
    )


@bp.get("")
@staff_required("coordinator")
def import_page() -> Any:
    importing.check_importer(current_acting())
    return _page()


@bp.get("/template.csv")
@staff_required("coordinator")
def template() -> Response:
    return Response(
        importing.template_csv(),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="alliances-template.csv"'},
    )


@bp.post("")
@checks_form_text
@staff_required("coordinator")
def import_file() -> Any:
    acting = current_acting()
    importing.check_importer(acting)
    request.max_content_length = UPLOAD_LIMIT
    try:
        upload = request.files.get("file")
        action = request.form.get("action", "check")
        welcome = request.form.get("welcome") == "1"
    except RequestEntityTooLarge:
        size = (request.content_length or 0) / 1024 / 1024
        message = f"The file is {size:.0f} MB; import at most 5 MB at a time."
        return _page(413, problems=[importing.Problem(0, "", message)])
    if upload is None or not upload.filename:
        return _page(422, problems=[importing.Problem(0, "", "Choose the CSV file to import.")])
    raw = upload.read(UPLOAD_LIMIT + 1)
    session = request_session(database)
    result = importing.import_alliances(
        session,
        acting=acting,
        raw=raw,
        today=people.today(load_settings()),
        outbox=outbox,
        welcome=welcome,
        dry_run=action != "import",
    )
    return _page(
        200 if result.plan.ok else 422,
        result=result,
        problems=result.plan.problems,
        filename=upload.filename,
        welcome=welcome,
    )
