"""Builders of review's things, made through review's domain functions: staff accounts, a
proposal in the queue, decisions, alliances, and the events review publishes."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.review import people
from services.review.alliances import domain as agreements
from services.review.alliances.models import Alliance
from services.review.decisions import domain as decisions
from services.review.decisions.models import PreparedDecision
from services.review.queue import domain as queue
from services.review.queue.models import QueuedProposal
from services.review.roundtables import domain as roundtables
from services.review.staff import domain as accounts
from services.review.staff.models import StaffUser
from services.review.worker import database as review_database
from services.review.worker import outbox as review_outbox
from shared.config import load_settings
from shared.dates import term_end
from shared.domain import Acting, organization_key
from shared.events import Event, new_event
from tests.intake.factories import _references, proposal, submitted_event
from tests.shared.factories import COORDINATOR, REVIEWER, ROOFERS, acting, using

PASSWORD = "correct horse battery staple"
"""Every builder-made staff account's password (long enough for the password rules)."""


def agency_today() -> date:
    """Today in the agency's time zone: the day the views, APIs and tasks give the domain."""
    return people.today(load_settings())


def queued_proposal(
    arrival: Mapping[str, Any] | Event | None = None, *, session: Session | None = None
) -> QueuedProposal:
    """A proposal in review's queue, received as review's consumer receives it: ``arrival``
    is the proposal's data (``proposal(...)``; the SPEC example by default) or its whole
    event (``submitted_event(...)``, for a resubmission or a chosen date)."""
    event = arrival if isinstance(arrival, Event) else submitted_event(arrival)
    with using(review_database, session) as writing:
        return queue.receive_submitted_proposal(writing, event=event, today=agency_today())


# -- staff ----------------------------------------------------------------------------------------


def staff_member(
    email: str = "rae@agency.example",
    *roles: str,
    name: str | None = None,
    password: str = PASSWORD,
    active: bool = True,
    session: Session | None = None,
) -> StaffUser:
    """A staff account, made by ``add_account`` (a reviewer unless ``roles`` say otherwise;
    the name is the address's first part, capitalized, unless given). ``active=False``
    leaves it deactivated."""
    with using(review_database, session) as writing:
        person = accounts.add_account(
            writing,
            email=email,
            name=name or email.split("@")[0].title(),
            roles=list(roles) or ["reviewer"],
            password=password,
            actor="test",
            settings=load_settings(),
        )
        person.active = active
        return person


def acting_as(person: StaffUser | accounts.Liaison, *, conflicts: Iterable[str] = ()) -> Acting:
    """The ``Acting`` of a staff account, or of a liaison (whose ``staff_id`` is the
    alliance's ``liaison_id``)."""
    roles = person.roles if isinstance(person, StaffUser) else ["liaison"]
    return acting(person.email, *roles, staff_id=person.id, name=person.name, conflicts=conflicts)


LIAISON = accounts.Liaison(id=uuid.uuid4(), name="Lee Liaison", email="lee@agency.example")
OTHER_LIAISON = accounts.Liaison(id=uuid.uuid4(), name="Ola Other", email="ola@agency.example")


# -- decisions and alliances ----------------------------------------------------------------------


def liaison_lookup(session: Session) -> accounts.LiaisonLookup:
    """``LIAISON`` and ``OTHER_LIAISON`` (no accounts), then the active liaison accounts."""
    known = {liaison.id: liaison for liaison in (LIAISON, OTHER_LIAISON)}
    accounts_lookup = accounts.staff_liaisons(session)
    return lambda staff_id: known.get(staff_id) or accounts_lookup(staff_id)


def approval(
    liaison: StaffUser | accounts.Liaison = LIAISON, *, term_years: int | None = None
) -> dict[str, Any]:
    """The details of an approval: the SPEC example's division, ``liaison`` and (when given,
    else the initial term) term in years. The signing is recorded later (``record_signing``)."""
    details: dict[str, Any] = {
        "division": "construction_safety_health",
        "liaison_id": str(liaison.id),
    }
    if term_years is not None:
        details["term_years"] = term_years
    return details


DECLINED = {"reason": "Outside our priorities this year."}


def prepared_decision(
    proposal_id: uuid.UUID,
    kind: str = "declined",
    details: Mapping[str, Any] = DECLINED,
    *,
    by: Acting = REVIEWER,
    session: Session | None = None,
) -> PreparedDecision:
    """A decision ``by`` prepared on a queued proposal (declined, for a reason, by default;
    ``approval(...)`` gives an approval's details), waiting for release."""
    with using(review_database, session) as writing:
        return decisions.prepare(
            writing,
            acting=by,
            proposal_id=proposal_id,
            kind=kind,
            details=details,
            settings=load_settings(),
            liaisons=liaison_lookup(writing),
        )


def release_decisions(
    *decision_ids: uuid.UUID, by: Acting = COORDINATOR, session: Session | None = None
) -> list[PreparedDecision]:
    """Prepared decisions released together by ``by`` (the Coordinator by default): the
    proposals change and the events go into review's outbox (published once committed)."""
    with using(review_database, session) as writing:
        return decisions.release(
            writing,
            acting=by,
            decision_ids=list(decision_ids),
            outbox=review_outbox,
            liaisons=liaison_lookup(writing),
        )


def approved_alliance(
    name: str = ROOFERS,
    *,
    term_years: int = 2,
    liaison: StaffUser | accounts.Liaison = LIAISON,
    website: str = "https://example.org",
    approved_on: date | None = None,
    session: Session | None = None,
) -> Alliance:
    """An approved alliance awaiting its signing, made the way the system makes one:
    ``name``'s proposal arrives, a reviewer prepares the approval with ``liaison`` (an
    account, or ``LIAISON``) and the Coordinator releases it. ``approved_on``: the day the
    approval counts as released (today unless given; a signing may not come before it)."""
    with using(review_database, session) as writing:
        proposal_id = queued_proposal(proposal(name, website=website), session=writing).proposal_id
        details = approval(liaison, term_years=term_years)
        decision = prepared_decision(proposal_id, "approved", details, session=writing)
        release_decisions(decision.id, session=writing)
        alliance = writing.scalars(
            select(Alliance).where(Alliance.proposal_id == proposal_id)
        ).one()
        if approved_on is not None:
            # Noon UTC is that same day in the agency's (American) zone.
            alliance.created_at = datetime.combine(approved_on, time(12), tzinfo=UTC)
        return alliance


def record_signing(
    alliance_id: uuid.UUID,
    signing_date: date,
    *,
    term_years: int | None = None,
    by: Acting = COORDINATOR,
    today: date | None = None,
    session: Session | None = None,
) -> Alliance:
    """``by`` (the Coordinator by default) records that the alliance's agreement was signed on
    ``signing_date``: it becomes active and ``alliance.signed`` goes into review's outbox."""
    with using(review_database, session) as writing:
        return agreements.record_signing(
            writing,
            acting=by,
            alliance_id=alliance_id,
            signing_date=signing_date,
            term_years=term_years,
            outbox=review_outbox,
            today=today if today is not None else agency_today(),
        )


def signed_alliance(
    name: str = ROOFERS,
    *,
    signing_date: date = date(2024, 3, 1),
    term_years: int = 2,
    liaison: StaffUser | accounts.Liaison = LIAISON,
    website: str = "https://example.org",
    session: Session | None = None,
) -> Alliance:
    """A signed alliance, signed the way the system signs one: approved (``approved_alliance``,
    the approval dated on the signing day so that a signing in the past is allowed), then the
    Coordinator records the signing on ``signing_date`` (a day after today counts as today)."""
    with using(review_database, session) as writing:
        alliance = approved_alliance(
            name,
            term_years=term_years,
            liaison=liaison,
            website=website,
            approved_on=signing_date,
            session=writing,
        )
        return record_signing(
            alliance.id,
            signing_date,
            today=max(signing_date, agency_today()),
            session=writing,
        )


def conflict_declared_event(staff_id: uuid.UUID, organization_name: str = ROOFERS) -> Event:
    """Review's ``staff.conflict_declared``: ``staff_id`` declared a conflict of interest
    with ``organization_name`` (``.to_message()`` is what a consumer task is given)."""
    return new_event(
        "staff.conflict_declared",
        producer="review",
        payload={
            "staff_id": staff_id,
            "organization_name": organization_name,
            "organization_key": organization_key(organization_name),
            "declared_at": datetime.now(UTC),
        },
    )


# -- reporting ------------------------------------------------------------------------------------


def alliance_signed_event(
    name: str = ROOFERS,
    *,
    alliance_id: uuid.UUID | None = None,
    signing_date: date = date(2026, 1, 15),
    ends_on: date = date(2028, 1, 14),
    office: str | None = None,
    language: str = "en",
) -> Event:
    """Review's ``alliance.signed`` as reporting receives it (``.to_message()`` is what its
    consumer task is given); ``ends_on`` is the term's last day; ``office``, when given, the
    office it belongs to (else none is named, as before offices)."""
    event = new_event(
        "alliance.signed",
        producer="review",
        payload={
            "alliance_id": alliance_id or uuid.uuid4(),
            "proposal_id": uuid.uuid4(),
            "reference": f"AP-2026-{next(_references):05d}",
            "partner": {"name": name, "type": "trade_association"},
            "contact": {"name": "Dana Smith", "email": "dana@example.org", "language": language},
            "liaison": {"id": LIAISON.id, "name": LIAISON.name, "email": LIAISON.email},
            "goals": [],
            "division": "construction_safety_health",
            "signing_date": signing_date,
            "term_years": ends_on.year - signing_date.year,
            "ends_on": ends_on,
            **({"office": office} if office is not None else {}),
        },
    )
    return event


def alliance_change_event(signed: Event, event_type: str, **fields: Any) -> Event:
    """Review's ``alliance.renewed`` / ``concluded`` / ``terminated`` /
    ``ambassador_designated`` for the alliance of ``signed``, with the type's own ``fields``
    (``effective_on``, ``designated_on``, ...)."""
    payload = signed.payload
    return new_event(
        event_type,
        producer="review",
        payload={
            "alliance_id": payload["alliance_id"],
            "proposal_id": payload["proposal_id"],
            "reference": payload["reference"],
            "partner_name": payload["partner"]["name"],
            "contact": payload["contact"],
            "liaison": payload["liaison"],
            "decided_at": datetime.now(UTC),
            **fields,
        },
    )


# -- a small program of alliances and roundtables (directory and roundtable tests) --


def roundtable(session, name, starts_on, ends_on=None, parent_id=None, description=""):
    return roundtables.create_roundtable(
        session,
        name=name,
        starts_on=starts_on,
        ends_on=ends_on,
        parent_id=parent_id,
        description=description,
        acting=COORDINATOR,
    ).id


def join(session, roundtable_id, alliance_id, joined_on, today=None):
    return roundtables.join(
        session,
        roundtable_id=roundtable_id,
        alliance_id=alliance_id,
        joined_on=joined_on,
        acting=COORDINATOR,
        today=today if today is not None else agency_today(),
    ).membership.id


def build_program(session):
    """Roofers (active), Ironworkers (Ambassador), Masons (concluded), Painters (terminated
    with notice), in the Construction and Hazard Communication roundtables."""
    today = agency_today()
    long_ago = today - timedelta(days=5 * 365)

    def sign(name, signing_date, website="https://example.org"):
        return signed_alliance(name, signing_date=signing_date, website=website, session=session).id

    roofers = sign(
        "Roofers Association",
        signing_date=today - timedelta(days=200),
        website="https://roofers.example",
    )
    ironworkers = sign("Ironworkers Guild", signing_date=long_ago, website="")
    masons = sign("Masons Council", signing_date=today - timedelta(days=300))
    painters = sign("Painters Union", signing_date=today - timedelta(days=300))
    agreements.renew(
        session,
        alliance_id=ironworkers,
        signing_date=term_end(long_ago, 2),
        term_years=5,
        acting=COORDINATOR,
        outbox=review_outbox,
        today=agency_today(),
    )
    agreements.designate_ambassador(
        session,
        alliance_id=ironworkers,
        acting=COORDINATOR,
        outbox=review_outbox,
        today=agency_today(),
    )
    queue.add_comment(
        session,
        acting=REVIEWER,
        proposal_id=alliance_for(session, masons).proposal_id,
        body="Internal: their last report was thin",
    )

    start = today - timedelta(days=365)
    construction = roundtable(
        session,
        "Construction Roundtable",
        start,
        description="Construction hazards and best practices",
    )
    falls = roundtable(session, "Fall Protection Workgroup", start, parent_id=construction)
    design = roundtable(session, "Design for Safety Workgroup", start, parent_id=construction)
    hazcom = roundtable(session, "Hazard Communication Roundtable", start)
    ended = roundtable(session, "Silica Roundtable", start, ends_on=today - timedelta(days=10))
    joined = today - timedelta(days=100)
    for roundtable_id, alliance_id in [
        (construction, roofers),
        (falls, roofers),
        (hazcom, ironworkers),
        (construction, masons),
        (hazcom, painters),
    ]:
        join(session, roundtable_id, alliance_id, joined)
    join(session, ended, roofers, joined)
    agreements.conclude(
        session, alliance_id=masons, acting=COORDINATOR, outbox=review_outbox, today=agency_today()
    )
    agreements.terminate(
        session,
        alliance_id=painters,
        notice_date=today,
        reason="Partner dissolved",
        acting=COORDINATOR,
        outbox=review_outbox,
        today=agency_today(),
    )
    session.flush()
    return {
        "today": today,
        "roofers": roofers,
        "ironworkers": ironworkers,
        "construction": construction,
        "falls": falls,
        "design": design,
        "hazcom": hazcom,
    }


def alliance_for(session, alliance_id):
    return agreements.get_alliance(session, alliance_id)
