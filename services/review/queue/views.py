"""Review's staff pages: the queue, a proposal, decisions to release, scoring settings."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from marshmallow import ValidationError
from werkzeug.wrappers import Response

from services.review import audit
from services.review.decisions import domain as decisions
from services.review.queue import domain as queue
from services.review.queue.api import liaison_lookup
from services.review.queue.schemas import AdjustmentIn, CommentIn, ConflictIn, ScoringConfigIn
from services.review.queue.scoring import explain
from services.review.staff import domain as accounts
from services.review.worker import database, outbox
from shared.agency import ORGANIZATION_TYPES, load_agency_profile
from shared.proposal import US_STATES, flatten_errors
from shared.staff_auth import staff_required

bp = Blueprint("review", __name__, url_prefix="/staff")

DECIDERS = ("coordinator", "reviewer")
STATUS_LABELS = {
    "waiting": "Waiting",
    "in_review": "In review",
    "resubmitted": "Resubmitted",
    "changes_requested": "Changes requested",
    "declined": "Declined",
    "approved": "Approved",
}


def _viewer() -> uuid.UUID:
    return uuid.UUID(str(g.staff.user_id))


@bp.app_template_filter("status_label")
def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status.replace("_", " ").capitalize())


@bp.get("/")
@staff_required()
def home() -> Response:
    return redirect(url_for("review.queue_page"))


@bp.get("/queue")
@staff_required()
def queue_page() -> Any:
    args = request.args
    chosen_status = args.getlist("status") or list(queue.OPEN_STATES)
    filters = queue.QueueFilters(
        status=[s for s in chosen_status if s in STATUS_LABELS] or list(queue.OPEN_STATES),
        division=args.get("division", ""),
        hazard=args.get("hazard", ""),
        state=args.get("state", "")[:2],
        organization_type=args.get("organization_type", ""),
        search=args.get("q", "")[:200],
    )
    with database.transaction() as session:
        rows = queue.list_queue(session, filters=filters, viewer_id=_viewer())
        figures = queue.progress(session)
        entries = [{**queue.queue_entry(q), "explanation": explain(q.score_lines)} for q in rows]
    profile = load_agency_profile()
    return render_template(
        "review/queue.html",
        entries=entries,
        figures=figures,
        filters=filters,
        profile=profile,
        statuses=STATUS_LABELS,
        organization_types=ORGANIZATION_TYPES,
        states=sorted(US_STATES),
    )


def _proposal_page(
    proposal_id: uuid.UUID,
    *,
    errors: dict[str, list[str]] | None = None,
    form: dict[str, Any] | None = None,
    status: int = 200,
) -> Any:
    with database.transaction() as session:
        try:
            queued = queue.get_for(session, proposal_id, viewer_id=_viewer())
        except queue.Conflicted as err:
            abort(403, description=str(err))
        except queue.QueueError:
            abort(404, description="No such proposal.")
        entry = queue.queue_entry(queued)
        page = render_template(
            "review/proposal.html",
            entry=entry,
            data=queued.data,
            explanation=explain(queued.score_lines),
            changes=queue.changes_since_last_version(queued),
            comments=queue.comments(session, proposal_id),
            history=audit.history(session, entity_type="proposal", entity_id=proposal_id),
            liaison_options=[
                (str(p.id), p.name)
                for p in accounts.list_staff(session)
                if p.active and "liaison" in p.roles
            ],
            profile=load_agency_profile(),
            errors=errors or {},
            form=form or {},
            can_decide=g.staff.has_any_role(DECIDERS),
            today=queue.today().isoformat(),
            term=decisions.initial_term_years(),
        )
    return page, status


@bp.get("/proposals/<uuid:proposal_id>")
@staff_required()
def proposal_page(proposal_id: uuid.UUID) -> Any:
    return _proposal_page(proposal_id)


@bp.post("/proposals/<uuid:proposal_id>/comments")
@staff_required()
def comment(proposal_id: uuid.UUID) -> Any:
    try:
        body = CommentIn().load({"body": request.form.get("body", "")})
    except ValidationError as err:
        return _proposal_page(
            proposal_id, errors=flatten_errors(err.messages), form=request.form, status=422
        )
    with database.transaction() as session:
        try:
            queue.add_comment(
                session,
                proposal_id=proposal_id,
                author_id=_viewer(),
                author_name=str(g.staff.name),
                body=body["body"],
            )
        except queue.QueueError as err:
            return _proposal_page(
                proposal_id, errors={"body": [str(err)]}, form=request.form, status=422
            )
    flash("Comment saved.", "success")
    return redirect(
        url_for("review.proposal_page", proposal_id=proposal_id) + "#comments", code=303
    )


@bp.post("/proposals/<uuid:proposal_id>/claim")
@staff_required(*DECIDERS)
def claim(proposal_id: uuid.UUID) -> Any:
    release_it = request.form.get("release") == "1"
    with database.transaction() as session:
        try:
            queue.assign(
                session,
                proposal_id=proposal_id,
                reviewer_id=None if release_it else _viewer(),
                reviewer_conflicts=queue.conflicted_keys(session, _viewer()),
                acting=queue.Acting.of(g.staff),
            )
        except (queue.Conflicted, queue.Forbidden) as err:
            abort(403, description=str(err))
        except queue.QueueError as err:
            abort(404, description=str(err))
    flash("You gave the proposal back." if release_it else "The proposal is yours.", "success")
    return redirect(url_for("review.proposal_page", proposal_id=proposal_id), code=303)


@bp.post("/proposals/<uuid:proposal_id>/adjustment")
@staff_required(*DECIDERS)
def adjust(proposal_id: uuid.UUID) -> Any:
    raw = {"points": request.form.get("points", ""), "reason": request.form.get("reason", "")}
    try:
        points = int(raw["points"])
    except ValueError:
        return _proposal_page(
            proposal_id,
            errors={"points": ["Enter a whole number, such as 10 or -10."]},
            form=request.form,
            status=422,
        )
    try:
        body = AdjustmentIn().load({"points": points, "reason": raw["reason"]})
    except ValidationError as err:
        errors = flatten_errors(err.messages)
        if "reason" in errors:
            errors["reason"] = ["Give the reason for moving this proposal."]
        return _proposal_page(proposal_id, errors=errors, form=request.form, status=422)
    try:
        with database.transaction() as session:
            queue.adjust_priority(
                session,
                proposal_id=proposal_id,
                points=body["points"],
                reason=body["reason"],
                actor=str(g.staff.email),
                viewer_id=_viewer(),
            )
    except queue.Conflicted as err:
        abort(403, description=str(err))
    except queue.QueueError as err:
        return _proposal_page(
            proposal_id, errors={"reason": [str(err)]}, form=request.form, status=422
        )
    flash("Priority adjusted.", "success")
    return redirect(url_for("review.proposal_page", proposal_id=proposal_id), code=303)


@bp.post("/proposals/<uuid:proposal_id>/decision")
@staff_required(*DECIDERS)
def prepare_decision(proposal_id: uuid.UUID) -> Any:
    kind = request.form.get("kind", "")
    form = request.form
    choices: dict[str, dict[str, Any]] = {
        "changes_requested": {"message": form.get("message", "").strip()},
        "declined": {"reason": form.get("decline_reason", "").strip()},
        "approved": {
            "division": form.get("division", ""),
            "liaison_id": form.get("liaison_id", ""),
            "signing_date": form.get("signing_date", ""),
            "term_years": form.get("term_years") or None,
            "message": form.get("approval_message", "").strip(),
        },
    }
    details = {k: v for k, v in choices.get(kind, {}).items() if v not in ("", None)}
    try:
        with database.transaction() as session:
            decisions.prepare(
                session,
                proposal_id=proposal_id,
                kind=kind,
                details=details,
                actor=str(g.staff.email),
                viewer_id=_viewer(),
                liaisons=liaison_lookup(session),
            )
    except ValidationError as err:
        errors = flatten_errors(err.messages)
        if "reason" in errors:  # the decline form's field, not the adjustment's
            errors["decline_reason"] = errors.pop("reason")
        if kind not in decisions.KINDS:
            errors = {"kind": ["Choose a decision."]}
        return _proposal_page(proposal_id, errors=errors, form=form, status=422)
    except queue.Conflicted as err:
        abort(403, description=str(err))
    except queue.QueueError as err:
        return _proposal_page(proposal_id, errors={"kind": [str(err)]}, form=form, status=409)
    flash("Decision prepared. Release it from the decisions page.", "success")
    return redirect(url_for("review.decisions_page"), code=303)


@bp.route("/decisions", methods=["GET", "POST"])
@staff_required(*DECIDERS)
def decisions_page() -> Any:
    problem = ""
    if request.method == "POST":
        try:
            ids = [uuid.UUID(v) for v in request.form.getlist("decision_id")]
        except ValueError:
            abort(400, description="A selected decision is not valid.")
        if not ids:
            problem = "Choose at least one decision to release."
        else:
            try:
                with database.transaction() as session:
                    decisions.release(
                        session,
                        decision_ids=ids,
                        actor=str(g.staff.email),
                        viewer_id=_viewer(),
                        outbox=outbox,
                        liaisons=liaison_lookup(session),
                    )
            except queue.QueueError as err:
                problem = f"Nothing was released: {err}"
            else:
                flash(
                    f"Released {len(ids)} decision{'s' if len(ids) != 1 else ''}. The "
                    "messages wait in the message outbox for release.",
                    "success",
                )
                return redirect(url_for("review.decisions_page"), code=303)
    with database.transaction() as session:
        pending = decisions.pending(session, viewer_id=_viewer())
        by_id = {
            q.proposal_id: q
            for q in queue.list_queue(
                session, filters=queue.QueueFilters(status=[]), viewer_id=_viewer()
            )
        }
        rows = [{"decision": d, "proposal": by_id.get(d.proposal_id)} for d in pending]
    return render_template(
        "review/decisions.html", rows=[r for r in rows if r["proposal"]], problem=problem
    ), (422 if problem else 200)


@bp.route("/conflicts", methods=["GET", "POST"])
@staff_required()
def conflicts_page() -> Any:
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        try:
            body = ConflictIn().load(
                {"organization_name": request.form.get("organization_name", "")}
            )
        except ValidationError:
            errors = {"organization_name": ["Name the organization."]}
        else:
            with database.transaction() as session:
                queue.declare_conflict(
                    session,
                    staff_id=_viewer(),
                    organization_name=body["organization_name"],
                    actor=str(g.staff.email),
                )
            flash(
                "Conflict declared: that organization's proposals are hidden from you.", "success"
            )
            return redirect(url_for("review.conflicts_page"), code=303)
    with database.transaction() as session:
        declared = sorted(queue.conflicted_keys(session, _viewer()))
    return render_template("review/conflicts.html", declared=declared, errors=errors), (
        422 if errors else 200
    )


WEIGHT_LABELS = {
    "priority_area": "Points for each matching priority area (unless the area sets its own)",
    "emerging_issue": "Points for an emerging issue",
    "expertise_gap": "Points for filling an expertise gap",
    "workers_per_reach_point": "Workers reached per point of reach",
    "reach_max": "Most points for reach",
    "hazard": "Points for each hazard named",
    "hazard_max": "Most points for hazards",
}


def _scoring_form(form: Any) -> dict[str, Any]:
    """The scoring form's fields as the API's ScoringConfigIn body (rows left empty dropped)."""
    areas = []
    for index in range(int(form.get("rows", "0") or 0)):
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
@staff_required("coordinator")
def scoring_page() -> Any:
    errors: dict[str, list[str]] = {}
    submitted: dict[str, Any] | None = None
    if request.method == "POST":
        submitted = _scoring_form(request.form)
        try:
            body = ScoringConfigIn().load(submitted)
            slugs = [area["slug"] for area in body["priority_areas"]]
            if len(set(slugs)) != len(slugs):
                raise ValidationError({"priority_areas": ["Name each priority area once."]})
        except ValidationError as err:
            errors = flatten_errors(err.messages)
        else:
            with database.transaction() as session:
                config = queue.save_config(
                    session,
                    weights=body["weights"],
                    note=body["note"],
                    actor=str(g.staff.email),
                    priority_areas=[
                        {
                            **a,
                            "effective_from": a["effective_from"].isoformat()
                            if a["effective_from"]
                            else None,
                            "effective_to": a["effective_to"].isoformat()
                            if a["effective_to"]
                            else None,
                        }
                        for a in body["priority_areas"]
                    ],
                )
                rescored = config.version
            flash(f"Saved as version {rescored}; open proposals were rescored.", "success")
            return redirect(url_for("review.queue_page"), code=303)
    with database.transaction() as session:
        config = queue.current_config(session)
        versions = audit.history(session, entity_type="scoring_config", entity_id=config.version)
        current = {
            "version": config.version,
            "weights": config.weights,
            "priority_areas": config.priority_areas,
            "note": config.note,
            "created_by": config.created_by,
            "created_at": config.created_at,
        }
    shown = submitted or {
        "priority_areas": current["priority_areas"],
        "weights": current["weights"],
        "note": "",
    }
    rows = [*shown["priority_areas"], {}, {}]  # two empty rows to add areas
    return render_template(
        "review/scoring.html",
        current=current,
        shown=shown,
        rows=rows,
        errors=errors,
        weight_labels=WEIGHT_LABELS,
        last_change=versions[-1] if versions else None,
    ), (422 if errors else 200)
