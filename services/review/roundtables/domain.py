"""Alliance Program roundtables and their workgroups, and the alliances that take part.

The Coordinator keeps the roundtables (for example the Construction Roundtable with its Fall
Protection and Design for Safety workgroups, and the Hazard Communication Roundtable): each
runs from ``starts_on`` through ``ends_on`` (its last day; none while it goes on). A
workgroup belongs to one roundtable (one level only) and runs within its dates. Federal
OSHA's program has them; a state plan may keep them too.

Alliances join and leave: a membership runs from ``joined_on`` through ``left_on`` (the last
day as a member; none while it goes on). An alliance is in a roundtable at most once at a
time; it may leave and join again later. Only an active alliance or an Ambassador joins;
when an alliance is concluded or terminated, its open memberships end on its end date
(``agreements._close_memberships``).

On a given day a roundtable is *current* when it has started and not ended (a workgroup
also needs its roundtable current), and a membership is current when it has started, not
ended, and its roundtable is current.

A roundtable (or workgroup) keeps the days it met (``held_on``, within its dates and not in
the future; a topic, a summary, who attended) and the products its members made together
(``PRODUCT_KINDS``: fact sheets, toolbox talks, webinars, translations, other), each with a
title, a description, an optional web address (http or https only), the day it was published
(from the roundtable's start, not in the future) and whether the public directory lists it
(``public``, yes unless said otherwise). The directory lists every public product, those of a
roundtable that has ended too: what was published stays published until the Coordinator hides
or removes it.

Who may do what (each function checks it itself): any staff member reads the roundtables,
their memberships, meetings and products; the Coordinator alone creates and changes
roundtables and workgroups, records who joins and leaves, and records, changes and removes
meetings and products (``check_keeper``). Every change goes into the roundtable's history
(``audit``). Refusals are ``shared.domain``'s typed errors; the functions take the session
and the acting staff member and never commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.review import audit, people
from services.review.alliances.domain import checked_url, get_alliance, status_label, terms
from services.review.alliances.models import Alliance, Roundtable, RoundtableMembership
from services.review.roundtables.models import RoundtableMeeting, RoundtableProduct
from services.review.staff import domain as accounts
from shared.domain import Acting, Conflict, Forbidden, Invalid, NotFound

JOINING_STATUSES = ("active", "ambassador")
ROUNDTABLE_FIELDS = ("name", "description", "starts_on", "ends_on")
KEEPERS = ("coordinator",)  # for the sign-in gates; ``check_keeper`` decides
# The kinds of product as people read them, by the slug stored (models.PRODUCT_KINDS).
PRODUCT_KINDS: dict[str, str] = {
    "fact_sheet": "Fact sheet",
    "toolbox_talk": "Toolbox talk",
    "webinar": "Webinar",
    "translation": "Translation",
    "other": "Other",
}
CHOOSE_KIND = "Choose what it is: " + ", ".join(k.lower() for k in PRODUCT_KINDS.values()) + "."
MEETING_FIELDS = ("held_on", "topic", "summary", "attendees")
PRODUCT_FIELDS = ("kind", "title", "description", "url", "published_on", "public")


class Member(NamedTuple):
    """One membership of a roundtable, with its alliance."""

    membership: RoundtableMembership
    alliance: Alliance


@dataclass(frozen=True)
class Roster:
    """A roundtable (its own attributes, read through this object) and every membership."""

    roundtable: Roundtable
    memberships: list[Member]

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.__dict__["roundtable"], name)

    def members_on(self, day: date) -> list[Member]:
        """The memberships that run on ``day`` (whether or not the roundtable does)."""
        return [
            m
            for m in self.memberships
            if runs_on(m.membership.joined_on, m.membership.left_on, day)
        ]


# -- who may do what --------------------------------------------------------------------------


def check_reader(acting: Acting) -> None:
    """Any staff member reads the roundtables and who is in them."""
    people.require_staff(acting)


def may_keep(acting: Acting) -> bool:
    """The Coordinator keeps the roundtables: their members, meetings and products."""
    return acting.is_coordinator


def check_keeper(acting: Acting) -> None:
    """Refuses all but who ``may_keep`` the roundtables."""
    if not may_keep(acting):
        raise Forbidden(
            "Only the Coordinator keeps the roundtables: their members, meetings and products."
        )


def roundtable_to_keep(session: Session, *, roundtable_id: uuid.UUID, acting: Acting) -> Roundtable:
    """The roundtable, when ``acting`` keeps it (for a page's form, refused before any of its
    fields are read). Refused in this order: not the Coordinator, no such roundtable."""
    check_keeper(acting)
    return get_roundtable(session, roundtable_id)


def runs_on(starts_on: date, ends_on: date | None, day: date) -> bool:
    return starts_on <= day and (ends_on is None or day <= ends_on)


def is_current(roundtable: Roundtable, day: date, parent: Roundtable | None = None) -> bool:
    if not runs_on(roundtable.starts_on, roundtable.ends_on, day):
        return False
    return parent is None or runs_on(parent.starts_on, parent.ends_on, day)


def get_roundtable(session: Session, roundtable_id: uuid.UUID, *, lock: bool = False) -> Roundtable:
    query = select(Roundtable).where(Roundtable.id == roundtable_id)
    roundtable = session.scalars(query.with_for_update() if lock else query).first()
    if roundtable is None:
        raise NotFound("No such roundtable.")
    return roundtable


def list_roundtables(session: Session, *, acting: Acting) -> list[Roster]:
    """Roundtables by name, each followed by its workgroups by name, with every membership."""
    check_reader(acting)
    rows = list(session.scalars(select(Roundtable).order_by(Roundtable.name)))
    ordered: list[Roundtable] = []
    for top in (r for r in rows if r.parent_id is None):
        ordered.append(top)
        ordered.extend(r for r in rows if r.parent_id == top.id)
    return [Roster(r, memberships(session, roundtable_id=r.id)) for r in ordered]


@dataclass(frozen=True)
class Line:
    """One roundtable or workgroup of the staff list: how many are in it on the day, and
    whether it runs then."""

    roster: Roster
    members_now: int
    is_current: bool


def overview(session: Session, *, acting: Acting, today: date) -> list[Line]:
    """The roundtables, each followed by its workgroups (``list_roundtables``), as on ``today``."""
    rows = list_roundtables(session, acting=acting)
    tops = {r.roundtable.id: r.roundtable for r in rows if r.roundtable.parent_id is None}
    return [
        Line(
            roster=r,
            members_now=len(r.members_on(today)),
            is_current=is_current(
                r.roundtable,
                today,
                tops.get(r.roundtable.parent_id) if r.roundtable.parent_id else None,
            ),
        )
        for r in rows
    ]


def roster(session: Session, *, roundtable_id: uuid.UUID, acting: Acting) -> Roster:
    """Who is and was in the roundtable, with the dates."""
    check_reader(acting)
    roundtable = get_roundtable(session, roundtable_id)
    return Roster(roundtable, memberships(session, roundtable_id=roundtable.id))


def _audit_values(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in values.items()}


def _checked(values: Mapping[str, Any]) -> dict[str, Any]:
    name = values.get("name")
    if not isinstance(name, str) or not name.strip():
        raise Invalid("Give the roundtable's name.", field="name")
    name = " ".join(name.split())
    if len(name) > 200:
        raise Invalid("At most 200 characters.", field="name")
    description = values.get("description") or ""
    if not isinstance(description, str) or len(description) > 10000:
        raise Invalid("At most 10000 characters of text.", field="description")
    starts_on = values.get("starts_on")
    if not isinstance(starts_on, date):
        raise Invalid("Give the day it starts.", field="starts_on")
    ends_on = values.get("ends_on")
    if ends_on is not None and not isinstance(ends_on, date):
        raise Invalid("Give a date (YYYY-MM-DD).", field="ends_on")
    if ends_on is not None and ends_on < starts_on:
        raise Invalid("It cannot end before it starts.", field="ends_on")
    return {
        "name": name,
        "description": description.strip(),
        "starts_on": starts_on,
        "ends_on": ends_on,
    }


def _check_within(workgroup: Mapping[str, Any], parent: Roundtable | Mapping[str, Any]) -> None:
    """A workgroup runs within its roundtable's dates."""

    def value(key: str) -> Any:
        return parent[key] if isinstance(parent, Mapping) else getattr(parent, key)

    if workgroup["starts_on"] < value("starts_on"):
        raise Invalid(
            f"A workgroup cannot start before its roundtable ({value('starts_on').isoformat()}).",
            field="starts_on",
        )
    parent_end = value("ends_on")
    if parent_end is not None:
        if workgroup["starts_on"] > parent_end:
            raise Invalid(f"The roundtable ends on {parent_end.isoformat()}.", field="starts_on")
        if workgroup["ends_on"] is not None and workgroup["ends_on"] > parent_end:
            raise Invalid(
                f"A workgroup ends by its roundtable's end ({parent_end.isoformat()}).",
                field="ends_on",
            )


def _check_name_free(
    session: Session, *, name: str, parent_id: uuid.UUID | None, other_than: uuid.UUID | None
) -> None:
    query = select(Roundtable.id).where(
        Roundtable.name == name,
        Roundtable.parent_id.is_(None) if parent_id is None else Roundtable.parent_id == parent_id,
    )
    if other_than is not None:
        query = query.where(Roundtable.id != other_than)
    if session.scalars(query).first() is not None:
        place = "roundtable" if parent_id is None else "workgroup of this roundtable"
        raise Invalid(f"There is a {place} with this name already.", field="name")


def _check_memberships_fit(session: Session, roundtable_id: uuid.UUID, values: Any) -> None:
    for membership in session.scalars(
        select(RoundtableMembership).where(RoundtableMembership.roundtable_id == roundtable_id)
    ):
        if membership.joined_on < values["starts_on"]:
            raise Invalid(
                f"A member joined on {membership.joined_on.isoformat()}, before that day.",
                field="starts_on",
            )
        if values["ends_on"] is not None and membership.joined_on > values["ends_on"]:
            raise Invalid(
                f"A member joined on {membership.joined_on.isoformat()}, after that day.",
                field="ends_on",
            )


def _check_work_fits(session: Session, roundtable_id: uuid.UUID, values: Any) -> None:
    """Its meetings stay within its dates, and its products published from its start."""
    held = session.scalars(
        select(RoundtableMeeting.held_on)
        .where(RoundtableMeeting.roundtable_id == roundtable_id)
        .order_by(RoundtableMeeting.held_on)
    ).all()
    if held and held[0] < values["starts_on"]:
        raise Invalid(f"It met on {held[0].isoformat()}, before that day.", field="starts_on")
    if held and values["ends_on"] is not None and held[-1] > values["ends_on"]:
        raise Invalid(f"It met on {held[-1].isoformat()}, after that day.", field="ends_on")
    first_published = session.scalars(
        select(RoundtableProduct.published_on)
        .where(RoundtableProduct.roundtable_id == roundtable_id)
        .order_by(RoundtableProduct.published_on)
        .limit(1)
    ).first()
    if first_published is not None and first_published < values["starts_on"]:
        raise Invalid(
            f"A product of it was published on {first_published.isoformat()}, before that day.",
            field="starts_on",
        )


def create_roundtable(
    session: Session,
    *,
    name: str,
    starts_on: date,
    ends_on: date | None = None,
    description: str = "",
    parent_id: uuid.UUID | None = None,
    acting: Acting,
) -> Roundtable:
    """A roundtable, or with ``parent_id`` a workgroup of one."""
    check_keeper(acting)
    checked = _checked(
        {"name": name, "description": description, "starts_on": starts_on, "ends_on": ends_on}
    )
    if parent_id is not None:
        parent = session.scalars(
            select(Roundtable).where(Roundtable.id == parent_id).with_for_update()
        ).first()
        if parent is None:
            raise Invalid("There is no such roundtable.", field="parent_id")
        if parent.parent_id is not None:
            raise Invalid(
                "A workgroup belongs to a roundtable, not to another workgroup.",
                field="parent_id",
            )
        _check_within(checked, parent)
    _check_name_free(session, name=checked["name"], parent_id=parent_id, other_than=None)
    roundtable = Roundtable(parent_id=parent_id, **checked)
    session.add(roundtable)
    session.flush()
    audit.record(
        session,
        entity_type="roundtable",
        entity_id=roundtable.id,
        action="workgroup created" if parent_id else "roundtable created",
        actor=acting.email,
        changes={k: [None, v] for k, v in _audit_values(checked).items() if v not in (None, "")},
        note=f"workgroup of {parent_id}" if parent_id else "",
    )
    return roundtable


def update_roundtable(
    session: Session, *, roundtable_id: uuid.UUID, changes: Mapping[str, Any], acting: Acting
) -> Roundtable:
    """Rename, describe, or change the dates (an end date closes it)."""
    check_keeper(acting)
    unknown = sorted(set(changes) - set(ROUNDTABLE_FIELDS))
    if unknown:
        raise Invalid("This cannot be changed here.", field=unknown[0])
    roundtable = session.scalars(
        select(Roundtable).where(Roundtable.id == roundtable_id).with_for_update()
    ).first()
    if roundtable is None:
        raise NotFound("No such roundtable.")
    before = {f: getattr(roundtable, f) for f in ROUNDTABLE_FIELDS}
    checked = _checked({**before, **changes})
    if roundtable.parent_id is not None:
        _check_within(checked, get_roundtable(session, roundtable.parent_id))
    else:
        for workgroup in session.scalars(
            select(Roundtable).where(Roundtable.parent_id == roundtable.id)
        ):
            try:
                _check_within(
                    {"starts_on": workgroup.starts_on, "ends_on": workgroup.ends_on}, checked
                )
            except Invalid as err:
                raise Invalid(
                    {
                        field: [f"The workgroup {workgroup.name} would not fit: {m}" for m in texts]
                        for field, texts in err.errors.items()
                    }
                ) from None
    _check_memberships_fit(session, roundtable.id, checked)
    _check_work_fits(session, roundtable.id, checked)
    if checked["name"] != roundtable.name:
        _check_name_free(
            session,
            name=checked["name"],
            parent_id=roundtable.parent_id,
            other_than=roundtable.id,
        )
    for field, value in checked.items():
        setattr(roundtable, field, value)
    changes = audit.diff_fields(_audit_values(before), _audit_values(checked))
    if changes:
        audit.record(
            session,
            entity_type="roundtable",
            entity_id=roundtable.id,
            action="roundtable changed",
            actor=acting.email,
            changes=changes,
        )
    return roundtable


def memberships(
    session: Session,
    *,
    roundtable_id: uuid.UUID | None = None,
    alliance_id: uuid.UUID | None = None,
) -> list[Member]:
    query = (
        select(RoundtableMembership, Alliance)
        .join(Alliance, Alliance.id == RoundtableMembership.alliance_id)
        .order_by(RoundtableMembership.joined_on, Alliance.partner_name)
    )
    if roundtable_id is not None:
        query = query.where(RoundtableMembership.roundtable_id == roundtable_id)
    if alliance_id is not None:
        query = query.where(RoundtableMembership.alliance_id == alliance_id)
    return [Member(m, a) for m, a in session.execute(query).all()]


def current_memberships(
    session: Session, *, day: date
) -> list[tuple[RoundtableMembership, Roundtable, Alliance]]:
    """Every membership current on ``day``, with its roundtable and alliance."""
    roundtables = {r.id: r for r in session.scalars(select(Roundtable))}
    rows = session.execute(
        select(RoundtableMembership, Alliance)
        .join(Alliance, Alliance.id == RoundtableMembership.alliance_id)
        .where(
            RoundtableMembership.joined_on <= day,
            (RoundtableMembership.left_on.is_(None)) | (RoundtableMembership.left_on >= day),
        )
        .order_by(Alliance.partner_name)
    ).all()
    current = []
    for membership, alliance in rows:
        roundtable = roundtables[membership.roundtable_id]
        parent = roundtables.get(roundtable.parent_id) if roundtable.parent_id else None
        if is_current(roundtable, day, parent):
            current.append((membership, roundtable, alliance))
    return current


def _record_membership(
    session: Session,
    membership: RoundtableMembership,
    *,
    action: str,
    acting: Acting,
    changes: dict[str, list[Any]],
    note: str,
) -> None:
    for entity_type, entity_id in (
        ("alliance", membership.alliance_id),
        ("roundtable", membership.roundtable_id),
    ):
        audit.record(
            session,
            entity_type=entity_type,
            entity_id=entity_id,
            action=action,
            actor=acting.email,
            changes=changes,
            note=note,
        )


def join(
    session: Session,
    *,
    roundtable_id: uuid.UUID,
    alliance_id: uuid.UUID,
    joined_on: date,
    acting: Acting,
    today: date,
) -> Member:
    """The alliance joins the roundtable (or workgroup) on ``joined_on``."""
    check_keeper(acting)
    roundtable = get_roundtable(session, roundtable_id)
    try:
        alliance = get_alliance(session, alliance_id, lock=True)  # one join at a time
    except NotFound:
        raise Invalid("There is no such alliance.", field="alliance_id") from None
    if alliance.status not in JOINING_STATUSES:
        raise Conflict(
            f"This alliance is {status_label(alliance.status)}: only an active alliance or an "
            "Ambassador joins a roundtable."
        )
    if not isinstance(joined_on, date):
        raise Invalid("Give the day it joined.", field="joined_on")
    if joined_on > today:
        raise Invalid("Record the membership once it has begun.", field="joined_on")
    signed = terms(session, alliance)[0].signing_date
    if joined_on < signed:
        raise Invalid(
            f"The alliance was signed on {signed.isoformat()}: it joins from that day on.",
            field="joined_on",
        )
    if not runs_on(roundtable.starts_on, roundtable.ends_on, joined_on):
        until = roundtable.ends_on.isoformat() if roundtable.ends_on else "now"
        raise Invalid(
            f"{roundtable.name} runs from {roundtable.starts_on.isoformat()} to {until}.",
            field="joined_on",
        )
    for earlier, _ in memberships(session, roundtable_id=roundtable.id, alliance_id=alliance.id):
        if earlier.left_on is None:
            raise Conflict(
                f"{alliance.partner_name} is a member of {roundtable.name} already "
                f"(since {earlier.joined_on.isoformat()})."
            )
        if earlier.left_on >= joined_on:
            raise Invalid(
                f"{alliance.partner_name} was a member until {earlier.left_on.isoformat()}: "
                "it can join again from the next day.",
                field="joined_on",
            )
    membership = RoundtableMembership(
        roundtable_id=roundtable.id, alliance_id=alliance.id, joined_on=joined_on
    )
    session.add(membership)
    session.flush()
    _record_membership(
        session,
        membership,
        action="joined roundtable",
        acting=acting,
        changes={"joined_on": [None, joined_on.isoformat()]},
        note=f"membership {membership.id}: {alliance.partner_name} in {roundtable.name}",
    )
    return Member(membership, alliance)


def leave(
    session: Session,
    *,
    roundtable_id: uuid.UUID,
    membership_id: uuid.UUID,
    left_on: date,
    acting: Acting,
    today: date,
) -> Member:
    """The alliance leaves; ``left_on`` is its last day as a member."""
    check_keeper(acting)
    membership = session.scalars(
        select(RoundtableMembership)
        .where(RoundtableMembership.id == membership_id)
        .with_for_update()
    ).first()
    if membership is None or membership.roundtable_id != roundtable_id:
        raise NotFound("No such membership in this roundtable.")
    if membership.left_on is not None:
        raise Conflict(f"This membership ended on {membership.left_on.isoformat()}.")
    if not isinstance(left_on, date):
        raise Invalid("Give the last day as a member.", field="left_on")
    if left_on < membership.joined_on:
        raise Invalid(
            f"It joined on {membership.joined_on.isoformat()}: it leaves on or after that day.",
            field="left_on",
        )
    if left_on > today:
        raise Invalid("Record the departure once it has happened.", field="left_on")
    membership.left_on = left_on
    _record_membership(
        session,
        membership,
        action="left roundtable",
        acting=acting,
        changes={"left_on": [None, left_on.isoformat()]},
        note=f"membership {membership.id}",
    )
    return Member(membership, get_alliance(session, membership.alliance_id))


# -- what a roundtable made: its meetings and products ----------------------------------------


@dataclass(frozen=True)
class RoundtablePage:
    """One roundtable (or workgroup) as staff see it: its own attributes (read through this
    object), where it sits, who is and was in it, its meetings and products, and what the
    reader may do."""

    roundtable: Roundtable
    parent: Roundtable | None  # a workgroup's roundtable
    workgroups: list[Roundtable]  # a roundtable's own
    memberships: list[Member]
    meetings: list[RoundtableMeeting]
    products: list[RoundtableProduct]
    joinable: list[Alliance]  # those that may join: active or Ambassadors, not in it now
    names: dict[str, str]  # the name to show for each staff e-mail address on the page
    is_current: bool
    may_keep: bool  # the reader keeps it: creates, records, changes and removes

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.__dict__["roundtable"], name)


def _meetings(session: Session, roundtable_id: uuid.UUID) -> list[RoundtableMeeting]:
    return list(
        session.scalars(
            select(RoundtableMeeting)
            .where(RoundtableMeeting.roundtable_id == roundtable_id)
            .order_by(RoundtableMeeting.held_on, RoundtableMeeting.recorded_at)
        )
    )


def _products(session: Session, roundtable_id: uuid.UUID) -> list[RoundtableProduct]:
    return list(
        session.scalars(
            select(RoundtableProduct)
            .where(RoundtableProduct.roundtable_id == roundtable_id)
            .order_by(RoundtableProduct.published_on, RoundtableProduct.title)
        )
    )


def joinable_alliances(session: Session, roundtable_id: uuid.UUID) -> list[Alliance]:
    """The alliances that may join: active ones and Ambassadors not in the roundtable now."""
    inside = select(RoundtableMembership.alliance_id).where(
        RoundtableMembership.roundtable_id == roundtable_id,
        RoundtableMembership.left_on.is_(None),
    )
    return list(
        session.scalars(
            select(Alliance)
            .where(
                Alliance.status.in_(JOINING_STATUSES),
                Alliance.signing_date.is_not(None),
                Alliance.id.not_in(inside),
            )
            .order_by(Alliance.partner_name, Alliance.id)
        )
    )


def roundtable_page(
    session: Session, *, roundtable_id: uuid.UUID, acting: Acting, today: date
) -> RoundtablePage:
    """Everything staff see about one roundtable or workgroup."""
    check_reader(acting)
    roundtable = get_roundtable(session, roundtable_id)
    parent = get_roundtable(session, roundtable.parent_id) if roundtable.parent_id else None
    workgroups = list(
        session.scalars(
            select(Roundtable)
            .where(Roundtable.parent_id == roundtable.id)
            .order_by(Roundtable.name)
        )
    )
    meetings = _meetings(session, roundtable.id)
    products = _products(session, roundtable.id)
    keeper = may_keep(acting)
    return RoundtablePage(
        roundtable=roundtable,
        parent=parent,
        workgroups=workgroups,
        memberships=memberships(session, roundtable_id=roundtable.id),
        meetings=meetings,
        products=products,
        joinable=joinable_alliances(session, roundtable.id) if keeper else [],
        names=accounts.names(
            session, [*(m.recorded_by for m in meetings), *(p.recorded_by for p in products)]
        ),
        is_current=is_current(roundtable, today, parent),
        may_keep=keeper,
    )


def roundtable_meetings(
    session: Session, *, roundtable_id: uuid.UUID, acting: Acting
) -> list[RoundtableMeeting]:
    """The days the roundtable met, the earliest first."""
    check_reader(acting)
    return _meetings(session, get_roundtable(session, roundtable_id).id)


def roundtable_products(
    session: Session, *, roundtable_id: uuid.UUID, acting: Acting
) -> list[RoundtableProduct]:
    """What the roundtable's members made together, the earliest published first."""
    check_reader(acting)
    return _products(session, get_roundtable(session, roundtable_id).id)


def public_products(session: Session) -> list[tuple[RoundtableProduct, Roundtable]]:
    """Every product the public directory lists, the latest published first, with its
    roundtable (for anyone: no sign-in)."""
    rows = session.execute(
        select(RoundtableProduct, Roundtable)
        .join(Roundtable, Roundtable.id == RoundtableProduct.roundtable_id)
        .where(RoundtableProduct.public.is_(True))
        .order_by(RoundtableProduct.published_on.desc(), RoundtableProduct.title)
    ).all()
    return [(product, roundtable) for product, roundtable in rows]


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


def _day(value: Any, *, field: str, required: str) -> date:
    if value is None:
        raise Invalid(required, field=field)
    if not isinstance(value, date) or isinstance(value, datetime):
        raise Invalid("Give a date (YYYY-MM-DD).", field=field)
    return value


def _audited(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in values.items()}


def _record_work(
    session: Session,
    roundtable: Roundtable,
    *,
    what: str,
    record_id: uuid.UUID,
    action: str,
    acting: Acting,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
) -> None:
    """One entry in the roundtable's history for a meeting or product added, changed or
    removed: each of its fields before and after (none before it was added or after it was
    removed); a change that changed nothing leaves none."""
    fields = list((after or before or {}).keys())
    old = _audited(before) if before is not None else dict.fromkeys(fields)
    new = _audited(after) if after is not None else dict.fromkeys(fields)
    changes = audit.diff_fields({what: old}, {what: new})
    if not changes:
        return
    audit.record(
        session,
        entity_type="roundtable",
        entity_id=roundtable.id,
        action=action,
        actor=acting.email,
        changes=changes,
        note=f"{what} {record_id}",
    )


def _runs(roundtable: Roundtable) -> str:
    until = roundtable.ends_on.isoformat() if roundtable.ends_on else "now"
    return f"{roundtable.name} runs from {roundtable.starts_on.isoformat()} to {until}"


def checked_meeting(
    roundtable: Roundtable, values: Mapping[str, Any], *, today: date
) -> dict[str, Any]:
    """A meeting's fields as they are stored: held within the roundtable's dates, not in the
    future, on a topic."""
    held_on = _day(values.get("held_on"), field="held_on", required="Give the day it met.")
    if held_on > today:
        raise Invalid("Record a meeting once it has taken place.", field="held_on")
    if not runs_on(roundtable.starts_on, roundtable.ends_on, held_on):
        raise Invalid(f"{_runs(roundtable)}: it met within those dates.", field="held_on")
    return {
        "held_on": held_on,
        "topic": " ".join(
            _text(
                values.get("topic"), field="topic", limit=200, required="Give the meeting's topic."
            ).split()
        ),
        "summary": _text(values.get("summary"), field="summary", limit=10000),
        "attendees": _text(values.get("attendees"), field="attendees", limit=10000),
    }


def record_meeting(
    session: Session,
    *,
    roundtable_id: uuid.UUID,
    held_on: date,
    topic: str,
    summary: str = "",
    attendees: str = "",
    acting: Acting,
    today: date,
) -> RoundtableMeeting:
    """A day the roundtable (or workgroup) met."""
    check_keeper(acting)
    roundtable = get_roundtable(session, roundtable_id, lock=True)  # its dates hold meanwhile
    checked = checked_meeting(
        roundtable,
        {"held_on": held_on, "topic": topic, "summary": summary, "attendees": attendees},
        today=today,
    )
    taken = session.scalars(
        select(RoundtableMeeting.id).where(
            RoundtableMeeting.roundtable_id == roundtable.id,
            RoundtableMeeting.held_on == checked["held_on"],
            RoundtableMeeting.topic == checked["topic"],
        )
    ).first()
    if taken is not None:
        raise Invalid("A meeting on that day on this topic is recorded already.", field="topic")
    meeting = RoundtableMeeting(roundtable_id=roundtable.id, recorded_by=acting.email, **checked)
    session.add(meeting)
    session.flush()
    _record_work(
        session,
        roundtable,
        what="meeting",
        record_id=meeting.id,
        action="meeting recorded",
        acting=acting,
        before=None,
        after=checked,
    )
    return meeting


def remove_meeting(
    session: Session, *, roundtable_id: uuid.UUID, meeting_id: uuid.UUID, acting: Acting
) -> None:
    """Remove a meeting recorded by mistake (the history keeps it)."""
    check_keeper(acting)
    roundtable = get_roundtable(session, roundtable_id)
    meeting = session.get(RoundtableMeeting, meeting_id)
    if meeting is None or meeting.roundtable_id != roundtable.id:
        raise NotFound("No such meeting of this roundtable.")
    _record_work(
        session,
        roundtable,
        what="meeting",
        record_id=meeting.id,
        action="meeting removed",
        acting=acting,
        before={f: getattr(meeting, f) for f in MEETING_FIELDS},
        after=None,
    )
    session.delete(meeting)


def checked_product(
    roundtable: Roundtable, values: Mapping[str, Any], *, today: date
) -> dict[str, Any]:
    """A product's fields as they are stored: a kind from the list, a title, a web address
    (http or https) or none, published from the roundtable's start and not in the future."""
    kind = values.get("kind")
    if kind not in PRODUCT_KINDS:
        raise Invalid(
            "Choose what it is: "
            + ", ".join(label.lower() for label in PRODUCT_KINDS.values())
            + ".",
            field="kind",
        )
    title = " ".join(
        _text(
            values.get("title"), field="title", limit=200, required="Give the product's title."
        ).split()
    )
    published_on = _day(
        values.get("published_on"), field="published_on", required="Give the day it was published."
    )
    if published_on > today:
        raise Invalid("Record a product once it is published.", field="published_on")
    if published_on < roundtable.starts_on:
        raise Invalid(
            f"{roundtable.name} started on {roundtable.starts_on.isoformat()}: "
            "its products are published from that day on.",
            field="published_on",
        )
    public = values.get("public", True)
    if not isinstance(public, bool):
        raise Invalid("Say whether the public directory lists it.", field="public")
    return {
        "kind": kind,
        "title": title,
        "description": _text(values.get("description"), field="description", limit=10000),
        "url": checked_url(values.get("url")),
        "published_on": published_on,
        "public": public,
    }


def _check_title_free(
    session: Session, roundtable: Roundtable, title: str, *, other_than: uuid.UUID | None
) -> None:
    query = select(RoundtableProduct.id).where(
        RoundtableProduct.roundtable_id == roundtable.id, RoundtableProduct.title == title
    )
    if other_than is not None:
        query = query.where(RoundtableProduct.id != other_than)
    if session.scalars(query).first() is not None:
        raise Invalid(f"{roundtable.name} has a product with this title already.", field="title")


def record_product(
    session: Session,
    *,
    roundtable_id: uuid.UUID,
    kind: str,
    title: str,
    published_on: date,
    description: str = "",
    url: str = "",
    public: bool = True,
    acting: Acting,
    today: date,
) -> RoundtableProduct:
    """Something the roundtable's members made together; the public directory lists it
    unless ``public`` is false."""
    check_keeper(acting)
    roundtable = get_roundtable(session, roundtable_id, lock=True)  # its dates hold meanwhile
    checked = checked_product(
        roundtable,
        {
            "kind": kind,
            "title": title,
            "description": description,
            "url": url,
            "published_on": published_on,
            "public": public,
        },
        today=today,
    )
    _check_title_free(session, roundtable, checked["title"], other_than=None)
    product = RoundtableProduct(roundtable_id=roundtable.id, recorded_by=acting.email, **checked)
    session.add(product)
    session.flush()
    _record_work(
        session,
        roundtable,
        what="product",
        record_id=product.id,
        action="product recorded",
        acting=acting,
        before=None,
        after=checked,
    )
    return product


def _product_of(
    session: Session, roundtable: Roundtable, product_id: uuid.UUID
) -> RoundtableProduct:
    product = session.get(RoundtableProduct, product_id)
    if product is None or product.roundtable_id != roundtable.id:
        raise NotFound("No such product of this roundtable.")
    return product


def update_product(
    session: Session,
    *,
    roundtable_id: uuid.UUID,
    product_id: uuid.UUID,
    changes: Mapping[str, Any],
    acting: Acting,
    today: date,
) -> RoundtableProduct:
    """Change some of a product's fields (to hide it from the directory: ``public`` false)."""
    check_keeper(acting)
    unknown = sorted(set(changes) - set(PRODUCT_FIELDS))
    if unknown:
        raise Invalid("This cannot be changed here.", field=unknown[0])
    roundtable = get_roundtable(session, roundtable_id, lock=True)
    product = _product_of(session, roundtable, product_id)
    before = {f: getattr(product, f) for f in PRODUCT_FIELDS}
    checked = checked_product(roundtable, {**before, **changes}, today=today)
    if checked["title"] != product.title:
        _check_title_free(session, roundtable, checked["title"], other_than=product.id)
    for field, value in checked.items():
        setattr(product, field, value)
    _record_work(
        session,
        roundtable,
        what="product",
        record_id=product.id,
        action="product changed",
        acting=acting,
        before=before,
        after=checked,
    )
    return product


def remove_product(
    session: Session, *, roundtable_id: uuid.UUID, product_id: uuid.UUID, acting: Acting
) -> None:
    """Remove a product (it leaves the public directory; the history keeps it)."""
    check_keeper(acting)
    roundtable = get_roundtable(session, roundtable_id)
    product = _product_of(session, roundtable, product_id)
    _record_work(
        session,
        roundtable,
        what="product",
        record_id=product.id,
        action="product removed",
        acting=acting,
        before={f: getattr(product, f) for f in PRODUCT_FIELDS},
        after=None,
    )
    session.delete(product)
