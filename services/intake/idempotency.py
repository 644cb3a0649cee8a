"""``Idempotency-Key``: the same key twice gives one proposal and the same answer.

The key is claimed first, with an insert in the same transaction as the proposal it creates.
A twin request racing with the same key blocks on that insert until the first transaction
ends, then finds the stored answer and gives it again. The API keys on the header, the form
on the submission id it carries (a second click on Submit).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from services.intake.models import IdempotentRequest
from shared.db import utcnow
from shared.domain import Invalid

MAX_KEY_LENGTH = 200
HEADER = "Idempotency-Key"


class KeyReused(Invalid):
    """The key was already used for a different request."""

    def __init__(self) -> None:
        super().__init__(
            "This Idempotency-Key was already used for a different request. "
            "Use a new key for a new proposal.",
            field=HEADER,
        )


@dataclass(frozen=True)
class StoredAnswer:
    status_code: int
    body: dict[str, Any]


def request_fingerprint(scope: str, body: Any) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{scope}\n{canonical}".encode()).hexdigest()


def once(
    session: Session,
    *,
    scope: str,
    key: str,
    fingerprint: str,
    create: Callable[[], StoredAnswer],
) -> StoredAnswer:
    """``create()`` the first time ``key`` is seen in ``scope``, the answer it gave every
    time after. Without a key, ``create()`` runs every time."""
    if not key:
        return create()
    if len(key) > MAX_KEY_LENGTH:
        raise Invalid(f"Use at most {MAX_KEY_LENGTH} characters.", field=HEADER)
    stored_key = f"{scope}:{key}"
    if len(stored_key) > MAX_KEY_LENGTH:  # the column's width: a long key is kept hashed
        stored_key = f"{scope}:sha256:{hashlib.sha256(key.encode()).hexdigest()}"
    earlier = claim_key(session, key=stored_key, fingerprint=fingerprint)
    if earlier is not None:
        return earlier
    answer = create()
    remember_answer(session, key=stored_key, answer=answer)
    return answer


def claim_key(session: Session, *, key: str, fingerprint: str) -> StoredAnswer | None:
    """None if this request now owns ``key``; otherwise the answer given before."""
    claimed = session.execute(
        insert(IdempotentRequest)
        .values(key=key, request_hash=fingerprint, status_code=0, response={}, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(IdempotentRequest.key)
    ).first()
    if claimed is not None:
        return None
    row = session.scalars(select(IdempotentRequest).where(IdempotentRequest.key == key)).one()
    if row.request_hash != fingerprint:
        raise KeyReused
    return StoredAnswer(row.status_code, row.response)


def remember_answer(session: Session, *, key: str, answer: StoredAnswer) -> None:
    """Keep the answer on the key this request claimed (``claim_key`` first)."""
    remembered = session.execute(
        update(IdempotentRequest)
        .where(IdempotentRequest.key == key)
        .values(status_code=answer.status_code, response=answer.body)
        .execution_options(synchronize_session=False)
    )
    assert getattr(remembered, "rowcount", 1) == 1, "claim_key first"
