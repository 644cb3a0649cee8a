"""The public directory: active alliances and Ambassadors, and the roundtables they are in.

Recognition is one reason partners join, so anyone may read it (no sign-in). It shows only
what the agency publishes about an alliance: the partner's name and website, its goals
(category, description, short or long term), the lead division or office, the signing date
(and the latest renewal), whether it is an Ambassador, and its roundtables. Nothing private:
no contact or liaison names, e-mails or phones, no addresses, no internal comments, scores,
references or reasons. Each field is copied here one by one, never passed through, so a new
column on an alliance cannot leak by accident.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.review.alliances.domain import ambassador_since
from services.review.models import Alliance, AllianceTerm, Roundtable
from services.review.queue.domain import today as agency_today
from services.review.roundtables.domain import current_memberships, is_current
from shared.agency import GOAL_CATEGORIES, GOAL_TERMS, AgencyProfile, load_agency_profile

PUBLIC_STATUSES = ("active", "ambassador")


def _website(partner: dict[str, Any]) -> str:
    """The partner's website when it is a plain web address, else nothing."""
    url = str(partner.get("website") or "").strip()
    parts = urlsplit(url)
    return url if parts.scheme in ("http", "https") and parts.netloc else ""


def _goals(goals: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [
        {
            "category": str(goal.get("category", "")),
            "category_label": GOAL_CATEGORIES.get(goal.get("category", ""), ""),
            "description": str(goal.get("description", "")),
            "term": str(goal.get("term", "")),
            "term_label": GOAL_TERMS.get(goal.get("term", ""), ""),
        }
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


def public_directory(
    session: Session, *, today: date | None = None, profile: AgencyProfile | None = None
) -> dict[str, Any]:
    """``{"as_of", "alliances": [...], "roundtables": [...]}``, all of it public."""
    today = today or agency_today()
    profile = profile or load_agency_profile()
    alliances = list(
        session.scalars(
            select(Alliance)
            .where(Alliance.status.in_(PUBLIC_STATUSES))
            .order_by(Alliance.partner_name, Alliance.id)
        )
    )
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

    listed = []
    for alliance in alliances:
        listed.append(
            {
                "id": str(alliance.id),
                "partner_name": alliance.partner_name,
                "website": _website(alliance.partner),
                "status": alliance.status,
                "ambassador": alliance.status == "ambassador",
                "ambassador_since": since[alliance.id].isoformat()
                if alliance.id in since
                else None,
                "division": alliance.division,
                "division_label": profile.divisions.get(alliance.division, alliance.division),
                "signing_date": first_signed.get(alliance.id, alliance.signing_date).isoformat(),
                "renewed_on": alliance.signing_date.isoformat() if alliance.renewals else None,
                "goals": _goals(alliance.goals),
                "roundtables": [
                    {"id": str(roundtable.id), "name": roundtable_name(roundtable)}
                    for _, roundtable, member in sorted(
                        current, key=lambda row: roundtable_name(row[1])
                    )
                    if member.id == alliance.id
                ],
            }
        )

    def members_of(roundtable: Roundtable) -> list[dict[str, str]]:
        return [
            {"alliance_id": str(alliance.id), "partner_name": alliance.partner_name}
            for _, member_of, alliance in current
            if member_of.id == roundtable.id
        ]

    def entry(roundtable: Roundtable) -> dict[str, Any]:
        return {
            "id": str(roundtable.id),
            "name": roundtable.name,
            "description": roundtable.description,
            "starts_on": roundtable.starts_on.isoformat(),
            "ends_on": roundtable.ends_on.isoformat() if roundtable.ends_on else None,
            "members": members_of(roundtable),
        }

    tops = sorted(
        (r for r in roundtables.values() if r.parent_id is None and is_current(r, today)),
        key=lambda r: r.name,
    )
    listed_roundtables = [
        {
            **entry(top),
            "workgroups": [
                entry(workgroup)
                for workgroup in sorted(roundtables.values(), key=lambda r: r.name)
                if workgroup.parent_id == top.id and is_current(workgroup, today, top)
            ],
        }
        for top in tops
    ]
    return {
        "as_of": today.isoformat(),
        "division_heading": "Office" if profile.federal else "Lead division",
        "alliances": listed,
        "roundtables": listed_roundtables,
    }
