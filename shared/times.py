"""How a page shows an instant: in the agency's time zone (AGENCY_TIMEZONE), with the zone
named, e.g. "Dec 6, 2026, 1:13 PM EST" (EDT in summer). Every service registers it as the
Jinja filter ``agency_time`` (shared/web.py). JSON keeps ISO 8601 with its offset."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from shared.config import load_settings


def agency_zone() -> ZoneInfo:
    return load_settings().agency_timezone


def in_agency_zone(moment: datetime, zone: ZoneInfo | None = None) -> datetime:
    """``moment`` in the agency's zone; a naive one is taken as UTC (how the database keeps
    every instant)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone or agency_zone())


def agency_time(moment: datetime | str | None, zone: ZoneInfo | None = None) -> str:
    """ "Dec 6, 2026, 1:13 PM EST": the date, the time of day and the zone's abbreviation
    for that date (EST or EDT). An ISO 8601 text (as a history kept in JSON holds it) is read
    first. Empty for no instant."""
    if not moment:
        return ""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    local = in_agency_zone(moment, zone)
    return local.strftime("%b %-d, %Y, %-I:%M %p %Z")


def agency_date(moment: datetime | str | None, zone: ZoneInfo | None = None) -> str:
    """ "Dec 5, 2026": the calendar day an instant falls on in the agency's zone (9 pm
    Eastern on Dec 5 is Dec 5, though UTC has turned to Dec 6). Empty for no instant."""
    if not moment:
        return ""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return in_agency_zone(moment, zone).strftime("%b %-d, %Y")
