"""The review queue: proposals from intake, scored, ordered, claimed, discussed.

Every rule and permission of the queue is here, decided from the acting staff member
(``shared.domain.Acting``, from ``shared.web.current_acting()``); views and APIs call these
functions and never re-check. Functions take the request's or task's session and never commit.

Who may do what:

- any staff member (Coordinator, reviewer, liaison) reads the queue, a proposal, its comments
  and history, the progress figures and the scoring configuration, comments, and declares
  their own conflicts of interest;
- reviewers and the Coordinator claim, give back and move proposals up or down (``assign``,
  ``adjust_priority``); only the Coordinator assigns to others (an active reviewer, one
  proposal or several at once, all or nothing: ``assign_many``), takes over or drops someone
  else's claim, and changes the scoring configuration; a decided proposal is assigned to
  nobody;
- a declared conflict hides the organization's proposals from the person who declared it,
  the Coordinator included: they are left out of the queue, and reading one (its comments
  and history too), commenting on, moving, claiming, assigning or un-assigning it is
  refused, as are preparing, seeing and releasing its decisions (decisions/domain.py);
  nobody is assigned a proposal of an organization they declared a conflict with.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from services.review import audit, people
from services.review.base import AuditEntry, StaffConflict
from services.review.people import (
    DECIDERS,
    conflicted_keys,
    hidden_from,
    require_decider,
    require_staff,
)
from services.review.queue.models import (
    QueueAdjustment,
    QueuedProposal,
    ReviewComment,
    ScoringConfig,
)
from services.review.queue.scoring import DEFAULT_WEIGHTS, ScoringRules, score_proposal
from services.review.staff import domain as accounts
from services.review.staff.models import StaffUser
from shared.agency import GOAL_CATEGORIES, GOAL_TERMS, ORGANIZATION_TYPES
from shared.config import load_agency_profile
from shared.db import utcnow
from shared.domain import Acting, Conflict, Forbidden, Invalid, NotFound, organization_key
from shared.events import Event, new_event
from shared.outbox import Outbox
from shared.proposal import PROPOSAL_FIELD_LABELS, US_STATE_NAMES, ProposalSchema

OPEN_STATES = ("waiting", "in_review", "resubmitted")
DECIDED_STATES = ("approved", "declined")
STATUSES = (*OPEN_STATES, "changes_requested", *DECIDED_STATES)
STATUS_LABELS = {
    "waiting": "Waiting",
    "in_review": "In review",
    "resubmitted": "Resubmitted",
    "changes_requested": "Changes requested",
    "declined": "Declined",
    "approved": "Approved",
}

MAX_ADJUSTMENT = 1000
MAX_REASON = 2000
MAX_COMMENT = 10000
MAX_ORGANIZATION_NAME = 200

# The messages a person reads; the input schemas (schemas.py) give the same ones.
REASON_REQUIRED = "Give the reason for moving this proposal."
POINTS_RANGE = f"Move by at most {MAX_ADJUSTMENT} points either way."
COMMENT_REQUIRED = "Write something before saving the comment."
COMMENT_TOO_LONG = f"Keep comments to {MAX_COMMENT:,} characters."
ORGANIZATION_REQUIRED = "Name the organization."
AREA_TWICE = "Name each priority area once."
NO_SUCH_PROPOSAL = "No such proposal."
IN_CONFLICT = "You declared a conflict of interest with this organization."
DECIDED_ALREADY = "This proposal has been decided: it can no longer be assigned."
NO_SUCH_STAFF = "There is no such staff account."
CHOOSE_A_REVIEWER = "Choose an active reviewer."
CHOOSE_PROPOSALS = "Choose at least one proposal."
MAX_BULK = 200
TOO_MANY_PROPOSALS = f"Choose at most {MAX_BULK} proposals at a time."


# -- configuration ----------------------------------------------------------------------------


def current_config(session: Session) -> ScoringConfig:
    """The configuration in force; the first one is made from the agency's defaults."""
    config = session.scalars(
        select(ScoringConfig).order_by(ScoringConfig.version.desc()).limit(1)
    ).first()
    if config is None:
        profile = load_agency_profile()
        config = ScoringConfig(
            weights=dict(DEFAULT_WEIGHTS),
            priority_areas=[
                {
                    "slug": slug,
                    "label": label,
                    "effective_from": None,
                    "effective_to": None,
                    "weight": None,
                }
                for slug, label in profile.priority_areas.items()
            ],
            note="Initial configuration from the agency's defaults",
            created_by="system",
        )
        session.add(config)
        session.flush()
    return config


def scoring_config(session: Session, *, acting: Acting) -> ScoringConfig:
    """The configuration in force, as any staff member reads it."""
    require_staff(acting)
    return current_config(session)


def rules_of(config: ScoringConfig) -> ScoringRules:
    return ScoringRules.from_json(config.version, config.weights, config.priority_areas)


def _iso(value: date | str | None) -> str | None:
    if isinstance(value, date):
        return value.isoformat()
    return value or None


def stored_areas(priority_areas: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Priority areas as the configuration stores them (dates as ISO text); an area named
    twice is refused."""
    areas = [
        {
            "slug": area["slug"],
            "label": area["label"],
            "effective_from": _iso(area.get("effective_from")),
            "effective_to": _iso(area.get("effective_to")),
            "weight": area.get("weight"),
        }
        for area in priority_areas
    ]
    slugs = [area["slug"] for area in areas]
    if len(set(slugs)) != len(slugs):
        raise Invalid({"priority_areas": [AREA_TWICE]})
    return areas


def save_config(
    session: Session,
    *,
    acting: Acting,
    weights: Mapping[str, int],
    priority_areas: Iterable[Mapping[str, Any]],
    note: str,
    today: date,
) -> ScoringConfig:
    """A new configuration version, by the Coordinator only; every open proposal is rescored
    with it as of ``today`` (the agency's date)."""
    if not acting.is_coordinator:
        raise Forbidden("Only the Coordinator changes the scoring configuration.")
    unknown = sorted(set(weights) - set(DEFAULT_WEIGHTS))
    if unknown:
        raise Invalid({"weights": [f"Unknown weights: {', '.join(unknown)}."]})
    areas = stored_areas(priority_areas)
    previous = current_config(session)
    config = ScoringConfig(
        weights={**DEFAULT_WEIGHTS, **weights},
        priority_areas=areas,
        note=note,
        created_by=acting.email,
    )
    session.add(config)
    session.flush()
    audit.record(
        session,
        entity_type="scoring_config",
        entity_id=config.version,
        action="configuration changed",
        actor=acting.email,
        note=note,
        changes=audit.diff_fields(
            {"weights": previous.weights, "priority_areas": previous.priority_areas},
            {"weights": config.weights, "priority_areas": config.priority_areas},
        ),
    )
    rescore_open(session, config, today=today)
    return config


def rescore_open(session: Session, config: ScoringConfig, *, today: date) -> int:
    rules = rules_of(config)
    hazards = load_agency_profile().hazards
    count = 0
    for queued in session.scalars(
        select(QueuedProposal).where(QueuedProposal.status.in_(OPEN_STATES)).with_for_update()
    ):
        _apply_score(queued, rules, today, hazards)
        count += 1
    return count


def _apply_score(
    queued: QueuedProposal, rules: ScoringRules, on: date, hazards: dict[str, str]
) -> None:
    score = score_proposal(queued.data, rules, on=on, hazard_labels=hazards)
    queued.score = score.total
    queued.score_lines = [line.as_json() for line in score.lines]
    queued.score_version = score.version


# -- arrivals ---------------------------------------------------------------------------------


def receive_submitted_proposal(session: Session, *, event: Event, today: date) -> QueuedProposal:
    """Store review's copy of a (re)submitted proposal, scored as of ``today`` (the agency's
    date); a newer version replaces an older one and keeps the older data for the diff."""
    payload = event.payload
    proposal = payload["proposal"]
    data = ProposalSchema().dump(proposal)  # stored as JSON: plain types
    queued = session.scalars(
        select(QueuedProposal)
        .where(QueuedProposal.proposal_id == payload["proposal_id"])
        .with_for_update()
    ).first()
    resubmission = queued is not None
    if queued is None:
        queued = QueuedProposal(
            proposal_id=payload["proposal_id"], adjustment=0, adjustment_reason=""
        )
        session.add(queued)
    elif queued.version >= payload["version"]:
        return queued  # an older version arriving late changes nothing
    else:
        queued.previous_data = queued.data
    queued.reference = payload["reference"]
    queued.status = "resubmitted" if resubmission else "waiting"
    queued.organization_name = proposal["organization"]["name"]
    queued.organization_type = proposal["organization"]["type"]
    queued.state = proposal["organization"]["address"]["state"]
    queued.requested_division = proposal["requested_division"]
    # Proposals from before offices name only their division: its office, or the top office.
    queued.office = proposal.get("requested_office") or load_agency_profile().office_of_division(
        proposal["requested_division"]
    )
    queued.version = payload["version"]
    queued.data = data
    queued.submitted_at = payload["submitted_at"]
    queued.status_url = payload.get("status_url") or ""
    _apply_score(queued, rules_of(current_config(session)), today, load_agency_profile().hazards)
    session.flush()
    audit.record(
        session,
        entity_type="proposal",
        entity_id=queued.proposal_id,
        action="resubmitted" if resubmission else "submitted",
        actor="applicant",
        changes=version_changes(queued.previous_data or {}, data) if resubmission else {},
        note=f"version {queued.version}",
    )
    return queued


def changes_since_last_version(queued: QueuedProposal) -> dict[str, list[Any]]:
    if queued.previous_data is None:
        return {}
    return version_changes(queued.previous_data, queued.data)


# -- words for a proposal's codes -------------------------------------------------------------


@dataclass(frozen=True)
class ProposalWords:
    """What people read for each code of a proposal: the agency profile's lists, the
    priority areas of the scoring configuration in force, the states' names. A code no list
    has (a list changed since) is shown as its words, ``"cold_stress"`` as "Cold stress"."""

    lists: Mapping[str, Mapping[str, str]]

    def of(self, kind: str, code: str) -> str:
        label = self.lists.get(kind, {}).get(code)
        return label if label is not None else code.replace("_", " ").capitalize()

    def all_of(self, kind: str, codes: Iterable[str]) -> list[str]:
        return [self.of(kind, code) for code in codes]

    def describe(self, changes: Mapping[str, list[Any]]) -> list[Change]:
        """A proposal's changes (``version_changes``) as people read them, in the form's
        order: each field by the label the form gives it, each value in words."""
        return [
            Change(path, field_label(path), self.value(path, old), self.value(path, new))
            for path, (old, new) in sorted(changes.items(), key=lambda item: _form_order(item[0]))
            if not _reordered(path, old, new)  # as recorded before reorders were left out
        ]

    def value(self, path: str, value: Any) -> str:
        """A value of the field at ``path`` in words: a code by its label, a list as its
        labels (separated by semicolons when a label has a comma), a whole goal as its
        category and description; nothing at all is ``""``."""
        kind = CODED_FIELDS.get(_generic(path))
        if value is None or value == "" or value == []:
            return ""
        if isinstance(value, bool):
            return "Yes" if value else "No"
        if isinstance(value, int):
            return f"{value:,}"
        if isinstance(value, dict):  # a goal added or taken out whole
            category = self.of("goal_categories", str(value.get("category", "")))
            return f"{category}: {value.get('description', '')}"
        if isinstance(value, list):
            words = [self.of(kind, str(v)) if kind else str(v) for v in value]
            return ("; " if any("," in word for word in words) else ", ").join(words)
        return self.of(kind, str(value)) if kind else str(value)


@dataclass(frozen=True)
class Change:
    """One field changed between two versions of a proposal, in words."""

    path: str  # as the data has it: goals.0.activities
    field: str  # as the form names it: Goal 1, an en dash, Activities
    before: str  # "" for nothing
    after: str


# The proposal form's fields by the label the form gives them, in the form's order
# (services/intake's form; a goal's fields are numbered and follow an en dash:
# "Goal 1 \N{EN DASH} Activities").
FIELD_LABELS = PROPOSAL_FIELD_LABELS
GOAL_FIELD_LABELS: dict[str, str] = {
    "category": "Category",
    "description": "Description",
    "term": "Short- or long-term",
    "activities": "Activities",
    "activities_other": "Other activities",
    "measure": "Measure of success",
}
# The fields holding codes, by the list of ProposalWords that names them.
CODED_FIELDS: dict[str, str] = {
    "organization.type": "organization_types",
    "organization.address.state": "states",
    "hazards": "hazards",
    "priority.priority_areas": "priority_areas",
    "requested_division": "divisions",
    "goals.#.category": "goal_categories",
    "goals.#.term": "goal_terms",
    "goals.#.activities": "activities",
}
# The form's multi-selects (checkboxes): sets, whose order means nothing.
SET_VALUED = frozenset({"hazards", "priority.priority_areas", "goals.#.activities"})

_GOAL_PATH = re.compile(r"^goals\.(\d+)(?:\.(\w+))?$")


def _generic(path: str) -> str:
    """``goals.2.activities`` as ``goals.#.activities``; other paths as they are."""
    return re.sub(r"^goals\.\d+", "goals.#", path)


def field_label(path: str) -> str:
    goal = _GOAL_PATH.match(path)
    if goal:
        number, name = int(goal.group(1)) + 1, goal.group(2)
        if name is None:
            return f"Goal {number}"
        return f"Goal {number} \N{EN DASH} {GOAL_FIELD_LABELS.get(name, name.replace('_', ' '))}"
    return FIELD_LABELS.get(path, path.replace(".", " ").replace("_", " ").capitalize())


def _form_order(path: str) -> tuple[int, int, int]:
    order = list(FIELD_LABELS)
    goal = _GOAL_PATH.match(path)
    if goal:
        fields = list(GOAL_FIELD_LABELS)
        name = goal.group(2)
        rank = -1 if name is None else (fields.index(name) if name in fields else len(fields))
        return (order.index("goals"), int(goal.group(1)), rank)
    return (order.index(path) if path in order else len(order), 0, 0)


def version_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    """What changed from one version of a proposal to the next, field by field
    (``{"goals.0.measure": [old, new]}``); a multi-select whose choices are the same, only
    in another order, did not change."""
    return {
        path: [old, new]
        for path, (old, new) in audit.diff_fields(before, after).items()
        if not _reordered(path, old, new)
    }


def _reordered(path: str, old: Any, new: Any) -> bool:
    return (
        _generic(path) in SET_VALUED
        and isinstance(old, list)
        and isinstance(new, list)
        and sorted(map(str, old)) == sorted(map(str, new))
    )


def proposal_words(session: Session) -> ProposalWords:
    profile = load_agency_profile()
    areas = {area["slug"]: area["label"] for area in current_config(session).priority_areas}
    return ProposalWords(
        {
            "organization_types": ORGANIZATION_TYPES,
            "states": US_STATE_NAMES,
            "hazards": profile.hazards,
            "activities": profile.activities,
            "goal_categories": GOAL_CATEGORIES,
            "goal_terms": GOAL_TERMS,
            "priority_areas": {**profile.priority_areas, **areas},
            "divisions": profile.divisions,
        }
    )


# -- reading the queue ------------------------------------------------------------------------


ASSIGNED_TO_ME = "me"
ASSIGNED_TO_NOBODY = "nobody"


@dataclass(frozen=True)
class QueueFilters:
    """What the queue is narrowed to; the defaults show every open proposal."""

    status: tuple[str, ...] = OPEN_STATES
    division: str = ""
    # An office: that office's proposals and those of the offices under it.
    office: str = ""
    hazard: str = ""
    state: str = ""
    organization_type: str = ""
    search: str = ""
    # "me", "nobody" or a staff id: whose proposals (schemas.QueueQuery checks the id's form)
    assigned: str = ""

    @classmethod
    def of(cls, query: Mapping[str, Any]) -> QueueFilters:
        """From the queue's query (schemas.QueueQuery, loaded): no status named means the
        open ones; the state is matched in capitals and the search ignores outer spaces."""
        return cls(
            status=tuple(query.get("status") or OPEN_STATES),
            division=query.get("division") or "",
            office=query.get("office") or "",
            hazard=query.get("hazard") or "",
            state=(query.get("state") or "").strip().upper(),
            organization_type=query.get("organization_type") or "",
            search=(query.get("q") or "").strip(),
            assigned=(query.get("assigned") or "").strip(),
        )

    def conditions(self, acting: Acting | None = None) -> list[ColumnElement[bool]]:
        """The SQL conditions that narrow the queue to these filters (``acting`` is who "me"
        is)."""
        found: list[ColumnElement[bool]] = []
        if self.assigned == ASSIGNED_TO_NOBODY:
            found.append(QueuedProposal.assigned_to.is_(None))
        elif self.assigned == ASSIGNED_TO_ME and acting is not None:
            found.append(QueuedProposal.assigned_to == acting.staff_id)
        elif self.assigned not in ("", ASSIGNED_TO_ME):
            found.append(QueuedProposal.assigned_to == uuid.UUID(self.assigned))
        if self.status:
            found.append(QueuedProposal.status.in_(self.status))
        if self.division:
            found.append(QueuedProposal.requested_division == self.division)
        if self.office:
            found.append(
                QueuedProposal.office.in_(load_agency_profile().offices.subtree(self.office))
            )
        if acting is not None:
            found.extend(office_conditions(acting))
        if self.state:
            found.append(QueuedProposal.state == self.state)
        if self.organization_type:
            found.append(QueuedProposal.organization_type == self.organization_type)
        if self.hazard:
            found.append(QueuedProposal.data["hazards"].contains([self.hazard]))
        if self.search:
            found.append(
                QueuedProposal.organization_name.ilike(search_pattern(self.search), escape="\\")
            )
        return found


def office_conditions(acting: Acting) -> list[ColumnElement[bool]]:
    """The SQL condition that keeps to the proposals of ``acting``'s offices (none for the
    top office's staff, who see every proposal)."""
    scope = people.scope(acting)
    return [] if scope is None else [QueuedProposal.office.in_(scope)]


def search_pattern(text: str) -> str:
    """A LIKE pattern finding ``text`` anywhere, its own ``%``, ``_`` and ``\\`` taken
    literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _queue_order(query: Select[Any]) -> Select[Any]:
    """Priority order (score plus any adjustment), oldest first among equals."""
    return query.order_by(
        (QueuedProposal.score + QueuedProposal.adjustment).desc(),
        QueuedProposal.submitted_at,
        QueuedProposal.reference,
    )


def list_queue(
    session: Session, *, acting: Acting, filters: QueueFilters | None = None
) -> list[QueuedProposal]:
    """Proposals in priority order (score plus any adjustment), oldest first among equals;
    those of organizations the viewer declared a conflict with are left out."""
    require_staff(acting)
    query = _queue_order(
        select(QueuedProposal).where(*(filters or QueueFilters()).conditions(acting))
    )
    return [q for q in session.scalars(query) if not hidden_from(acting, q.organization_name)]


QUEUE_PAGE_SIZE = 50


@dataclass(frozen=True)
class QueuePage:
    """One page of the queue (``list_queue``'s order and rule), and how many it holds."""

    proposals: list[QueuedProposal]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def first_shown(self) -> int:
        return (self.page - 1) * self.per_page + 1 if self.proposals else 0

    @property
    def last_shown(self) -> int:
        return (self.page - 1) * self.per_page + len(self.proposals)


def queue_page(
    session: Session,
    *,
    acting: Acting,
    filters: QueueFilters | None = None,
    page: int = 1,
    per_page: int = QUEUE_PAGE_SIZE,
) -> QueuePage:
    """The staff page's queue: what ``list_queue`` shows, one page at a time (a page past
    the last shows the last). Only that page's proposals are loaded, their proposal data
    and all: without declared conflicts the database counts and pages them; with some, the
    names alone are read to leave out the organizations in conflict, in order."""
    require_staff(acting)
    conditions = (filters or QueueFilters()).conditions(acting)
    if not acting.conflicts:
        total = int(
            session.scalar(select(func.count()).select_from(QueuedProposal).where(*conditions)) or 0
        )
        page = min(max(page, 1), max(1, -(-total // per_page)))
        found = session.scalars(
            _queue_order(select(QueuedProposal).where(*conditions))
            .offset((page - 1) * per_page)
            .limit(per_page)
        )
        return QueuePage(list(found), total, page, per_page)
    named = session.execute(
        _queue_order(select(QueuedProposal.id, QueuedProposal.organization_name).where(*conditions))
    ).all()
    shown = [row_id for row_id, name in named if not hidden_from(acting, name)]
    page = min(max(page, 1), max(1, -(-len(shown) // per_page)))
    wanted = shown[(page - 1) * per_page : page * per_page]
    rows = {
        q.id: q
        for q in session.scalars(select(QueuedProposal).where(QueuedProposal.id.in_(wanted)))
    }
    return QueuePage([rows[i] for i in wanted if i in rows], len(shown), page, per_page)


def _find(session: Session, proposal_id: uuid.UUID, *, lock: bool = False) -> QueuedProposal:
    query = select(QueuedProposal).where(QueuedProposal.proposal_id == proposal_id)
    queued = session.scalars(query.with_for_update() if lock else query).first()
    if queued is None:
        raise NotFound(NO_SUCH_PROPOSAL)
    return queued


def get_for(
    session: Session, proposal_id: uuid.UUID, *, acting: Acting, lock: bool = False
) -> QueuedProposal:
    """A proposal the viewer may see: not one of an organization they are in conflict with."""
    require_staff(acting)
    queued = _find(session, proposal_id, lock=lock)
    if hidden_from(acting, queued.organization_name):
        raise Forbidden(IN_CONFLICT)
    people.check_office(acting, queued.office, "This proposal")
    return queued


@dataclass(frozen=True)
class ProposalFile:
    """A proposal with what staff read beside it: its history also in words
    (``history_in_words``: names, the form's labels) and who holds it, by name."""

    queued: QueuedProposal
    changes_since_last_version: dict[str, list[Any]]
    comments: list[ReviewComment]
    history: list[AuditEntry]
    words: ProposalWords
    history_in_words: list[HistoryRow]
    assignee_name: str


def proposal_file(session: Session, *, acting: Acting, proposal_id: uuid.UUID) -> ProposalFile:
    """The proposal, changes since its last version, internal comments and history (hidden,
    like the proposal, from anyone in conflict with its organization)."""
    queued = get_for(session, proposal_id, acting=acting)
    history = audit.history(session, entity_type="proposal", entity_id=proposal_id)
    words = proposal_words(session)
    return ProposalFile(
        queued=queued,
        changes_since_last_version=changes_since_last_version(queued),
        comments=_comments(session, proposal_id),
        history=history,
        words=words,
        history_in_words=history_in_words(session, queued, history, words),
        assignee_name=staff_names(session, [queued.assigned_to]).get(queued.assigned_to, "")
        if queued.assigned_to
        else "",
    )


# -- people by name ---------------------------------------------------------------------------

FORMER_STAFF = accounts.FORMER_STAFF


def reviewer_choices(session: Session, *, organization_name: str = "") -> list[StaffUser]:
    """The active reviewers by name: whom the Coordinator gives proposals to. With
    ``organization_name``, without those who declared a conflict with that organization."""
    people = list(
        session.scalars(
            select(StaffUser)
            .where(StaffUser.active.is_(True), StaffUser.roles.contains(["reviewer"]))
            .order_by(StaffUser.name, StaffUser.email)
        )
    )
    if not organization_name:
        return people
    tied = set(
        session.scalars(
            select(StaffConflict.staff_id).where(
                StaffConflict.organization_key == organization_key(organization_name)
            )
        )
    )
    return [person for person in people if person.id not in tied]


def holder_choices(session: Session) -> list[StaffUser]:
    """Who may hold a proposal, by name (the queue's "Assigned to" filter): the active
    reviewers and Coordinators."""
    return list(
        session.scalars(
            select(StaffUser)
            .where(StaffUser.active.is_(True), StaffUser.roles.overlap(sorted(DECIDERS)))
            .order_by(StaffUser.name, StaffUser.email)
        )
    )


def staff_names(session: Session, ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, str]:
    """Each staff id's name (an id no account has is left out)."""
    wanted = {staff_id for staff_id in ids if staff_id is not None}
    if not wanted:
        return {}
    return dict(
        session.execute(select(StaffUser.id, StaffUser.name).where(StaffUser.id.in_(wanted)))
        .tuples()
        .all()
    )


# -- a proposal's history in words -------------------------------------------------------------


@dataclass(frozen=True)
class HistoryRow:
    """One entry of a proposal's history as the proposal's page shows it."""

    at: datetime
    who: str  # a name, never an address or a service
    what: str
    note: str
    changes: list[Change]  # each field by its label, each value in words


DECISION_WORDS = {
    "changes_requested": "changes requested",
    "declined": "declined",
    "approved": "approved",
}
# The fields a history entry records besides the proposal's own (those go by the form's
# labels, ``field_label``): the queue's and a prepared decision's.
HISTORY_FIELD_LABELS = {
    "assigned_to": "Assigned to",
    "status": "Status",
    "adjustment": "Moved by (points)",
    "adjustment_reason": "Reason for moving it",
    "kind": "Decision",
    "message": "Message to the applicant",
    "reason": "Reason for declining",
    "liaison_id": "Liaison",
    "signing_date": "Signing date",
    "term_years": "Term in years",
}
_PEOPLE_FIELDS = ("assigned_to", "liaison_id")
NOBODY = "nobody"


def history_in_words(
    session: Session,
    queued: QueuedProposal,
    history: Iterable[AuditEntry],
    words: ProposalWords,
) -> list[HistoryRow]:
    """``history`` (a proposal's audit entries) with names for who did each and for the
    people a change names, the form's labels for the fields and words for the codes."""
    history = list(history)
    applicant = str((queued.data or {}).get("contact", {}).get("name") or "")
    who = accounts.names(session, (entry.actor for entry in history), applicant=applicant)
    people = staff_names(
        session,
        (
            _as_id(value)
            for entry in history
            for path in _PEOPLE_FIELDS
            for value in (entry.changes or {}).get(path, [])
        ),
    )
    division = "Lead office level" if load_agency_profile().federal else "Lead division"
    rows = []
    for entry in history:
        changes = entry.changes or {}
        if entry.action == "resubmitted":
            described = words.describe(changes)
        else:
            described = [
                Change(
                    path,
                    division
                    if path == "division"
                    else HISTORY_FIELD_LABELS.get(path)
                    # a proposal's own field, as the form names it
                    or field_label(path),
                    _recorded_value(path, old, people, words),
                    _recorded_value(path, new, people, words),
                )
                for path, (old, new) in sorted(changes.items(), key=_recorded_order)
            ]
        rows.append(
            HistoryRow(
                at=entry.at,
                who=who.get(entry.actor, accounts.SYSTEM_NAME),
                what=_action_words(entry.action),
                note=entry.note or "",
                changes=described,
            )
        )
    return rows


def _recorded_order(item: tuple[str, Any]) -> tuple[int, tuple[int, int, int]]:
    """The queue's and a decision's fields in ``HISTORY_FIELD_LABELS``' order, then the
    proposal's in the form's (JSON keeps no order)."""
    order = list(HISTORY_FIELD_LABELS)
    path = item[0]
    return (order.index(path), (0, 0, 0)) if path in order else (len(order), _form_order(path))


def _as_id(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


def _recorded_value(
    path: str, value: Any, people: Mapping[uuid.UUID, str], words: ProposalWords
) -> str:
    if path in _PEOPLE_FIELDS:
        staff_id = _as_id(value)
        if staff_id is None:
            return NOBODY if path == "assigned_to" else ""
        return people.get(staff_id, FORMER_STAFF)
    if value is None or value == "":
        return ""
    if path == "status":
        return status_label(str(value))
    if path == "kind":
        return DECISION_WORDS.get(str(value), str(value).replace("_", " ")).capitalize()
    if path == "division":
        return words.of("divisions", str(value))
    return words.value(path, value)


def _action_words(action: str) -> str:
    """ "decision released: changes_requested" as "Decision released: changes requested"."""
    head, _, kind = action.partition(": ")
    text = f"{head}: {DECISION_WORDS.get(kind, kind.replace('_', ' '))}" if kind else head
    return text[:1].upper() + text[1:]


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status.replace("_", " ").capitalize())


def comments(session: Session, *, acting: Acting, proposal_id: uuid.UUID) -> list[ReviewComment]:
    get_for(session, proposal_id, acting=acting)
    return _comments(session, proposal_id)


def _comments(session: Session, proposal_id: uuid.UUID) -> list[ReviewComment]:
    return list(
        session.scalars(
            select(ReviewComment)
            .where(ReviewComment.proposal_id == proposal_id)
            .order_by(ReviewComment.at, ReviewComment.id)
        )
    )


# -- actions ----------------------------------------------------------------------------------


def adjust_priority(
    session: Session, *, acting: Acting, proposal_id: uuid.UUID, points: int, reason: str
) -> QueuedProposal:
    """Move a proposal up (points > 0) or down the queue, with a written reason: reviewers
    and the Coordinator, on proposals they are not in conflict with."""
    require_decider(acting, "move proposals in the queue")
    queued = get_for(session, proposal_id, acting=acting, lock=True)
    reason = reason.strip()
    errors: dict[str, list[str]] = {}
    if not reason:
        errors["reason"] = [REASON_REQUIRED]
    if not -MAX_ADJUSTMENT <= points <= MAX_ADJUSTMENT:
        errors["points"] = [POINTS_RANGE]
    if errors:
        raise Invalid(errors)
    before = {"adjustment": queued.adjustment, "adjustment_reason": queued.adjustment_reason}
    queued.adjustment = points
    queued.adjustment_reason = reason
    session.add(
        QueueAdjustment(proposal_id=proposal_id, points=points, reason=reason, by=acting.email)
    )
    audit.record(
        session,
        entity_type="proposal",
        entity_id=proposal_id,
        action="priority adjusted",
        actor=acting.email,
        note=reason,
        changes=audit.diff_fields(before, {"adjustment": points, "adjustment_reason": reason}),
    )
    return queued


def assign(
    session: Session,
    *,
    acting: Acting,
    proposal_id: uuid.UUID,
    reviewer_id: uuid.UUID | None,
    outbox: Outbox,
) -> QueuedProposal:
    """Give a proposal to a reviewer, or take it back (``reviewer_id`` None).

    A reviewer claims a proposal nobody holds (assigns it to themself) and gives back only
    their own; only the Coordinator assigns to others, takes over or drops someone else's
    claim. Nobody claims, assigns or un-assigns a proposal of an organization they declared a
    conflict with, and nobody is assigned one of an organization they declared a conflict
    with. Someone else is assigned only if they are an active reviewer; a decided proposal
    is assigned to nobody (``Conflict``). Whoever is given a proposal by someone else hears
    of it (``proposal.assigned``, an e-mail from notify); a claim for oneself tells nobody.
    """
    require_decider(acting, "claim or assign proposals")
    queued = get_for(session, proposal_id, acting=acting, lock=True)
    assignee = None
    if reviewer_id is not None and reviewer_id != acting.staff_id:
        assignee = _assignee(session, reviewer_id, acting=acting)
    _check_assignment(session, acting, queued, reviewer_id, assignee)
    _give(session, acting, queued, reviewer_id, assignee, outbox=outbox)
    return queued


class NotAssigned(Conflict):
    """A bulk assignment refused whole: nothing was assigned, and ``failures`` says, for each
    chosen proposal that could not be (``proposal_ids.<index>``), why."""

    def __init__(self, failures: dict[str, list[str]]) -> None:
        count = len(failures)
        which = "the chosen proposal" if count == 1 else f"{count} of the chosen proposals"
        super().__init__(f"Nothing was assigned: {which} cannot be, as listed.")
        self.failures = failures

    @property
    def errors(self) -> dict[str, list[str]]:
        return {"_request": [self.message], **self.failures}


def assign_many(
    session: Session,
    *,
    acting: Acting,
    proposal_ids: Sequence[uuid.UUID],
    reviewer_id: uuid.UUID | None,
    outbox: Outbox,
) -> list[QueuedProposal]:
    """The Coordinator gives several proposals to one reviewer (or back to the queue,
    ``reviewer_id`` None), all or nothing: each by the rules of ``assign``; when one of them
    cannot be, none is, and ``NotAssigned`` lists each that failed with its reason."""
    if not acting.is_coordinator:
        raise Forbidden("Only the Coordinator assigns proposals in bulk.")
    chosen = list(dict.fromkeys(proposal_ids))
    if not chosen:
        raise Invalid({"proposal_ids": [CHOOSE_PROPOSALS]})
    if len(chosen) > MAX_BULK:
        raise Invalid({"proposal_ids": [TOO_MANY_PROPOSALS]})
    assignee = None
    if reviewer_id is not None and reviewer_id != acting.staff_id:
        assignee = _assignee(session, reviewer_id, acting=acting)
    # Locked in one order, so that two bulk assignments never wait on each other.
    found = {
        queued.proposal_id: queued
        for queued in session.scalars(
            select(QueuedProposal)
            .where(QueuedProposal.proposal_id.in_(chosen))
            .order_by(QueuedProposal.proposal_id)
            .with_for_update()
        )
    }
    failures: dict[str, list[str]] = {}
    for index, proposal_id in enumerate(chosen):
        queued = found.get(proposal_id)
        if queued is None:
            failures[f"proposal_ids.{index}"] = [NO_SUCH_PROPOSAL]
            continue
        if hidden_from(acting, queued.organization_name):
            failures[f"proposal_ids.{index}"] = [f"{queued.reference}: {IN_CONFLICT}"]
            continue
        try:
            _check_assignment(session, acting, queued, reviewer_id, assignee)
        except (Conflict, Forbidden, Invalid) as refused:
            failures[f"proposal_ids.{index}"] = [
                f"{queued.reference} ({queued.organization_name}): {refused.message}"
            ]
    if failures:
        raise NotAssigned(failures)
    given = [found[proposal_id] for proposal_id in chosen]
    for queued in given:
        _give(session, acting, queued, reviewer_id, assignee, outbox=outbox)
    return given


def _assignee(session: Session, reviewer_id: uuid.UUID, *, acting: Acting) -> StaffUser:
    """The person a proposal is given to by someone else: an active reviewer. Only the
    Coordinator gives proposals to others."""
    if not acting.is_coordinator:
        raise Forbidden("Only the Coordinator assigns proposals to others.")
    try:
        person = accounts.get_staff(session, user_id=reviewer_id)
    except NotFound:
        raise Invalid({"reviewer_id": [NO_SUCH_STAFF]}) from None
    if not person.active or "reviewer" not in person.roles:
        raise Invalid({"reviewer_id": [CHOOSE_A_REVIEWER]})
    return person


def _check_assignment(
    session: Session,
    acting: Acting,
    queued: QueuedProposal,
    reviewer_id: uuid.UUID | None,
    assignee: StaffUser | None,
) -> None:
    """Whether ``acting`` may give ``queued`` to ``reviewer_id`` (``assignee``, their account,
    when it is someone else), the proposal being one they may see."""
    if not acting.is_coordinator and queued.assigned_to not in (None, acting.staff_id):
        raise Forbidden(
            "Another reviewer has claimed this proposal; only the Coordinator can "
            "reassign it or take it back."
        )
    if queued.status in DECIDED_STATES:
        raise Conflict(DECIDED_ALREADY)
    if assignee is not None and organization_key(queued.organization_name) in conflicted_keys(
        session, assignee.id
    ):
        raise Forbidden(
            f"{assignee.name} declared a conflict of interest with this organization and "
            "cannot be assigned its proposal."
        )


def _give(
    session: Session,
    acting: Acting,
    queued: QueuedProposal,
    reviewer_id: uuid.UUID | None,
    assignee: StaffUser | None,
    *,
    outbox: Outbox,
) -> None:
    """Record ``queued`` as ``reviewer_id``'s (checked), audited with the actor; the assignee
    is told when someone else gave it to them. Giving it to whoever holds it changes nothing."""
    if queued.assigned_to == reviewer_id:
        return
    before = {
        "assigned_to": str(queued.assigned_to) if queued.assigned_to else None,
        "status": queued.status,
    }
    queued.assigned_to = reviewer_id
    queued.assigned_at = utcnow() if reviewer_id else None
    if reviewer_id and queued.status in ("waiting", "resubmitted"):
        queued.status = "in_review"
    audit.record(
        session,
        entity_type="proposal",
        entity_id=queued.proposal_id,
        action="assigned",
        actor=acting.email,
        changes=audit.diff_fields(
            before,
            {"assigned_to": str(reviewer_id) if reviewer_id else None, "status": queued.status},
        ),
    )
    if assignee is not None and queued.assigned_at is not None:
        outbox.add(
            session,
            new_event(
                "proposal.assigned",
                producer="review",
                payload={
                    "proposal_id": queued.proposal_id,
                    "reference": queued.reference,
                    "organization_name": queued.organization_name,
                    "assignee": {
                        "id": assignee.id,
                        "name": assignee.name,
                        "email": assignee.email,
                    },
                    "assigned_by": acting.name or "The Alliance Coordinator",
                    "assigned_at": queued.assigned_at,
                },
            ),
        )


def add_comment(
    session: Session, *, acting: Acting, proposal_id: uuid.UUID, body: str
) -> ReviewComment:
    """An internal comment (never shown to the applicant), by any staff member not in
    conflict with the organization."""
    get_for(session, proposal_id, acting=acting)
    body = body.strip()
    if not body:
        raise Invalid({"body": [COMMENT_REQUIRED]})
    if len(body) > MAX_COMMENT:
        raise Invalid({"body": [COMMENT_TOO_LONG]})
    comment = ReviewComment(
        proposal_id=proposal_id,
        author_id=acting.staff_id,
        author_name=acting.name or acting.email,
        body=body,
    )
    session.add(comment)
    session.flush()
    audit.record(
        session,
        entity_type="proposal",
        entity_id=proposal_id,
        action="commented",
        actor=comment.author_name,
    )
    return comment


def declared_conflicts(session: Session, *, acting: Acting) -> list[str]:
    """The organization keys the acting staff member declared a conflict with, in order."""
    require_staff(acting)
    return sorted(conflicted_keys(session, acting.staff_id))


def declare_conflict(
    session: Session, *, acting: Acting, organization_name: str, outbox: Outbox
) -> StaffConflict:
    """Any staff member declares their own tie to an organization: its proposals are hidden
    from them from now on, any of them they hold goes back to the queue, and the other
    services learn it (``staff.conflict_declared``). Declaring it again changes nothing."""
    require_staff(acting)
    name = organization_name.strip()
    key = organization_key(name)
    if not key:
        raise Invalid({"organization_name": [ORGANIZATION_REQUIRED]})
    if len(name) > MAX_ORGANIZATION_NAME:
        raise Invalid(
            {"organization_name": [f"At most {MAX_ORGANIZATION_NAME} characters, please."]}
        )
    existing = session.scalars(
        select(StaffConflict).where(
            StaffConflict.staff_id == acting.staff_id, StaffConflict.organization_key == key
        )
    ).first()
    if existing:
        return existing
    conflict = StaffConflict(
        staff_id=acting.staff_id,
        organization_name=name,
        organization_key=key,
        declared_at=utcnow(),
    )
    session.add(conflict)
    for queued in session.scalars(
        select(QueuedProposal).where(QueuedProposal.assigned_to == acting.staff_id)
    ):
        if organization_key(queued.organization_name) == key:
            queued.assigned_to = None
            queued.assigned_at = None
    audit.record(
        session,
        entity_type="staff",
        entity_id=acting.staff_id,
        action="conflict declared",
        actor=acting.email,
        note=name,
    )
    outbox.add(
        session,
        new_event(
            "staff.conflict_declared",
            producer="review",
            payload={
                "staff_id": acting.staff_id,
                "organization_name": name,
                "organization_key": key,
                "declared_at": conflict.declared_at,
            },
        ),
    )
    return conflict


# -- figures ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    waiting: int
    in_review: int
    decided: int
    average_days_to_decision: float | None


def progress(session: Session, *, acting: Acting) -> Progress:
    """Review progress figures, for any staff member."""
    require_staff(acting)
    status = QueuedProposal.status

    def count(states: tuple[str, ...]) -> Any:
        return func.count().filter(status.in_(states))

    # One pass over the viewer's proposals, not one query per figure.
    waiting, in_review, decided, average = session.execute(
        select(
            count(("waiting", "resubmitted")),
            count(("in_review",)),
            count(DECIDED_STATES),
            func.avg(
                func.extract("epoch", QueuedProposal.decided_at - QueuedProposal.submitted_at)
            ).filter(QueuedProposal.decided_at.is_not(None)),
        )
        .select_from(QueuedProposal)  # the entity: the session flushes what it holds first
        .where(*office_conditions(acting))
    ).one()
    return Progress(
        waiting=int(waiting or 0),
        in_review=int(in_review or 0),
        decided=int(decided or 0),
        average_days_to_decision=round(float(average) / 86400, 1) if average else None,
    )
