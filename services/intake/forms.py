"""The HTML form's side of a proposal: form fields to the API's nested shape and back, and
validation errors to fields and a summary.

Field names are the API's field paths (``organization.address.zip``, ``goals.2.measure``), so
the one set of marshmallow schemas (services/intake/schemas.py) checks both the form and the
JSON API, and each error lands next to its field. Element ids are the same paths with dashes.
Nothing here judges the input.
"""

from __future__ import annotations

import re
from typing import Any

from werkzeug.datastructures import MultiDict

from shared.agency import AgencyProfile
from shared.converters import whole_number
from shared.proposal import PROPOSAL_FIELD_LABELS
from shared.text_hygiene import untypable_character

# A field hidden from people and screen readers; bots tend to fill in every field.
HONEYPOT = "contact.nickname"

MULTI_VALUED = {"hazards", "priority.priority_areas", "activities"}

# In the form's order.
GOAL_FIELDS = ("category", "description", "term", "activities", "activities_other", "measure")

# The label an error summary uses for each field path (goal fields are numbered).
LABELS = {**PROPOSAL_FIELD_LABELS, "_schema": "Proposal"}
GOAL_LABELS = {
    "category": "category",
    "term": "short- or long-term",
    "description": "description",
    "activities": "activities",
    "activities_other": "other activities",
    "measure": "measure of success",
}

GOAL_PATH = re.compile(r"^goals\.(\d+)\.(\w+)$")
INDEXED = re.compile(r"^goals\.(\d+)\.(\w+)$")


def field_id(path: str) -> str:
    return path.replace(".", "-").replace("_", "-")


def empty_goal(category: str) -> dict[str, Any]:
    return {
        "category": category,
        "term": "",
        "description": "",
        "activities": [],
        "activities_other": "",
        "measure": "",
    }


def blank_proposal() -> dict[str, Any]:
    """What a new form starts with: one outreach goal, since every alliance needs one."""
    return {"goals": [empty_goal("outreach_communication")]}


def _set(target: dict[str, Any], path: list[str], value: Any) -> None:
    for part in path[:-1]:
        nested = target.get(part)
        if not isinstance(nested, dict):
            nested = target[part] = {}
        target = nested
    target[path[-1]] = value


def from_form(form: MultiDict[str, str]) -> dict[str, Any]:
    """The nested proposal the form describes, as typed (the schema judges it later)."""
    data: dict[str, Any] = {}
    goals: dict[int, dict[str, Any]] = {}
    for key in form:
        if key == HONEYPOT:
            continue  # views.py refuses the request when it is filled in
        match = INDEXED.match(key)
        if match:
            index, name = int(match.group(1)), match.group(2)
            if name not in GOAL_FIELDS or index > 99:
                continue
            goal = goals.setdefault(index, {})
            goal[name] = form.getlist(key) if name in MULTI_VALUED else form.get(key, "")
            continue
        if not key.startswith(("organization.", "contact.", "priority.")) and key not in (
            "hazards",
            "hazards_other",
            "requested_division",
            "requested_office",
            "existing_relationship",
        ):
            continue  # buttons, tokens and anything a browser adds
        value: Any = form.getlist(key) if key in MULTI_VALUED else form.get(key, "")
        _set(data, key.split("."), value)
    for index in sorted(goals):
        goals[index].setdefault("activities", [])
    data["goals"] = [goals[i] for i in sorted(goals)]
    organization = data.get("organization")
    if isinstance(organization, dict):
        reached = str(organization.get("workers_reached", "")).replace(",", "").strip()
        if reached == "":
            organization.pop("workers_reached", None)
        else:
            number = whole_number(reached)
            organization["workers_reached"] = reached if number is None else number
    data.setdefault("hazards", [])
    priority = data.setdefault("priority", {})
    if isinstance(priority, dict):
        priority.setdefault("priority_areas", [])
    return data


def printable(value: Any) -> Any:
    """``value`` (a form's nested data, or a string) with every character no one can type
    shown as U+FFFD: a page may show back what was sent, but never a raw NUL."""
    if isinstance(value, str):
        if untypable_character(value) is None:
            return value
        return "".join("\ufffd" if untypable_character(c) else c for c in value)
    if isinstance(value, dict):
        return {key: printable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [printable(item) for item in value]
    return value


def summary_label(path: str) -> str:
    match = GOAL_PATH.match(path)
    if match:
        return f"Goal {int(match.group(1)) + 1}, {GOAL_LABELS.get(match.group(2), match.group(2))}"
    return LABELS.get(path, path.replace(".", " ").replace("_", " ").capitalize())


def lead_errors_at_the_office(errors: dict[str, list[str]]) -> dict[str, list[str]]:
    """``errors`` with those about the lead division (office level) moved to the office."""
    if "requested_division" not in errors:
        return errors
    moved = {path: list(messages) for path, messages in errors.items()}
    moved.setdefault("requested_office", []).extend(moved.pop("requested_division"))
    return moved


def error_list(errors: dict[str, list[str]]) -> list[tuple[str, str, str]]:
    """(element id, label, message) for the error summary, in the form's order."""
    order = list(LABELS)

    def position(path: str) -> tuple[int, int, int]:
        match = GOAL_PATH.match(path)
        if match:
            field = match.group(2)
            rank = GOAL_FIELDS.index(field) if field in GOAL_FIELDS else len(GOAL_FIELDS)
            return (order.index("goals"), int(match.group(1)), rank)
        return (order.index(path) if path in order else len(order), 0, 0)

    rows = []
    for path in sorted(errors, key=position):
        target = "goals-outreach-communication" if path == "goals" else field_id(path)
        for message in errors[path]:
            rows.append((target, summary_label(path), message))
    return rows


def goal_groups(data: dict[str, Any], profile: AgencyProfile) -> list[dict[str, Any]]:
    """The goals grouped by category, in the program's order, each with its global index."""
    goals = data.get("goals") if isinstance(data.get("goals"), list) else []
    groups = []
    for category, label in profile.goal_categories.items():
        members = [
            (i, g)
            for i, g in enumerate(goals or [])
            if isinstance(g, dict) and g.get("category") == category
        ]
        groups.append({"category": category, "label": label, "goals": members})
    return groups


def value_at(data: Any, path: str) -> Any:
    for part in path.split("."):
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and part.isascii() and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return None
    return data
