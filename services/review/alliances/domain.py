"""The agreement's life after signing.

The liaison and the partner's contact form the implementation team; they keep a work plan
(milestones with target dates and who is responsible), the dates they met, and the
alliance's documents (links or descriptions; no files are stored). The agency decides the
rest: a renewal, a conclusion, a termination with 30 days' written notice, and the
Ambassador designation. Each decision changes the alliance and adds its event to review's
outbox in the caller's transaction, so both commit together or not at all.

Plain functions over a SQLAlchemy session with keyword-only arguments; the caller owns the
transaction. Every change goes into the audit trail with its field-level diff. Bad input
raises :class:`InvalidInput` (naming the field), a step the alliance's state does not allow
raises :class:`AgreementError`; both carry a message for staff.

Dates are calendar days in the agency's time zone; ``today`` defaults to that day.

Terms. A term runs from its signing date through ``decisions.term_end`` (signing date plus
the years, less one day). Number 0 is the initial term, 1, 2, ... the renewals; the rows are
in ``alliance_terms`` once the first renewal is decided (until then the alliance's own
signing date, term and end are the initial term's).

Renewal. Only an active alliance is renewed, for two to five years, from a signing date
after the current term's signing date and not in the future ("nothing renews by itself":
the renewal is recorded once it is signed). The alliance's signing date, term and end become
the new term's.

Conclusion and termination. The agency may conclude an active alliance or an Ambassador on
a day not before the initial signing date and not in the future; ``ended_on`` is that day.
A termination is given by written notice, dated on or after the initial signing date and
not in the future; it takes effect 30 days after the notice date (``notice + 30 days``),
which is the alliance's ``ended_on`` and the day every report obligation ends. Either way
the alliance's status changes at once (it leaves the public directory) and its open
roundtable memberships end on ``ended_on``.

Ambassador. An alliance may be named an Ambassador on day D (the designation date: today
unless given, never in the future) when all of these hold:

1. it is active (not concluded, terminated, or an Ambassador already);
2. at least one renewal has been decided with a signing date on or before D;
3. its initial term is complete: the initial term's last day is before D.

That is "a partner that completed an initial term and one renewal" read as: the first
renewal has been signed and the initial term is over (the renewal term itself need not be
over, or the agreement would have expired). Ambassadors no longer report (the event tells
reporting), stay in the public directory, may keep their work plan and roundtables, may be
concluded or terminated, and are not renewed.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from services.review import audit
from services.review.decisions.domain import term_end
from services.review.models import (
    Alliance,
    AllianceDocument,
    AllianceStatusChange,
    AllianceTerm,
    Milestone,
    Roundtable,
    RoundtableMembership,
    TeamMeeting,
)
from services.review.queue.domain import today as agency_today
from shared.agency import load_agency_profile
from shared.db import utcnow
from shared.events import new_event
from shared.outbox import Outbox

MILESTONE_STATUSES: dict[str, str] = {
    "planned": "Planned",
    "in_progress": "In progress",
    "done": "Done",
    "dropped": "Dropped",
}
DOCUMENT_KINDS: dict[str, str] = {
    "agreement": "Agreement",
    "work_plan": "Work plan",
    "other": "Other",
}
STATUSES: dict[str, str] = {
    "active": "Active",
    "ambassador": "Ambassador",
    "concluded": "Concluded",
    "terminated": "Terminated",
}
# Whose work plan, meetings and documents can still change.
OPEN_STATUSES = ("active", "ambassador")
RENEWAL_TERM_YEARS = range(2, 6)  # two to five years
TERMINATION_NOTICE = timedelta(days=30)
MILESTONE_FIELDS = ("title", "description", "target_date", "responsible", "status", "done_on")


class AgreementError(Exception):
    """A step the alliance's state does not allow; the message is for staff."""

    status = 409

    def __init__(self, message: str, *, field: str = "_request"):
        super().__init__(message)
        self.message = message
        self.field = field

    def errors(self) -> dict[str, list[str]]:
        return {self.field: [self.message]}


class InvalidInput(AgreementError):
    """A value staff gave that cannot be accepted; ``field`` names it."""

    status = 422


class NotFound(AgreementError):
    status = 404


class NotAllowed(AgreementError):
    """Staff who may not make this change (a liaison on someone else's alliance)."""

    status = 403


@dataclass(frozen=True)
class Term:
    number: int
    signing_date: date
    term_years: int
    ends_on: date


# -- reading ----------------------------------------------------------------------------------


def get_alliance(session: Session, alliance_id: uuid.UUID, *, lock: bool = False) -> Alliance:
    query = select(Alliance).where(Alliance.id == alliance_id)
    alliance = session.scalars(query.with_for_update() if lock else query).first()
    if alliance is None:
        raise NotFound("No such alliance.")
    return alliance


def list_alliances(
    session: Session, *, status: str | None = None, liaison_id: uuid.UUID | None = None
) -> list[Alliance]:
    query = select(Alliance).order_by(Alliance.partner_name, Alliance.id)
    if status:
        query = query.where(Alliance.status == status)
    if liaison_id is not None:
        query = query.where(Alliance.liaison_id == liaison_id)
    return list(session.scalars(query))


def terms(session: Session, alliance: Alliance) -> list[Term]:
    """Every term, the initial one first; the last is the current term."""
    rows = session.scalars(
        select(AllianceTerm)
        .where(AllianceTerm.alliance_id == alliance.id)
        .order_by(AllianceTerm.number)
    ).all()
    if not rows:
        return [Term(0, alliance.signing_date, alliance.term_years, alliance.ends_on)]
    return [Term(r.number, r.signing_date, r.term_years, r.ends_on) for r in rows]


def status_change(session: Session, alliance: Alliance) -> AllianceStatusChange | None:
    """The latest conclusion, termination or designation, if any."""
    return session.scalars(
        select(AllianceStatusChange)
        .where(AllianceStatusChange.alliance_id == alliance.id)
        .order_by(AllianceStatusChange.id.desc())
        .limit(1)
    ).first()


def ambassador_eligibility(session: Session, alliance: Alliance, *, on: date) -> tuple[bool, str]:
    """Whether the alliance may be named an Ambassador on ``on``, and why (for staff)."""
    if alliance.status == "ambassador":
        return False, "This partner is an Ambassador already."
    if alliance.status != "active":
        return False, f"This alliance is {alliance.status}: only an active alliance qualifies."
    all_terms = terms(session, alliance)
    initial = all_terms[0]
    if not any(t.number >= 1 and t.signing_date <= on for t in all_terms):
        return False, (
            "An Ambassador has completed an initial term and one renewal: "
            "this alliance has not been renewed yet."
        )
    if initial.ends_on >= on:
        return False, (
            "An Ambassador has completed an initial term and one renewal: the initial term "
            f"runs through {initial.ends_on.isoformat()}."
        )
    return True, (
        f"The initial term ended on {initial.ends_on.isoformat()} and the alliance was renewed."
    )


def milestone_data(milestone: Milestone) -> dict[str, Any]:
    return {
        "id": str(milestone.id),
        "title": milestone.title,
        "description": milestone.description,
        "target_date": milestone.target_date.isoformat(),
        "responsible": milestone.responsible,
        "status": milestone.status,
        "status_label": MILESTONE_STATUSES.get(milestone.status, milestone.status),
        "done_on": milestone.done_on.isoformat() if milestone.done_on else None,
    }


def meeting_data(meeting: TeamMeeting) -> dict[str, Any]:
    return {"id": str(meeting.id), "met_on": meeting.met_on.isoformat(), "note": meeting.note}


def document_data(document: AllianceDocument) -> dict[str, Any]:
    return {
        "id": str(document.id),
        "title": document.title,
        "kind": document.kind,
        "kind_label": DOCUMENT_KINDS.get(document.kind, document.kind),
        "url": document.url,
        "description": document.description,
        "added_by": document.added_by,
        "added_at": document.added_at.isoformat(),
    }


def term_data(term: Term) -> dict[str, Any]:
    return {
        "number": term.number,
        "kind": "initial" if term.number == 0 else "renewal",
        "signing_date": term.signing_date.isoformat(),
        "term_years": term.term_years,
        "ends_on": term.ends_on.isoformat(),
    }


def milestones(session: Session, alliance_id: uuid.UUID) -> list[Milestone]:
    return list(
        session.scalars(
            select(Milestone)
            .where(Milestone.alliance_id == alliance_id)
            .order_by(Milestone.target_date, Milestone.created_at)
        )
    )


def meetings(session: Session, alliance_id: uuid.UUID) -> list[TeamMeeting]:
    return list(
        session.scalars(
            select(TeamMeeting)
            .where(TeamMeeting.alliance_id == alliance_id)
            .order_by(TeamMeeting.met_on)
        )
    )


def documents(session: Session, alliance_id: uuid.UUID) -> list[AllianceDocument]:
    return list(
        session.scalars(
            select(AllianceDocument)
            .where(AllianceDocument.alliance_id == alliance_id)
            .order_by(AllianceDocument.added_at, AllianceDocument.title)
        )
    )


def summary(alliance: Alliance) -> dict[str, Any]:
    """One line of a staff list of alliances."""
    divisions = load_agency_profile().divisions
    return {
        "id": str(alliance.id),
        "reference": alliance.reference,
        "partner_name": alliance.partner_name,
        "status": alliance.status,
        "status_label": STATUSES.get(alliance.status, alliance.status),
        "division": alliance.division,
        "division_label": divisions.get(alliance.division, alliance.division),
        "liaison": {"id": str(alliance.liaison_id), "name": alliance.liaison_name},
        "signing_date": alliance.signing_date.isoformat(),
        "term_years": alliance.term_years,
        "ends_on": alliance.ends_on.isoformat(),
        "renewals": alliance.renewals,
        "ended_on": alliance.ended_on.isoformat() if alliance.ended_on else None,
    }


def alliance_page(
    session: Session, *, alliance_id: uuid.UUID, today: date | None = None
) -> dict[str, Any]:
    """Everything staff see about one alliance: agreement, team, work plan, history."""
    today = today or agency_today()
    alliance = get_alliance(session, alliance_id)
    contact = alliance.contact
    change = status_change(session, alliance)
    eligible, why = ambassador_eligibility(session, alliance, on=today)
    rows = session.execute(
        select(RoundtableMembership, Roundtable)
        .join(Roundtable, Roundtable.id == RoundtableMembership.roundtable_id)
        .where(RoundtableMembership.alliance_id == alliance.id)
        .order_by(RoundtableMembership.joined_on, Roundtable.name)
    ).all()
    return {
        **summary(alliance),
        "proposal_id": str(alliance.proposal_id),
        "partner": alliance.partner,
        "goals": alliance.goals,
        "hazards": alliance.hazards,
        "team": {
            "liaison": {
                "id": str(alliance.liaison_id),
                "name": alliance.liaison_name,
                "email": alliance.liaison_email,
            },
            "partner_contact": {
                "name": contact.get("name", ""),
                "title": contact.get("title", ""),
                "email": contact.get("email", ""),
                "phone": contact.get("phone", ""),
            },
        },
        "terms": [term_data(t) for t in terms(session, alliance)],
        "status_change": None
        if change is None
        else {
            "status": change.status,
            "decided_on": change.decided_on.isoformat(),
            "effective_on": change.effective_on.isoformat(),
            "reason": change.reason,
            "decided_by": change.decided_by,
        },
        "ambassador_eligibility": {"eligible": eligible, "reason": why},
        "milestones": [milestone_data(m) for m in milestones(session, alliance.id)],
        "meetings": [meeting_data(m) for m in meetings(session, alliance.id)],
        "documents": [document_data(d) for d in documents(session, alliance.id)],
        "roundtables": [
            {
                "membership_id": str(membership.id),
                "roundtable_id": str(roundtable.id),
                "name": roundtable.name,
                "workgroup": roundtable.parent_id is not None,
                "joined_on": membership.joined_on.isoformat(),
                "left_on": membership.left_on.isoformat() if membership.left_on else None,
            }
            for membership, roundtable in rows
        ],
        "history": [
            {
                "action": e.action,
                "actor": e.actor,
                "changes": e.changes,
                "note": e.note,
                "at": e.at.isoformat(),
            }
            for e in audit.history(session, entity_type="alliance", entity_id=alliance.id)
        ],
    }


# -- who may change the work plan -------------------------------------------------------------


def check_work_plan_editor(
    alliance: Alliance, *, staff_id: uuid.UUID, roles: frozenset[str] | set[str]
) -> None:
    """The Coordinator, or this alliance's own liaison; anyone else is refused."""
    if "coordinator" in roles:
        return
    if "liaison" in roles and alliance.liaison_id == staff_id:
        return
    raise NotAllowed("Only the Coordinator or this alliance's liaison changes its work plan.")


def _open_for_work(session: Session, alliance_id: uuid.UUID) -> Alliance:
    alliance = get_alliance(session, alliance_id, lock=True)
    if alliance.status not in OPEN_STATUSES:
        raise AgreementError(
            f"This alliance is {alliance.status}: its work plan is kept as it was."
        )
    return alliance


def _record(
    session: Session,
    alliance: Alliance,
    *,
    action: str,
    actor: str,
    before: dict[str, Any],
    after: dict[str, Any],
    note: str = "",
) -> None:
    """One entry in the alliance's history; a change that changed nothing leaves none."""
    changes = _diff(before, after)
    if not changes:
        return
    audit.record(
        session,
        entity_type="alliance",
        entity_id=alliance.id,
        action=action,
        actor=actor,
        changes=changes,
        note=note,
    )


def _diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """Field-level changes; a record added or removed shows each of its fields."""
    filled_before, filled_after = dict(before), dict(after)
    for key in set(before) | set(after):
        old, new = before.get(key), after.get(key)
        if isinstance(new, dict) and old is None:
            filled_before[key] = dict.fromkeys(new)
        if isinstance(old, dict) and new is None:
            filled_after[key] = dict.fromkeys(old)
    return audit.diff_fields(filled_before, filled_after)


def _text(value: Any, *, field: str, limit: int, required: str | None = None) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidInput("Give text here.", field=field)
    value = value.strip()
    if required and not value:
        raise InvalidInput(required, field=field)
    if len(value) > limit:
        raise InvalidInput(f"At most {limit} characters.", field=field)
    return value


def _date(value: Any, *, field: str, required: str | None = None) -> date | None:
    if value is None:
        if required:
            raise InvalidInput(required, field=field)
        return None
    if not isinstance(value, date):
        raise InvalidInput("Give a date (YYYY-MM-DD).", field=field)
    return value


# -- the work plan: milestones ----------------------------------------------------------------


def _checked_milestone(values: Mapping[str, Any], *, today: date) -> dict[str, Any]:
    checked: dict[str, Any] = {
        "title": _text(
            values.get("title"), field="title", limit=200, required="Give the milestone a title."
        ),
        "description": _text(values.get("description"), field="description", limit=10000),
        "target_date": _date(
            values.get("target_date"), field="target_date", required="Give the target date."
        ),
        "responsible": _text(
            values.get("responsible"),
            field="responsible",
            limit=200,
            required="Say who is responsible: a person, the partner or the agency.",
        ),
    }
    status = values.get("status") or "planned"
    if status not in MILESTONE_STATUSES:
        raise InvalidInput(f"Choose one of: {', '.join(MILESTONE_STATUSES)}.", field="status")
    done_on = _date(values.get("done_on"), field="done_on")
    if status == "done":
        done_on = done_on or today
        if done_on > today:
            raise InvalidInput("A milestone is done on or before today.", field="done_on")
    elif done_on is not None:
        raise InvalidInput("Only a milestone that is done has a done date.", field="done_on")
    checked["status"] = status
    checked["done_on"] = done_on
    return checked


def _milestone_audit(values: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "milestone": {
            k: (v.isoformat() if isinstance(v, date) else v)
            for k, v in values.items()
            if k in MILESTONE_FIELDS
        }
    }


def add_milestone(
    session: Session,
    *,
    alliance_id: uuid.UUID,
    title: str,
    target_date: date,
    responsible: str,
    description: str = "",
    status: str = "planned",
    done_on: date | None = None,
    actor: str,
    today: date | None = None,
) -> Milestone:
    alliance = _open_for_work(session, alliance_id)
    checked = _checked_milestone(
        {
            "title": title,
            "description": description,
            "target_date": target_date,
            "responsible": responsible,
            "status": status,
            "done_on": done_on,
        },
        today=today or agency_today(),
    )
    milestone = Milestone(alliance_id=alliance.id, **checked)
    session.add(milestone)
    session.flush()
    _record(
        session,
        alliance,
        action="milestone added",
        actor=actor,
        before={},
        after=_milestone_audit(checked),
        note=f"milestone {milestone.id}",
    )
    return milestone


def update_milestone(
    session: Session,
    *,
    alliance_id: uuid.UUID,
    milestone_id: uuid.UUID,
    changes: Mapping[str, Any],
    actor: str,
    today: date | None = None,
) -> Milestone:
    """Change some of a milestone's fields; a milestone no longer done loses its done date."""
    unknown = sorted(set(changes) - set(MILESTONE_FIELDS))
    if unknown:
        raise InvalidInput("This cannot be changed here.", field=unknown[0])
    alliance = _open_for_work(session, alliance_id)
    milestone = session.get(Milestone, milestone_id)
    if milestone is None or milestone.alliance_id != alliance.id:
        raise NotFound("No such milestone in this alliance's work plan.")
    before = {f: getattr(milestone, f) for f in MILESTONE_FIELDS}
    merged = {**before, **changes}
    if "status" in changes and changes["status"] != "done" and "done_on" not in changes:
        merged["done_on"] = None
    checked = _checked_milestone(merged, today=today or agency_today())
    for field, value in checked.items():
        setattr(milestone, field, value)
    _record(
        session,
        alliance,
        action="milestone changed",
        actor=actor,
        before=_milestone_audit(before),
        after=_milestone_audit(checked),
        note=f"milestone {milestone.id}",
    )
    return milestone


# -- the implementation team's meetings -------------------------------------------------------


def add_meeting(
    session: Session,
    *,
    alliance_id: uuid.UUID,
    met_on: date,
    note: str = "",
    actor: str,
    today: date | None = None,
) -> TeamMeeting:
    alliance = _open_for_work(session, alliance_id)
    today = today or agency_today()
    met = _date(met_on, field="met_on", required="Give the date the team met.")
    assert met is not None
    note = _text(note, field="note", limit=10000)
    if met > today:
        raise InvalidInput("Record a meeting once it has taken place.", field="met_on")
    initial = terms(session, alliance)[0]
    if met < initial.signing_date:
        raise InvalidInput(
            "The implementation team meets from the signing date "
            f"({initial.signing_date.isoformat()}) on.",
            field="met_on",
        )
    taken = session.scalars(
        select(TeamMeeting.id).where(
            TeamMeeting.alliance_id == alliance.id, TeamMeeting.met_on == met
        )
    ).first()
    if taken is not None:
        raise InvalidInput("A meeting on that day is already recorded.", field="met_on")
    meeting = TeamMeeting(alliance_id=alliance.id, met_on=met, note=note)
    session.add(meeting)
    session.flush()
    _record(
        session,
        alliance,
        action="meeting recorded",
        actor=actor,
        before={},
        after={"meeting": {"met_on": met.isoformat(), "note": note}},
        note=f"meeting {meeting.id}",
    )
    return meeting


def remove_meeting(
    session: Session, *, alliance_id: uuid.UUID, meeting_id: uuid.UUID, actor: str
) -> None:
    alliance = _open_for_work(session, alliance_id)
    meeting = session.get(TeamMeeting, meeting_id)
    if meeting is None or meeting.alliance_id != alliance.id:
        raise NotFound("No such meeting for this alliance.")
    _record(
        session,
        alliance,
        action="meeting removed",
        actor=actor,
        before={"meeting": {"met_on": meeting.met_on.isoformat(), "note": meeting.note}},
        after={},
        note=f"meeting {meeting.id}",
    )
    session.delete(meeting)


# -- documents --------------------------------------------------------------------------------


def _checked_url(url: Any) -> str:
    url = _text(url, field="url", limit=2000)
    if url:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc or " " in url:
            raise InvalidInput(
                "Give a web address starting with https:// (or http://).", field="url"
            )
    return url


def add_document(
    session: Session,
    *,
    alliance_id: uuid.UUID,
    title: str,
    kind: str,
    url: str = "",
    description: str = "",
    actor: str,
) -> AllianceDocument:
    """A link to a document, or a description of where it is kept."""
    alliance = _open_for_work(session, alliance_id)
    title = _text(title, field="title", limit=200, required="Give the document a title.")
    if kind not in DOCUMENT_KINDS:
        raise InvalidInput(f"Choose one of: {', '.join(DOCUMENT_KINDS)}.", field="kind")
    url = _checked_url(url)
    description = _text(description, field="description", limit=10000)
    if not url and not description:
        raise InvalidInput("Give a link to the document or describe where it is kept.", field="url")
    document = AllianceDocument(
        alliance_id=alliance.id,
        title=title,
        kind=kind,
        url=url,
        description=description,
        added_by=actor,
    )
    session.add(document)
    session.flush()
    _record(
        session,
        alliance,
        action="document added",
        actor=actor,
        before={},
        after={"document": {"title": title, "kind": kind, "url": url, "description": description}},
        note=f"document {document.id}",
    )
    return document


def remove_document(
    session: Session, *, alliance_id: uuid.UUID, document_id: uuid.UUID, actor: str
) -> None:
    alliance = _open_for_work(session, alliance_id)
    document = session.get(AllianceDocument, document_id)
    if document is None or document.alliance_id != alliance.id:
        raise NotFound("No such document for this alliance.")
    _record(
        session,
        alliance,
        action="document removed",
        actor=actor,
        before={
            "document": {
                "title": document.title,
                "kind": document.kind,
                "url": document.url,
                "description": document.description,
            }
        },
        after={},
        note=f"document {document.id}",
    )
    session.delete(document)


# -- decisions on the agreement ---------------------------------------------------------------


def _agreement_fields(alliance: Alliance) -> dict[str, Any]:
    return {
        "status": alliance.status,
        "signing_date": alliance.signing_date.isoformat(),
        "term_years": alliance.term_years,
        "ends_on": alliance.ends_on.isoformat(),
        "renewals": alliance.renewals,
        "ended_on": alliance.ended_on.isoformat() if alliance.ended_on else None,
    }


def _change_payload(alliance: Alliance, decided_at: Any) -> dict[str, Any]:
    contact = alliance.contact
    return {
        "alliance_id": alliance.id,
        "proposal_id": alliance.proposal_id,
        "reference": alliance.reference,
        "partner_name": alliance.partner_name,
        "contact": {
            "name": contact.get("name", ""),
            "title": contact.get("title", ""),
            "email": contact["email"],
            "phone": contact.get("phone", ""),
        },
        "liaison": {
            "id": alliance.liaison_id,
            "name": alliance.liaison_name,
            "email": alliance.liaison_email,
        },
        "decided_at": decided_at,
    }


def _ended(alliance: Alliance) -> None:
    if alliance.status in ("concluded", "terminated"):
        ended = alliance.ended_on.isoformat() if alliance.ended_on else "already"
        raise AgreementError(
            f"This alliance was {alliance.status} ({ended}): nothing more can be decided."
        )


def _close_memberships(session: Session, alliance: Alliance, *, on: date, actor: str) -> None:
    """Open roundtable memberships end when the alliance does."""
    for membership in session.scalars(
        select(RoundtableMembership).where(
            RoundtableMembership.alliance_id == alliance.id,
            or_(RoundtableMembership.left_on.is_(None), RoundtableMembership.left_on > on),
        )
    ):
        before = membership.left_on.isoformat() if membership.left_on else None
        membership.left_on = max(on, membership.joined_on)
        for entity_type, entity_id in (
            ("alliance", alliance.id),
            ("roundtable", membership.roundtable_id),
        ):
            audit.record(
                session,
                entity_type=entity_type,
                entity_id=entity_id,
                action="left roundtable",
                actor=actor,
                changes={"left_on": [before, membership.left_on.isoformat()]},
                note=f"membership {membership.id}: the alliance ended",
            )


def renew(
    session: Session,
    *,
    alliance_id: uuid.UUID,
    signing_date: date,
    term_years: int,
    actor: str,
    outbox: Outbox,
    today: date | None = None,
) -> Alliance:
    """A new term from a new signing date, for two to five years."""
    today = today or agency_today()
    alliance = get_alliance(session, alliance_id, lock=True)
    _ended(alliance)
    if alliance.status != "active":
        raise AgreementError("Only an active alliance is renewed (Ambassadors are not).")
    signed = _date(signing_date, field="signing_date", required="Give the new signing date.")
    assert signed is not None
    if isinstance(term_years, bool) or not isinstance(term_years, int):
        raise InvalidInput("Give the term in whole years.", field="term_years")
    if term_years not in RENEWAL_TERM_YEARS:
        raise InvalidInput(
            f"A renewal is for {RENEWAL_TERM_YEARS.start} to {RENEWAL_TERM_YEARS.stop - 1} years.",
            field="term_years",
        )
    if signed <= alliance.signing_date:
        raise InvalidInput(
            "The renewal is signed after the current term's signing date "
            f"({alliance.signing_date.isoformat()}).",
            field="signing_date",
        )
    if signed > today:
        raise InvalidInput("Record the renewal once it is signed.", field="signing_date")
    recorded = session.scalars(
        select(AllianceTerm.id).where(AllianceTerm.alliance_id == alliance.id).limit(1)
    ).first()
    if recorded is None:  # the first renewal: keep the initial term as its own row
        session.add(
            AllianceTerm(
                alliance_id=alliance.id,
                number=0,
                signing_date=alliance.signing_date,
                term_years=alliance.term_years,
                ends_on=alliance.ends_on,
                decided_by="review",
            )
        )
    before = _agreement_fields(alliance)
    previous_ends_on = alliance.ends_on
    alliance.renewals += 1
    alliance.signing_date = signed
    alliance.term_years = term_years
    alliance.ends_on = term_end(signed, term_years)
    session.add(
        AllianceTerm(
            alliance_id=alliance.id,
            number=alliance.renewals,
            signing_date=signed,
            term_years=term_years,
            ends_on=alliance.ends_on,
            decided_by=actor,
        )
    )
    now = utcnow()
    _record(
        session,
        alliance,
        action="renewed",
        actor=actor,
        before=before,
        after=_agreement_fields(alliance),
    )
    outbox.add(
        session,
        new_event(
            "alliance.renewed",
            producer="review",
            payload={
                **_change_payload(alliance, now),
                "renewal": alliance.renewals,
                "signing_date": alliance.signing_date,
                "term_years": alliance.term_years,
                "ends_on": alliance.ends_on,
                "previous_ends_on": previous_ends_on,
            },
        ),
    )
    return alliance


def _end(
    session: Session,
    alliance: Alliance,
    *,
    status: str,
    decided_on: date,
    effective_on: date,
    reason: str,
    actor: str,
) -> dict[str, Any]:
    before = _agreement_fields(alliance)
    alliance.status = status
    alliance.ended_on = effective_on
    session.add(
        AllianceStatusChange(
            alliance_id=alliance.id,
            status=status,
            decided_on=decided_on,
            effective_on=effective_on,
            reason=reason,
            decided_by=actor,
        )
    )
    _record(
        session,
        alliance,
        action=status,
        actor=actor,
        before=before,
        after=_agreement_fields(alliance),
        note=reason,
    )
    _close_memberships(session, alliance, on=effective_on, actor=actor)
    return _change_payload(alliance, utcnow())


def _check_end_date(
    session: Session, alliance: Alliance, *, day: date, field: str, what: str, today: date
) -> None:
    """Not before the initial signing date, and not in the future."""
    initial = terms(session, alliance)[0]
    if day < initial.signing_date:
        raise InvalidInput(
            f"{what} cannot come before the signing date ({initial.signing_date.isoformat()}).",
            field=field,
        )
    if day > today:
        raise InvalidInput(f"{what} cannot be in the future.", field=field)


def conclude(
    session: Session,
    *,
    alliance_id: uuid.UUID,
    concluded_on: date | None = None,
    reason: str = "",
    actor: str,
    outbox: Outbox,
    today: date | None = None,
) -> Alliance:
    """The agency concludes the alliance (today unless another past day is given)."""
    today = today or agency_today()
    alliance = get_alliance(session, alliance_id, lock=True)
    _ended(alliance)
    day = _date(concluded_on, field="concluded_on") or today
    reason = _text(reason, field="reason", limit=10000)
    _check_end_date(
        session, alliance, day=day, field="concluded_on", what="The conclusion", today=today
    )
    payload = _end(
        session,
        alliance,
        status="concluded",
        decided_on=day,
        effective_on=day,
        reason=reason,
        actor=actor,
    )
    outbox.add(
        session,
        new_event(
            "alliance.concluded", producer="review", payload={**payload, "concluded_on": day}
        ),
    )
    return alliance


def termination_effective_on(notice_date: date) -> date:
    """A termination takes effect 30 days after the written notice is dated."""
    return notice_date + TERMINATION_NOTICE


def terminate(
    session: Session,
    *,
    alliance_id: uuid.UUID,
    notice_date: date,
    reason: str = "",
    actor: str,
    outbox: Outbox,
    today: date | None = None,
) -> Alliance:
    """Terminate with 30 days' written notice: ends on the notice date + 30 days."""
    today = today or agency_today()
    alliance = get_alliance(session, alliance_id, lock=True)
    _ended(alliance)
    notice = _date(notice_date, field="notice_date", required="Give the date of the notice.")
    assert notice is not None
    reason = _text(reason, field="reason", limit=10000)
    _check_end_date(
        session,
        alliance,
        day=notice,
        field="notice_date",
        what="The written notice",
        today=today,
    )
    effective_on = termination_effective_on(notice)
    payload = _end(
        session,
        alliance,
        status="terminated",
        decided_on=notice,
        effective_on=effective_on,
        reason=reason,
        actor=actor,
    )
    outbox.add(
        session,
        new_event(
            "alliance.terminated",
            producer="review",
            payload={**payload, "notice_date": notice, "effective_on": effective_on},
        ),
    )
    return alliance


def designate_ambassador(
    session: Session,
    *,
    alliance_id: uuid.UUID,
    designated_on: date | None = None,
    reason: str = "",
    actor: str,
    outbox: Outbox,
    today: date | None = None,
) -> Alliance:
    """Name the partner an Ambassador: recognition, and no more reports."""
    today = today or agency_today()
    alliance = get_alliance(session, alliance_id, lock=True)
    _ended(alliance)
    day = _date(designated_on, field="designated_on") or today
    reason = _text(reason, field="reason", limit=10000)
    if day > today:
        raise InvalidInput("The designation cannot be in the future.", field="designated_on")
    eligible, why = ambassador_eligibility(session, alliance, on=day)
    if not eligible:
        raise AgreementError(why)
    before = _agreement_fields(alliance)
    alliance.status = "ambassador"
    session.add(
        AllianceStatusChange(
            alliance_id=alliance.id,
            status="ambassador",
            decided_on=day,
            effective_on=day,
            reason=reason,
            decided_by=actor,
        )
    )
    _record(
        session,
        alliance,
        action="ambassador designated",
        actor=actor,
        before=before,
        after={**_agreement_fields(alliance), "ambassador_since": day.isoformat()},
        note=reason,
    )
    outbox.add(
        session,
        new_event(
            "alliance.ambassador_designated",
            producer="review",
            payload={**_change_payload(alliance, utcnow()), "designated_on": day},
        ),
    )
    return alliance


def ambassador_since(session: Session, alliance_ids: list[uuid.UUID]) -> dict[uuid.UUID, date]:
    """When each of these alliances was named an Ambassador (those that were)."""
    if not alliance_ids:
        return {}
    rows = session.execute(
        select(AllianceStatusChange.alliance_id, AllianceStatusChange.decided_on).where(
            AllianceStatusChange.alliance_id.in_(alliance_ids),
            AllianceStatusChange.status == "ambassador",
        )
    ).all()
    return {alliance_id: day for alliance_id, day in rows}
