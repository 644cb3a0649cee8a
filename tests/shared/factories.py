"""Builders the tests of every service use: staff as a domain function sees them
(``acting``), signed-in test clients, and ``using``, the session convention of all
builders (see tests/factories.py)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import flask
from flask import Flask
from flask.testing import FlaskClient
from flask_wtf.csrf import generate_csrf
from sqlalchemy.orm import Session

from services.review.staff.models import StaffUser
from shared.db import Database
from shared.domain import Acting, organization_key
from shared.staff_auth import COOKIE_NAME, start_session

ROOFERS = "Michigan Roofing Contractors Association"
"""The SPEC example's organization."""


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


def acting(
    email: str = "riley@agency.example",
    *roles: str,
    staff_id: uuid.UUID | None = None,
    name: str | None = None,
    conflicts: Iterable[str] = (),
    office: str = "",
) -> Acting:
    """A staff member as a domain function sees them, with no account: ``roles``, the
    organizations (names or keys) they declared a conflict of interest with, and their office
    ("" the top one)."""
    return Acting(
        staff_id=staff_id or uuid.uuid4(),
        email=email,
        roles=frozenset(roles),
        name=name if name is not None else email.split("@")[0].title(),
        conflicts=frozenset(organization_key(organization) for organization in conflicts),
        office=office,
    )


COORDINATOR = acting("cora@agency.example", "coordinator")
REVIEWER = acting("riley@agency.example", "reviewer")


def staff_session(person: StaffUser | Acting) -> str:
    """A staff session (shared/staff_auth.py) for ``person``, as signing in starts one: the
    value of the ``COOKIE_NAME`` cookie."""
    if isinstance(person, Acting):
        return start_session(
            person.staff_id, person.email, person.name, person.roles, office=person.office
        )
    return start_session(person.id, person.email, person.name, person.roles, office=person.office)


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
