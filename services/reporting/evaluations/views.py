"""The annual evaluation page: ``/staff/alliances/<id>/evaluations/<term>/<year>``.

GET shows the evaluation (a form for the liaison or the Coordinator, read-only for other
staff) beside the year's activity roll-up. POST records it: a refusal is the form again,
each message beside its field. POST ``.../share`` marks it shared with the partner and, the
first time, e-mails it to the partner's contact with a copy to the liaison
(``evaluation.shared``); the page then says who was told, by name.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for

from services.reporting.conflicts.views import acting as current_acting
from services.reporting.evaluations import domain
from services.reporting.evaluations.schemas import EvaluationSchema, ratings_from
from services.reporting.submissions.forms import SECTIONS
from services.reporting.worker import database, outbox
from shared.config import load_agency_profile, load_settings
from shared.domain import Acting, Invalid
from shared.schemas import checks_form_text, load_input
from shared.staff_auth import staff_required
from shared.web import request_session

bp = Blueprint("evaluations", __name__, url_prefix="/staff/alliances")
# Term 0 is the initial one; a year is one of a term's few (at most 100 keeps its dates
# computable). Any other number is a 404 (shared/converters.py).
PATH = "/<uuid:alliance_id>/evaluations/<number(min=0):term>/<number(max=100):year>"


def now() -> datetime:
    """The instant recorded (tests replace it)."""
    return datetime.now(UTC)


def _acting() -> Acting:
    return current_acting()


def _error_rows(errors: dict[str, list[str]]) -> list[tuple[str, str, str]]:
    rows = []
    for key, label in domain.REQUIREMENTS.items():
        for suffix, what in (("rating", "rating"), ("justification", "justification")):
            name = f"{key}_{suffix}"
            for message in errors.get(name, []):
                rows.append((name.replace("_", "-"), f"{label}: {what}", message))
    return rows


def _name(person: dict[str, Any] | None, fallback: str) -> str:
    return str((person or {}).get("name") or "").strip() or fallback


def shared_notice(alliance: Any) -> str:
    """Who the shared evaluation was e-mailed to (``evaluation.shared``: the partner's contact
    with a copy to the liaison), by name."""
    contact = _name(alliance.contact, "the partner's contact")
    partner = alliance.partner_name or alliance.reference
    liaison = _name(alliance.liaison, "the liaison")
    return (
        f"Shared with {contact} of {partner}, with a copy to {liaison}: "
        "the evaluation was sent to them by e-mail."
    )


def _render(
    alliance_id: uuid.UUID,
    term: int,
    year: int,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, list[str]] | None = None,
    status: int = 200,
) -> tuple[str, int]:
    page = domain.evaluation_of(
        request_session(database), acting=_acting(), alliance_id=alliance_id, term=term, year=year
    )
    if values is None:
        values = {}
        if page.evaluation is not None:
            for key, given in page.evaluation.ratings.items():
                values[f"{key}_rating"] = given.get("rating", "")
                values[f"{key}_justification"] = given.get("justification", "")
    profile = load_agency_profile()
    errors = errors or {}
    notice = ""
    if request.args.get("saved"):
        notice = "Evaluation recorded."
    elif request.args.get("shared") == "again":
        notice = "This evaluation was already shared with the partner; nothing more was sent."
    elif request.args.get("shared"):
        notice = shared_notice(page.alliance)
    html = render_template(
        "evaluations/evaluation.html",
        found=page,
        requirements=domain.REQUIREMENTS,
        ratings=domain.RATINGS,
        values=values,
        errors=errors,
        error_rows=_error_rows(errors),
        sections=SECTIONS,
        areas={**profile.hazards, **profile.priority_areas},
        notice=notice,
        timezone=load_settings().agency_timezone,
    )
    return html, status


@bp.get(PATH)
@staff_required()
def evaluation_page(alliance_id: uuid.UUID, term: int, year: int) -> Any:
    return _render(alliance_id, term, year)


@bp.post(PATH)
@staff_required()
@checks_form_text
def evaluation_post(alliance_id: uuid.UUID, term: int, year: int) -> Any:
    typed = {key: str(value) for key, value in request.form.items() if key != "csrf_token"}
    try:
        loaded = load_input(EvaluationSchema(), request.form)
        domain.record_evaluation(
            request_session(database),
            acting=_acting(),
            alliance_id=alliance_id,
            term=term,
            year=year,
            ratings=ratings_from(loaded),
            at=now(),
        )
    except Invalid as err:
        return _render(alliance_id, term, year, values=typed, errors=err.errors, status=422)
    target = url_for(".evaluation_page", alliance_id=alliance_id, term=term, year=year, saved=1)
    return redirect(target, code=303)


@bp.post(PATH + "/share")
@staff_required()
def evaluation_share(alliance_id: uuid.UUID, term: int, year: int) -> Any:
    at = now()
    shared = domain.share_evaluation(
        request_session(database),
        acting=_acting(),
        alliance_id=alliance_id,
        term=term,
        year=year,
        at=at,
        outbox=outbox,
    )
    first = shared.shared_at == at
    target = url_for(
        ".evaluation_page",
        alliance_id=alliance_id,
        term=term,
        year=year,
        shared=1 if first else "again",
    )
    return redirect(target, code=303)
