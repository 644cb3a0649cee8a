"""Builders of test data, in one place.

==========================  ==========================================================
what                        builders
==========================  ==========================================================
a proposal, its event       ``proposal()``, ``submitted_event()``
a proposal in review        ``queued_proposal()``
staff                       ``staff_member()`` (an account), ``acting()`` (no account),
                            ``acting_as()``, ``COORDINATOR``, ``REVIEWER``, ``LIAISON``,
                            ``OTHER_LIAISON``
signed in                   ``signed_in()`` (a test client), ``staff_session()`` (the
                            cookie), ``csrf_header()`` (for an app that checks CSRF)
decisions                   ``approval()``, ``prepared_decision()``, ``release_decisions()``
an alliance                 ``approved_alliance()`` (awaiting its signing),
                            ``signed_alliance()``, ``record_signing()``
notify                      ``held_decision_message()``, ``conflict_declared_event()``
==========================  ==========================================================

Each builder makes its thing the way the system makes it (the event catalog's schemas, the
review domain's ``receive_submitted_proposal``, ``add_account``, ``prepare`` and
``release``, notify's ``record_message``), so that a test says only what matters to it.

Where a builder writes: its keyword ``session``.

- Given a session (``rolled_back("review")``, or one the test opened): the builder writes
  into it and flushes; it never commits. The test's transaction decides what is kept.
- No session: the builder opens its service's ``database.transaction()`` and commits before
  it returns, for a test that then goes through a web request or a worker (those tests use
  ``clean_databases``).

``using(database, session)`` gives a test's own helpers the same convention.

What a builder returns: the row it made (``StaffUser``, ``QueuedProposal``,
``PreparedDecision``, ``Alliance``, ``Message``). Sessions are made with
``expire_on_commit=False``, so a row's columns stay readable after the builder's own
transaction has committed (its relationships do not: read those in a session). Builders that
write nothing return plain values: a dict, an ``Event``, an ``Acting``, a test client.

Staff who need no account (most domain-level tests) are ``acting(...)``; ``LIAISON`` and
``OTHER_LIAISON`` are liaisons without an account, known to the builders' liaison lookup
(``liaison_lookup``), which also knows every active liaison account.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, time
from typing import Any

import flask
from flask import Flask
from flask.testing import FlaskClient
from flask_wtf.csrf import generate_csrf
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.notify.messages import domain as messages
from services.notify.models import Message
from services.notify.worker import database as notify_database
from services.review import people
from services.review.alliances import domain as agreements
from services.review.alliances.models import Alliance
from services.review.decisions import domain as decisions
from services.review.decisions.models import PreparedDecision
from services.review.queue import domain as queue
from services.review.queue.models import QueuedProposal
from services.review.staff import domain as accounts
from services.review.staff.models import StaffUser
from services.review.worker import database as review_database
from services.review.worker import outbox as review_outbox
from shared.config import load_settings
from shared.db import Database
from shared.domain import Acting, organization_key
from shared.events import Event, new_event
from shared.proposal import ProposalSchema
from shared.staff_auth import COOKIE_NAME, start_session
from shared.testing import example_proposal

PASSWORD = "correct horse battery staple"
"""Every builder-made staff account's password (long enough for the password rules)."""

ROOFERS = "Michigan Roofing Contractors Association"
"""The SPEC example's organization."""

_references = itertools.count(10001)


@contextmanager
def using(database: Database, session: Session | None) -> Iterator[Session]:
    """The convention above, for any helper: the caller's ``session`` (flushed at the end,
    never committed), or, when it is None, a ``database.transaction()`` of its own."""
    if session is not None:
        yield session
        session.flush()
    else:
        with database.transaction() as own:
            yield own


# -- a proposal and its event -------------------------------------------------------------------


def proposal(
    name: str | None = None,
    *,
    priority_areas: Sequence[str] | None = None,
    emerging_issue: str | None = None,
    state: str | None = None,
    workers_reached: int | None = None,
    website: str | None = None,
    division: str | None = None,
    **changes: Any,
) -> dict[str, Any]:
    """The SPEC's example proposal (``shared.testing``), as an applicant sends it: ``name``
    and the keywords change the organization's name, priority areas, emerging issue, state,
    workers reached, website and requested division; ``changes`` replace top-level keys
    (``hazards=[...]``, ``hazards_other=...``)."""
    data = example_proposal(**changes)
    organization, priority = data["organization"], data["priority"]
    if name is not None:
        organization["name"] = name
    if state is not None:
        organization["address"]["state"] = state
    if workers_reached is not None:
        organization["workers_reached"] = workers_reached
    if website is not None:
        organization["website"] = website
    if priority_areas is not None:
        priority["priority_areas"] = list(priority_areas)
    if emerging_issue is not None:
        priority["emerging_issue"] = emerging_issue
    if division is not None:
        data["requested_division"] = division
    return data


def submitted_event(
    data: Mapping[str, Any] | None = None,
    *,
    proposal_id: uuid.UUID | None = None,
    version: int = 1,
    reference: str | None = None,
    submitted_at: datetime | None = None,
    status_url: str = "",
    event_type: str | None = None,
) -> Event:
    """Intake's event for ``data`` (the SPEC example by default): ``proposal.submitted`` for
    version 1, ``proposal.resubmitted`` after (``event_type`` names another). A new
    proposal id and reference unless given; submitted now unless ``submitted_at``."""
    return new_event(
        event_type or ("proposal.submitted" if version == 1 else "proposal.resubmitted"),
        producer="intake",
        payload={
            "proposal_id": proposal_id or uuid.uuid4(),
            "reference": reference or f"AP-2026-{next(_references):05d}",
            "version": version,
            "submitted_at": submitted_at or datetime.now(UTC),
            "status_url": status_url,
            "proposal": ProposalSchema().load(data if data is not None else proposal()),
        },
    )


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


def acting(
    email: str = "riley@agency.example",
    *roles: str,
    staff_id: uuid.UUID | None = None,
    name: str | None = None,
    conflicts: Iterable[str] = (),
) -> Acting:
    """A staff member as a domain function sees them, with no account: ``roles``, and the
    organizations (names or keys) they declared a conflict of interest with."""
    return Acting(
        staff_id=staff_id or uuid.uuid4(),
        email=email,
        roles=frozenset(roles),
        name=name if name is not None else email.split("@")[0].title(),
        conflicts=frozenset(organization_key(organization) for organization in conflicts),
    )


def acting_as(person: StaffUser | accounts.Liaison, *, conflicts: Iterable[str] = ()) -> Acting:
    """The ``Acting`` of a staff account, or of a liaison (whose ``staff_id`` is the
    alliance's ``liaison_id``)."""
    roles = person.roles if isinstance(person, StaffUser) else ["liaison"]
    return acting(person.email, *roles, staff_id=person.id, name=person.name, conflicts=conflicts)


COORDINATOR = acting("cora@agency.example", "coordinator")
REVIEWER = acting("riley@agency.example", "reviewer")
LIAISON = accounts.Liaison(id=uuid.uuid4(), name="Lee Liaison", email="lee@agency.example")
OTHER_LIAISON = accounts.Liaison(id=uuid.uuid4(), name="Ola Other", email="ola@agency.example")


def staff_session(person: StaffUser | Acting) -> str:
    """A staff session (shared/staff_auth.py) for ``person``, as signing in starts one: the
    value of the ``COOKIE_NAME`` cookie."""
    if isinstance(person, Acting):
        return start_session(person.staff_id, person.email, person.name, person.roles)
    return start_session(person.id, person.email, person.name, person.roles)


def signed_in(app: Flask, person: StaffUser | Acting) -> FlaskClient:
    """A test client of ``app`` (any service: one sign-in serves them all) with ``person``'s
    staff session cookie. An app that checks CSRF wants ``csrf_header`` on writes too."""
    client = app.test_client()
    client.set_cookie(COOKIE_NAME, staff_session(person))
    return client


def csrf_header(app: Flask, client: FlaskClient) -> dict[str, str]:
    """The ``X-CSRFToken`` header for ``client``'s writes to an app that checks CSRF: a token
    made as a page makes one, its secret half put in the client's Flask session cookie."""
    with app.test_request_context():
        token = generate_csrf()
        secret = dict(flask.session)
    with client.session_transaction() as flask_session:
        flask_session.update(secret)
    return {"X-CSRFToken": token}


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


# -- notify ---------------------------------------------------------------------------------------


def held_decision_message(
    proposal_id: uuid.UUID | None = None, *, held: bool = True, session: Session | None = None
) -> Message:
    """A decision's e-mail to the applicant in notify (Roofers declined), recorded as notify
    records one: held for staff to release unless ``held=False`` (then pending)."""
    with using(notify_database, session) as writing:
        message_id = messages.record_message(
            writing,
            cause=f"test:{uuid.uuid4()}",
            template="decision_declined",
            to_address="dana@example.org",
            proposal_id=proposal_id or uuid.uuid4(),
            reference="AP-2026-00009",
            held=held,
            context={
                "agency": "MIOSHA",
                "reference": "AP-2026-00009",
                "contact_name": "Dana",
                "organization_name": "Roofers",
                "reason": "Not this year.",
                "status_url": "",
            },
        )
        assert message_id is not None
        message = writing.get(Message, message_id)
        assert message is not None
        return message


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
) -> Event:
    """Review's ``alliance.signed`` as reporting receives it (``.to_message()`` is what its
    consumer task is given); ``ends_on`` is the term's last day."""
    return new_event(
        "alliance.signed",
        producer="review",
        payload={
            "alliance_id": alliance_id or uuid.uuid4(),
            "proposal_id": uuid.uuid4(),
            "reference": f"AP-2026-{next(_references):05d}",
            "partner": {"name": name, "type": "trade_association"},
            "contact": {"name": "Dana Smith", "email": "dana@example.org"},
            "liaison": {"id": LIAISON.id, "name": LIAISON.name, "email": LIAISON.email},
            "goals": [],
            "division": "construction_safety_health",
            "signing_date": signing_date,
            "term_years": ends_on.year - signing_date.year,
            "ends_on": ends_on,
        },
    )


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


# -- reporting ---------------------------------------------------------------------------------


def run_reporting_task(name: str, event: Event) -> None:
    """Run one of reporting's tasks (``reporting.alliance_signed``, ...) on ``event`` here, in
    this process, as its worker would."""
    import services.reporting.tasks

    services.reporting.tasks.celery.tasks[name](event=event.to_message())


def partner_submits(
    monkeypatch: Any, report_id: uuid.UUID, data: Mapping[str, str], at: datetime
) -> None:
    """The partner submits ``data`` (the form's fields) through the report's link at ``at``."""
    from services.reporting import create_app as reporting_app
    from services.reporting.reports import tokens
    from services.reporting.submissions import views as form_views

    monkeypatch.setattr(form_views, "now", lambda: at)
    client = reporting_app({"TESTING": True, "WTF_CSRF_ENABLED": False}).test_client()
    answer = client.post(
        f"/reports/{tokens.make_token(report_id)}", data={**data, "action": "submit"}
    )
    assert answer.status_code == 303, answer.get_data(as_text=True)


# -- notify --------------------------------------------------------------------------------


def deliver_queued_mail(redis_client: Any, smtp_server: Any, monkeypatch: Any) -> list[str]:
    """Run the deliveries notify's consumers queued, against ``smtp_server``, as its worker
    would; each delivery's outcome."""
    import services.notify.tasks
    from tests.helpers import queued_tasks

    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_PORT", str(smtp_server.port))
    queued = [kwargs for _name, kwargs in queued_tasks(redis_client, "notify")]
    redis_client.delete("notify")
    return [services.notify.tasks.deliver_message(**kwargs) for kwargs in queued]
