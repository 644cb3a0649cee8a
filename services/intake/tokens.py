"""Signed, expiring links scoped to one proposal (itsdangerous).

A token names one proposal and one purpose ("status" or "draft"); a token made for one
purpose does not open the other. Applicants have no accounts: holding the link is what lets
them see and change their proposal, so a refused link is a domain error naming ``token``.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from shared.config import load_settings
from shared.domain import DomainError, Forbidden, NotFound

PURPOSES = ("status", "draft")


class LinkRefused(DomainError):
    """A refusal about the link itself: the API names the ``token`` field."""

    @property
    def errors(self) -> dict[str, list[str]]:
        return {"token": [self.message]}


class LinkExpired(LinkRefused, Forbidden):
    """The link was genuine but is too old."""

    def __init__(self) -> None:
        super().__init__("This link has expired. Ask the Alliance Coordinator for a new one.")


class LinkInvalid(LinkRefused, NotFound):
    """The link was altered, mistyped, or made for something else."""

    def __init__(self) -> None:
        super().__init__("This link is not valid for this proposal.")


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    if purpose not in PURPOSES:
        raise ValueError(f"unknown link purpose {purpose!r}")
    # Signed with SECRET_KEY; a link signed with a key in SECRET_KEY_FALLBACKS still opens.
    return URLSafeTimedSerializer(load_settings().signing_keys, salt=f"intake.{purpose}-link")


def make_token(purpose: str, proposal_id: uuid.UUID) -> str:
    return str(_serializer(purpose).dumps(str(proposal_id)))


def read_token(purpose: str, token: str, *, max_age: timedelta) -> uuid.UUID:
    try:
        value = _serializer(purpose).loads(token, max_age=int(max_age.total_seconds()))
    except SignatureExpired:
        raise LinkExpired from None
    except BadSignature:
        raise LinkInvalid from None
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise LinkInvalid from None
