"""How review's pages read a posted form: as the API's JSON would carry it, so that one input
schema per action (the part's schemas.py) checks the page and the API alike, with the same
messages.

``form_input`` gives the schema every posted field (those it does not know are checked for
untypable text with the rest, then left out), and reads those it knows so:

- a list field (``fields.List``): every value posted, none when nothing was ticked;
- a whole number for a number field (``fields.Integer``): as a number (anything else is left
  as typed, for the schema to refuse);
- any other text: trimmed, and left out when blank, so that a required field's own message
  says what to give and an optional one takes its default (the alliance's forms); or, for a
  form whose domain names every problem together (the staff forms: a blank name beside a
  taken address and a short password; passwords, whose spaces count), as typed, blanks and
  spaces kept (``as_typed``).

A refused form comes back on its page as a ``Failure``: its messages beside its fields (element
ids from the form's prefix), in the error summary in the form's order, and what was typed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import request
from marshmallow import Schema, fields

from shared.domain import Conflict, Invalid
from shared.schemas import load_input

WHOLE_NUMBER = re.compile(r"[+-]?\d{1,9}")


def form_input(schema: Schema, *, as_typed: bool = False) -> dict[str, Any]:
    """The posted form, loaded by the action's input schema (read as the module says), or
    ``Invalid`` with the messages by field."""
    data: dict[str, Any] = {key: request.form[key] for key in request.form}
    for name, kind in schema.fields.items():
        if isinstance(kind, fields.List):
            data[name] = request.form.getlist(name)
            continue
        if name not in request.form:
            continue
        text = request.form[name] if as_typed else request.form[name].strip()
        if isinstance(kind, fields.Integer) and WHOLE_NUMBER.fullmatch(text):
            data[name] = int(text)
        elif text or as_typed:
            data[name] = text
        else:
            del data[name]
    return load_input(schema, data)


@dataclass
class Failure:
    """The form that was refused: its prefix, errors by field, and what was sent."""

    prefix: str
    labels: Mapping[str, str]
    errors: dict[str, list[str]]
    status: int
    values: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, prefix: str, labels: Mapping[str, str], err: Invalid | Conflict) -> Failure:
        """The refusal of the form just posted, with what it sent (its CSRF token aside)."""
        values = {k: v for k, v in request.form.items() if k != "csrf_token"}
        return cls(prefix, labels, err.errors, err.status, values)

    def element_id(self, name: str) -> str:
        if name not in self.labels:  # about the form as a whole
            return f"{self.prefix}-problem"
        return f"{self.prefix}-{name.replace('_', '-')}"

    def by_element(self) -> dict[str, list[str]]:
        shown: dict[str, list[str]] = {}
        for name, messages in self.errors.items():
            shown.setdefault(self.element_id(name), []).extend(messages)
        return shown

    def summary(self) -> list[tuple[str, str, str]]:
        """(element id, label, message) for ui.error_summary, in the form's order."""
        known = [n for n in self.labels if n in self.errors]
        other = [n for n in self.errors if n not in self.labels]
        return [
            (self.element_id(name), self.labels.get(name, ""), message)
            for name in (*other, *known)
            for message in self.errors[name]
        ]


def sent(failure: Failure | None) -> Callable[[str], Mapping[str, str]]:
    """For a page's forms: what the refused one sent (by its prefix), to show again; nothing
    for the others."""
    return lambda prefix: failure.values if failure and failure.prefix == prefix else {}
