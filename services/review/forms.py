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
"""

from __future__ import annotations

import re
from typing import Any

from flask import request
from marshmallow import Schema, fields

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
