"""The queue's staff pages: the queue, a proposal, claims, comments, priority moves, your
conflicts of interest and the scoring settings.

Each form view loads its action's input schema (queue/schemas.py, the API's too) and calls one
domain function, which decides who may; ``Invalid`` re-renders the form with the messages
beside the fields, and any other refusal is answered by shared/web.py.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from services.review import people
from services.review.queue import domain as queue
from services.review.queue.schemas import (
    AdjustmentIn,
    AssignmentIn,
    AssignmentsIn,
    CommentIn,
    ConflictIn,
    QueueEntryOut,
    QueuePageQuery,
    ScoringConfigIn,
)
from services.review.queue.scoring import explain
from services.review.staff import domain as accounts
from services.review.worker import database, outbox
from shared.agency import ORGANIZATION_TYPES
from shared.config import load_agency_profile, load_settings
from shared.converters import whole_number
from shared.domain import Acting, DomainError, Invalid
from shared.proposal import US_STATE_NAMES
from shared.schemas import checks_form_text, load_input
from shared.staff_auth import staff_required
from shared.web import current_acting, request_session

bp = Blueprint("review", __name__, url_prefix="/staff")

DECIDERS = tuple(sorted(people.DECIDERS))
STATUS_LABELS = queue.STATUS_LABELS
# A date without its time of day, as the agency's calendar has it (the queue's "Submitted").


@bp.app_template_filter("status_label")
def status_label(status: str) -> str:
    return queue.status_label(status)


@bp.get("/")
@staff_required()
def home() -> Response:
    return redirect(url_for("review.queue_page"))


@bp.get("/queue")
@staff_required()
def queue_page() -> Any:
    session, acting = request_session(database), current_acting()
    return render_queue(session, acting)


def render_queue(
    session: Session,
    acting: Acting,
    *,
    assign_errors: list[tuple[str, str, str]] | None = None,
    form: MultiDict[str, str] | None = None,
    status: int = 200,
) -> tuple[str, int]:
    """The queue as the query asks, with a refused bulk assignment's messages and choices."""
    asked = {**request.args.to_dict(), "status": request.args.getlist("status")}
    errors: dict[str, list[str]] = {}
    try:
        chosen = load_input(QueuePageQuery(), asked)
        filters = queue.QueueFilters.of(chosen)
        found = queue.queue_page(
            session,
            acting=acting,
            filters=filters,
            page=chosen["page"],
            per_page=queue.QUEUE_PAGE_SIZE,
        )
    except Invalid as err:
        for path, messages in err.errors.items():  # status.0: beside the status choices
            errors.setdefault(path.split(".", 1)[0], []).extend(messages)
        found = queue.QueuePage([], 0, 1, queue.QUEUE_PAGE_SIZE)
        filters = queue.QueueFilters.of(asked)  # shown as asked, beside the messages
    holders = queue.staff_names(session, (q.assigned_to for q in found.proposals))
    # What the table shows of each, read off the rows (a schema object per row cost more
    # than the rest of the page).
    entries = [
        {
            "proposal_id": str(q.proposal_id),
            "reference": q.reference,
            "organization": q.organization,
            "office_name": people.office_name(q.office),
            "priority": q.priority,
            "score": q.score,
            "score_version": q.score_version,
            "adjustment": q.adjustment,
            "adjustment_reason": q.adjustment_reason,
            "status": q.status,
            "submitted_at": q.submitted_at,
            "explanation": explain(q.score_lines),
            "assignee_name": holders.get(q.assigned_to, "") if q.assigned_to else "",
        }
        for q in found.proposals
    ]
    # The query of the other pages: the same filters (a status may be asked several times).
    page_filters = {
        key: [value for value in request.args.getlist(key) if value]
        for key in request.args
        if key != "page"
    }
    holder_options = [
        (queue.ASSIGNED_TO_ME, "Me"),
        (queue.ASSIGNED_TO_NOBODY, "Nobody"),
        *((str(p.id), p.name) for p in queue.holder_choices(session) if p.id != acting.staff_id),
    ]
    page = render_template(
        "review/queue.html",
        entries=entries,
        queue_page=found,
        page_filters=page_filters,
        figures=queue.progress(session, acting=acting),
        filters=filters,
        errors=errors,
        profile=load_agency_profile(),
        offices=people.office_choices(acting),
        statuses=STATUS_LABELS,
        organization_types=ORGANIZATION_TYPES,
        # (code, name) pairs, by name: the filter sends the code the queue stores.
        states=sorted(US_STATE_NAMES.items(), key=lambda pair: pair[1]),
        holder_options=holder_options,
        can_assign=acting.is_coordinator,
        reviewer_options=[
            *((str(p.id), p.name) for p in queue.reviewer_choices(session)),
            ("nobody", "Nobody (back to the queue)"),
        ],
        assign_errors=assign_errors or [],
        chosen=(form.getlist("proposal_ids") if form is not None else []),
        chosen_reviewer=(form.get("reviewer_id", "") if form is not None else ""),
    )
    return page, (422 if errors else status)


@bp.post("/queue/assignments")
@checks_form_text
@staff_required("coordinator")
def assign_selected() -> Any:
    """The queue's bulk form: the ticked proposals to the chosen reviewer, all or nothing;
    a refusal shows the queue again with what failed and the choices kept."""
    session, acting = request_session(database), current_acting()
    chosen = request.form.getlist("proposal_ids")
    reviewer = request.form.get("reviewer_id", "")
    sent = {
        "proposal_ids": chosen,
        # "nobody" stands for null, which a form cannot send; nothing chosen is refused.
        "reviewer_id": None if reviewer == "nobody" else reviewer,
    }
    try:
        body = load_input(AssignmentsIn(), sent)
        given = queue.assign_many(
            session,
            acting=acting,
            proposal_ids=body["proposal_ids"],
            reviewer_id=body["reviewer_id"],
            outbox=outbox,
        )
    except (Invalid, queue.NotAssigned) as err:
        return render_queue(
            session,
            acting,
            assign_errors=_assign_summary(err, chosen),
            form=request.form,
            status=err.status,
        )
    count = len(given)
    whom = "back to the queue" if body["reviewer_id"] is None else "assigned"
    flash(f"{count} proposal{'s' if count != 1 else ''} {whom}.", "success")
    # Back to the queue as it was filtered (the form's address carries the filters).
    query = request.query_string.decode()
    return redirect(url_for("review.queue_page") + (f"?{query}" if query else ""), code=303)


def _assign_summary(err: DomainError, chosen: list[str]) -> list[tuple[str, str, str]]:
    """A refused bulk assignment's messages for the error summary: each failed proposal's
    linked to its checkbox, the reviewer's to the select."""
    summary: list[tuple[str, str, str]] = []
    for path, messages in err.errors.items():
        name, _, index = path.partition(".")
        if name == "proposal_ids" and index.isdigit() and int(index) < len(chosen):
            target, label = f"select-{chosen[int(index)]}", ""
        elif name == "proposal_ids":
            target, label = "bulk-assign", "Proposals"
        elif name == "reviewer_id":
            target, label = "bulk-reviewer", "Assign selected to"
        else:
            target, label = "bulk-assign", ""
        summary.extend((target, label, message) for message in messages)
    return summary


def proposal_field_labels(federal: bool) -> dict[str, str]:
    """The proposal page's form fields by the label its error summary gives them: the
    decision's, the claim's, the move's and the comment's."""
    return {
        "kind": "Decision",
        "message": "What the applicant should change",
        "decline_reason": "Reason for declining",
        "division": "Lead office level" if federal else "Lead division",
        "liaison_id": "Liaison",
        "term_years": "Term in years",
        "approval_message": "Note for the applicant",
        "reviewer_id": "Assign to",
        "points": "Points",
        "reason": "Reason for moving it",
        "body": "Comment",
    }


def render_proposal(
    session: Session,
    acting: Acting,
    proposal_id: uuid.UUID,
    *,
    errors: dict[str, list[str]] | None = None,
    form: MultiDict[str, str] | None = None,
    status: int = 200,
) -> tuple[str, int]:
    """The proposal's page, with a refused form's messages and what was typed."""
    file = queue.proposal_file(session, acting=acting, proposal_id=proposal_id)
    profile = load_agency_profile()
    settings = load_settings()
    page = render_template(
        "review/proposal.html",
        entry=QueueEntryOut().dump(file.queued),
        data=file.queued.data,
        explanation=explain(file.queued.score_lines),
        changes=file.words.describe(file.changes_since_last_version),
        comments=file.comments,
        history=file.history_in_words,
        assignee_name=file.assignee_name,
        reviewer_options=[
            (str(p.id), p.name)
            for p in queue.reviewer_choices(
                session, organization_name=file.queued.organization_name
            )
        ]
        if acting.is_coordinator
        else [],
        liaison_options=[(str(p.id), p.name) for p in accounts.liaison_choices(session)],
        profile=profile,
        words=file.words,
        field_labels=proposal_field_labels(profile.federal),
        errors=errors or {},
        form=form or {},
        can_decide=people.may_work_on_proposals(acting),
        can_take_over=acting.is_coordinator,
        today=people.today(settings).isoformat(),
        term=settings.review_initial_term_years,
    )
    return page, status


def _back_to(proposal_id: uuid.UUID, anchor: str = "") -> Response:
    return redirect(url_for("review.proposal_page", proposal_id=proposal_id) + anchor, code=303)


@bp.get("/proposals/<uuid:proposal_id>")
@staff_required()
def proposal_page(proposal_id: uuid.UUID) -> Any:
    session, acting = request_session(database), current_acting()
    return render_proposal(session, acting, proposal_id)


@bp.post("/proposals/<uuid:proposal_id>/comments")
@checks_form_text
@staff_required()
def comment(proposal_id: uuid.UUID) -> Any:
    session, acting = request_session(database), current_acting()
    try:
        body = load_input(CommentIn(), request.form)
        queue.add_comment(session, acting=acting, proposal_id=proposal_id, body=body["body"])
    except Invalid as err:
        return render_proposal(
            session, acting, proposal_id, errors=err.errors, form=request.form, status=422
        )
    flash("Comment saved.", "success")
    return _back_to(proposal_id, "#comments")


@bp.post("/proposals/<uuid:proposal_id>/claim")
@checks_form_text
@staff_required(*DECIDERS)
def claim(proposal_id: uuid.UUID) -> Any:
    """The claim form: ``reviewer_id`` your own id to claim it, empty to give it back."""
    return _assignment(proposal_id)


@bp.post("/proposals/<uuid:proposal_id>/assignment")
@checks_form_text
@staff_required("coordinator")
def assign(proposal_id: uuid.UUID) -> Any:
    """The Coordinator's form: the reviewer chosen by name, or "nobody" to put it back."""
    return _assignment(proposal_id, chosen=True)


def _assignment(proposal_id: uuid.UUID, *, chosen: bool = False) -> Any:
    session, acting = request_session(database), current_acting()
    reviewer = request.form.get("reviewer_id", "")
    if chosen:
        # "nobody" stands for null, which a form cannot send; nothing chosen is refused.
        sent = {"reviewer_id": None if reviewer == "nobody" else reviewer}
    else:
        # A form cannot send null: the claim form's empty reviewer_id stands for it.
        sent = {"reviewer_id": reviewer or None}
    try:
        body = load_input(AssignmentIn(), sent)
        queued = queue.assign(
            session,
            acting=acting,
            proposal_id=proposal_id,
            reviewer_id=body["reviewer_id"],
            outbox=outbox,
        )
    except Invalid as err:
        return render_proposal(
            session, acting, proposal_id, errors=err.errors, form=request.form, status=422
        )
    if queued.assigned_to is None:
        flash("The proposal is back in the queue.", "success")
    elif queued.assigned_to == acting.staff_id:
        flash("The proposal is yours.", "success")
    else:
        name = queue.staff_names(session, [queued.assigned_to]).get(queued.assigned_to, "")
        flash(f"The proposal is assigned to {name}; they are told by e-mail.", "success")
    return _back_to(proposal_id)


@bp.post("/proposals/<uuid:proposal_id>/adjustment")
@checks_form_text
@staff_required(*DECIDERS)
def adjust(proposal_id: uuid.UUID) -> Any:
    session, acting = request_session(database), current_acting()
    try:
        body = load_input(AdjustmentIn(), request.form)
        queue.adjust_priority(session, acting=acting, proposal_id=proposal_id, **body)
    except Invalid as err:
        return render_proposal(
            session, acting, proposal_id, errors=err.errors, form=request.form, status=422
        )
    flash("Priority adjusted.", "success")
    return _back_to(proposal_id)


@bp.route("/conflicts", methods=["GET", "POST"])
@checks_form_text
@staff_required()
def conflicts_page() -> Any:
    session, acting = request_session(database), current_acting()
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        try:
            body = load_input(ConflictIn(), request.form)
            queue.declare_conflict(
                session, acting=acting, organization_name=body["organization_name"], outbox=outbox
            )
        except Invalid as err:
            errors = err.errors
        else:
            flash(
                "Conflict declared: that organization's proposals are hidden from you.", "success"
            )
            return redirect(url_for("review.conflicts_page"), code=303)
    return render_template(
        "review/conflicts.html",
        declared=queue.declared_conflicts(session, acting=acting),
        errors=errors,
        form=request.form,
    ), (422 if errors else 200)


WEIGHT_LABELS = {
    "priority_area": "Points for each matching priority area (unless the area sets its own)",
    "emerging_issue": "Points for an emerging issue",
    "expertise_gap": "Points for filling an expertise gap",
    "workers_per_reach_point": "Workers reached per point of reach",
    "reach_max": "Most points for reach",
    "hazard": "Points for each hazard named",
    "hazard_max": "Most points for hazards",
}


def _scoring_form(form: MultiDict[str, str]) -> dict[str, Any]:
    """The scoring form's fields as a ScoringConfigIn body (rows left empty dropped)."""
    rows = form.get("rows", "")
    areas = []
    for index in range(min(whole_number(rows) or 0, 500)):
        slug = form.get(f"areas.{index}.slug", "").strip()
        label = form.get(f"areas.{index}.label", "").strip()
        if not slug and not label:
            continue
        areas.append(
            {
                "slug": slug,
                "label": label,
                "effective_from": form.get(f"areas.{index}.effective_from") or None,
                "effective_to": form.get(f"areas.{index}.effective_to") or None,
                "weight": form.get(f"areas.{index}.weight") or None,
            }
        )
    weights = {name: form.get(f"weights.{name}", "") for name in WEIGHT_LABELS}
    return {
        "priority_areas": areas,
        "note": form.get("note", ""),
        "weights": {k: v for k, v in weights.items() if v != ""},
    }


@bp.route("/scoring", methods=["GET", "POST"])
@checks_form_text
@staff_required("coordinator")
def scoring_page() -> Any:
    session, acting = request_session(database), current_acting()
    errors: dict[str, list[str]] = {}
    submitted: dict[str, Any] | None = None
    if request.method == "POST":
        submitted = _scoring_form(request.form)
        try:
            config = queue.save_config(
                session,
                acting=acting,
                today=people.today(load_settings()),
                **load_input(ScoringConfigIn(), submitted),
            )
        except Invalid as err:
            errors = err.errors
        else:
            flash(f"Saved as version {config.version}; open proposals were rescored.", "success")
            return redirect(url_for("review.queue_page"), code=303)
    current = queue.scoring_config(session, acting=acting)
    shown = submitted or {
        "priority_areas": current.priority_areas,
        "weights": current.weights,
        "note": "",
    }
    return render_template(
        "review/scoring.html",
        current=current,
        set_by=accounts.name_of(session, current.created_by),
        shown=shown,
        rows=[*shown["priority_areas"], {}, {}],  # two empty rows to add areas
        errors=errors,
        weight_labels=WEIGHT_LABELS,
    ), (422 if errors else 200)
