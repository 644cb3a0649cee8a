"""The agreement's life from its approval, and who may change it.

Approval and signing are two steps. Releasing an approval creates the alliance awaiting its
signing (``awaiting_signature``: no signing date, no end of term yet; the term in years
chosen at approval). Once the agreement is signed, staff record the day it was signed
(``record_signing``): the alliance becomes active and ``alliance.signed`` goes out, from
which reporting schedules the reports and notify welcomes the partner and the liaison.

The liaison and the partner's contact form the implementation team; they keep a work plan
(milestones with target dates and who is responsible), the dates they met, and the
alliance's documents (links or descriptions; no files are stored). The agency decides the
rest: a renewal, a conclusion, a termination with 30 days' written notice, and the
Ambassador designation. Each decision changes the alliance and adds its event to review's
outbox in the caller's transaction, so both commit together or not at all.

Who may do what (each write below checks it itself; views and APIs never do):

- any staff member reads every alliance: its page, work plan, meetings, documents and
  Ambassador eligibility (a liaison's scope hides nothing; ``mine`` only filters the list);
- the Coordinator, or the alliance's own liaison, changes its work plan, meetings and
  documents (``may_keep_work_plan``), and only while it awaits its signing, is active or is
  an Ambassador;
- the Coordinator alone records the signing, renews, concludes, terminates and names
  Ambassadors (``check_decider``); an alliance awaiting its signing is none of the latter
  four until its signing is recorded;
- nobody changes an alliance whose partner they declared a conflict of interest with, the
  Coordinator included (``check_no_conflict``); reading it stays open.

Plain functions over a SQLAlchemy session with keyword-only arguments and the acting staff
member; the caller owns the transaction and the functions never commit. Every change goes
into the audit trail with its field-level diff. Refusals are ``shared.domain``'s typed
errors: ``NotFound``, ``Forbidden`` (who may not), ``Conflict`` (a step the alliance's state
does not allow) and ``Invalid`` (naming the field); each carries a message for staff.

Dates are calendar days in the agency's time zone; ``today`` is that day, given by the caller
(``people.today``).

Signing. Recorded by the Coordinator for an alliance awaiting it: the day the agreement was
signed (not in the future, not before the day the approval was released) and the initial
term in years (one to five; the approval's unless changed). The initial term's row (number
0) is written then, with who recorded it.

Terms. A term runs from its signing date through ``shared.dates.term_end`` (signing date plus
the years, less one day; 29 February plus a year is 28 February). Number 0 is the initial
term, 1, 2, ... the renewals; the rows are in ``alliance_terms`` from the recorded signing,
or, for an alliance signed at its approval before signing was a step of its own, once the
first renewal is decided (until then its own signing date, term and end are the initial
term's). An alliance awaiting its signing has no term yet.

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
unless given, never in the future) when all of these hold (``ambassador_eligibility``):

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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Row, Select, or_, select
from sqlalchemy.orm import Session

from services.review import audit, people
from services.review.alliances.models import (
    Alliance,
    AllianceDocument,
    AllianceStatusChange,
    AllianceTerm,
    Milestone,
    Roundtable,
    RoundtableMembership,
    TeamMeeting,
)
from services.review.base import AuditEntry
from services.review.staff import domain as accounts
from shared.agency import ORGANIZATION_TYPES
from shared.config import load_agency_profile
from shared.dates import term_end
from shared.db import utcnow
from shared.domain import Acting, Conflict, Forbidden, Invalid, NotFound
from shared.events import new_event
from shared.outbox import Outbox
from shared.spreadsheets import excel_safe, plain
from shared.times import in_agency_zone

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
    "awaiting_signature": "Awaiting signature",
    "active": "Active",
    "ambassador": "Ambassador",
    "concluded": "Concluded",
    "terminated": "Terminated",
}
# The roles that may try each kind of change, for the sign-in gates of pages and endpoints;
# the functions below decide (a liaison keeps only their own alliances' work plans).
WORK_PLAN_KEEPERS = ("coordinator", "liaison")
DECIDERS = ("coordinator",)
AWAITING_SIGNATURE = "awaiting_signature"
# Who can still be decided on (renewed, concluded, terminated, named an Ambassador).
OPEN_STATUSES = ("active", "ambassador")
# Whose work plan, meetings and documents can still change: the team may plan before signing.
WORK_PLAN_STATUSES = (AWAITING_SIGNATURE, *OPEN_STATUSES)
INITIAL_TERM_YEARS = range(1, 6)  # one to five years, as at approval
RENEWAL_TERM_YEARS = range(2, 6)  # two to five years
TERMINATION_NOTICE = timedelta(days=30)
MILESTONE_FIELDS = ("title", "description", "target_date", "responsible", "status", "done_on")


@dataclass(frozen=True)
class Term:
    number: int
    signing_date: date
    term_years: int
    ends_on: date

    @property
    def kind(self) -> str:
        return "initial" if self.number == 0 else "renewal"


@dataclass(frozen=True)
class Eligibility:
    """Whether the partner may be named an Ambassador on a day, and why (for staff)."""

    eligible: bool
    reason: str


@dataclass(frozen=True)
class Participation:
    """A roundtable or workgroup the alliance is or was in."""

    membership: RoundtableMembership
    roundtable: Roundtable

    @property
    def workgroup(self) -> bool:
        return self.roundtable.parent_id is not None


@dataclass(frozen=True)
class AlliancePage:
    """One alliance as a staff member sees it: the alliance's own attributes (read through
    this object), and its terms, history, work plan and what the reader may do with it."""

    alliance: Alliance
    terms: list[Term]
    status_change: AllianceStatusChange | None
    ambassador_eligibility: Eligibility
    milestones: list[Milestone]
    meetings: list[TeamMeeting]
    documents: list[AllianceDocument]
    roundtables: list[Participation]
    history: list[AuditEntry]
    names: dict[str, str]  # the name to show for each staff e-mail address on the page
    approved_on: date  # the day the approval was released
    is_open: bool  # awaiting signature, active or an Ambassador: its work plan can change
    may_keep_work_plan: bool  # the reader may change its work plan, meetings, documents now
    may_decide: bool  # the reader may renew, conclude, terminate, name it an Ambassador
    may_record_signing: bool  # it awaits its signing and the reader may record it

    @property
    def awaiting_signature(self) -> bool:
        return self.alliance.status == AWAITING_SIGNATURE

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.__dict__["alliance"], name)


# -- who may do what --------------------------------------------------------------------------


def check_reader(acting: Acting) -> None:
    """Any staff member reads alliances (whatever conflict they declared): those of their
    offices (``check_office``) and those they are the liaison of."""
    people.require_staff(acting)


def check_office(alliance: Alliance, acting: Acting) -> None:
    """An alliance of an office outside ``acting``'s is not theirs to read or change, unless
    they are its liaison."""
    if not people.is_liaison_of(acting, alliance.liaison_id):
        people.check_office(acting, alliance.office, "This alliance")


def check_no_conflict(alliance: Alliance, acting: Acting) -> None:
    """Nobody changes an alliance whose partner they declared a conflict of interest with,
    the Coordinator included (reading it stays open: the directory publishes it anyway)."""
    if acting.in_conflict_with(alliance.partner_name):
        raise Forbidden(
            f"You declared a conflict of interest with {alliance.partner_name}: "
            "another staff member must make this change."
        )


def may_keep_work_plan(alliance: Alliance, acting: Acting) -> bool:
    """The Coordinator, or this alliance's own liaison (whatever the alliance's state), unless
    they declared a conflict of interest with the partner."""
    if acting.in_conflict_with(alliance.partner_name):
        return False
    if acting.is_coordinator:
        return True
    return people.is_liaison_of(acting, alliance.liaison_id)


def check_decider(acting: Acting) -> None:
    """The signing, renewal, conclusion, termination and the Ambassador designation: the
    Coordinator."""
    if not acting.is_coordinator:
        raise Forbidden(
            "Only the Coordinator records the signing, renews, concludes or terminates an "
            "alliance and names Ambassadors."
        )


def status_label(status: str) -> str:
    """The status as staff read it, in a sentence ("awaiting signature", "concluded")."""
    return STATUSES.get(status, status).lower()


def approved_on(alliance: Alliance) -> date:
    """The day (in the agency's zone) the approval was released: the alliance was created then."""
    return in_agency_zone(alliance.created_at).date()


def _check_signed(alliance: Alliance, what: str) -> None:
    """Renewal, conclusion, termination and the designation wait for the signing."""
    if alliance.status == AWAITING_SIGNATURE:
        raise Conflict(
            f"This alliance is awaiting signature: record the signing before it can be {what}."
        )


def alliance_for_work_plan(session: Session, *, alliance_id: uuid.UUID, acting: Acting) -> Alliance:
    """The alliance, locked, when ``acting`` may change its work plan, meetings and documents
    now. Refused in this order: no such alliance, a declared conflict, not its keeper, no
    longer open."""
    alliance = get_alliance(session, alliance_id, lock=True)
    check_office(alliance, acting)
    check_no_conflict(alliance, acting)
    if not may_keep_work_plan(alliance, acting):
        raise Forbidden("Only the Coordinator or this alliance's liaison changes its work plan.")
    if alliance.status not in WORK_PLAN_STATUSES:
        raise Conflict(
            f"This alliance is {status_label(alliance.status)}: its work plan is kept as it was."
        )
    return alliance


def alliance_for_decision(session: Session, *, alliance_id: uuid.UUID, acting: Acting) -> Alliance:
    """The alliance, locked, when ``acting`` may decide on its agreement (the Coordinator,
    not in conflict with the partner)."""
    check_decider(acting)
    alliance = get_alliance(session, alliance_id, lock=True)
    people.check_office(acting, alliance.office, "This alliance")
    check_no_conflict(alliance, acting)
    return alliance


# -- the pure rules ---------------------------------------------------------------------------


def renewed_term(number: int, signing_date: date, term_years: int) -> Term:
    return Term(number, signing_date, term_years, term_end(signing_date, term_years))


def termination_effective_on(notice_date: date) -> date:
    """A termination takes effect 30 days after the written notice is dated."""
    return notice_date + TERMINATION_NOTICE


def ambassador_eligibility(status: str, terms: Sequence[Term], *, on: date) -> Eligibility:
    """Whether an alliance with this status and these terms (the initial one first) may be
    named an Ambassador on ``on``, and why."""
    if status == "ambassador":
        return Eligibility(False, "This partner is an Ambassador already.")
    if status != "active":
        return Eligibility(
            False, f"This alliance is {status_label(status)}: only an active alliance qualifies."
        )
    initial = terms[0]
    if not any(t.number >= 1 and t.signing_date <= on for t in terms):
        return Eligibility(
            False,
            "An Ambassador has completed an initial term and one renewal: "
            "this alliance has not been renewed yet.",
        )
    if initial.ends_on >= on:
        return Eligibility(
            False,
            "An Ambassador has completed an initial term and one renewal: the initial term "
            f"runs through {initial.ends_on.isoformat()}.",
        )
    return Eligibility(
        True,
        f"The initial term ended on {initial.ends_on.isoformat()} and the alliance was renewed.",
    )


# -- reading ----------------------------------------------------------------------------------


def get_alliance(session: Session, alliance_id: uuid.UUID, *, lock: bool = False) -> Alliance:
    query = select(Alliance).where(Alliance.id == alliance_id)
    alliance = session.scalars(query.with_for_update() if lock else query).first()
    if alliance is None:
        raise NotFound("No such alliance.")
    return alliance


def read_alliance(session: Session, *, alliance_id: uuid.UUID, acting: Acting) -> Alliance:
    check_reader(acting)
    alliance = get_alliance(session, alliance_id)
    check_office(alliance, acting)
    return alliance


def _listed(
    query: Select[Any], acting: Acting, *, status: str | None, mine: bool, office: str
) -> Select[Any]:
    """``query`` narrowed to the alliances ``acting`` may list, by partner name."""
    check_reader(acting)
    query = query.order_by(Alliance.partner_name, Alliance.id)
    if status:
        query = query.where(Alliance.status == status)
    if mine:
        query = query.where(Alliance.liaison_id == acting.staff_id)
    scope = people.scope(acting)
    if scope is not None:
        query = query.where(or_(Alliance.office.in_(scope), Alliance.liaison_id == acting.staff_id))
    if office:
        query = query.where(Alliance.office.in_(load_agency_profile().offices.subtree(office)))
    return query


def list_alliances(
    session: Session,
    *,
    acting: Acting,
    status: str | None = None,
    mine: bool = False,
    office: str = "",
) -> list[Alliance]:
    """Alliances by partner name: those of ``acting``'s offices and those they are the liaison
    of; ``mine``: only the latter; ``office``: that office's and its offices'."""
    query = _listed(select(Alliance), acting, status=status, mine=mine, office=office)
    return list(session.scalars(query))


# What a list of alliances shows of each (AllianceSummaryOut): their stored partner, contact,
# goals and hazards left unread (decoding them was most of a long list's time).
SUMMARY_COLUMNS = (
    Alliance.id,
    Alliance.reference,
    Alliance.partner_name,
    Alliance.status,
    Alliance.division,
    Alliance.office,
    Alliance.liaison_id,
    Alliance.liaison_name,
    Alliance.signing_date,
    Alliance.term_years,
    Alliance.ends_on,
    Alliance.renewals,
    Alliance.ended_on,
)


def alliance_summaries(
    session: Session,
    *,
    acting: Acting,
    status: str | None = None,
    mine: bool = False,
    office: str = "",
) -> list[Row[Any]]:
    """The alliances ``list_alliances`` lists, each as its ``SUMMARY_COLUMNS`` (read like an
    alliance's attributes)."""
    query = _listed(select(*SUMMARY_COLUMNS), acting, status=status, mine=mine, office=office)
    return list(session.execute(query))


EXPORT_HEADER = (
    "agreement number",
    "partner",
    "organization type",
    "city",
    "state",
    "website",
    "division",
    "office",
    "status",
    "signing date",
    "term years",
    "ends on",
    "renewals",
    "ended on",
    "liaison",
    "liaison e-mail",
    "contact",
    "contact e-mail",
    "hazards",
)


def export_rows(
    session: Session, *, acting: Acting, for_spreadsheet: bool = True
) -> list[list[str]]:
    """The alliances ``list_alliances`` shows ``acting`` as rows (header first), codes as the
    agency's words; cells formula-safe unless not ``for_spreadsheet`` (JSON)."""
    profile = load_agency_profile()
    cell = excel_safe if for_spreadsheet else plain

    def office(slug: str | None) -> str:
        slug = slug or profile.offices.top.slug
        return profile.offices.name(slug) if slug in profile.offices else slug

    def day(value: date | None) -> str:
        return value.isoformat() if value else ""

    out = [list(EXPORT_HEADER)]
    for alliance in list_alliances(session, acting=acting):
        partner, contact = alliance.partner or {}, alliance.contact or {}
        address = partner.get("address") or {}
        kind = str(partner.get("type") or "")
        out.append(
            [
                cell(value)
                for value in (
                    alliance.reference,
                    alliance.partner_name,
                    ORGANIZATION_TYPES.get(kind, kind),
                    address.get("city", ""),
                    address.get("state", ""),
                    partner.get("website", ""),
                    profile.divisions.get(alliance.division, alliance.division),
                    office(alliance.office),
                    STATUSES.get(alliance.status, alliance.status),
                    day(alliance.signing_date),
                    alliance.term_years,
                    day(alliance.ends_on),
                    alliance.renewals,
                    day(alliance.ended_on),
                    alliance.liaison_name,
                    alliance.liaison_email,
                    contact.get("name", ""),
                    contact.get("email", ""),
                    ", ".join(profile.hazards.get(h, h) for h in alliance.hazards or []),
                )
            ]
        )
    return out


def terms(session: Session, alliance: Alliance) -> list[Term]:
    """Every term, the initial one first; the last is the current term. None while the
    alliance awaits its signing."""
    rows = session.scalars(
        select(AllianceTerm)
        .where(AllianceTerm.alliance_id == alliance.id)
        .order_by(AllianceTerm.number)
    ).all()
    if rows:
        return [Term(r.number, r.signing_date, r.term_years, r.ends_on) for r in rows]
    if alliance.signing_date is None or alliance.ends_on is None:
        return []
    return [Term(0, alliance.signing_date, alliance.term_years, alliance.ends_on)]


def status_change(session: Session, alliance: Alliance) -> AllianceStatusChange | None:
    """The latest conclusion, termination or designation, if any."""
    return session.scalars(
        select(AllianceStatusChange)
        .where(AllianceStatusChange.alliance_id == alliance.id)
        .order_by(AllianceStatusChange.id.desc())
        .limit(1)
    ).first()


def eligibility(session: Session, alliance: Alliance, *, on: date) -> Eligibility:
    return ambassador_eligibility(alliance.status, terms(session, alliance), on=on)


def ambassador_eligibility_of(
    session: Session, *, alliance_id: uuid.UUID, acting: Acting, on: date
) -> Eligibility:
    """Whether the partner may be named an Ambassador on ``on`` (today), and why."""
    alliance = read_alliance(session, alliance_id=alliance_id, acting=acting)
    return eligibility(session, alliance, on=on)


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


def work_plan(session: Session, *, alliance_id: uuid.UUID, acting: Acting) -> list[Milestone]:
    """The work plan's milestones by target date."""
    return milestones(session, read_alliance(session, alliance_id=alliance_id, acting=acting).id)


def team_meetings(session: Session, *, alliance_id: uuid.UUID, acting: Acting) -> list[TeamMeeting]:
    """The days the implementation team met."""
    return meetings(session, read_alliance(session, alliance_id=alliance_id, acting=acting).id)


def alliance_documents(
    session: Session, *, alliance_id: uuid.UUID, acting: Acting
) -> list[AllianceDocument]:
    """The alliance's documents: links or descriptions."""
    return documents(session, read_alliance(session, alliance_id=alliance_id, acting=acting).id)


def participations(session: Session, alliance: Alliance) -> list[Participation]:
    rows = session.execute(
        select(RoundtableMembership, Roundtable)
        .join(Roundtable, Roundtable.id == RoundtableMembership.roundtable_id)
        .where(RoundtableMembership.alliance_id == alliance.id)
        .order_by(RoundtableMembership.joined_on, Roundtable.name)
    ).all()
    return [Participation(membership, roundtable) for membership, roundtable in rows]


def alliance_page(
    session: Session, *, alliance_id: uuid.UUID, acting: Acting, today: date
) -> AlliancePage:
    """Everything staff see about one alliance: agreement, team, work plan, history."""
    alliance = read_alliance(session, alliance_id=alliance_id, acting=acting)
    all_terms = terms(session, alliance)
    is_open = alliance.status in WORK_PLAN_STATUSES
    may_decide_on_it = (
        acting.is_coordinator
        and not acting.in_conflict_with(alliance.partner_name)
        and people.sees_office(acting, alliance.office)
    )
    change = status_change(session, alliance)
    history = audit.history(session, entity_type="alliance", entity_id=alliance.id)
    found_documents = documents(session, alliance.id)
    named = [entry.actor for entry in history] + [d.added_by for d in found_documents]
    return AlliancePage(
        alliance=alliance,
        terms=all_terms,
        status_change=change,
        ambassador_eligibility=ambassador_eligibility(alliance.status, all_terms, on=today),
        milestones=milestones(session, alliance.id),
        meetings=meetings(session, alliance.id),
        documents=found_documents,
        roundtables=participations(session, alliance),
        history=history,
        names=accounts.names(session, [*named, change.decided_by if change else None]),
        approved_on=approved_on(alliance),
        is_open=is_open,
        may_keep_work_plan=is_open and may_keep_work_plan(alliance, acting),
        may_decide=alliance.status in OPEN_STATUSES and may_decide_on_it,
        may_record_signing=alliance.status == AWAITING_SIGNATURE and may_decide_on_it,
    )


# -- recording changes ------------------------------------------------------------------------


def _record(
    session: Session,
    alliance: Alliance,
    *,
    action: str,
    acting: Acting,
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
        actor=acting.email,
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
        raise Invalid("Give text here.", field=field)
    text = value.strip()
    if required and not text:
        raise Invalid(required, field=field)
    if len(text) > limit:
        raise Invalid(f"At most {limit} characters.", field=field)
    return text


def _date(value: Any, *, field: str, required: str | None = None) -> date | None:
    if value is None:
        if required:
            raise Invalid(required, field=field)
        return None
    if not isinstance(value, date) or isinstance(value, datetime):
        raise Invalid("Give a date (YYYY-MM-DD).", field=field)
    return value


def _required_date(value: Any, *, field: str, required: str) -> date:
    day = _date(value, field=field, required=required)
    assert day is not None
    return day


# -- the work plan: milestones ----------------------------------------------------------------


def checked_milestone(values: Mapping[str, Any], *, today: date) -> dict[str, Any]:
    """A milestone's fields as they are stored; a done one is done today unless a day is given."""
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
        raise Invalid(f"Choose one of: {', '.join(MILESTONE_STATUSES)}.", field="status")
    done_on = _date(values.get("done_on"), field="done_on")
    if status == "done":
        done_on = done_on or today
        if done_on > today:
            raise Invalid("A milestone is done on or before today.", field="done_on")
    elif done_on is not None:
        raise Invalid("Only a milestone that is done has a done date.", field="done_on")
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
    acting: Acting,
    alliance_id: uuid.UUID,
    title: str,
    target_date: date,
    responsible: str,
    description: str = "",
    status: str = "planned",
    done_on: date | None = None,
    today: date,
) -> Milestone:
    alliance = alliance_for_work_plan(session, alliance_id=alliance_id, acting=acting)
    checked = checked_milestone(
        {
            "title": title,
            "description": description,
            "target_date": target_date,
            "responsible": responsible,
            "status": status,
            "done_on": done_on,
        },
        today=today,
    )
    milestone = Milestone(alliance_id=alliance.id, **checked)
    session.add(milestone)
    session.flush()
    _record(
        session,
        alliance,
        action="milestone added",
        acting=acting,
        before={},
        after=_milestone_audit(checked),
        note=f"milestone {milestone.id}",
    )
    return milestone


def update_milestone(
    session: Session,
    *,
    acting: Acting,
    alliance_id: uuid.UUID,
    milestone_id: uuid.UUID,
    changes: Mapping[str, Any],
    today: date,
) -> Milestone:
    """Change some of a milestone's fields; a milestone no longer done loses its done date."""
    alliance = alliance_for_work_plan(session, alliance_id=alliance_id, acting=acting)
    unknown = sorted(set(changes) - set(MILESTONE_FIELDS))
    if unknown:
        raise Invalid("This cannot be changed here.", field=unknown[0])
    milestone = session.get(Milestone, milestone_id)
    if milestone is None or milestone.alliance_id != alliance.id:
        raise NotFound("No such milestone in this alliance's work plan.")
    before = {f: getattr(milestone, f) for f in MILESTONE_FIELDS}
    merged = {**before, **changes}
    if "status" in changes and changes["status"] != "done" and "done_on" not in changes:
        merged["done_on"] = None
    checked = checked_milestone(merged, today=today)
    for field, value in checked.items():
        setattr(milestone, field, value)
    _record(
        session,
        alliance,
        action="milestone changed",
        acting=acting,
        before=_milestone_audit(before),
        after=_milestone_audit(checked),
        note=f"milestone {milestone.id}",
    )
    return milestone


# -- the implementation team's meetings -------------------------------------------------------


def add_meeting(
    session: Session,
    *,
    acting: Acting,
    alliance_id: uuid.UUID,
    met_on: date,
    note: str = "",
    today: date,
) -> TeamMeeting:
    alliance = alliance_for_work_plan(session, alliance_id=alliance_id, acting=acting)
    met = _required_date(met_on, field="met_on", required="Give the date the team met.")
    note = _text(note, field="note", limit=10000)
    if met > today:
        raise Invalid("Record a meeting once it has taken place.", field="met_on")
    signed = terms(session, alliance)
    if not signed:  # awaiting its signing: the team may meet to prepare it
        if met < approved_on(alliance):
            raise Invalid(
                "The implementation team meets from the approval "
                f"({approved_on(alliance).isoformat()}) on.",
                field="met_on",
            )
    elif met < signed[0].signing_date:
        raise Invalid(
            "The implementation team meets from the signing date "
            f"({signed[0].signing_date.isoformat()}) on.",
            field="met_on",
        )
    taken = session.scalars(
        select(TeamMeeting.id).where(
            TeamMeeting.alliance_id == alliance.id, TeamMeeting.met_on == met
        )
    ).first()
    if taken is not None:
        raise Invalid("A meeting on that day is already recorded.", field="met_on")
    meeting = TeamMeeting(alliance_id=alliance.id, met_on=met, note=note)
    session.add(meeting)
    session.flush()
    _record(
        session,
        alliance,
        action="meeting recorded",
        acting=acting,
        before={},
        after={"meeting": {"met_on": met.isoformat(), "note": note}},
        note=f"meeting {meeting.id}",
    )
    return meeting


def remove_meeting(
    session: Session, *, acting: Acting, alliance_id: uuid.UUID, meeting_id: uuid.UUID
) -> None:
    """Remove a meeting recorded by mistake (the history keeps it)."""
    _remove(session, acting, alliance_id, TeamMeeting, meeting_id, kept=("met_on", "note"))


def _remove(
    session: Session,
    acting: Acting,
    alliance_id: uuid.UUID,
    model: type[TeamMeeting | AllianceDocument],
    record_id: uuid.UUID,
    *,
    kept: tuple[str, ...],
) -> None:
    """Remove a meeting or a document of the alliance; the history keeps its fields."""
    alliance = alliance_for_work_plan(session, alliance_id=alliance_id, acting=acting)
    what = "meeting" if model is TeamMeeting else "document"
    record = session.get(model, record_id)
    if not isinstance(record, TeamMeeting | AllianceDocument) or record.alliance_id != alliance.id:
        raise NotFound(f"No such {what} for this alliance.")
    values = {name: getattr(record, name) for name in kept}
    _record(
        session,
        alliance,
        action=f"{what} removed",
        acting=acting,
        before={what: {k: v.isoformat() if isinstance(v, date) else v for k, v in values.items()}},
        after={},
        note=f"{what} {record.id}",
    )
    session.delete(record)


# -- documents --------------------------------------------------------------------------------


def checked_url(url: Any) -> str:
    """A web address (http or https), or nothing."""
    address = _text(url, field="url", limit=2000)
    if address:
        parts = urlsplit(address)
        if parts.scheme not in ("http", "https") or not parts.netloc or " " in address:
            raise Invalid("Give a web address starting with https:// (or http://).", field="url")
    return address


def add_document(
    session: Session,
    *,
    acting: Acting,
    alliance_id: uuid.UUID,
    title: str,
    kind: str,
    url: str = "",
    description: str = "",
) -> AllianceDocument:
    """A link to a document, or a description of where it is kept."""
    alliance = alliance_for_work_plan(session, alliance_id=alliance_id, acting=acting)
    title = _text(title, field="title", limit=200, required="Give the document a title.")
    if kind not in DOCUMENT_KINDS:
        raise Invalid(f"Choose one of: {', '.join(DOCUMENT_KINDS)}.", field="kind")
    url = checked_url(url)
    description = _text(description, field="description", limit=10000)
    if not url and not description:
        raise Invalid("Give a link to the document or describe where it is kept.", field="url")
    document = AllianceDocument(
        alliance_id=alliance.id,
        title=title,
        kind=kind,
        url=url,
        description=description,
        added_by=acting.email,
    )
    session.add(document)
    session.flush()
    _record(
        session,
        alliance,
        action="document added",
        acting=acting,
        before={},
        after={"document": {"title": title, "kind": kind, "url": url, "description": description}},
        note=f"document {document.id}",
    )
    return document


def remove_document(
    session: Session, *, acting: Acting, alliance_id: uuid.UUID, document_id: uuid.UUID
) -> None:
    """Remove a document entry (the history keeps it)."""
    kept = ("title", "kind", "url", "description")
    _remove(session, acting, alliance_id, AllianceDocument, document_id, kept=kept)


# -- decisions on the agreement ---------------------------------------------------------------


def _agreement_fields(alliance: Alliance) -> dict[str, Any]:
    return {
        "status": alliance.status,
        "signing_date": alliance.signing_date.isoformat() if alliance.signing_date else None,
        "term_years": alliance.term_years,
        "ends_on": alliance.ends_on.isoformat() if alliance.ends_on else None,
        "renewals": alliance.renewals,
        "ended_on": alliance.ended_on.isoformat() if alliance.ended_on else None,
    }


def _change_payload(alliance: Alliance, decided_at: datetime) -> dict[str, Any]:
    return {
        "alliance_id": alliance.id,
        "proposal_id": alliance.proposal_id,
        "reference": alliance.reference,
        "partner_name": alliance.partner_name,
        **alliance.people(),
        "decided_at": decided_at,
    }


def _not_ended(alliance: Alliance) -> None:
    if alliance.status in ("concluded", "terminated"):
        ended = alliance.ended_on.isoformat() if alliance.ended_on else "already"
        raise Conflict(
            f"This alliance was {alliance.status} ({ended}): nothing more can be decided."
        )


def _close_memberships(session: Session, alliance: Alliance, *, on: date, acting: Acting) -> None:
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
                actor=acting.email,
                changes={"left_on": [before, membership.left_on.isoformat()]},
                note=f"membership {membership.id}: the alliance ended",
            )


def signed_payload(alliance: Alliance, division_label: str) -> dict[str, Any]:
    """What ``alliance.signed`` says of a signed alliance."""
    return {
        "alliance_id": alliance.id,
        "proposal_id": alliance.proposal_id,
        "reference": alliance.reference,
        "partner": alliance.partner,
        **alliance.people(),
        "goals": alliance.goals,
        "hazards": alliance.hazards,
        "division": alliance.division,
        "division_label": division_label,
        "signing_date": alliance.signing_date,
        "term_years": alliance.term_years,
        "ends_on": alliance.ends_on,
        "office": alliance.office or load_agency_profile().offices.top.slug,
    }


def record_signing(
    session: Session,
    *,
    acting: Acting,
    alliance_id: uuid.UUID,
    signing_date: date,
    outbox: Outbox,
    term_years: int | None = None,
    today: date,
) -> Alliance:
    """The agreement of an approved alliance was signed on ``signing_date``: the alliance
    becomes active for its initial term (``term_years``: one to five years, or the approval's,
    which is the default), and ``alliance.signed`` starts its report schedule from that day."""
    alliance = alliance_for_decision(session, alliance_id=alliance_id, acting=acting)
    if alliance.status != AWAITING_SIGNATURE:
        signed_on = alliance.signing_date.isoformat() if alliance.signing_date else "already"
        raise Conflict(
            f"The signing of this alliance is already recorded (signed on {signed_on}); "
            f"it is {status_label(alliance.status)}."
        )
    signed = _required_date(
        signing_date,
        field="signing_date",
        required="Give the date the agreement was signed.",
    )
    years = alliance.term_years if term_years is None else term_years
    if isinstance(years, bool) or not isinstance(years, int):
        raise Invalid("Give the term in whole years.", field="term_years")
    if years != alliance.term_years and years not in INITIAL_TERM_YEARS:
        raise Invalid(
            f"The initial term is {INITIAL_TERM_YEARS.start} to "
            f"{INITIAL_TERM_YEARS.stop - 1} years.",
            field="term_years",
        )
    if signed > today:
        raise Invalid(
            "Record the signing once the agreement is signed: the date cannot be in the future.",
            field="signing_date",
        )
    approved = approved_on(alliance)
    if signed < approved:
        raise Invalid(
            f"The agreement is signed on or after its approval ({approved.isoformat()}).",
            field="signing_date",
        )
    before = _agreement_fields(alliance)
    term = renewed_term(0, signed, years)
    alliance.status = "active"
    alliance.signing_date = term.signing_date
    alliance.term_years = term.term_years
    alliance.ends_on = term.ends_on
    session.add(
        AllianceTerm(
            alliance_id=alliance.id,
            number=0,
            signing_date=term.signing_date,
            term_years=term.term_years,
            ends_on=term.ends_on,
            decided_by=acting.email,
        )
    )
    session.flush()
    _record(
        session,
        alliance,
        action="signed",
        acting=acting,
        before=before,
        after=_agreement_fields(alliance),
    )
    division_label = load_agency_profile().divisions.get(alliance.division, alliance.division)
    outbox.add(
        session,
        new_event(
            "alliance.signed", producer="review", payload=signed_payload(alliance, division_label)
        ),
    )
    return alliance


def renew(
    session: Session,
    *,
    acting: Acting,
    alliance_id: uuid.UUID,
    signing_date: date,
    term_years: int,
    outbox: Outbox,
    today: date,
) -> Alliance:
    """A new term from a new signing date, for two to five years."""
    alliance = alliance_for_decision(session, alliance_id=alliance_id, acting=acting)
    _not_ended(alliance)
    _check_signed(alliance, "renewed")
    if alliance.status != "active":
        raise Conflict("Only an active alliance is renewed (Ambassadors are not).")
    current_signing, current_end = alliance.signing_date, alliance.ends_on
    assert current_signing is not None  # active: signed
    assert current_end is not None
    signed = _required_date(
        signing_date, field="signing_date", required="Give the new signing date."
    )
    if isinstance(term_years, bool) or not isinstance(term_years, int):
        raise Invalid("Give the term in whole years.", field="term_years")
    if term_years not in RENEWAL_TERM_YEARS:
        raise Invalid(
            f"A renewal is for {RENEWAL_TERM_YEARS.start} to {RENEWAL_TERM_YEARS.stop - 1} years.",
            field="term_years",
        )
    if signed <= current_signing:
        raise Invalid(
            "The renewal is signed after the current term's signing date "
            f"({current_signing.isoformat()}).",
            field="signing_date",
        )
    if signed > today:
        raise Invalid("Record the renewal once it is signed.", field="signing_date")
    recorded = session.scalars(
        select(AllianceTerm.id).where(AllianceTerm.alliance_id == alliance.id).limit(1)
    ).first()
    if recorded is None:  # the first renewal: keep the initial term as its own row
        session.add(
            AllianceTerm(
                alliance_id=alliance.id,
                number=0,
                signing_date=current_signing,
                term_years=alliance.term_years,
                ends_on=current_end,
                decided_by=audit.SYSTEM,
            )
        )
    before = _agreement_fields(alliance)
    previous_ends_on = current_end
    term = renewed_term(alliance.renewals + 1, signed, term_years)
    alliance.renewals = term.number
    alliance.signing_date = term.signing_date
    alliance.term_years = term.term_years
    alliance.ends_on = term.ends_on
    session.add(
        AllianceTerm(
            alliance_id=alliance.id,
            number=term.number,
            signing_date=term.signing_date,
            term_years=term.term_years,
            ends_on=term.ends_on,
            decided_by=acting.email,
        )
    )
    _record(
        session,
        alliance,
        action="renewed",
        acting=acting,
        before=before,
        after=_agreement_fields(alliance),
    )
    outbox.add(
        session,
        new_event(
            "alliance.renewed",
            producer="review",
            payload={
                **_change_payload(alliance, utcnow()),
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
    acting: Acting,
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
            decided_by=acting.email,
        )
    )
    _record(
        session,
        alliance,
        action=status,
        acting=acting,
        before=before,
        after=_agreement_fields(alliance),
        note=reason,
    )
    _close_memberships(session, alliance, on=effective_on, acting=acting)
    return _change_payload(alliance, utcnow())


def _check_end_date(
    session: Session, alliance: Alliance, *, day: date, field: str, what: str, today: date
) -> None:
    """Not before the initial signing date, and not in the future."""
    initial = terms(session, alliance)[0]
    if day < initial.signing_date:
        raise Invalid(
            f"{what} cannot come before the signing date ({initial.signing_date.isoformat()}).",
            field=field,
        )
    if day > today:
        raise Invalid(f"{what} cannot be in the future.", field=field)


def conclude(
    session: Session,
    *,
    acting: Acting,
    alliance_id: uuid.UUID,
    outbox: Outbox,
    concluded_on: date | None = None,
    reason: str = "",
    today: date,
) -> Alliance:
    """The agency concludes the alliance (today unless another past day is given)."""
    alliance = alliance_for_decision(session, alliance_id=alliance_id, acting=acting)
    _not_ended(alliance)
    _check_signed(alliance, "concluded")
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
        acting=acting,
    )
    outbox.add(
        session,
        new_event(
            "alliance.concluded", producer="review", payload={**payload, "concluded_on": day}
        ),
    )
    return alliance


def terminate(
    session: Session,
    *,
    acting: Acting,
    alliance_id: uuid.UUID,
    notice_date: date,
    outbox: Outbox,
    reason: str = "",
    today: date,
) -> Alliance:
    """Terminate with 30 days' written notice: ends on the notice date + 30 days."""
    alliance = alliance_for_decision(session, alliance_id=alliance_id, acting=acting)
    _not_ended(alliance)
    _check_signed(alliance, "terminated")
    notice = _required_date(
        notice_date, field="notice_date", required="Give the date of the notice."
    )
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
        acting=acting,
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
    acting: Acting,
    alliance_id: uuid.UUID,
    outbox: Outbox,
    designated_on: date | None = None,
    reason: str = "",
    today: date,
) -> Alliance:
    """Name the partner an Ambassador: recognition, and no more reports."""
    alliance = alliance_for_decision(session, alliance_id=alliance_id, acting=acting)
    _not_ended(alliance)
    _check_signed(alliance, "named an Ambassador")
    day = _date(designated_on, field="designated_on") or today
    reason = _text(reason, field="reason", limit=10000)
    if day > today:
        raise Invalid("The designation cannot be in the future.", field="designated_on")
    found = eligibility(session, alliance, on=day)
    if not found.eligible:
        raise Conflict(found.reason)
    before = _agreement_fields(alliance)
    alliance.status = "ambassador"
    session.add(
        AllianceStatusChange(
            alliance_id=alliance.id,
            status="ambassador",
            decided_on=day,
            effective_on=day,
            reason=reason,
            decided_by=acting.email,
        )
    )
    _record(
        session,
        alliance,
        action="ambassador designated",
        acting=acting,
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


def move_to_office(
    session: Session,
    *,
    acting: Acting,
    alliance_id: uuid.UUID,
    office: str,
    reason: str,
    outbox: Outbox,
) -> Alliance:
    """Move the alliance to another office, with the reason: an audited action that
    ``alliance.moved`` announces (reporting and notify file it under the new office). The
    Coordinator moves only between offices they cover (the top office's: anywhere)."""
    alliance = alliance_for_decision(session, alliance_id=alliance_id, acting=acting)
    offices = load_agency_profile().offices
    if office not in offices:
        raise Invalid("Choose one of the agency's offices.", field="office")
    if not people.sees_office(acting, office):
        raise Invalid(
            f"{offices.name(office)} is outside {people.office_name(acting.office or None)}: "
            "a Coordinator of an office above both moves it.",
            field="office",
        )
    reason = _text(reason, field="reason", limit=2000, required="Say why the alliance moves.")
    before = alliance.office or offices.top.slug
    if office == before:
        raise Invalid(f"The alliance is at {offices.name(office)} already.", field="office")
    alliance.office = office
    audit.record(
        session,
        entity_type="alliance",
        entity_id=alliance.id,
        action="moved to another office",
        actor=acting.email,
        changes={"office": [offices.name(before), offices.name(office)]},
        note=reason,
    )
    outbox.add(
        session,
        new_event(
            "alliance.moved",
            producer="review",
            payload={
                "alliance_id": alliance.id,
                "proposal_id": alliance.proposal_id,
                "reference": alliance.reference,
                "partner_name": alliance.partner_name,
                "from_office": before,
                "office": office,
                "office_name": offices.name(office),
                "reason": reason,
                "moved_by": acting.name,
                "moved_at": utcnow(),
            },
        ),
    )
    return alliance
