"""Whole numbers in a path that always fit their column: anything else is a 404, never a 500.

Werkzeug's ``<int:...>`` lets zero and any number of digits through to the view, and a number
past PostgreSQL's ``integer`` (2**31 - 1) then fails in the database (``DataError``): a 500.
``<number:...>`` matches ASCII digits only, from 1 to 2**31 - 1 unless the rule says otherwise
(``<number(min=0):term>``, ``<number(max=100):year>``, ``<number(max=BIGINT_MAX):id>`` for a
``bigint`` column); a path outside that matches no rule, so the answer is the 404 of a path
that does not exist: ``{"errors": ...}`` from an API, the not-found page otherwise.

Being an ``IntegerConverter``, it is described in the OpenAPI documents as an integer with
its ``minimum`` and ``maximum`` (flask-smorest's converter mapping finds it by its class).
``shared/web.py`` ``init_app`` registers it in every service's app.

``whole_number`` reads a number typed by hand (a query string, a form field, a field's name)
just as strictly: ASCII digits, or ``None``.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from werkzeug.routing import IntegerConverter, Map, ValidationError

INTEGER_MAX = 2**31 - 1  # PostgreSQL ``integer``
BIGINT_MAX = 2**63 - 1  # PostgreSQL ``bigint``


class NumberConverter(IntegerConverter):
    """``<number:name>``: ASCII digits, ``min`` (1) to ``max`` (``INTEGER_MAX``)."""

    regex = r"[0-9]+"

    def __init__(
        self, map: Map, fixed_digits: int = 0, min: int = 1, max: int = INTEGER_MAX
    ) -> None:
        if not 0 <= min <= max <= BIGINT_MAX:
            raise ValueError(f"<number(min={min}, max={max})>: 0 <= min <= max <= 2**63 - 1")
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=False)

    def to_python(self, value: str) -> Any:
        # More digits than the largest bound has cannot fit (leading zeros aside); refusing them
        # first keeps int() away from thousands of digits (ValueError past 4300: a 500).
        if len(value.lstrip("0")) > len(str(self.max)):
            raise ValidationError()
        return super().to_python(value)


CONVERTERS = {"number": NumberConverter}


def register_converters(app: Flask) -> None:
    """Make ``<number:...>`` usable in ``app``'s rules (before any blueprint is registered)."""
    app.url_map.converters.update(CONVERTERS)


def whole_number(text: str, *, most_digits: int = 18) -> int | None:
    """``text`` as a whole number when it is 1 to ``most_digits`` ASCII digits, else ``None``.

    For numbers read by hand from a query string, a form field or a field's name: ``str.isdigit``
    alone lets "²" and "٣" through, which ``int()`` then refuses (a 500), and ``int()`` refuses
    more than 4300 digits too.
    """
    if 0 < len(text) <= most_digits and text.isascii() and text.isdigit():
        return int(text)
    return None
