"""The report form's fields: names are the content's paths (``outreach.0.city``), ids the
same with dashes; posted forms become content and back."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.reporting.submissions.domain import CONFIRM_EARLY, ROW_REQUIRED
from services.reporting.submissions.schemas import MAX_ROWS
from shared.converters import whole_number

SECTIONS: dict[str, str] = {
    "meetings": "Implementation team meetings",
    "dissemination": "Dissemination of products",
    "outreach": "Outreach events and training for outside audiences",
    "staff_training": "Training for agency staff",
    "products": "Products developed",
}
# What one row is called on its Remove button ("Remove meeting 2").
ROW_NAMES: dict[str, str] = {
    "meetings": "meeting",
    "dissemination": "dissemination",
    "outreach": "outreach event",
    "staff_training": "staff training",
    "products": "product",
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
assert FIELDS.keys() == ROW_REQUIRED.keys() == ROW_NAMES.keys()
NULLABLE = ("date", "number_reached")  # "" means not given


def field_id(path: str) -> str:
    return path.replace(".", "-").replace("_", "-")


def _indices(form: Mapping[str, Any], section: str) -> list[int]:
    found = set()
    for key in form:
        parts = str(key).split(".")
        index = whole_number(parts[1]) if len(parts) == 3 and parts[0] == section else None
        if index is not None and index < MAX_ROWS:
            found.add(index)
    return sorted(found)


def _blank(row: Mapping[str, Any]) -> bool:
    return all(value in (None, "") for value in row.values())


def from_form(
    form: Mapping[str, Any],
    goal_categories: Mapping[str, str],
    *,
    without: tuple[str, int] | None = None,
) -> dict[str, Any]:
    """The content a posted form describes, as typed; rows left blank are dropped, except
    when a row is removed (``without``: its section and its index as the form showed it):
    then the others stay as they were shown."""
    content: dict[str, Any] = {}
    for section, names in FIELDS.items():
        rows = [
            {name: str(form.get(f"{section}.{index}.{name}", "")) for name in names}
            for index in _indices(form, section)
            if without != (section, index)
        ]
        content[section] = rows if without else [row for row in rows if not _blank(row)]
    content["narratives"] = {
        category: {
            part: str(form.get(f"narratives.{category}.{part}", ""))
            for part in ("results", "obstacles")
        }
        for category in goal_categories
    }
    return content


def for_loading(content: dict[str, Any]) -> dict[str, Any]:
    """The typed content with empty dates and numbers as ``None`` for the schema."""
    loadable: dict[str, Any] = {"narratives": content.get("narratives", {})}
    for section in FIELDS:
        loadable[section] = [
            {k: (None if k in NULLABLE and v == "" else v) for k, v in row.items()}
            for row in content.get(section, [])
        ]
    return loadable


def for_display(content: dict[str, Any]) -> dict[str, Any]:
    """Stored or typed content with every value as text, for the form."""
    shown: dict[str, Any] = {}
    for section, names in FIELDS.items():
        shown[section] = [
            {name: "" if row.get(name) is None else str(row.get(name)) for name in names}
            for row in content.get(section, [])
        ]
    shown["narratives"] = content.get("narratives", {})
    return shown


def narrated(
    content: Mapping[str, Any], goal_categories: Mapping[str, str], every: Mapping[str, str]
) -> dict[str, str]:
    """The goal categories a stored report shows: the alliance's (``goal_categories``) and any
    other of the agency's (``every``) that the report has text for, in the agency's order."""
    narratives = content.get("narratives", {})
    written = {key for key, parts in narratives.items() if any((parts or {}).values())}
    return {key: label for key, label in every.items() if key in goal_categories or key in written}


def error_rows(
    errors: Mapping[str, list[str]], goal_categories: Mapping[str, str]
) -> list[tuple[str, str, str]]:
    """(field id, label, message) for the error summary, in the form's order."""
    rows = []
    for path, messages in errors.items():
        parts = path.split(".")
        label = ""
        if len(parts) == 3 and parts[0] in FIELDS and parts[1].isascii() and parts[1].isdigit():
            name = FIELDS[parts[0]].get(parts[2], parts[2])
            label = f"{SECTIONS[parts[0]]}, row {int(parts[1]) + 1}, {name}"
        elif len(parts) == 3 and parts[0] == "narratives":
            label = f"{goal_categories.get(parts[1], parts[1])}, {parts[2]}"
        elif path == CONFIRM_EARLY:
            label = "Sending before the period ends"
        for message in messages:
            rows.append((field_id(path), label, message))
    return rows
