"""Builders of a proposal and of its ``proposal.submitted`` event, as intake makes them."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from shared.events import Event, new_event
from shared.proposal import ProposalSchema
from shared.testing import example_proposal

_references = itertools.count(10001)


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
