"""The public directory as a page: ``/directory`` (``/review/directory`` behind the gateway),
no sign-in, cached by anyone for five minutes."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from werkzeug.wrappers import Response

from services.review import people
from services.review.alliances.views import long_date
from services.review.directory import domain as directory
from services.review.directory.api import PUBLIC_CACHE
from services.review.directory.schemas import DirectoryOut
from services.review.worker import database
from shared.config import load_agency_profile, load_settings
from shared.domain import Invalid
from shared.web import request_session

bp = Blueprint("directory_page", __name__)
bp.add_app_template_filter(long_date, "long_date")


@bp.get("/directory")
def directory_page() -> Response:
    session, today = request_session(database), people.today(load_settings())
    asked = request.args.get("office", "").strip()[:64]
    errors: dict[str, list[str]] = {}
    try:
        found = directory.public_directory(session, today=today, office=asked)
    except Invalid as err:  # the whole directory, and the message beside the filter
        errors = err.errors
        found = directory.public_directory(session, today=today)
    page = render_template(
        "directory/directory.html",
        directory=DirectoryOut().dump(found),
        profile=load_agency_profile(),
        errors=errors,
    )
    return Response(page, status=422 if errors else 200, mimetype="text/html", headers=PUBLIC_CACHE)
