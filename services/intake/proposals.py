"""The life of a proposal on the applicant's side: links, drafts, submission, changes,
resubmission.

Applicants have no accounts: the signed link they were sent (services/intake/tokens.py) is
what lets them reach their proposal, and ``linked_id`` is the one check of it. Every function
works in the caller's session and queues its events in the outbox, so the state change and
its events commit together; none commits. A refusal is a typed error (``shared.domain``),
which shared/web.py answers for the pages and the API alike.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, ScalarSelect, String, cast, delete, func, literal, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from services.intake.models import (
    Proposal,
    ProposalVersion,
    SentMessage,
    StatusChange,
    reference_sequence,
)
from services.intake.tokens import LinkInvalid, LinkRefused, make_token, read_token
from shared.config import Settings
from shared.db import utcnow
from shared.domain import Conflict, NotFound
from shared.events import Event, new_event
from shared.outbox import Outbox

# What an applicant reads for each state.
STATUS_LABELS = {
    "draft": "Draft (not sent yet)",
    "submitted": "Submitted: waiting for review",
    "changes_requested": "Changes requested: please edit and resubmit",
    "resubmitted": "Resubmitted: waiting for review",
    "declined": "Declined",
    "approved": "Approved",
}
EDITABLE_STATES = ("changes_requested",)


class ProposalNotFound(LinkRefused, NotFound):
    def __init__(self) -> None:
        super().__init__("No such proposal.")


class DraftNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__(
            "This draft is no longer available: it was submitted already or it expired. "
            "Start a new proposal, or contact the Alliance Coordinator."
        )


class NotEditable(Conflict):
    def __init__(self) -> None:
        super().__init__(
            "This proposal cannot be edited now: edits are possible only while the "
            "agency has asked for changes."
        )


def status_url(settings: Settings, proposal_id: uuid.UUID) -> str:
    return f"{settings.public_base_url}/status/{make_token('status', proposal_id)}"


def resume_url(settings: Settings, proposal_id: uuid.UUID) -> str:
    return f"{settings.public_base_url}/apply/resume/{make_token('draft', proposal_id)}"


def linked_id(
    purpose: str, token: str, *, settings: Settings, proposal_id: uuid.UUID | None = None
) -> uuid.UUID:
    """The proposal a ``purpose`` link ("status" or "draft") opens; with ``proposal_id``,
    the link must open that one. ``LinkExpired`` (403) or ``LinkInvalid`` (404) otherwise."""
    lifetime = (
        settings.intake_draft_lifetime
        if purpose == "draft"
        else settings.intake_status_link_lifetime
    )
    named = read_token(purpose, token, max_age=lifetime)
    if proposal_id is not None and named != proposal_id:
        raise LinkInvalid
    return named


def new_reference(*, now: datetime, timezone: Any) -> ScalarSelect[str]:
    """A reference an applicant can read over the phone, ``AP-2026-00042``: the next number of
    the sequence, at least five digits. SQL, so that the statement storing a proposal draws its
    number too (one round trip fewer per submission)."""
    number = select(cast(reference_sequence.next_value(), String).label("n")).subquery()
    digits = func.lpad(number.c.n, func.greatest(5, func.length(number.c.n)), "0")
    return select(literal(f"AP-{now.astimezone(timezone).year}-") + digits).scalar_subquery()


def _history(session: Session, proposal: Proposal, status: str, note: str = "") -> None:
    session.add(
        StatusChange(
            proposal_id=proposal.id, status=status, version=proposal.version, note=note, at=utcnow()
        )
    )


def _contact_email(data: dict[str, Any]) -> str:
    contact = data.get("contact")
    return str(contact.get("email", "")) if isinstance(contact, dict) else ""


def _organization_name(data: dict[str, Any]) -> str:
    organization = data.get("organization")
    name = organization.get("name", "") if isinstance(organization, dict) else ""
    return str(name)[:200]


def _first(session: Session, *conditions: ColumnElement[bool], lock: bool) -> Proposal | None:
    query = select(Proposal).where(*conditions)
    return session.scalars(query.with_for_update() if lock else query).first()


def find_submitted(session: Session, proposal_id: uuid.UUID) -> Proposal:
    """A proposal past its draft (what a status link shows)."""
    proposal = session.get(Proposal, proposal_id)
    if proposal is None or proposal.status == "draft":
        raise ProposalNotFound
    return proposal


def find_editable(session: Session, proposal_id: uuid.UUID, *, lock: bool = False) -> Proposal:
    """A proposal its applicant may edit now: only while the agency has asked for changes."""
    proposal = _first(session, Proposal.id == proposal_id, lock=lock)
    if proposal is None or proposal.status not in EDITABLE_STATES:
        raise NotEditable
    return proposal


def find_draft(session: Session, proposal_id: uuid.UUID, *, lock: bool = False) -> Proposal:
    draft = _first(
        session,
        Proposal.id == proposal_id,
        Proposal.status == "draft",
        Proposal.draft_expires_at > utcnow(),
        lock=lock,
    )
    if draft is None:
        raise DraftNotFound
    return draft


def _draft_if_any(session: Session, draft_id: uuid.UUID | None) -> Proposal | None:
    if draft_id is None:
        return None
    try:
        return find_draft(session, draft_id, lock=True)
    except DraftNotFound:
        return None


def save_draft(
    session: Session,
    *,
    data: dict[str, Any],
    settings: Settings,
    outbox: Outbox,
    draft_id: uuid.UUID | None = None,
    anew_if_gone: bool = False,
) -> Proposal:
    """Keep what the applicant has typed so far, valid or not, and e-mail a link to resume.

    ``data`` has passed ``DraftSchema``: it names a valid contact e-mail, where the link goes.
    Each save moves the expiry forward. With ``draft_id``, that draft is replaced; if it is
    gone (submitted, expired) that is ``DraftNotFound``, or with ``anew_if_gone`` (the form,
    which holds everything typed) a new draft.
    """
    now = utcnow()
    draft = _draft_if_any(session, draft_id)
    if draft is None and draft_id is not None and not anew_if_gone:
        raise DraftNotFound
    created = draft is None
    if draft is None:
        draft = Proposal(status="draft", version=1, created_at=now)
        session.add(draft)
    draft.data = data
    draft.contact_email = _contact_email(data)
    draft.organization_name = _organization_name(data)
    draft.draft_expires_at = now + settings.intake_draft_lifetime
    session.flush()
    if created:
        _history(session, draft, "draft")
    contact = data.get("contact") if isinstance(data.get("contact"), dict) else {}
    outbox.add(
        session,
        new_event(
            "proposal.draft_saved",
            producer="intake",
            payload={
                "proposal_id": draft.id,
                "contact_name": str((contact or {}).get("name", ""))[:200],
                "contact_email": draft.contact_email,
                "organization_name": draft.organization_name,
                "resume_url": resume_url(settings, draft.id),
                "saved_at": now,
                "expires_at": draft.draft_expires_at,
                "contact_language": (
                    (contact or {}).get("language")
                    if (contact or {}).get("language") in ("en", "es")
                    else "en"
                ),
            },
        ),
    )
    return draft


def submit_proposal(
    session: Session,
    *,
    data: dict[str, Any],
    settings: Settings,
    outbox: Outbox,
    draft_id: uuid.UUID | None = None,
) -> Proposal:
    """Store a proposal that passed ``ProposalInputSchema`` as submitted, and queue
    ``proposal.submitted``.

    With ``draft_id`` (the form, resumed from a draft) the draft becomes the proposal (same
    id, so its links stay valid); a draft gone by then does not matter, as ``data`` is whole.
    """
    proposal = _draft_if_any(session, draft_id)
    return _submit(session, proposal, data, settings=settings, outbox=outbox)


def submit_draft(
    session: Session,
    *,
    draft_id: uuid.UUID,
    complete: Callable[[dict[str, Any]], dict[str, Any]],
    settings: Settings,
    outbox: Outbox,
) -> Proposal:
    """Submit what a draft holds, once it is complete: ``complete`` is the check a submitted
    proposal passes (``ProposalInputSchema``, given by the caller), which returns the proposal
    or raises ``Invalid`` naming what is missing."""
    draft = find_draft(session, draft_id, lock=True)
    data = complete(draft.data if isinstance(draft.data, dict) else {})
    return _submit(session, draft, data, settings=settings, outbox=outbox)


def _submit(
    session: Session,
    proposal: Proposal | None,
    data: dict[str, Any],
    *,
    settings: Settings,
    outbox: Outbox,
) -> Proposal:
    """Store ``data`` as submitted: a new proposal, or ``proposal`` (a draft) from now on."""
    now = utcnow()
    submitted = {
        "reference": new_reference(now=now, timezone=settings.agency_timezone),
        "status": "submitted",
        "version": 1,
        "data": data,
        "organization_name": _organization_name(data),
        "contact_email": _contact_email(data),
        "submitted_at": now,
        "draft_expires_at": None,
    }
    if proposal is None:
        # One INSERT that draws the reference and answers with the stored row.
        proposal = session.scalars(
            insert(Proposal)
            .values(id=uuid.uuid4(), created_at=now, updated_at=now, **submitted)
            .returning(Proposal)
        ).one()
    else:
        for name, value in submitted.items():
            setattr(proposal, name, value)
        session.flush()  # the reference, drawn in the UPDATE, is read back for the event
    session.add(ProposalVersion(proposal_id=proposal.id, version=1, data=data, submitted_at=now))
    _history(session, proposal, "submitted")
    _queue_event(session, proposal, "proposal.submitted", settings=settings, outbox=outbox)
    return proposal


def resubmit_proposal(
    session: Session,
    *,
    proposal_id: uuid.UUID,
    data: dict[str, Any],
    settings: Settings,
    outbox: Outbox,
) -> Proposal:
    """A new version after changes were requested; every earlier version is kept."""
    proposal = find_editable(session, proposal_id, lock=True)
    now = utcnow()
    proposal.version += 1
    proposal.data = data
    proposal.organization_name = _organization_name(data)
    proposal.contact_email = _contact_email(data)
    proposal.status = "resubmitted"
    proposal.submitted_at = now
    proposal.changes_requested_message = ""
    session.add(
        ProposalVersion(
            proposal_id=proposal.id, version=proposal.version, data=data, submitted_at=now
        )
    )
    _history(session, proposal, "resubmitted")
    _queue_event(session, proposal, "proposal.resubmitted", settings=settings, outbox=outbox)
    return proposal


def _queue_event(
    session: Session,
    proposal: Proposal,
    event_type: str,
    *,
    settings: Settings,
    outbox: Outbox,
) -> None:
    outbox.add(
        session,
        new_event(
            event_type,
            producer="intake",
            payload={
                "proposal_id": proposal.id,
                "reference": proposal.reference,
                "version": proposal.version,
                "submitted_at": proposal.submitted_at,
                "status_url": status_url(settings, proposal.id),
                "proposal": proposal.data,
            },
        ),
    )


def record_changes_requested(session: Session, *, event: Event) -> None:
    """A reviewer asked for changes: the applicant may now edit and resubmit."""
    payload = event.payload
    proposal = _first(session, Proposal.id == payload["proposal_id"], lock=True)
    if proposal is None or payload["version"] < proposal.version:
        return  # unknown here, or about a version already replaced: nothing to change
    proposal.status = "changes_requested"
    proposal.changes_requested_message = payload["message"]
    _history(session, proposal, "changes_requested", note=payload["message"])


def record_decision(session: Session, *, event: Event, status: str, note: str) -> None:
    """The agency decided (declined or approved): the status page says so."""
    payload = event.payload
    proposal = _first(session, Proposal.id == payload["proposal_id"], lock=True)
    if proposal is None or payload["version"] < proposal.version:
        return
    proposal.status = status
    proposal.changes_requested_message = ""
    _history(session, proposal, status, note=note)


def partner_addresses(proposal: Proposal) -> set[str]:
    """The addresses the applicant gave as the proposal's contact, in any of its versions
    (case aside): the partner's own, the only ones the status page lists messages to."""
    given = [proposal.contact_email, str(proposal.data.get("contact", {}).get("email") or "")]
    given += [
        str(version.data.get("contact", {}).get("email") or "") for version in proposal.versions
    ]
    return {address.strip().casefold() for address in given if address.strip()}


def sent_to_partner(proposal: Proposal, *, to_address: str, recipient: str = "") -> bool:
    """Whether a message notify sent about the proposal went to the partner: notify says so
    (``recipient``, "partner" or "staff"), and the address is one the applicant gave. The
    Coordinator's alert and a liaison's copy never show on the partner's status page."""
    if recipient == "staff":
        return False
    return to_address.strip().casefold() in partner_addresses(proposal)


def record_message_sent(session: Session, *, event: Event) -> None:
    """Keep a message notify sent to the applicant for the status page; the staff's are
    left out (``sent_to_partner``)."""
    payload = event.payload
    if payload["proposal_id"] is None:
        return
    proposal = session.get(Proposal, payload["proposal_id"])
    if proposal is None or not sent_to_partner(
        proposal, to_address=payload["to_address"], recipient=payload.get("recipient", "")
    ):
        return
    session.execute(
        insert(SentMessage)
        .values(
            message_id=payload["message_id"],
            proposal_id=payload["proposal_id"],
            template=payload["template"],
            subject=payload["subject"],
            to_address=payload["to_address"],
            sent_at=payload["sent_at"],
        )
        .on_conflict_do_nothing()
    )


def delete_expired_drafts(session: Session, *, now: datetime | None = None) -> int:
    result = session.execute(
        delete(Proposal).where(
            Proposal.status == "draft", Proposal.draft_expires_at <= (now or utcnow())
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


def public_status(proposal: Proposal, *, timezone: Any) -> dict[str, Any]:
    """What the applicant may see of their proposal (status page and API)."""

    def local(moment: datetime | None) -> str | None:
        return moment.astimezone(timezone).isoformat() if moment else None

    return {
        "id": str(proposal.id),
        "reference": proposal.reference,
        "status": proposal.status,
        "status_label": STATUS_LABELS.get(proposal.status, proposal.status.replace("_", " ")),
        "version": proposal.version,
        "organization": proposal.organization_name,
        "submitted_at": local(proposal.submitted_at),
        "changes_requested": proposal.changes_requested_message,
        "editable": proposal.status in EDITABLE_STATES,
        "history": [
            {
                "status": change.status,
                "label": STATUS_LABELS.get(change.status, change.status.replace("_", " ")),
                "version": change.version,
                "note": change.note,
                "at": local(change.at),
            }
            for change in proposal.history
        ],
        "messages": [
            {
                "subject": message.subject,
                "to": message.to_address,
                "sent_at": local(message.sent_at),
            }
            for message in proposal.messages
            # Rows kept before staff mail was left out are left out here.
            if sent_to_partner(proposal, to_address=message.to_address)
        ],
    }
