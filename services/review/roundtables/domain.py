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

Who may do what (each function checks it itself): any staff member reads the roundtables and
their memberships; the Coordinator alone creates and changes roundtables and workgroups and
records who joins and leaves (``check_keeper``). Refusals are ``shared.domain``'s typed
errors; the functions take the session and the acting staff member and never commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.review import audit, people
from services.review.alliances.domain import get_alliance, status_label, terms
from services.review.alliances.models import Alliance, Roundtable, RoundtableMembership
from shared.domain import Acting, Conflict, Forbidden, Invalid, NotFound

JOINING_STATUSES = ("active", "ambassador")
ROUNDTABLE_FIELDS = ("name", "description", "starts_on", "ends_on")
KEEPERS = ("coordinator",)  # for the sign-in gates; ``check_keeper`` decides


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


# -- who may do what --------------------------------------------------------------------------


def check_reader(acting: Acting) -> None:
    """Any staff member reads the roundtables and who is in them."""
    people.require_staff(acting)


def check_keeper(acting: Acting) -> None:
    """The Coordinator keeps the roundtables and their memberships."""
    if not acting.is_coordinator:
        raise Forbidden("Only the Coordinator keeps the roundtables and their memberships.")


def runs_on(starts_on: date, ends_on: date | None, day: date) -> bool:
    return starts_on <= day and (ends_on is None or day <= ends_on)


def is_current(roundtable: Roundtable, day: date, parent: Roundtable | None = None) -> bool:
    if not runs_on(roundtable.starts_on, roundtable.ends_on, day):
        return False
    return parent is None or runs_on(parent.starts_on, parent.ends_on, day)


def get_roundtable(session: Session, roundtable_id: uuid.UUID) -> Roundtable:
    roundtable = session.get(Roundtable, roundtable_id)
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
