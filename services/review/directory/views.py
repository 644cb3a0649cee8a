"""The public directory as a page: ``/directory`` (``/review/directory`` behind the gateway),
no sign-in, cached by anyone for five minutes."""

from __future__ import annotations

from flask import Blueprint, render_template
from werkzeug.wrappers import Response

from services.review.alliances.views import long_date
from services.review.directory import domain as directory
from services.review.directory.api import PUBLIC_CACHE
from services.review.directory.schemas import DirectoryOut
from services.review.worker import database
from shared.config import load_agency_profile
from shared.web import request_session

bp = Blueprint("directory_page", __name__)
bp.add_app_template_filter(long_date, "long_date")


@bp.get("/directory")
def directory_page() -> Response:
    listing = DirectoryOut().dump(directory.public_directory(request_session(database)))
    page = render_template(
        "directory/directory.html", directory=listing, profile=load_agency_profile()
    )
    return Response(page, mimetype="text/html", headers=PUBLIC_CACHE)
