"""Review's staff pages for signed alliances: the list and one alliance's page with its forms.

The pages are the HTML side of the staff JSON API in ``agreement_api.py``: the same
marshmallow schemas check what the forms send, the same functions of ``agreements.py`` do
the work, and the same people may do what: any staff member reads; the Coordinator or the
alliance's own liaison changes its work plan, meetings and documents; the Coordinator alone
renews, concludes, terminates and names Ambassadors. A form sent with bad input comes back
with the errors beside the fields and everything that was typed (422; 409 when the
alliance's state does not allow the step); a success redirects (303) to the page with a
message.

Each form on the alliance page has a prefix (``milestone``, ``renewal``, ...; one per
milestone for its status) that starts its fields' element ids, so a page showing one form's
errors can link to each field from the error summary.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, NoReturn

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from marshmallow import Schema, ValidationError
from sqlalchemy.orm import Session

from services.review.alliances import domain as agreements
from services.review.alliances.api import (
    COORDINATOR,
    WORK_PLAN_EDITORS,
    AllianceQuery,
    AmbassadorIn,
    ConclusionIn,
    DocumentIn,
    MeetingIn,
    MilestoneChangeIn,
    MilestoneIn,
    RenewalIn,
    TerminationIn,
    long_date,
)
from services.review.models import Alliance
from services.review.queue.domain import today as agency_today
from services.review.worker import database, outbox
from shared.agency import GOAL_CATEGORIES, GOAL_TERMS, load_agency_profile
from shared.proposal import flatten_errors
from shared.staff_auth import staff_required

bp = Blueprint("alliances", __name__, url_prefix="/staff/alliances")

# Each form's fields in the order they appear, with the label the error summary names.
FORMS: dict[str, dict[str, str]] = {
    "milestone": {
        "title": "Title",
        "target_date": "Target date",
        "responsible": "Responsible",
        "description": "Description",
        "status": "Status",
        "done_on": "Done on",
    },
    "meeting": {"met_on": "Date the team met", "note": "Note"},
    "document": {"title": "Title", "kind": "Kind", "url": "Link", "description": "Description"},
    "renewal": {"signing_date": "New signing date", "term_years": "Term in years"},
    "conclusion": {"concluded_on": "Concluded on", "reason": "Reason"},
    "termination": {"notice_date": "Date of the written notice", "reason": "Reason"},
    "ambassador": {"designated_on": "Designated on", "reason": "Reason"},
}
MILESTONE_CHANGE = {"status": "Status", "done_on": "Done on"}
WHOLE_NUMBER = re.compile(r"[+-]?\d{1,9}")


@dataclass
class Failure:
    """The form that was refused: its prefix, errors by field, and what was sent."""

    prefix: str
    labels: Mapping[str, str]
    errors: dict[str, list[str]]
    status: int
    values: Mapping[str, str] = field(default_factory=dict)

    def element_id(self, name: str) -> str:
        if name not in self.labels:  # about the form as a whole
            return f"{self.prefix}-problem"
        return f"{self.prefix}-{name.replace('_', '-')}"

    def by_element(self) -> dict[str, list[str]]:
        shown: dict[str, list[str]] = {}
        for name, messages in self.errors.items():
            shown.setdefault(self.element_id(name), []).extend(messages)
        return shown

    def summary(self) -> list[tuple[str, str, str]]:
        """(element id, label, message) for ui.error_summary, in the form's order."""
        known = [n for n in self.labels if n in self.errors]
        other = [n for n in self.errors if n not in self.labels]
        return [
            (self.element_id(name), self.labels.get(name, ""), message)
            for name in (*other, *known)
            for message in self.errors[name]
        ]


def _viewer() -> uuid.UUID:
    return uuid.UUID(str(g.staff.user_id))


def _actor() -> str:
    return str(g.staff.email)


def _refuse(err: agreements.AgreementError) -> NoReturn:
    abort(err.status, description=err.message)


def _may_edit(alliance: Alliance) -> bool:
    try:
        agreements.check_work_plan_editor(alliance, staff_id=_viewer(), roles=set(g.staff.roles))
    except agreements.NotAllowed:
        return False
    return True


def _check_editor(session: Session, alliance_id: uuid.UUID) -> None:
    """404 for no such alliance, 403 for someone who may not change its work plan."""
    try:
        alliance = agreements.get_alliance(session, alliance_id)
        agreements.check_work_plan_editor(alliance, staff_id=_viewer(), roles=set(g.staff.roles))
    except (agreements.NotFound, agreements.NotAllowed) as err:
        _refuse(err)


def _check_exists(session: Session, alliance_id: uuid.UUID) -> None:
    try:
        agreements.get_alliance(session, alliance_id)
    except agreements.NotFound as err:
        _refuse(err)


# -- the list ---------------------------------------------------------------------------------


@bp.get("")
@staff_required()
def list_page() -> Any:
    errors: dict[str, list[str]] = {}
    try:
        args = AllianceQuery().load(
            {k: v for k, v in request.args.items() if k in AllianceQuery().fields}
        )
    except ValidationError as err:
        errors = flatten_errors(err.messages)
        args = {"status": "", "mine": False}
    with database.transaction() as session:
        rows = [
            agreements.summary(a)
            for a in agreements.list_alliances(
                session,
                status=args["status"] or None,
                liaison_id=_viewer() if args["mine"] else None,
            )
        ]
    return render_template(
        "alliances/list.html",
        alliances=rows,
        chosen_status=request.args.get("status", "") if errors else args["status"],
        mine=args["mine"],
        statuses=agreements.STATUSES,
        errors=errors,
    ), (422 if errors else 200)


# -- one alliance -----------------------------------------------------------------------------


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip()) if text.strip() else None
    except ValueError:
        return None


def _page(alliance_id: uuid.UUID, failure: Failure | None = None) -> tuple[str, int]:
    today = agency_today()
    with database.transaction() as session:
        try:
            alliance = agreements.get_alliance(session, alliance_id)
            data = agreements.alliance_page(session, alliance_id=alliance_id, today=today)
        except agreements.NotFound as err:
            _refuse(err)
        can_edit = _may_edit(alliance)
    # A refused termination's notice date, to show when that notice would take effect.
    notice_day = _day(failure.values.get("notice_date", "")) if failure else None
    if failure and failure.prefix != "termination":
        notice_day = None
    page = render_template(
        "alliances/alliance.html",
        a=data,
        can_edit=can_edit and data["status"] in agreements.OPEN_STATUSES,
        is_coordinator=g.staff.has_any_role(COORDINATOR),
        is_open=data["status"] in agreements.OPEN_STATUSES,
        failed=failure.prefix if failure else "",
        errors=failure.by_element() if failure else {},
        summary=failure.summary() if failure else [],
        sent=lambda prefix: failure.values if failure and failure.prefix == prefix else {},
        milestone_statuses=agreements.MILESTONE_STATUSES,
        document_kinds=agreements.DOCUMENT_KINDS,
        renewal_years=[
            (str(y), f"{y} years")
            for y in range(agreements.RENEWAL_TERM_YEARS.start, agreements.RENEWAL_TERM_YEARS.stop)
        ],
        notice_days=agreements.TERMINATION_NOTICE.days,
        today=today.isoformat(),
        effective_if_today=agreements.termination_effective_on(today).isoformat(),
        sent_notice=notice_day.isoformat() if notice_day else "",
        effective_if_sent=(
            agreements.termination_effective_on(notice_day).isoformat() if notice_day else ""
        ),
        profile=load_agency_profile(),
        goal_categories=GOAL_CATEGORIES,
        goal_terms=GOAL_TERMS,
    )
    return page, (failure.status if failure else 200)


@bp.get("/<uuid:alliance_id>")
@staff_required()
def alliance_page(alliance_id: uuid.UUID) -> Any:
    return _page(alliance_id)


def _form(schema: Schema, *, integers: tuple[str, ...] = ()) -> dict[str, Any]:
    """The form's fields the schema knows, blanks left out (so "required" says what to give),
    whole numbers as numbers; the schema's own checks then apply as in the API."""
    sent = {k: v.strip() for k, v in request.form.items() if k in schema.fields}
    data: dict[str, Any] = {k: v for k, v in sent.items() if v}
    for name in integers:
        if name in data and WHOLE_NUMBER.fullmatch(data[name]):
            data[name] = int(data[name])
    try:
        loaded: dict[str, Any] = schema.load(data)
    except ValidationError as err:
        errors = flatten_errors(err.messages)
        for name in integers:
            if name in errors and isinstance(data.get(name), str):
                errors[name] = ["Give a whole number."]
        raise ValidationError(errors) from err
    return loaded


Action = Callable[[Session, dict[str, Any]], str]


def _submit(
    alliance_id: uuid.UUID,
    *,
    prefix: str,
    labels: Mapping[str, str],
    schema: Schema,
    act: Action,
    anchor: str,
    editors_only: bool,
    integers: tuple[str, ...] = (),
) -> Any:
    """Check access, then the form, then let the domain act; the page again on any error."""
    with database.transaction() as session:
        (_check_editor if editors_only else _check_exists)(session, alliance_id)
    values = {k: v for k, v in request.form.items() if k != "csrf_token"}
    try:
        body = _form(schema, integers=integers)
    except ValidationError as err:
        errors = flatten_errors(err.messages)
        return _page(alliance_id, Failure(prefix, labels, errors, 422, values))
    try:
        with database.transaction() as session:
            if editors_only:
                _check_editor(session, alliance_id)
            message = act(session, body)
    except (agreements.NotFound, agreements.NotAllowed) as err:
        _refuse(err)
    except agreements.AgreementError as err:
        return _page(alliance_id, Failure(prefix, labels, err.errors(), err.status, values))
    flash(message, "success")
    return redirect(
        url_for("alliances.alliance_page", alliance_id=alliance_id) + f"#{anchor}", code=303
    )


# -- the work plan, meetings and documents (the Coordinator or the alliance's liaison) --------


@bp.post("/<uuid:alliance_id>/milestones")
@staff_required(*WORK_PLAN_EDITORS)
def add_milestone(alliance_id: uuid.UUID) -> Any:
    def act(session: Session, body: dict[str, Any]) -> str:
        milestone = agreements.add_milestone(
            session, alliance_id=alliance_id, actor=_actor(), **body
        )
        return f"Milestone added: {milestone.title}."

    return _submit(
        alliance_id,
        prefix="milestone",
        labels=FORMS["milestone"],
        schema=MilestoneIn(),
        act=act,
        anchor="work-plan",
        editors_only=True,
    )


@bp.post("/<uuid:alliance_id>/milestones/<uuid:milestone_id>")
@staff_required(*WORK_PLAN_EDITORS)
def change_milestone(alliance_id: uuid.UUID, milestone_id: uuid.UUID) -> Any:
    def act(session: Session, body: dict[str, Any]) -> str:
        milestone = agreements.update_milestone(
            session,
            alliance_id=alliance_id,
            milestone_id=milestone_id,
            changes=body,
            actor=_actor(),
        )
        status = agreements.MILESTONE_STATUSES.get(milestone.status, milestone.status)
        done = f" on {long_date(milestone.done_on.isoformat())}" if milestone.done_on else ""
        return f"{milestone.title}: {status.lower()}{done}."

    return _submit(
        alliance_id,
        prefix=f"milestone-{milestone_id}",
        labels=MILESTONE_CHANGE,
        schema=MilestoneChangeIn(only=("status", "done_on")),
        act=act,
        anchor=f"milestone-{milestone_id}",
        editors_only=True,
    )


@bp.post("/<uuid:alliance_id>/meetings")
@staff_required(*WORK_PLAN_EDITORS)
def add_meeting(alliance_id: uuid.UUID) -> Any:
    def act(session: Session, body: dict[str, Any]) -> str:
        meeting = agreements.add_meeting(session, alliance_id=alliance_id, actor=_actor(), **body)
        return f"Meeting on {long_date(meeting.met_on.isoformat())} recorded."

    return _submit(
        alliance_id,
        prefix="meeting",
        labels=FORMS["meeting"],
        schema=MeetingIn(),
        act=act,
        anchor="meetings",
        editors_only=True,
    )


@bp.post("/<uuid:alliance_id>/documents")
@staff_required(*WORK_PLAN_EDITORS)
def add_document(alliance_id: uuid.UUID) -> Any:
    def act(session: Session, body: dict[str, Any]) -> str:
        document = agreements.add_document(session, alliance_id=alliance_id, actor=_actor(), **body)
        return f"Document added: {document.title}."

    return _submit(
        alliance_id,
        prefix="document",
        labels=FORMS["document"],
        schema=DocumentIn(),
        act=act,
        anchor="documents",
        editors_only=True,
    )


# -- decisions on the agreement (the Coordinator) ---------------------------------------------


@bp.post("/<uuid:alliance_id>/renewal")
@staff_required(*COORDINATOR)
def renew(alliance_id: uuid.UUID) -> Any:
    def act(session: Session, body: dict[str, Any]) -> str:
        alliance = agreements.renew(
            session, alliance_id=alliance_id, actor=_actor(), outbox=outbox, **body
        )
        return (
            f"Renewed for {alliance.term_years} years from "
            f"{long_date(alliance.signing_date.isoformat())}: the term now ends on "
            f"{long_date(alliance.ends_on.isoformat())}."
        )

    return _submit(
        alliance_id,
        prefix="renewal",
        labels=FORMS["renewal"],
        schema=RenewalIn(),
        act=act,
        anchor="agreement",
        editors_only=False,
        integers=("term_years",),
    )


@bp.post("/<uuid:alliance_id>/conclusion")
@staff_required(*COORDINATOR)
def conclude(alliance_id: uuid.UUID) -> Any:
    def act(session: Session, body: dict[str, Any]) -> str:
        alliance = agreements.conclude(
            session, alliance_id=alliance_id, actor=_actor(), outbox=outbox, **body
        )
        ended = alliance.ended_on.isoformat() if alliance.ended_on else None
        return f"The alliance is concluded as of {long_date(ended)}."

    return _submit(
        alliance_id,
        prefix="conclusion",
        labels=FORMS["conclusion"],
        schema=ConclusionIn(),
        act=act,
        anchor="agreement",
        editors_only=False,
    )


@bp.post("/<uuid:alliance_id>/termination")
@staff_required(*COORDINATOR)
def terminate(alliance_id: uuid.UUID) -> Any:
    def act(session: Session, body: dict[str, Any]) -> str:
        alliance = agreements.terminate(
            session, alliance_id=alliance_id, actor=_actor(), outbox=outbox, **body
        )
        ended = alliance.ended_on.isoformat() if alliance.ended_on else None
        return (
            f"The alliance is terminated: the notice is dated "
            f"{long_date(body['notice_date'].isoformat())}, so it takes effect on "
            f"{long_date(ended)}."
        )

    return _submit(
        alliance_id,
        prefix="termination",
        labels=FORMS["termination"],
        schema=TerminationIn(),
        act=act,
        anchor="agreement",
        editors_only=False,
    )


@bp.post("/<uuid:alliance_id>/ambassador")
@staff_required(*COORDINATOR)
def designate_ambassador(alliance_id: uuid.UUID) -> Any:
    def act(session: Session, body: dict[str, Any]) -> str:
        alliance = agreements.designate_ambassador(
            session, alliance_id=alliance_id, actor=_actor(), outbox=outbox, **body
        )
        return f"{alliance.partner_name} is now an Ambassador."

    return _submit(
        alliance_id,
        prefix="ambassador",
        labels=FORMS["ambassador"],
        schema=AmbassadorIn(),
        act=act,
        anchor="agreement",
        editors_only=False,
    )
