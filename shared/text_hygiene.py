"""Text hygiene at the edge of every service, before anything reaches a database.

A NUL or another control character that no one can type (anything below U+0020 but tab, line
feed and carriage return, and DEL) is refused with a message naming the field: PostgreSQL
cannot store a NUL in text, and the rest are never meant. A JSON body nested deeper than
``MAX_JSON_DEPTH`` is refused before it is parsed: Python's parser would exhaust the stack.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

MAX_JSON_DEPTH = 32

_UNTYPABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

# Bytes that open or close a level, and those that matter inside strings.
_OPEN, _CLOSE, _QUOTE, _BACKSLASH = frozenset(b"[{"), frozenset(b"]}"), ord('"'), ord("\\")


def untypable_character(text: str) -> str | None:
    """The first control character in ``text`` that a person cannot type, or None."""
    found = _UNTYPABLE.search(text)
    return found.group(0) if found else None


def refusal(character: str) -> str:
    return (
        f"Remove the control character U+{ord(character):04X}: it cannot be typed, "
        "and nothing was stored."
    )


def json_depth_exceeds(raw: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Does the JSON text ``raw`` nest arrays and objects deeper than ``limit``? (No parse.)"""
    depth = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == _BACKSLASH:
                escaped = True
            elif byte == _QUOTE:
                in_string = False
        elif byte == _QUOTE:
            in_string = True
        elif byte in _OPEN:
            depth += 1
            if depth > limit:
                return True
        elif byte in _CLOSE:
            depth -= 1
    return False


def untypable_fields(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(field path, character) for every string in a parsed JSON value, keys included, that
    holds an untypable character. Paths look like ``goals.0.description``."""
    if isinstance(value, str):
        character = untypable_character(value)
        if character is not None:
            yield path or "_request", character
    elif isinstance(value, dict):
        for key, item in value.items():
            key_text = str(key)
            child = f"{path}.{key_text}" if path else key_text
            character = untypable_character(key_text)
            if character is not None:
                yield child, character
            yield from untypable_fields(item, child)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from untypable_fields(item, f"{path}.{index}" if path else str(index))
