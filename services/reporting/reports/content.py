"""What a report holds, as the aggregate stores it and every screen shows it: its sections and
their fields (``SECTIONS``, ``FIELDS``: the labels the form, the review page, the printout
and the CSV exports use), the goal categories it narrates (``goal_categories_of``,
``narrated``) and its content as text (``for_display``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

SECTIONS: dict[str, str] = {
    "meetings": "Implementation team meetings",
    "dissemination": "Dissemination of products",
    "outreach": "Outreach events and training for outside audiences",
    "staff_training": "Training for agency staff",
    "products": "Products developed",
}
FIELDS: dict[str, dict[str, str]] = {
    "meetings": {"date": "Meeting date", "topic": "Topic", "attendees": "Who attended"},
    "dissemination": {
        "type": "Type of product",
        "date": "Date",
        "description": "Description",
        "emphasis_area": "Emphasis area",
        "number_reached": "Number reached",
    },
    "outreach": {
        "date": "Date",
        "event": "Event",
        "city": "City",
        "state": "State",
        "emphasis_area": "Emphasis area",
        "number_reached": "Number reached",
    },
    "staff_training": {"audience": "Audience", "number_reached": "Number reached"},
    "products": {"title": "Title", "description": "Description"},
}


class SignedAlliance(Protocol):
    """What ``goal_categories_of`` reads of an alliance: the payload it was signed with."""

    @property
    def signed(self) -> Mapping[str, Any]: ...


def goal_categories_of(
    alliance: SignedAlliance | None, categories: Mapping[str, str]
) -> dict[str, str]:
    """The agency's goal ``categories`` (key -> label, in its order) that the alliance's
    signed agreement has goals in: the only ones its report narrates. All of them for an
    alliance whose goals reporting was never told."""
    goals = (alliance.signed or {}).get("goals") if alliance is not None else None
    held = {str(goal.get("category")) for goal in goals or () if isinstance(goal, dict)}
    mine = {key: label for key, label in categories.items() if key in held}
    return mine or dict(categories)


def narrated(
    content: Mapping[str, Any], goal_categories: Mapping[str, str], every: Mapping[str, str]
) -> dict[str, str]:
    """The goal categories a stored report shows: the alliance's (``goal_categories``) and any
    other of the agency's (``every``) that the report has text for, in the agency's order."""
    narratives = content.get("narratives", {})
    written = {key for key, parts in narratives.items() if any((parts or {}).values())}
    return {key: label for key, label in every.items() if key in goal_categories or key in written}


def for_display(content: Mapping[str, Any]) -> dict[str, Any]:
    """Stored or typed content with every value as text, for the form."""
    shown: dict[str, Any] = {}
    for section, names in FIELDS.items():
        shown[section] = [
            {name: "" if row.get(name) is None else str(row.get(name)) for name in names}
            for row in content.get(section, [])
        ]
    shown["narratives"] = content.get("narratives", {})
    return shown
