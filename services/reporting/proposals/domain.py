"""Recording the events of a proposal's life in reporting's copy (``ReportingProposal``).

A proposal moves submitted -> changes_requested -> resubmitted (a new version) -> ... and
ends declined or approved. Each event names the proposal's version, so an event applies only
when it is newer than what is stored: a later version, or, for the same version, review's
decision after the submission. A redelivered event or one of an older version changes
nothing, except that a submission seen late still tells the organization's state when
reporting did not know it yet (a decision names no state), and any event tells its
organization's name when reporting did not know it yet.

``readable``: the proposals a person's figures count; a declared conflict of interest with
the organization leaves its proposals out (people.py ``hidden_from``).
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Collection, Iterable
from datetime import UTC, date
from typing import Any, Protocol
from typing import cast as cast_type
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Date, cast, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from services.reporting.people import hidden_from
from services.reporting.proposals.models import STATUSES, ReportingProposal
from shared.config import load_agency_profile
from shared.domain import Acting
from shared.events import Event
from shared.offices import in_scope, office_scope

# The status each event type gives the proposal.
STATUS_OF = {
    "proposal.submitted": "submitted",
    "proposal.resubmitted": "submitted",
    "proposal.changes_requested": "changes_requested",
    "proposal.declined": "declined",
    "proposal.approved": "approved",
}


def _stage(status: str) -> int:
    """Within one version the submission comes first, then review's decision."""
    return 0 if status == "submitted" else 1


def _state_of(event: Event) -> str:
    proposal = event.payload.get("proposal") or {}
    address = (proposal.get("organization") or {}).get("address") or {}
    return str(address.get("state") or "")


def _organization_of(event: Event) -> str:
    """The organization's name: a submission's proposal, or a decision's ``organization_name``."""
    proposal = event.payload.get("proposal") or {}
    name = (proposal.get("organization") or {}).get("name") or event.payload.get(
        "organization_name"
    )
    return str(name or "")[:200]


def record(session: Session, *, event: Event) -> bool:
    """Keep what ``event`` (one of ``STATUS_OF``) says of its proposal; False when it is not
    newer than what reporting already knows (nothing changes then, but a missing state)."""
    status = STATUS_OF[event.type]
    payload = event.payload
    proposal_id: uuid.UUID = payload["proposal_id"]
    version: int = payload["version"]
    state = _state_of(event)
    organization = _organization_of(event)
    office = (event.payload.get("proposal") or {}).get("requested_office") or None
    session.execute(
        insert(ReportingProposal)
        .values(
            proposal_id=proposal_id,
            reference=payload["reference"],
            organization_name=organization,
            state=state,
            status=status,
            version=version,
            office=office,
        )
        .on_conflict_do_nothing(index_elements=["proposal_id"])
    )
    stored = session.scalars(
        select(ReportingProposal)
        .where(ReportingProposal.proposal_id == proposal_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    if state and not stored.state:
        stored.state = state
    if organization and not stored.organization_name:
        stored.organization_name = organization
    if office:
        stored.office = office
    if (version, _stage(status)) <= (stored.version, _stage(stored.status)):
        session.flush()
        return False
    stored.reference = payload["reference"]
    stored.status = status
    stored.version = version
    if state:
        stored.state = state
    if organization:
        stored.organization_name = organization
    session.flush()
    return True


class Tallied(Protocol):
    """A line of ``tally``: how many proposals of a state stand at a status."""

    @property
    def state(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def number(self) -> int: ...


def cast_tallied(line: Any) -> Tallied:
    """A row of ``tally``'s query as the line it is (state, status, number)."""
    return cast_type(Tallied, line)


def readable(session: Session, *, acting: Acting) -> tuple[list[ReportingProposal], int]:
    """The proposals ``acting`` may count (those of their offices), and how many their
    declared conflicts left out."""
    scope = office_scope(acting.office, load_agency_profile().offices)
    every = [p for p in session.scalars(select(ReportingProposal)) if in_scope(scope, p.office)]
    kept = [p for p in every if not hidden_from(acting, p.organization_name)]
    return kept, len(every) - len(kept)


def tally(
    session: Session,
    *,
    acting: Acting,
    first: date | None = None,
    last: date | None = None,
    timezone: ZoneInfo | None = None,
    within: Collection[str] | None = None,
    approved_only: Collection[uuid.UUID] | None = None,
) -> tuple[list[Tallied], int]:
    """What ``readable`` gives the figures, counted by the database: one line per state and
    status (its ``number``; with declared conflicts, per organization too, to leave those out),
    and how many the conflicts left out (of every proposal of the person's offices, as
    ``readable`` says). Narrowed to the proposals whose latest status was recorded from
    ``first`` to ``last`` (days in ``timezone``), of the offices ``within`` (None: every
    office; no office is the top office), and (``approved_only``) to the approved ones of
    those ids. Thousands of proposals come back as a few dozen lines."""
    offices = load_agency_profile().offices
    scope = office_scope(acting.office, offices)
    in_scope_: list[ColumnElement[bool]] = (
        [] if scope is None else [ReportingProposal.office.in_(scope)]
    )
    narrowed = list(in_scope_)
    if first is not None and last is not None:
        day = cast(func.timezone(str(timezone or UTC), ReportingProposal.updated_at), Date)
        narrowed.append(day.between(first, last))
    if within is not None:
        office = func.coalesce(ReportingProposal.office, offices.top.slug)
        narrowed.append(office.in_(within))
    if approved_only is not None:
        narrowed += [
            ReportingProposal.status == "approved",
            ReportingProposal.proposal_id.in_(approved_only),
        ]
    grouped = [ReportingProposal.state, ReportingProposal.status]
    if acting.conflicts:
        grouped.append(ReportingProposal.organization_name)
    lines = session.execute(
        select(*grouped, func.count().label("number")).where(*narrowed).group_by(*grouped)
    ).all()
    if not acting.conflicts:
        return [cast_tallied(line) for line in lines], 0
    kept = [cast_tallied(line) for line in lines if not hidden_from(acting, line.organization_name)]
    named = session.execute(
        select(ReportingProposal.organization_name, func.count())
        .where(*in_scope_)
        .group_by(ReportingProposal.organization_name)
    ).all()
    return kept, sum(n for name, n in named if hidden_from(acting, name))


def by_status(proposals: Iterable[ReportingProposal | Tallied]) -> list[tuple[str, int]]:
    """How many proposals stand at each status, every status (in ``STATUSES`` order); a
    line of ``tally`` counts as its ``number``."""
    counts: Counter[str] = Counter()
    for proposal in proposals:
        counts[proposal.status] += getattr(proposal, "number", 1)
    return [(status, counts[status]) for status in STATUSES]


def by_state(proposals: Iterable[ReportingProposal | Tallied]) -> list[tuple[str, Counter[str]]]:
    """Each state's proposals by status, states in alphabetical order (an unknown state,
    empty, last)."""
    states: dict[str, Counter[str]] = {}
    for proposal in proposals:
        states.setdefault(proposal.state, Counter())[proposal.status] += getattr(
            proposal, "number", 1
        )
    return sorted(states.items(), key=lambda item: (item[0] == "", item[0]))
