"""Review's staff pages for alliances: the list and one alliance's page with its forms.

Each form posts to a view that calls one function of ``alliances.domain``, which decides who
may do it (any staff member reads; the Coordinator or the alliance's own liaison changes its
work plan, meetings and documents; the Coordinator alone records the signing of an approved
alliance, renews, concludes, terminates and names Ambassadors). The view first asks the
domain for the alliance as the form needs it (``alliance_for_work_plan`` or
``alliance_for_decision``), so that someone who may not send
the form is refused before any of its fields are read. The form's fields are checked by the
same input schema as the API's (``alliances.schemas``).

A form sent with bad input comes back with the errors beside the fields and everything that
was typed (422; 409 when the alliance's state does not allow the step); a success redirects
(303) to the page with a message. Any other refusal is answered by shared/web.py.

Each form on the alliance page has a prefix (``milestone``, ``renewal``, ...; one per
milestone for its status) that starts its fields' element ids, so a page showing one form's
errors can link to each field from the error summary.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from flask import Blueprint, flash, redirect, render_template, request, url_for
from marshmallow import Schema
from sqlalchemy.orm import Session

from services.review import people
from services.review.alliances import domain as agreements
from services.review.alliances.models import Alliance
from services.review.alliances.schemas import (
    AlliancePageOut,
    AllianceQuery,
    AmbassadorIn,
    ConclusionIn,
    DocumentIn,
    MeetingIn,
    MilestoneChangeIn,
    MilestoneIn,
    MoveIn,
    RenewalIn,
    SigningIn,
    TerminationIn,
)
from services.review.forms import Failure, form_input, sent
from services.review.worker import database, outbox
from shared.agency import GOAL_CATEGORIES, GOAL_TERMS
from shared.config import load_agency_profile, load_settings
from shared.domain import Acting, Conflict, Invalid
from shared.schemas import checks_form_text, load_input
from shared.staff_auth import staff_required
from shared.web import current_acting, request_session

bp = Blueprint("alliances", __name__, url_prefix="/staff/alliances")

KEEPERS = agreements.WORK_PLAN_KEEPERS
DECIDERS = agreements.DECIDERS


@bp.app_template_filter("long_date")
def long_date(value: str | date | None) -> str:
    """``2026-03-01`` as ``March 1, 2026``."""
    if not value:
        return ""
    day = value if isinstance(value, date) else date.fromisoformat(value)
    return day.strftime("%B %-d, %Y")


# The history's field names in the words of the alliance page; a value that is a date reads as
# one, a status or kind by its label, a milestone or document by its own fields.
HISTORY_FIELDS: dict[str, str] = {
    "status": "Status",
    "signing_date": "Signed on",
    "term_years": "Term in years",
    "ends_on": "Term ends",
    "renewals": "Renewals",
    "ended_on": "Ended on",
    "liaison": "Liaison",
    "division": "Lead division",
    "milestone": "Milestone",
    "meeting": "Meeting",
    "document": "Document",
    "title": "Title",
    "description": "Description",
    "target_date": "Target date",
    "responsible": "Responsible",
    "done_on": "Done on",
    "met_on": "Met on",
    "attendees": "Attendees",
    "notes": "Notes",
    "url": "Web address",
    "kind": "Kind",
    "reason": "Reason",
    "joined_on": "Joined on",
    "left_on": "Left on",
}
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def history_value(name: str, value: Any) -> str:
    """One recorded value as people read it."""
    if value is None or value == "" or value == []:
        return "(none)"
    if isinstance(value, Mapping):
        return "; ".join(
            f"{HISTORY_FIELDS.get(k, k.replace('_', ' ').capitalize())}: {history_value(k, v)}"
            for k, v in value.items()
            if v not in (None, "", [])
        )
    if isinstance(value, list):
        return ", ".join(history_value(name, v) for v in value)
    text = str(value)
    if ISO_DATE.fullmatch(text):
        return long_date(text)
    labels = {
        "status": {**agreements.STATUSES, **agreements.MILESTONE_STATUSES},
        "kind": agreements.DOCUMENT_KINDS,
        "division": load_agency_profile().divisions,
    }.get(name, {})
    return labels.get(text, text)


def history_changes(changes: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """A history entry's changes as (field, before, after), each in words."""
    described = []
    for name, pair in changes.items():
        before, after = pair if isinstance(pair, (list, tuple)) and len(pair) == 2 else (None, pair)
        label = HISTORY_FIELDS.get(name, name.replace("_", " ").capitalize())
        described.append((label, history_value(name, before), history_value(name, after)))
    return described


# -- the list ---------------------------------------------------------------------------------


@bp.get("")
@staff_required()
def list_page() -> Any:
    query = AllianceQuery()
    errors: dict[str, list[str]] = {}
    try:
        args = load_input(query, {k: v for k, v in request.args.items() if k in query.fields})
    except Invalid as err:
        errors = err.errors
        args = {"status": "", "mine": False, "office": ""}
    acting = current_acting()
    offices = people.office_choices(acting)
    if args["office"] and args["office"] not in offices:
        errors = {"office": ["Choose one of your offices from the list."]}
        args = {**args, "office": ""}
    rows = agreements.alliance_summaries(
        request_session(database),
        acting=acting,
        status=args["status"] or None,
        mine=args["mine"],
        office=args["office"],
    )
    divisions = load_agency_profile().divisions
    # Each alliance's page, its id in the place of a stand-in's (one URL built, not hundreds).
    stand_in = uuid.UUID(int=0)
    page_of = url_for("alliances.alliance_page", alliance_id=stand_in)
    # What the table shows of each, read off the rows (the API's schema, AllianceSummaryOut,
    # costs a long list more than its query).
    shown = [
        {
            "id": a.id,
            "url": page_of.replace(str(stand_in), str(a.id)),
            "reference": a.reference,
            "partner_name": a.partner_name,
            "status_label": agreements.STATUSES.get(a.status, a.status),
            "division_label": divisions.get(a.division, a.division),
            "office_name": people.office_name(a.office),
            "liaison": {"name": a.liaison_name},
            "signing_date": a.signing_date,
            "ends_on": a.ends_on,
            "ended_on": a.ended_on,
            "renewals": a.renewals,
            "term_years": a.term_years,
        }
        for a in rows
    ]
    return render_template(
        "alliances/list.html",
        alliances=shown,
        chosen_status=request.args.get("status", "") if errors else args["status"],
        offices=offices,
        chosen_office=args["office"],
        own_office=people.office_name(acting.office) if people.scope(acting) is not None else "",
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


def _page(session: Session, alliance_id: uuid.UUID, failure: Failure | None = None) -> Any:
    today = people.today(load_settings())
    page = agreements.alliance_page(
        session, alliance_id=alliance_id, acting=current_acting(), today=today
    )
    # A refused termination's notice date, to show when that notice would take effect.
    notice_day = _day(failure.values.get("notice_date", "")) if failure else None
    if failure and failure.prefix != "termination":
        notice_day = None
    html = render_template(
        "alliances/alliance.html",
        a=AlliancePageOut().dump(page),
        can_edit=page.may_keep_work_plan,
        may_decide=page.may_decide,
        is_open=page.is_open,
        failed=failure.prefix if failure else "",
        errors=failure.by_element() if failure else {},
        summary=failure.summary() if failure else [],
        sent=sent(failure),
        milestone_statuses=agreements.MILESTONE_STATUSES,
        document_kinds=agreements.DOCUMENT_KINDS,
        renewal_years=[(str(y), f"{y} years") for y in agreements.RENEWAL_TERM_YEARS],
        initial_years=[
            (str(y), f"{y} year{'s' if y != 1 else ''}") for y in agreements.INITIAL_TERM_YEARS
        ],
        may_record_signing=page.may_record_signing,
        statuses=agreements.STATUSES,
        history_changes=history_changes,
        notice_days=agreements.TERMINATION_NOTICE.days,
        today=today.isoformat(),
        effective_if_today=agreements.termination_effective_on(today).isoformat(),
        sent_notice=notice_day.isoformat() if notice_day else "",
        effective_if_sent=(
            agreements.termination_effective_on(notice_day).isoformat() if notice_day else ""
        ),
        profile=load_agency_profile(),
        offices=people.office_choices(current_acting()),
        goal_categories=GOAL_CATEGORIES,
        goal_terms=GOAL_TERMS,
    )
    return html, (failure.status if failure else 200)


@bp.get("/<uuid:alliance_id>")
@staff_required()
def alliance_page(alliance_id: uuid.UUID) -> Any:
    return _page(request_session(database), alliance_id)


class Guard(Protocol):
    def __call__(self, session: Session, *, alliance_id: uuid.UUID, acting: Acting) -> Alliance: ...


# What a form does: the domain's step, then the message for the page.
Action = Callable[[Session, Acting, uuid.UUID, dict[str, Any]], str]


@dataclass(frozen=True)
class Form:
    """One form of the alliance page.

    ``prefix`` starts its fields' element ids; ``labels`` are its fields in the order they
    appear, with the label the error summary names; ``guard`` is the domain's function that
    says whether the person may send it at all; ``anchor`` is where the page returns.
    """

    prefix: str
    labels: Mapping[str, str]
    schema: Callable[[], Schema]
    guard: Guard
    act: Action
    anchor: str


def _submit(alliance_id: uuid.UUID, form: Form) -> Any:
    """Refuse who may not send this form, then check the form and let the domain act; the
    page again with the form's errors, or a redirect with the message the action returns."""
    session = request_session(database)
    acting = current_acting()
    form.guard(session, alliance_id=alliance_id, acting=acting)
    try:
        message = form.act(session, acting, alliance_id, form_input(form.schema()))
    except (Invalid, Conflict) as err:
        session.rollback()  # the page shows the alliance as it was; nothing is stored
        return _page(session, alliance_id, Failure.of(form.prefix, form.labels, err))
    flash(message, "success")
    return redirect(
        url_for("alliances.alliance_page", alliance_id=alliance_id) + f"#{form.anchor}", code=303
    )


# -- the work plan, meetings and documents (the Coordinator or the alliance's liaison) --------


def _milestone_added(session: Session, acting: Acting, alliance_id: uuid.UUID, body: Any) -> str:
    milestone = agreements.add_milestone(
        session, acting=acting, alliance_id=alliance_id, today=people.today(load_settings()), **body
    )
    return f"Milestone added: {milestone.title}."


def _meeting_recorded(session: Session, acting: Acting, alliance_id: uuid.UUID, body: Any) -> str:
    meeting = agreements.add_meeting(
        session, acting=acting, alliance_id=alliance_id, today=people.today(load_settings()), **body
    )
    return f"Meeting on {long_date(meeting.met_on)} recorded."


def _document_added(session: Session, acting: Acting, alliance_id: uuid.UUID, body: Any) -> str:
    document = agreements.add_document(session, acting=acting, alliance_id=alliance_id, **body)
    return f"Document added: {document.title}."


MILESTONE = Form(
    "milestone",
    {
        "title": "Title",
        "target_date": "Target date",
        "responsible": "Responsible",
        "description": "Description",
        "status": "Status",
        "done_on": "Done on",
    },
    MilestoneIn,
    agreements.alliance_for_work_plan,
    _milestone_added,
    anchor="work-plan",
)
MEETING = Form(
    "meeting",
    {"met_on": "Date the team met", "note": "Note"},
    MeetingIn,
    agreements.alliance_for_work_plan,
    _meeting_recorded,
    anchor="meetings",
)
DOCUMENT = Form(
    "document",
    {"title": "Title", "kind": "Kind", "url": "Link", "description": "Description"},
    DocumentIn,
    agreements.alliance_for_work_plan,
    _document_added,
    anchor="documents",
)


def milestone_change(milestone_id: uuid.UUID) -> Form:
    """The form beside each milestone: its status, and the day it was done."""

    def changed(session: Session, acting: Acting, alliance_id: uuid.UUID, body: Any) -> str:
        milestone = agreements.update_milestone(
            session,
            acting=acting,
            alliance_id=alliance_id,
            milestone_id=milestone_id,
            changes=body,
            today=people.today(load_settings()),
        )
        status = agreements.MILESTONE_STATUSES.get(milestone.status, milestone.status)
        done = f" on {long_date(milestone.done_on)}" if milestone.done_on else ""
        return f"{milestone.title}: {status.lower()}{done}."

    return Form(
        f"milestone-{milestone_id}",
        {"status": "Status", "done_on": "Done on"},
        lambda: MilestoneChangeIn(only=("status", "done_on")),
        agreements.alliance_for_work_plan,
        changed,
        anchor=f"milestone-{milestone_id}",
    )


@bp.post("/<uuid:alliance_id>/milestones")
@checks_form_text
@staff_required(*KEEPERS)
def add_milestone(alliance_id: uuid.UUID) -> Any:
    return _submit(alliance_id, MILESTONE)


@bp.post("/<uuid:alliance_id>/milestones/<uuid:milestone_id>")
@checks_form_text
@staff_required(*KEEPERS)
def change_milestone(alliance_id: uuid.UUID, milestone_id: uuid.UUID) -> Any:
    return _submit(alliance_id, milestone_change(milestone_id))


@bp.post("/<uuid:alliance_id>/meetings")
@checks_form_text
@staff_required(*KEEPERS)
def add_meeting(alliance_id: uuid.UUID) -> Any:
    return _submit(alliance_id, MEETING)


@bp.post("/<uuid:alliance_id>/documents")
@checks_form_text
@staff_required(*KEEPERS)
def add_document(alliance_id: uuid.UUID) -> Any:
    return _submit(alliance_id, DOCUMENT)


# -- decisions on the agreement (the Coordinator) ---------------------------------------------


def _signing_recorded(session: Session, acting: Acting, alliance_id: uuid.UUID, body: Any) -> str:
    alliance = agreements.record_signing(
        session,
        acting=acting,
        alliance_id=alliance_id,
        outbox=outbox,
        today=people.today(load_settings()),
        **body,
    )
    return (
        f"Signing recorded: signed on {long_date(alliance.signing_date)} for "
        f"{alliance.term_years} year{'s' if alliance.term_years != 1 else ''}, through "
        f"{long_date(alliance.ends_on)}. The report schedule starts from the signing date, "
        "and the partner's contact and the liaison are told."
    )


def _renewed(session: Session, acting: Acting, alliance_id: uuid.UUID, body: Any) -> str:
    alliance = agreements.renew(
        session,
        acting=acting,
        alliance_id=alliance_id,
        outbox=outbox,
        today=people.today(load_settings()),
        **body,
    )
    return (
        f"Renewed for {alliance.term_years} years from {long_date(alliance.signing_date)}: "
        f"the term now ends on {long_date(alliance.ends_on)}."
    )


def _concluded(session: Session, acting: Acting, alliance_id: uuid.UUID, body: Any) -> str:
    alliance = agreements.conclude(
        session,
        acting=acting,
        alliance_id=alliance_id,
        outbox=outbox,
        today=people.today(load_settings()),
        **body,
    )
    return f"The alliance is concluded as of {long_date(alliance.ended_on)}."


def _terminated(session: Session, acting: Acting, alliance_id: uuid.UUID, body: Any) -> str:
    alliance = agreements.terminate(
        session,
        acting=acting,
        alliance_id=alliance_id,
        outbox=outbox,
        today=people.today(load_settings()),
        **body,
    )
    return (
        f"The alliance is terminated: the notice is dated {long_date(body['notice_date'])}, "
        f"so it takes effect on {long_date(alliance.ended_on)}."
    )


def _designated(session: Session, acting: Acting, alliance_id: uuid.UUID, body: Any) -> str:
    alliance = agreements.designate_ambassador(
        session,
        acting=acting,
        alliance_id=alliance_id,
        outbox=outbox,
        today=people.today(load_settings()),
        **body,
    )
    return f"{alliance.partner_name} is now an Ambassador."


SIGNING = Form(
    "signing",
    {"signing_date": "Date the agreement was signed", "term_years": "Term in years"},
    SigningIn,
    agreements.alliance_for_decision,
    _signing_recorded,
    anchor="agreement",
)
RENEWAL = Form(
    "renewal",
    {"signing_date": "New signing date", "term_years": "Term in years"},
    RenewalIn,
    agreements.alliance_for_decision,
    _renewed,
    anchor="agreement",
)
CONCLUSION = Form(
    "conclusion",
    {"concluded_on": "Concluded on", "reason": "Reason"},
    ConclusionIn,
    agreements.alliance_for_decision,
    _concluded,
    anchor="agreement",
)
TERMINATION = Form(
    "termination",
    {"notice_date": "Date of the written notice", "reason": "Reason"},
    TerminationIn,
    agreements.alliance_for_decision,
    _terminated,
    anchor="agreement",
)
AMBASSADOR = Form(
    "ambassador",
    {"designated_on": "Designated on", "reason": "Reason"},
    AmbassadorIn,
    agreements.alliance_for_decision,
    _designated,
    anchor="agreement",
)


def _moved(session: Session, acting: Acting, alliance_id: uuid.UUID, body: Any) -> str:
    alliance = agreements.move_to_office(
        session, acting=acting, alliance_id=alliance_id, outbox=outbox, **body
    )
    return (
        f"The alliance now belongs to {people.office_name(alliance.office)}: its staff see it, "
        "its reports and its messages, and its Coordinators are alerted about it."
    )


MOVE = Form(
    "move",
    {"office": "Move to the office", "reason": "Why it moves"},
    MoveIn,
    agreements.alliance_for_decision,
    _moved,
    anchor="office",
)


@bp.post("/<uuid:alliance_id>/office")
@checks_form_text
@staff_required(*DECIDERS)
def move_to_office(alliance_id: uuid.UUID) -> Any:
    return _submit(alliance_id, MOVE)


@bp.post("/<uuid:alliance_id>/signing")
@checks_form_text
@staff_required(*DECIDERS)
def record_signing(alliance_id: uuid.UUID) -> Any:
    return _submit(alliance_id, SIGNING)


@bp.post("/<uuid:alliance_id>/renewal")
@checks_form_text
@staff_required(*DECIDERS)
def renew(alliance_id: uuid.UUID) -> Any:
    return _submit(alliance_id, RENEWAL)


@bp.post("/<uuid:alliance_id>/conclusion")
@checks_form_text
@staff_required(*DECIDERS)
def conclude(alliance_id: uuid.UUID) -> Any:
    return _submit(alliance_id, CONCLUSION)


@bp.post("/<uuid:alliance_id>/termination")
@checks_form_text
@staff_required(*DECIDERS)
def terminate(alliance_id: uuid.UUID) -> Any:
    return _submit(alliance_id, TERMINATION)


@bp.post("/<uuid:alliance_id>/ambassador")
@checks_form_text
@staff_required(*DECIDERS)
def designate_ambassador(alliance_id: uuid.UUID) -> Any:
    return _submit(alliance_id, AMBASSADOR)
