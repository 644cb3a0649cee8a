"""The web side of who is acting: every reporting page and API call asks ``acting()``."""

from __future__ import annotations

from flask import g

from services.reporting.people import acting_for
from services.reporting.worker import database
from shared.domain import Acting
from shared.web import request_session


def acting() -> Acting:
    """The signed-in staff member with their declared conflicts, in the request's session."""
    return acting_for(request_session(database), g.staff)
