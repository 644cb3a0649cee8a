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
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.review import audit
from services.review.alliances.domain import (
    AgreementError,
    InvalidInput,
    NotFound,
    get_alliance,
    terms,
)
from services.review.models import Alliance, Roundtable, RoundtableMembership
from services.review.queue.domain import today as agency_today

JOINING_STATUSES = ("active", "ambassador")
ROUNDTABLE_FIELDS = ("name", "description", "starts_on", "ends_on")


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


def list_roundtables(session: Session) -> list[Roundtable]:
    """Roundtables by name, each followed by its workgroups by name."""
    rows = list(session.scalars(select(Roundtable).order_by(Roundtable.name)))
    ordered: list[Roundtable] = []
    for top in (r for r in rows if r.parent_id is None):
        ordered.append(top)
        ordered.extend(r for r in rows if r.parent_id == top.id)
    return ordered


def roundtable_data(roundtable: Roundtable) -> dict[str, Any]:
    return {
        "id": str(roundtable.id),
        "parent_id": str(roundtable.parent_id) if roundtable.parent_id else None,
        "name": roundtable.name,
        "description": roundtable.description,
        "starts_on": roundtable.starts_on.isoformat(),
        "ends_on": roundtable.ends_on.isoformat() if roundtable.ends_on else None,
    }


def membership_data(membership: RoundtableMembership, alliance: Alliance) -> dict[str, Any]:
    return {
        "id": str(membership.id),
        "roundtable_id": str(membership.roundtable_id),
        "alliance_id": str(alliance.id),
        "partner_name": alliance.partner_name,
        "joined_on": membership.joined_on.isoformat(),
        "left_on": membership.left_on.isoformat() if membership.left_on else None,
    }


def _audit_values(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in values.items()}


def _checked(values: Mapping[str, Any]) -> dict[str, Any]:
    name = values.get("name")
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("Give the roundtable's name.", field="name")
    name = " ".join(name.split())
    if len(name) > 200:
        raise InvalidInput("At most 200 characters.", field="name")
    description = values.get("description") or ""
    if not isinstance(description, str) or len(description) > 10000:
        raise InvalidInput("At most 10000 characters of text.", field="description")
    starts_on = values.get("starts_on")
    if not isinstance(starts_on, date):
        raise InvalidInput("Give the day it starts.", field="starts_on")
    ends_on = values.get("ends_on")
    if ends_on is not None and not isinstance(ends_on, date):
        raise InvalidInput("Give a date (YYYY-MM-DD).", field="ends_on")
    if ends_on is not None and ends_on < starts_on:
        raise InvalidInput("It cannot end before it starts.", field="ends_on")
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
        raise InvalidInput(
            f"A workgroup cannot start before its roundtable ({value('starts_on').isoformat()}).",
            field="starts_on",
        )
    parent_end = value("ends_on")
    if parent_end is not None:
        if workgroup["starts_on"] > parent_end:
            raise InvalidInput(
                f"The roundtable ends on {parent_end.isoformat()}.", field="starts_on"
            )
        if workgroup["ends_on"] is not None and workgroup["ends_on"] > parent_end:
            raise InvalidInput(
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
        raise InvalidInput(f"There is a {place} with this name already.", field="name")


def _check_memberships_fit(session: Session, roundtable_id: uuid.UUID, values: Any) -> None:
    for membership in session.scalars(
        select(RoundtableMembership).where(RoundtableMembership.roundtable_id == roundtable_id)
    ):
        if membership.joined_on < values["starts_on"]:
            raise InvalidInput(
                f"A member joined on {membership.joined_on.isoformat()}, before that day.",
                field="starts_on",
            )
        if values["ends_on"] is not None and membership.joined_on > values["ends_on"]:
            raise InvalidInput(
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
    actor: str,
) -> Roundtable:
    """A roundtable, or with ``parent_id`` a workgroup of one."""
    checked = _checked(
        {"name": name, "description": description, "starts_on": starts_on, "ends_on": ends_on}
    )
    if parent_id is not None:
        parent = session.scalars(
            select(Roundtable).where(Roundtable.id == parent_id).with_for_update()
        ).first()
        if parent is None:
            raise InvalidInput("There is no such roundtable.", field="parent_id")
        if parent.parent_id is not None:
            raise InvalidInput(
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
        actor=actor,
        changes={k: [None, v] for k, v in _audit_values(checked).items() if v not in (None, "")},
        note=f"workgroup of {parent_id}" if parent_id else "",
    )
    return roundtable


def update_roundtable(
    session: Session, *, roundtable_id: uuid.UUID, changes: Mapping[str, Any], actor: str
) -> Roundtable:
    """Rename, describe, or change the dates (an end date closes it)."""
    unknown = sorted(set(changes) - set(ROUNDTABLE_FIELDS))
    if unknown:
        raise InvalidInput("This cannot be changed here.", field=unknown[0])
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
            except InvalidInput as err:
                raise InvalidInput(
                    f"The workgroup {workgroup.name} would not fit: {err.message}",
                    field=err.field,
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
            actor=actor,
            changes=changes,
        )
    return roundtable


def memberships(
    session: Session,
    *,
    roundtable_id: uuid.UUID | None = None,
    alliance_id: uuid.UUID | None = None,
) -> list[tuple[RoundtableMembership, Alliance]]:
    query = (
        select(RoundtableMembership, Alliance)
        .join(Alliance, Alliance.id == RoundtableMembership.alliance_id)
        .order_by(RoundtableMembership.joined_on, Alliance.partner_name)
    )
    if roundtable_id is not None:
        query = query.where(RoundtableMembership.roundtable_id == roundtable_id)
    if alliance_id is not None:
        query = query.where(RoundtableMembership.alliance_id == alliance_id)
    return [(m, a) for m, a in session.execute(query).all()]


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
    actor: str,
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
            actor=actor,
            changes=changes,
            note=note,
        )


def join(
    session: Session,
    *,
    roundtable_id: uuid.UUID,
    alliance_id: uuid.UUID,
    joined_on: date,
    actor: str,
    today: date | None = None,
) -> RoundtableMembership:
    """The alliance joins the roundtable (or workgroup) on ``joined_on``."""
    today = today or agency_today()
    roundtable = get_roundtable(session, roundtable_id)
    try:
        alliance = get_alliance(session, alliance_id, lock=True)  # one join at a time
    except NotFound:
        raise InvalidInput("There is no such alliance.", field="alliance_id") from None
    if alliance.status not in JOINING_STATUSES:
        raise AgreementError(
            f"This alliance is {alliance.status}: only an active alliance or an Ambassador "
            "joins a roundtable."
        )
    if not isinstance(joined_on, date):
        raise InvalidInput("Give the day it joined.", field="joined_on")
    if joined_on > today:
        raise InvalidInput("Record the membership once it has begun.", field="joined_on")
    signed = terms(session, alliance)[0].signing_date
    if joined_on < signed:
        raise InvalidInput(
            f"The alliance was signed on {signed.isoformat()}: it joins from that day on.",
            field="joined_on",
        )
    if not runs_on(roundtable.starts_on, roundtable.ends_on, joined_on):
        until = roundtable.ends_on.isoformat() if roundtable.ends_on else "now"
        raise InvalidInput(
            f"{roundtable.name} runs from {roundtable.starts_on.isoformat()} to {until}.",
            field="joined_on",
        )
    for earlier, _ in memberships(session, roundtable_id=roundtable.id, alliance_id=alliance.id):
        if earlier.left_on is None:
            raise AgreementError(
                f"{alliance.partner_name} is a member of {roundtable.name} already "
                f"(since {earlier.joined_on.isoformat()})."
            )
        if earlier.left_on >= joined_on:
            raise InvalidInput(
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
        actor=actor,
        changes={"joined_on": [None, joined_on.isoformat()]},
        note=f"membership {membership.id}: {alliance.partner_name} in {roundtable.name}",
    )
    return membership


def leave(
    session: Session,
    *,
    roundtable_id: uuid.UUID,
    membership_id: uuid.UUID,
    left_on: date,
    actor: str,
    today: date | None = None,
) -> RoundtableMembership:
    """The alliance leaves; ``left_on`` is its last day as a member."""
    today = today or agency_today()
    membership = session.scalars(
        select(RoundtableMembership)
        .where(RoundtableMembership.id == membership_id)
        .with_for_update()
    ).first()
    if membership is None or membership.roundtable_id != roundtable_id:
        raise NotFound("No such membership in this roundtable.")
    if membership.left_on is not None:
        raise AgreementError(f"This membership ended on {membership.left_on.isoformat()}.")
    if not isinstance(left_on, date):
        raise InvalidInput("Give the last day as a member.", field="left_on")
    if left_on < membership.joined_on:
        raise InvalidInput(
            f"It joined on {membership.joined_on.isoformat()}: it leaves on or after that day.",
            field="left_on",
        )
    if left_on > today:
        raise InvalidInput("Record the departure once it has happened.", field="left_on")
    membership.left_on = left_on
    _record_membership(
        session,
        membership,
        action="left roundtable",
        actor=actor,
        changes={"left_on": [None, left_on.isoformat()]},
        note=f"membership {membership.id}",
    )
    return membership
