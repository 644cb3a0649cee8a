"""What the staff account tests (domain and pages) share: inviting, the links sent, using a
link, forgetting a password, refusals and signing in."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, text

from services.review.models import OutboxEvent, StaffUser
from services.review.staff import domain as accounts
from services.review.worker import database
from shared.config import load_settings
from shared.events import parse_event
from tests.review.factories import acting_as

NEW_PASSWORD = "orange kettle on the moon"
PASSWORD_STAFF_AUTH = "correct horse battery staple"


def links_sent() -> list[dict[str, Any]]:
    """Review's ``staff.password_link`` events, oldest first, as notify receives them."""
    with database.transaction() as session:
        messages = session.scalars(
            select(OutboxEvent.message)
            .where(OutboxEvent.type == "staff.password_link")
            .order_by(OutboxEvent.id)
        ).all()
    return [parse_event(message).payload for message in messages]


def token_of(payload: dict[str, Any]) -> str:
    url = payload["set_password_url"]
    prefix = load_settings().public_base_url + "/review/staff/set-password/"
    assert url.startswith(prefix), url
    return str(url.removeprefix(prefix))


def invite(cora: StaffUser, email: str = "lee@agency.example", *roles: str) -> StaffUser:
    with database.transaction() as session:
        return accounts.invite_staff(
            session,
            acting=acting_as(cora),
            email=email,
            name="Lee Liaison",
            roles=list(roles) or ["liaison", "reviewer"],
            settings=load_settings(),
        )


def use(token: str, password: str = NEW_PASSWORD) -> StaffUser:
    with database.transaction() as session:
        return accounts.set_password_from_link(
            session, token=token, new_password=password, settings=load_settings()
        )


def refusal(token: str) -> str:
    with (
        database.transaction() as session,
        pytest.raises(accounts.LinkRefused) as refused,
    ):
        accounts.check_password_link(session, token=token)
    return refused.value.reason


def can_sign_in(email: str, password: str) -> bool:
    with database.transaction() as session:
        return (
            accounts.authenticate(session, email=email, password=password, settings=load_settings())
            is not None
        )


def age_links(**delta: float) -> None:
    """Every link as if made ``delta`` ago: created and expiring that much earlier."""
    with database.transaction() as session:
        session.execute(
            text(
                "UPDATE staff_password_links"
                " SET created_at = created_at - :delta, expires_at = expires_at - :delta"
            ),
            {"delta": timedelta(**delta)},
        )


def forgot(email: str) -> None:
    with database.transaction() as session:
        accounts.request_password_reset(session, email=email, settings=load_settings())
