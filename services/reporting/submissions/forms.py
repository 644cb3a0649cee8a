"""The report form's fields: names are the content's paths (``outreach.0.city``), ids the
same with dashes; posted forms become content and back. The sections and their fields are
the report's (reports/content.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_babel import gettext

from services.reporting.reports.content import FIELDS, SECTIONS
from services.reporting.reports.submission import CONFIRM_EARLY, ROW_REQUIRED
from services.reporting.submissions.schemas import MAX_ROWS
from shared.converters import whole_number
from shared.i18n import translate_message

# What one row is called on its Remove button ("Remove meeting 2").
ROW_NAMES: dict[str, str] = {
    "meetings": "meeting",
    "dissemination": "dissemination",
    "outreach": "outreach event",
    "staff_training": "staff training",
    "products": "product",
}
assert FIELDS.keys() == ROW_REQUIRED.keys() == ROW_NAMES.keys()
# The two parts of a goal category's narrative, as the error summary names them.
NARRATIVE_PARTS = {"results": "Results", "obstacles": "Obstacles"}
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


def error_rows(
    errors: Mapping[str, list[str]], goal_categories: Mapping[str, str]
) -> list[tuple[str, str, str]]:
    """(field id, label, message) for the error summary, in the form's order and the page's
    language."""
    rows = []
    for path, messages in errors.items():
        parts = path.split(".")
        label = ""
        if len(parts) == 3 and parts[0] in FIELDS and parts[1].isascii() and parts[1].isdigit():
            name = translate_message(FIELDS[parts[0]].get(parts[2], parts[2]))
            label = gettext(
                "%(section)s, row %(number)s, %(field)s",
                section=translate_message(SECTIONS[parts[0]]),
                number=int(parts[1]) + 1,
                field=name,
            )
        elif len(parts) == 3 and parts[0] == "narratives":
            category = translate_message(goal_categories.get(parts[1], parts[1]))
            part = NARRATIVE_PARTS.get(parts[2], parts[2])
            label = f"{category}, {translate_message(part)}"
        elif path == CONFIRM_EARLY:
            label = gettext("Sending before the period ends")
        for message in messages:
            rows.append((field_id(path), label, message))
    return rows
