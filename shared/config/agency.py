"""The agency's settings: its profile, name, time zone and lists (shared/agency.py holds the
profiles' defaults)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from shared.agency import PROFILES, Choices
from shared.config.declarations import Section, Setting
from shared.config.parsers import (
    CHOICES,
    TIME_ZONE,
    Parser,
    Refused,
    one_of,
    text,
)
from shared.offices import OfficeTree, OfficeTreeError, parse_offices


def _offices(raw: str) -> OfficeTree:
    try:
        return parse_offices(raw)
    except OfficeTreeError as err:
        raise Refused(str(err)) from None


OFFICES = Parser(
    "comma-separated slug=Name items, the first the top office and every other one naming its "
    "parent office after >, such as miosha=MIOSHA,cet=Consultation Education & Training>miosha",
    _offices,
)

THE_AGENCY = Section(
    "The agency",
    "One deployment serves one agency: a state plan (MIOSHA's divisions) or federal OSHA "
    "(office levels). A list replaces the whole default list; SPEC.md gives the defaults.",
)
AGENCY_PROFILE = THE_AGENCY.add(
    Setting(
        "AGENCY_PROFILE",
        one_of(*PROFILES),
        "state_plan",
        "`state_plan` (divisions) or `federal` (office levels and the national-dialogue goal)",
    )
)
AGENCY_NAME = THE_AGENCY.add(
    Setting(
        "AGENCY_NAME",
        text("a name"),
        "",
        "the agency's name on pages and in e-mail",
        default_doc="`MIOSHA` (federal profile: `OSHA`)",
    )
)
AGENCY_GOVERNMENT = THE_AGENCY.add(
    Setting(
        "AGENCY_GOVERNMENT",
        text("a government's name"),
        "",
        'whose official website this is, in the banner atop every page ("An official website '
        'of ...")',
        default_doc="`the State of Michigan` (federal profile: `the United States government`)",
    )
)
AGENCY_TIMEZONE = THE_AGENCY.add(
    Setting(
        "AGENCY_TIMEZONE",
        TIME_ZONE,
        ZoneInfo("America/Detroit"),
        "the agency's time zone: its dates, deadlines and the times in e-mail",
    )
)
AGENCY_HAZARDS: Setting[Choices | None] = THE_AGENCY.add(
    Setting(
        "AGENCY_HAZARDS",
        CHOICES,
        None,
        "the hazards a proposal may name",
        default_doc="the 13 hazards in SPEC.md",
    )
)
AGENCY_ACTIVITIES: Setting[Choices | None] = THE_AGENCY.add(
    Setting(
        "AGENCY_ACTIVITIES",
        CHOICES,
        None,
        "the activities a goal may name",
        default_doc="the 11 MIOSHA activities in SPEC.md",
    )
)
AGENCY_PRIORITY_AREAS: Setting[Choices | None] = THE_AGENCY.add(
    Setting(
        "AGENCY_PRIORITY_AREAS",
        CHOICES,
        None,
        "the agency's priority areas, which raise a proposal's score",
        default_doc="falls, heat, silica, amputations, trenching",
    )
)
AGENCY_DIVISIONS: Setting[Choices | None] = THE_AGENCY.add(
    Setting(
        "AGENCY_DIVISIONS",
        CHOICES,
        None,
        "the divisions (federal: office levels) a proposal may ask for",
        default_doc="the profile's three divisions or office levels",
    )
)
AGENCY_OFFICES: Setting[OfficeTree | None] = THE_AGENCY.add(
    Setting(
        "AGENCY_OFFICES",
        OFFICES,
        None,
        "the agency's offices as a tree: whose Coordinator decides, sees and is alerted",
        default_doc="state plan: the agency (`AGENCY_NAME`) and its divisions "
        "(`AGENCY_DIVISIONS`); federal: the National Office, Regions I-X and their 88 Area Offices "
        "(shared/federal_area_offices.csv)",
    )
)
