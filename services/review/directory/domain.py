"""The public directory: active alliances and Ambassadors, the roundtables they are in, and
the products the roundtables made together. An approved alliance awaiting its signing is not
listed until its signing is recorded.

Recognition is one reason partners join, so anyone may read it (no sign-in). It shows only
what the agency publishes about an alliance: the partner's name and website, its goals
(category, description, short or long term), the lead division or office, the signing date
(and the latest renewal), whether it is an Ambassador, and its roundtables. Nothing private:
no contact or liaison names, e-mails or phones, no addresses, no internal comments, scores,
references or reasons. The answer names each public field (``directory.schemas``) and the
alliance's goals and website are copied field by field, never passed through, so a new
column on an alliance cannot leak by accident.

A roundtable's product is listed while the Coordinator says it is public (``public``): its
title, kind, description, link, the day it was published and the roundtable's name; never who
recorded it. Products are the program's, not an office's: the office filter leaves them all.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.review.alliances.domain import ambassador_since
from services.review.alliances.models import Alliance, AllianceTerm, Roundtable
from services.review.roundtables.domain import (
    PRODUCT_KINDS,
    current_memberships,
    is_current,
    public_products,
)
from shared.agency import GOAL_CATEGORIES, GOAL_TERMS, AgencyProfile
from shared.config import load_agency_profile
from shared.domain import Invalid

PUBLIC_STATUSES = ("active", "ambassador")


@dataclass(frozen=True)
class Goal:
    category: str
    category_label: str
    description: str
    term: str
    term_label: str


@dataclass(frozen=True)
class NamedRoundtable:
    id: uuid.UUID
    name: str  # a workgroup's name follows its roundtable's: "Construction Roundtable: Falls"


@dataclass(frozen=True)
class ListedAlliance:
    """What the public may know of one active alliance or Ambassador."""

    id: uuid.UUID
    partner_name: str
    website: str  # a plain web address, or nothing
    status: str
    ambassador_since: date | None
    division: str
    division_label: str
    office: str
    office_name: str
    signing_date: date  # the initial term's
    renewed_on: date | None  # the latest renewal's signing date
    goals: list[Goal]
    roundtables: list[NamedRoundtable]

    @property
    def ambassador(self) -> bool:
        return self.status == "ambassador"


@dataclass(frozen=True)
class Member:
    alliance_id: uuid.UUID
    partner_name: str


@dataclass(frozen=True)
class ListedRoundtable:
    """A current roundtable (or workgroup) and its current public members."""

    id: uuid.UUID
    name: str
    description: str
    starts_on: date
    ends_on: date | None
    members: list[Member]
    workgroups: list[ListedRoundtable]


@dataclass(frozen=True)
class ListedProduct:
    """A product a roundtable made, as the public reads it."""

    id: uuid.UUID
    kind: str
    kind_label: str
    title: str
    description: str
    url: str  # a plain web address, or nothing
    published_on: date
    roundtable_id: uuid.UUID
    roundtable_name: str  # a workgroup's follows its roundtable's, as for alliances


@dataclass(frozen=True)
class Directory:
    as_of: date
    division_heading: str
    alliances: list[ListedAlliance]
    roundtables: list[ListedRoundtable]
    products: list[ListedProduct]
    # The offices a reader may narrow the list to (those with a listed alliance, each counted
    # with those under it), when they say more than the divisions; and the one chosen.
    offices: dict[str, str]
    office: str = ""


def website(partner: dict[str, Any]) -> str:
    """The partner's website when it is a plain web address, else nothing."""
    url = str(partner.get("website") or "").strip()
    parts = urlsplit(url)
    return url if parts.scheme in ("http", "https") and parts.netloc else ""


def goals(goals: list[dict[str, Any]]) -> list[Goal]:
    return [
        Goal(
            category=str(goal.get("category", "")),
            category_label=GOAL_CATEGORIES.get(goal.get("category", ""), ""),
            description=str(goal.get("description", "")),
            term=str(goal.get("term", "")),
            term_label=GOAL_TERMS.get(goal.get("term", ""), ""),
        )
        for goal in goals
    ]


def _first_signed(session: Session, alliances: list[Alliance]) -> dict[uuid.UUID, date]:
    """The initial signing date of each renewed alliance (from its recorded terms)."""
    ids = [a.id for a in alliances if a.renewals]
    if not ids:
        return {}
    rows = session.execute(
        select(AllianceTerm.alliance_id, AllianceTerm.signing_date).where(
            AllianceTerm.alliance_id.in_(ids), AllianceTerm.number == 0
        )
    ).all()
    return {alliance_id: signed for alliance_id, signed in rows}


def _signed(alliance: Alliance) -> date:
    """The signing date of a listed alliance (only signed ones are listed)."""
    assert alliance.signing_date is not None
    return alliance.signing_date


def public_directory(
    session: Session, *, today: date, profile: AgencyProfile | None = None, office: str = ""
) -> Directory:
    """The active alliances and Ambassadors and the current roundtables, all of it public;
    ``office``: the alliances of that office and the offices under it (refused for
    one the agency does not have: ``Invalid``)."""
    profile = profile or load_agency_profile()
    tree = profile.offices
    if office and office not in tree:
        raise Invalid({"office": ["Choose one of the offices listed."]})
    every = list(
        session.scalars(
            select(Alliance)
            .where(Alliance.status.in_(PUBLIC_STATUSES), Alliance.signing_date.is_not(None))
            .order_by(Alliance.partner_name, Alliance.id)
        )
    )

    def office_of(alliance: Alliance) -> str:
        return alliance.office or tree.top.slug

    with_alliances = {
        o.slug for a in every if office_of(a) in tree for o in tree.upward(office_of(a))
    }
    offices = (
        {
            slug: label
            for slug, label in tree.labelled_choices().items()
            if slug in with_alliances and slug != tree.top.slug
        }
        if profile.offices_tell_more
        else {}
    )
    within = tree.within(office) if office else None
    alliances = [a for a in every if within is None or office_of(a) in within]
    public_ids = {a.id for a in alliances}
    since = ambassador_since(session, [a.id for a in alliances if a.status == "ambassador"])
    first_signed = _first_signed(session, alliances)
    current = [
        (membership, roundtable, alliance)
        for membership, roundtable, alliance in current_memberships(session, day=today)
        if alliance.id in public_ids
    ]
    roundtables = {r.id: r for r in session.scalars(select(Roundtable))}

    def roundtable_name(roundtable: Roundtable) -> str:
        if roundtable.parent_id is None:
            return roundtable.name
        return f"{roundtables[roundtable.parent_id].name}: {roundtable.name}"

    listed = [
        ListedAlliance(
            id=alliance.id,
            partner_name=alliance.partner_name,
            website=website(alliance.partner),
            status=alliance.status,
            ambassador_since=since.get(alliance.id),
            division=alliance.division,
            division_label=profile.divisions.get(alliance.division, alliance.division),
            office=office_of(alliance),
            office_name=tree.name(office_of(alliance))
            if office_of(alliance) in tree
            else office_of(alliance),
            signing_date=first_signed.get(alliance.id) or _signed(alliance),
            renewed_on=alliance.signing_date if alliance.renewals else None,
            goals=goals(alliance.goals),
            roundtables=[
                NamedRoundtable(roundtable.id, roundtable_name(roundtable))
                for _, roundtable, member in sorted(
                    current, key=lambda row: roundtable_name(row[1])
                )
                if member.id == alliance.id
            ],
        )
        for alliance in alliances
    ]

    def entry(roundtable: Roundtable, workgroups: list[ListedRoundtable]) -> ListedRoundtable:
        return ListedRoundtable(
            id=roundtable.id,
            name=roundtable.name,
            description=roundtable.description,
            starts_on=roundtable.starts_on,
            ends_on=roundtable.ends_on,
            members=[
                Member(alliance.id, alliance.partner_name)
                for _, member_of, alliance in current
                if member_of.id == roundtable.id
            ],
            workgroups=workgroups,
        )

    tops = sorted(
        (r for r in roundtables.values() if r.parent_id is None and is_current(r, today)),
        key=lambda r: r.name,
    )
    listed_roundtables = [
        entry(
            top,
            [
                entry(workgroup, [])
                for workgroup in sorted(roundtables.values(), key=lambda r: r.name)
                if workgroup.parent_id == top.id and is_current(workgroup, today, top)
            ],
        )
        for top in tops
    ]
    products = [
        ListedProduct(
            id=product.id,
            kind=product.kind,
            kind_label=PRODUCT_KINDS.get(product.kind, product.kind),
            title=product.title,
            description=product.description,
            url=website({"website": product.url}),
            published_on=product.published_on,
            roundtable_id=roundtable.id,
            roundtable_name=roundtable_name(roundtable),
        )
        for product, roundtable in public_products(session)
    ]
    return Directory(
        as_of=today,
        division_heading="Office level" if profile.federal else "Lead division",
        alliances=listed,
        roundtables=listed_roundtables,
        products=products,
        offices=offices,
        office=office,
    )
