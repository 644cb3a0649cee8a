"""Signed, expiring links scoped to one proposal (itsdangerous).

A token names one proposal and one purpose ("status" or "draft"); a token made for one
purpose does not open the other.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from shared.config import load_settings

PURPOSES = ("status", "draft")


class LinkExpired(Exception):
    """The link was genuine but is too old."""


class LinkInvalid(Exception):
    """The link was altered, mistyped, or made for something else."""


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    if purpose not in PURPOSES:
        raise ValueError(f"unknown link purpose {purpose!r}")
    return URLSafeTimedSerializer(load_settings().secret_key, salt=f"intake.{purpose}-link")


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
