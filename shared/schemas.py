"""Input schemas: one per action, serving the HTML form and the JSON API alike.

Every schema a form or an API loads derives from ``InputSchema``: it refuses text no one can
type (shared/text_hygiene.py) with the same per-field message in both, and ``load_input``
turns marshmallow's errors into ``shared.domain.Invalid``, which the views show inline and the
API answers as 422 (``shared.web``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from marshmallow import EXCLUDE, Schema, ValidationError, pre_load

from shared.domain import Invalid
from shared.proposal import flatten_errors
from shared.text_hygiene import refusal, untypable_fields

F = TypeVar("F", bound=Callable[..., Any])


class InputSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    @pre_load
    def refuse_untypable_text(self, data: Any, **kwargs: Any) -> Any:
        if isinstance(data, Mapping):
            raw = {key: _form_value(data, key) for key in data}
            found = list(untypable_fields(raw))
            if found:
                errors: dict[str, list[str]] = {}
                for path, character in found:
                    errors.setdefault(path, []).append(refusal(character))
                raise ValidationError(errors)
        return data


def _form_value(data: Mapping[str, Any], key: str) -> Any:
    getlist = getattr(data, "getlist", None)  # a form's MultiDict: every value counts
    if getlist is not None:
        values = getlist(key)
        return values if len(values) != 1 else values[0]
    return data[key]


def load_input(schema: Schema, data: Mapping[str, Any]) -> dict[str, Any]:
    """``schema.load(data)``, or ``Invalid`` with ``{"field.path": [messages]}``."""
    try:
        loaded: dict[str, Any] = schema.load(data)
    except ValidationError as err:
        raise Invalid(flatten_errors(err.messages)) from None
    return loaded


def checks_form_text(view: F) -> F:
    """Mark a form view whose input schemas refuse untypable text field by field, so the
    edge check (``shared.web.refuse_untypable_text``) leaves its form body to them and the
    person sees the message inline, beside the field."""
    view.checks_form_text = True  # type: ignore[attr-defined]
    return view
